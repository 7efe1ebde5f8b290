"""Where checks and probes register themselves, once each, by name.

A check is registered by its control ID with the facts it needs::

    @check("mail.databytes", needs=["qmail_control"],
           params={"databytes_max": {"type": "integer", "minimum": 1}})
    def databytes(facts, params): ...

A probe is registered by the fact it produces::

    @probe("qmail_control")
    def qmail_control(host): ...

A generic control *kind* is a check a baseline control names with ``kind:`` instead of
having one registered under its ID; its parameters say what to look at::

    @kind("sysctl", needs=[...], params={"key": {...}, "expected": {...}},
          wants={"sysctl_runtime": lambda params: {"keys": [params["key"]]}})
    def sysctl_setting(facts, params): ...

Requests (one mechanism for every probe that audits what the baseline names): a check or
kind may declare ``wants``: per fact, a function of the control's parameters returning what
it asks of that fact's probe (a mapping of lists, e.g. ``{"keys": [...]}``), or None when
these parameters need nothing of it (the fact is then not needed by this control at all).
The plan (runner.plan_audit) merges the requests of every selected control per fact
(``merge_requests``: lists joined, duplicates dropped) and the collector passes the merged
request to a probe registered with ``takes_request=True`` as its keyword ``request``. Such
a probe reads exactly what the request names and nothing else; with no request it reads
nothing.

The composition root (the CLI, ``scan``) imports the check and probe modules
(``load_all``); they are never discovered by path tricks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hostaudit import paramtypes
from hostaudit.paramtypes import ParamSchema


@dataclass(frozen=True)
class CheckSpec:
    """A registered check. ``needs_by_mode`` maps a mode (live, image, net) or ``*``
    (any) to the facts the check reads when the audit has that mode. ``params`` maps each
    baseline parameter the check reads to its JSON Schema fragment (see ``paramtypes``)."""

    control_id: str
    func: Callable
    needs_by_mode: dict
    params: Mapping[str, ParamSchema] = field(default_factory=dict)
    wants: Mapping[str, Callable[[dict], dict | None]] = field(default_factory=dict)
    # A generic kind only: the modes it can decide in, and top-level schema constraints
    # between its parameters (``anyOf``, ``not``...).
    kind: str = ""
    modes: tuple[str, ...] = ("live", "image", "net")
    constraints: Mapping[str, Any] = field(default_factory=dict)

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
        return {**paramtypes.object_schema(self.params), **self.constraints}

    def requests(self, params: Mapping[str, Any]) -> dict[str, dict | None]:
        """What this check asks of each fact it ``wants``, for a control's parameters (with
        defaults filled in): a request mapping, or None when it needs nothing of that fact."""
        full = {**self.param_defaults, **params}
        asked: dict[str, dict | None] = {}
        for fact, want in self.wants.items():
            try:
                asked[fact] = want(full)
            except (KeyError, TypeError, ValueError):
                asked[fact] = None  # parameters the check will refuse with a reason anyway
        return asked

    def needs_for(self, params: Mapping[str, Any], modes) -> tuple[str, ...]:
        """The facts one control with ``params`` needs: ``needs_in(modes)`` less those
        its ``wants`` say these parameters ask nothing of."""
        asked = self.requests(params)
        return tuple(n for n in self.needs_in(modes) if asked.get(n, {}) is not None)

    def needs_in(self, modes) -> tuple[str, ...]:
        """The facts this check needs in an audit that has ``modes``."""
        names: list[str] = []
        for key in ("*", *sorted(modes)):
            names.extend(n for n in self.needs_by_mode.get(key, ()) if n not in names)
        return tuple(names)

    @property
    def needs(self) -> tuple[str, ...]:
        """Every fact the check may read, whatever the mode."""
        return self.needs_in(self.needs_by_mode)


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
    takes_request: bool = False


CHECKS: dict[str, CheckSpec] = {}
KINDS: dict[str, CheckSpec] = {}
PROBES: dict[str, ProbeSpec] = {}


def merge_requests(requests) -> dict[str, list]:
    """One request from several controls' requests of the same fact: each key's lists
    joined in order, duplicates dropped (``{"keys": [a]}`` + ``{"keys": [b, a]}`` ->
    ``{"keys": [a, b]}``). A value that is not a list is taken as a one-item list."""
    merged: dict[str, list] = {}
    for request in requests:
        for key, values in (request or {}).items():
            bucket = merged.setdefault(key, [])
            for value in values if isinstance(values, list | tuple) else [values]:
                if value not in bucket:
                    bucket.append(value)
    return merged


def spec_for(control) -> CheckSpec | None:
    """The check that decides ``control``: its ``kind``'s, or the one registered under its ID."""
    if getattr(control, "kind", ""):
        return KINDS.get(control.kind)
    return CHECKS.get(control.id)


def _declared(owner: str, params) -> dict:
    if params is not None and not isinstance(params, Mapping):
        # A bare list of names would let any value through: every parameter needs its type.
        raise TypeError(f"{owner}: params must map each name to a JSON Schema fragment")
    return {name: dict(schema) for name, schema in (params or {}).items()}


def _by_mode(needs) -> dict:
    return {k: tuple(v) for k, v in needs.items()} if isinstance(needs, dict) else {"*": tuple(needs)}


def kind(name: str, *, needs: list[str] | tuple[str, ...] | dict,
         params: Mapping[str, ParamSchema], wants: Mapping[str, Callable] | None = None,
         modes: tuple[str, ...] = ("live", "image"), constraints: Mapping[str, Any] | None = None):
    """Register ``func(facts, params) -> Result`` as the generic control kind ``name``.

    A baseline control with ``kind: name`` needs no Python: its ``parameters`` (typed by
    ``params`` as for ``check``, plus top-level JSON Schema ``constraints`` between them)
    say what to look at; ``wants`` turns them into probe requests (see the module
    docstring). ``modes`` are those the kind can decide in: a control of this kind that
    lists another is refused when the baseline is loaded.
    """
    declared = _declared(f"kind {name}", params)

    def register(func: Callable) -> Callable:
        if name in KINDS:
            raise RuntimeError(f"kind {name} is registered twice")
        KINDS[name] = CheckSpec(f"kind:{name}", func, _by_mode(needs), declared,
                                dict(wants or {}), name, tuple(modes), dict(constraints or {}))
        return func

    return register


def check(control_id: str, *, needs: list[str] | tuple[str, ...] | dict,
          params: Mapping[str, ParamSchema] | None = None,
          wants: Mapping[str, Callable] | None = None):
    """Register ``func(facts, params) -> Result`` as the check of ``control_id``.

    ``params`` maps each baseline parameter the check reads to a JSON Schema fragment
    (``{"databytes_max": {"type": "integer", "minimum": 1}}``). A baseline whose control
    lacks one, gives one of the wrong type, or gives one the check does not declare is
    refused when it is loaded, so the check can read ``params[name]`` directly.

    ``needs`` lists the facts the check reads, or maps modes to them when it reads
    different facts on a live host and over the network:
    ``needs={"live": ["listeners"], "net": ["nmap_tcp"]}``. ``wants`` maps facts whose
    probes take requests to what this check asks of them (see the module docstring).
    """
    by_mode = _by_mode(needs)
    declared = _declared(f"check {control_id}", params)

    def register(func: Callable) -> Callable:
        if control_id in CHECKS:
            raise RuntimeError(f"control {control_id} has two checks")
        CHECKS[control_id] = CheckSpec(control_id, func, by_mode, declared, dict(wants or {}))
        return func

    return register


def probe(name: str, *, needs: list[str] | tuple[str, ...] = (),
          timeout: float = DEFAULT_PROBE_TIMEOUT, takes_request: bool = False):
    """Register ``func(host[, facts]) -> data`` as the producer of fact ``name``.

    A probe that ``needs`` other facts receives them as a second argument (for example the
    mount table, to know which filesystems to look at); the collector orders them.
    ``timeout`` is the probe's deadline in seconds; past it the fact is an error and the
    audit goes on. A probe that runs commands with their own timeouts (an nmap sweep) needs
    a deadline longer than those. A probe with ``takes_request`` receives the merged
    request of the selected controls as keyword ``request`` (``{}`` when none asks).
    """
    if not timeout > 0:
        raise ValueError(f"probe {name}: timeout must be positive, not {timeout!r}")

    def register(func: Callable) -> Callable:
        if name in PROBES:
            raise RuntimeError(f"fact {name} has two probes")
        PROBES[name] = ProbeSpec(name, func, tuple(needs), float(timeout), takes_request)
        return func

    return register


def load_all() -> None:
    """Import every probe and check module so their decorators run. Called by the
    composition root (the CLI, ``scan.plan``, the test session), never by the library
    layers (runner, facts, baseline) as a side effect."""
    import hostaudit.checks  # noqa: F401  (registers checks)
    import hostaudit.probes  # noqa: F401  (registers probes)
