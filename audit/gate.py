"""The CI gate against a reference report: fail only on what got worse since it.

A team adopting hostaudit on a legacy image commits the report of its last accepted release
next to the pipeline; ``scan --gate-against REPORT.json`` then fails only on controls that
fail or err now and did neither in that report (a control new to the baseline counts as new
when it fails). Old failures stay visible in the reports, they just do not break the build.
"""

from __future__ import annotations

from hostaudit.compare import compare
from hostaudit.model import Severity

_BAD = ("fail", "error")
SEVERITIES = Severity.order()


def new_failures(reference: dict, report: dict) -> tuple[list[dict], list[str]]:
    """The control changes (as ``compare`` classes them) that fail the gate, worst first, and
    the comparison's context (baseline or hostaudit version changed, different target)."""
    diff = compare(reference, report)
    worse = [
        change for change in diff["controls"]
        if change["after"] is not None and change["after"]["status"] in _BAD
        and (change["before"] is None or change["before"]["status"] not in _BAD)
    ]
    context = list(diff["context"])
    if reference.get("selection") != report.get("selection"):
        context.append("the reference audited another selection of controls (--only/--skip): a "
                       "control it did not audit counts as new when it fails now")
    return worse, context


def at_least(changes: list[dict], severity: str) -> list[dict]:
    """The ``changes`` of ``severity`` or higher (``--fail-on``)."""
    threshold = SEVERITIES.index(severity)
    return [c for c in changes if SEVERITIES.index(c["severity"]) <= threshold]
