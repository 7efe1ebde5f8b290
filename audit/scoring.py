"""Score and coverage: how compliant, and over how much of the baseline that was decided.

Score = 100 x weight(passed) / weight(passed + failed + error), weights by severity (high 10,
medium 5, low 1, info 0). not_applicable, manual and waived stay out of the denominator and
are counted. Coverage sits next to every score so that 100 over three decided controls never
reads as compliance.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from hostaudit.model import ControlResult, Severity, Status

_SCORED = (Status.PASS, Status.FAIL, Status.ERROR)


def _score_of(results: list[ControlResult]) -> float | None:
    passed = sum(r.severity.weight for r in results if r.status is Status.PASS)
    total = sum(r.severity.weight for r in results if r.status in _SCORED)
    return round(100.0 * passed / total, 1) if total else None


def coverage(results: list[ControlResult]) -> dict:
    """How many selected controls were decided, and why the others were not."""
    counts = Counter(r.status.value for r in results)
    decided = counts[Status.PASS.value] + counts[Status.FAIL.value]
    undecided = {
        s.value: counts[s.value]
        for s in (Status.ERROR, Status.NOT_APPLICABLE, Status.MANUAL, Status.WAIVED)
        if counts[s.value]
    }
    return {
        "selected": len(results),
        "decided": decided,
        "percent": round(100.0 * decided / len(results), 1) if results else 0.0,
        "undecided": undecided,
    }


def _summary(results: list[ControlResult]) -> dict:
    return {
        "score": _score_of(results),
        "coverage": coverage(results),
        "counts": {s.value: sum(1 for r in results if r.status is s) for s in Status},
    }


def score(results: Iterable[ControlResult]) -> dict:
    """Overall and per-section score, coverage and counts, plus failures by severity."""
    results = list(results)
    sections: dict[str, list[ControlResult]] = {}
    for r in results:
        sections.setdefault(r.section, []).append(r)
    overall = _summary(results)
    overall["failed_by_severity"] = {
        s.value: sum(1 for r in results if r.status is Status.FAIL and r.severity is s)
        for s in Severity
    }
    overall["sections"] = {name: _summary(rs) for name, rs in sections.items()}
    return overall
