"""Where checks and probes register themselves, once each, by name.

A check is registered by its control ID with the facts it needs::

    @check("mail.databytes", needs=["qmail_control"],
           params={"databytes_max": {"type": "integer", "minimum": 1}})
    def databytes(facts, params): ...

A probe is registered by the fact it produces::

    @probe("qmail_control")
    def qmail_control(host): ...

Modules are imported explicitly (``load_all``), never discovered by path tricks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hostaudit import paramtypes
from hostaudit.paramtypes import ParamSchema


@dataclass(frozen=True)
class CheckSpec:
    """A registered check. ``needs_by_vantage`` maps a vantage (live, image, net) or ``*``
    (any) to the facts the check reads when the audit has that vantage. ``params`` maps each
    baseline parameter the check reads to its JSON Schema fragment (see ``paramtypes``)."""

    control_id: str
    func: Callable
    needs_by_vantage: dict
    params: Mapping[str, ParamSchema] = field(default_factory=dict)

    @property
    def required_params(self) -> tuple[str, ...]:
        """The parameters a baseline must give this check (those without a default)."""
        return paramtypes.required(self.params)

    @property
    def param_defaults(self) -> dict[str, Any]:
        """Values of the optional parameters a baseline leaves out."""
        return paramtypes.defaults(self.params)

    def params_schema(self) -> dict[str, Any]:
        """The JSON Schema a control's ``parameters`` must satisfy for this check."""
        return paramtypes.object_schema(self.params)

    def needs_in(self, vantages) -> tuple[str, ...]:
        """The facts this check needs in an audit that has ``vantages``."""
        names: list[str] = []
        for key in ("*", *sorted(vantages)):
            names.extend(n for n in self.needs_by_vantage.get(key, ()) if n not in names)
        return tuple(names)

    @property
    def needs(self) -> tuple[str, ...]:
        """Every fact the check may read, whatever the vantage."""
        return self.needs_in(self.needs_by_vantage)


# Seconds a probe may run before the collector stops waiting for it (see facts.collect).
DEFAULT_PROBE_TIMEOUT = 60.0


@dataclass(frozen=True)
class ProbeSpec:
    """A registered probe: the fact it produces, its function, the facts it needs first and
    its deadline in seconds."""

    name: str
    func: Callable
    needs: tuple[str, ...]
    timeout: float = DEFAULT_PROBE_TIMEOUT


CHECKS: dict[str, CheckSpec] = {}
PROBES: dict[str, ProbeSpec] = {}


def check(control_id: str, *, needs: list[str] | tuple[str, ...] | dict,
          params: Mapping[str, ParamSchema] | None = None):
    """Register ``func(facts, params) -> Result`` as the check of ``control_id``.

    ``params`` maps each baseline parameter the check reads to a JSON Schema fragment
    (``{"databytes_max": {"type": "integer", "minimum": 1}}``). A baseline whose control
    lacks one, gives one of the wrong type, or gives one the check does not declare is
    refused when it is loaded, so the check can read ``params[name]`` directly.

    ``needs`` lists the facts the check reads, or maps vantages to them when it reads
    different facts on a live host and over the network:
    ``needs={"live": ["listeners"], "net": ["nmap_tcp"]}``.
    """
    by_vantage = {k: tuple(v) for k, v in needs.items()} if isinstance(needs, dict) else {"*": tuple(needs)}
    if params is not None and not isinstance(params, Mapping):
        # A bare list of names would let any value through: every parameter needs its type.
        raise TypeError(f"check {control_id}: params must map each name to a JSON Schema fragment")
    declared = {name: dict(schema) for name, schema in (params or {}).items()}

    def register(func: Callable) -> Callable:
        if control_id in CHECKS:
            raise RuntimeError(f"control {control_id} has two checks")
        CHECKS[control_id] = CheckSpec(control_id, func, by_vantage, declared)
        return func

    return register


def probe(name: str, *, needs: list[str] | tuple[str, ...] = (),
          timeout: float = DEFAULT_PROBE_TIMEOUT):
    """Register ``func(host[, facts]) -> data`` as the producer of fact ``name``.

    A probe that ``needs`` other facts receives them as a second argument (for example the
    mount table, to know which filesystems to look at); the collector orders them.
    ``timeout`` is the probe's deadline in seconds; past it the fact is an error and the
    audit goes on. A probe that runs commands with their own timeouts (an nmap sweep) needs
    a deadline longer than those.
    """
    if not timeout > 0:
        raise ValueError(f"probe {name}: timeout must be positive, not {timeout!r}")

    def register(func: Callable) -> Callable:
        if name in PROBES:
            raise RuntimeError(f"fact {name} has two probes")
        PROBES[name] = ProbeSpec(name, func, tuple(needs), float(timeout))
        return func

    return register


def load_all() -> None:
    """Import every probe and check module so their decorators run."""
    import hostaudit.checks  # noqa: F401  (registers checks)
    import hostaudit.probes  # noqa: F401  (registers probes)
