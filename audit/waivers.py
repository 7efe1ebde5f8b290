"""Waivers: a site's signed-off exceptions to a control, applied once, after the check ran.

A baseline's ``waivers:`` entry names a control, the reason, who approved it and the last
day it holds (``expires: 2026-06-30``, ISO ``YYYY-MM-DD``; the waiver holds through that
day). Optionally ``match:`` narrows it to one finding: ``{port: 25}`` or ``{account: games}``.

What a waiver does to a control's result (``apply``):

- only a ``fail`` is waived. A pass leaves the waiver ``unused``; an ``error`` stays an
  error (nobody can tell whether what went undecided is the accepted deviation), as do
  ``not_applicable`` and ``manual``;
- an expired waiver waives nothing: the control keeps its verdict and the waiver is
  reported ``expired``;
- a narrowed waiver applies only while every finding is the one it names, so a second
  offending port or account is never hidden by a waiver for the first:

  ``port: N``: the failing evidence names at least one port and every port it names is N.
  A port is named as ``PORT/PROTO`` (``25/tcp``), the form every listener and sweep finding
  takes; a line naming no port (``allowed TCP ports listening: 22, 25``) is context.

  ``account: NAME``: every piece of failing evidence names NAME as a whole word (not a part
  of a longer name: ``games`` is not in ``gamesx``). A control whose failure also shows
  evidence not naming the account is therefore not waived: a waiver may fail to apply, it
  never hides a finding it does not name.

  Waivers are not added up: each must cover the whole failure by itself (two accepted
  ports are the control's parameter to change, or a waiver without ``match``).
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field, replace

from hostaudit.model import Result, Status

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Characters that may belong to an account name: a match must not be part of a longer one.
_NAME_CHAR = r"A-Za-z0-9._$-"


@dataclass(frozen=True)
class Waiver:
    """One waiver of a baseline: which control, why, who approved it, until when."""

    control: str
    reason: str
    approved_by: str
    expires: _dt.date
    match: dict = field(default_factory=dict)
    source: str = ""  # file:line where it was written

    def expired(self, today: _dt.date) -> bool:
        """True once ``today`` is past the last day the waiver holds."""
        return today > self.expires

    def to_dict(self) -> dict:
        return {"control": self.control, "reason": self.reason, "approved_by": self.approved_by,
                "expires": self.expires.isoformat(), "match": dict(self.match), "source": self.source}


def parse_date(text) -> _dt.date | None:
    """``2026-06-30`` -> date; None for anything else (``2026-6-30``, ``2026-02-30``)."""
    if not isinstance(text, str) or not _DATE.fullmatch(text):
        return None
    try:
        return _dt.date.fromisoformat(text)
    except ValueError:
        return None


def describe_match(match: dict) -> str:
    """``port 25``, ``account games``; empty for a waiver of the whole control."""
    return ", ".join(f"{key} {value}" for key, value in sorted(match.items()))


def _ports_named(text: str) -> set[int]:
    return {int(m) for m in re.findall(r"(?<![0-9A-Za-z])(\d{1,5})/(?:tcp|udp|sctp)\b", text)}


def _names_account(text: str, name: str) -> bool:
    return re.search(f"(?<![{_NAME_CHAR}]){re.escape(name)}(?![{_NAME_CHAR}])", text) is not None


def uncovered(waiver: Waiver, result: Result) -> list[str]:
    """The findings of a failing ``result`` that ``waiver``'s match does not name (empty:
    the waiver covers them all). A waiver without ``match`` covers the whole control."""
    texts = [f"{e.where}: {e.text}" for e in result.evidence]
    if "port" in waiver.match:
        port = int(waiver.match["port"])
        named = [(t, _ports_named(t)) for t in texts]
        if not any(ports for _, ports in named):
            return [result.message or "the failure names no port"]
        return [t for t, ports in named if ports - {port}]
    if "account" in waiver.match:
        name = str(waiver.match["account"])
        if not texts:
            return [result.message or "the failure names no account"]
        return [t for t in texts if not _names_account(t, name)]
    return []


@dataclass(frozen=True)
class Outcome:
    """What a waiver did in this run: ``active`` (it waived the control), ``expired`` or
    ``unused`` (nothing to waive, or a finding it does not cover), and why."""

    waiver: Waiver
    status: str
    note: str

    def to_dict(self) -> dict:
        return {**self.waiver.to_dict(), "status": self.status, "note": self.note}


def apply(result: Result, waivers, today: _dt.date) -> tuple[Result, list[Outcome]]:
    """``result`` of one control after its ``waivers`` (the ones naming that control), and
    what became of each waiver. The first waiver that covers the failure waives it."""
    outcomes: list[Outcome] = []
    waived_by: Waiver | None = None
    for waiver in waivers:
        if waiver.expired(today):
            outcomes.append(Outcome(waiver, "expired", f"expired on {waiver.expires.isoformat()}: "
                                    f"the control is judged as if it were not waived"))
        elif waived_by is not None:
            outcomes.append(Outcome(waiver, "unused", f"the control is already waived by the "
                                    f"waiver at {waived_by.source}"))
        elif result.status is not Status.FAIL:
            why = {Status.PASS: "the control passes",
                   Status.ERROR: "the control could not be decided (an error is never waived)"}
            outcomes.append(Outcome(waiver, "unused", why.get(result.status,
                                    f"the control is {result.status.value.replace('_', ' ')}")))
        else:
            left = uncovered(waiver, result)
            if left:
                shown = "; ".join(left[:3]) + (f" (and {len(left) - 3} more)" if len(left) > 3 else "")
                outcomes.append(Outcome(waiver, "unused", f"not applied: the failure shows more than "
                                        f"{describe_match(waiver.match)}: {shown}"))
            else:
                waived_by = waiver
                outcomes.append(Outcome(waiver, "active", f"waives this failure until "
                                        f"{waiver.expires.isoformat()}"))
    if waived_by is None:
        # Said beside the verdict too, so a CI view of this control alone shows why the
        # waiver did not hold.
        expired = [o.waiver for o in outcomes if o.status == "expired"]
        narrow = [o.waiver for o in outcomes if o.status == "unused" and o.waiver.match
                  and result.status is Status.FAIL]
        notes = []
        if expired and result.status is not Status.PASS:
            notes.append("its waiver expired on " + ", ".join(w.expires.isoformat() for w in expired))
        if narrow:
            notes.append("not waived: the failure shows more than the waived "
                         + " / ".join(describe_match(w.match) for w in narrow))
        if notes:
            result = replace(result, message=f"{result.message} ({'; '.join(notes)})")
        return result, outcomes
    scope = f" ({describe_match(waived_by.match)})" if waived_by.match else ""
    message = (f"waived{scope} until {waived_by.expires.isoformat()}, approved by "
               f"{waived_by.approved_by}: {waived_by.reason}. The finding: {result.message}")
    return replace(result, status=Status.WAIVED, message=message), outcomes


def not_selected(waiver: Waiver, today: _dt.date) -> Outcome:
    """The outcome of a waiver whose control this run did not audit (``--only``/``--skip``)."""
    if waiver.expired(today):
        return Outcome(waiver, "expired", f"expired on {waiver.expires.isoformat()} "
                       "(its control was not audited in this run)")
    return Outcome(waiver, "unused", "its control was not audited in this run")
