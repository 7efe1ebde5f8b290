"""Collecting facts: each probe runs at most once, only when a selected check needs it,
independent probes run concurrently, and none runs past its deadline.

Python threads cannot be killed, so a probe past its deadline is abandoned, not stopped: its
fact becomes an error, the audit goes on, and its thread (a daemon thread, never joined) ends
with the process. A ThreadPoolExecutor would not do: the interpreter joins its workers at
exit, so one stuck read would hang hostaudit after the report was written.
"""

from __future__ import annotations

import queue
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from hostaudit.errors import ProbeError, one_line
from hostaudit.host import Host
from hostaudit.registry import PROBES


@dataclass
class FactError:
    """Why a fact could not be collected; checks that need it report ``error`` with this."""

    reason: str
    # A crashed probe's traceback: shown with --debug, never part of the report's facts.
    traceback: str = field(default="", compare=False, repr=False)


@dataclass
class Facts:
    """The facts of one run, read by checks as ``facts["passwd"]``.

    ``mode`` tells a check whether it looks at a live host or an image (some controls want
    both the running and the persistent state on a live host); ``modes`` adds ``net``
    when the audit also looks over the network.
    """

    def __post_init__(self):
        if not self.modes:
            self.modes = frozenset({self.mode})

    mode: str
    values: dict = field(default_factory=dict)
    modes: frozenset = frozenset()
    timings: dict = field(default_factory=dict)
    # fact -> the request its probe was given (probes registered with takes_request only)
    requests: dict = field(default_factory=dict)

    def __getitem__(self, name: str):
        value = self.values[name]
        if isinstance(value, FactError):
            raise ProbeError(value.reason)
        return value

    def __contains__(self, name: str) -> bool:
        return name in self.values

    def error_of(self, name: str) -> str | None:
        """The reason a fact is missing, or None when it was collected."""
        value = self.values.get(name)
        if value is None and name not in self.values:
            return f"fact {name} was not collected"
        return value.reason if isinstance(value, FactError) else None

    def tracebacks(self) -> dict[str, str]:
        """``{fact: traceback}`` of the probes that crashed (not those that failed cleanly)."""
        return {name: v.traceback for name, v in sorted(self.values.items())
                if isinstance(v, FactError) and v.traceback}

    def serialisable(self) -> dict:
        """Facts as JSON data: collected values, and ``{"error": reason}`` for failures."""
        return {
            name: ({"error": v.reason} if isinstance(v, FactError) else v)
            for name, v in sorted(self.values.items())
        }

    @classmethod
    def from_serialisable(cls, data: dict, *, mode: str, modes=frozenset()) -> Facts:
        """The inverse of ``serialisable``: ``{"error": reason}`` (that key alone) becomes a
        FactError again, anything else is the fact's value."""
        values = {
            name: FactError(v["error"]) if isinstance(v, dict) and len(v) == 1 and "error" in v else v
            for name, v in data.items()
        }
        return cls(mode=mode, values=values, modes=frozenset(modes))


def closure(names: Iterable[str]) -> list[str]:
    """The facts ``names`` need, with the facts their probes need, dependencies first."""
    ordered: list[str] = []
    seen: set[str] = set()

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if name in seen:
            return
        if name in trail:
            raise RuntimeError(f"probe cycle: {' -> '.join(trail + (name,))}")
        if name not in PROBES:
            raise KeyError(f"no probe produces fact {name!r}")
        for dep in PROBES[name].needs:
            visit(dep, trail + (name,))
        seen.add(name)
        ordered.append(name)

    for name in names:
        visit(name, ())
    return ordered


def collect(
    host: Host,
    names: Iterable[str],
    *,
    mode: str,
    modes: frozenset = frozenset(),
    workers: int = 8,
    on_done: Callable[[str], None] | None = None,
    requests: Mapping[str, dict] | None = None,
) -> Facts:
    """Run the probes for ``names`` (and their dependencies) against ``host``.

    At most ``workers`` probes run at once. A probe that raises is recorded as a FactError
    with its message; one still running at its deadline (``ProbeSpec.timeout`` seconds after
    it started) as a FactError "timed out after N s", and its late answer is ignored. The
    run goes on either way. A KeyboardInterrupt (Ctrl-C, or a signal the CLI turns into
    one) ends the collection at once, without waiting for running probes. ``requests``
    (fact -> merged request, from the plan) goes to the probes registered with
    ``takes_request``; one nothing asks of gets ``{}``.
    """
    facts = Facts(mode=mode, modes=frozenset(modes) or frozenset({mode}))
    pending = closure(names)
    answers: queue.SimpleQueue = queue.SimpleQueue()
    deadlines: dict[str, float] = {}  # running probes: name -> monotonic deadline

    def run_one(name: str) -> None:
        spec = PROBES[name]
        started = time.perf_counter()
        extra = {"request": dict((requests or {}).get(name) or {})} if spec.takes_request else {}
        if spec.takes_request:
            facts.requests[name] = extra["request"]
        try:
            if spec.needs:
                value = spec.func(host, facts, **extra)
            else:
                value = spec.func(host, **extra)
        except ProbeError as exc:
            value = FactError(str(exc))
        except OSError as exc:
            where = f" {exc.filename}" if exc.filename else ""
            value = FactError(f"cannot read{where}: {exc.strerror or exc}")
        except BaseException as exc:  # a probe bug must not sink the audit; it shows as error
            value = FactError(f"probe {name} failed: {one_line(exc)}", traceback.format_exc())
        answers.put((name, value, time.perf_counter() - started))

    def record(name: str, value, seconds: float) -> None:
        facts.values[name] = value
        facts.timings[name] = round(seconds * 1000, 3)
        if on_done:
            on_done(name)

    while pending or deadlines:
        for name in list(pending):
            if len(deadlines) >= workers:
                break
            if all(dep in facts.values for dep in PROBES[name].needs):
                pending.remove(name)
                deadlines[name] = time.monotonic() + PROBES[name].timeout
                threading.Thread(target=run_one, args=(name,), name=f"probe-{name}",
                                 daemon=True).start()
        if not deadlines:
            raise RuntimeError(f"probes cannot be scheduled: {pending}")
        until_first_deadline = max(0.0, min(deadlines.values()) - time.monotonic())
        try:
            name, value, seconds = answers.get(timeout=until_first_deadline)
        except queue.Empty:
            now = time.monotonic()
            for name in [n for n, deadline in deadlines.items() if deadline <= now]:
                del deadlines[name]
                timeout = PROBES[name].timeout
                record(name, FactError(f"probe {name} timed out after {timeout:g} s"), timeout)
            continue
        if deadlines.pop(name, None) is not None:  # else: a late answer, already timed out
            record(name, value, seconds)
    return facts
