"""Wording and ordering shared by the HTML and terminal renderers, so both say the same."""

from __future__ import annotations

STATUS_ORDER = ("fail", "error", "waived", "manual", "not_applicable", "pass")
SEVERITY_ORDER = ("high", "medium", "low", "info")
STATUS_LABELS = {
    "pass": "pass",
    "fail": "fail",
    "error": "error",
    "not_applicable": "not applicable",
    "manual": "manual",
    "waived": "waived",
}


def percent(value: float | None) -> str:
    """``87.5`` -> ``87.5``, ``100.0`` -> ``100``; None (nothing scored) -> ``n/a``."""
    if value is None:
        return "n/a"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def coverage_text(coverage: dict) -> str:
    """``decided 41 of 63 selected controls (65%): 12 not applicable, 8 manual, 2 error``."""
    text = (
        f"decided {coverage['decided']} of {coverage['selected']} selected controls "
        f"({percent(coverage['percent'])}%)"
    )
    undecided = [
        f"{count} {STATUS_LABELS.get(status, status)}"
        for status, count in sorted(coverage["undecided"].items(), key=lambda kv: -kv[1])
    ]
    return f"{text}: {', '.join(undecided)}" if undecided else text


def target_label(target: dict) -> str:
    """How the audited system is named in titles: hostname, address, image or root."""
    name = (target.get("hostname") or target.get("address") or target.get("image")
            or target.get("root") or "?")
    return f"{target.get('mode', '?')} {name}"


def score_class(score: float | None) -> str:
    """Colour band of a score; no score is neutral, never green."""
    if score is None:
        return "none"
    return "good" if score >= 90 else "fair" if score >= 70 else "poor"


def sorted_results(results: list[dict]) -> list[dict]:
    """Failures first, then errors ..., each by severity (high first), then by id."""

    def key(r: dict):
        status = STATUS_ORDER.index(r["status"]) if r["status"] in STATUS_ORDER else 99
        severity = SEVERITY_ORDER.index(r["severity"]) if r["severity"] in SEVERITY_ORDER else 99
        return (status, severity, r["id"])

    return sorted(results, key=key)


def ordered_sections(report: dict) -> list[tuple[str, dict]]:
    """Sections in baseline order (first appearance in results), which survives a JSON round
    trip where the sections mapping itself comes back sorted by name."""
    first: dict[str, int] = {}
    for index, r in enumerate(report["results"]):
        first.setdefault(r["section"], index)
    return sorted(report["sections"].items(), key=lambda kv: (first.get(kv[0], len(first)), kv[0]))
