"""Metrics for node_exporter's textfile collector (``scan --prometheus FILE``).

One gauge family per figure a monitoring rule would alert on: score, coverage, counts by
status and by severity, each control's status, when the run ended and how many changes it
found since the previous run. Label values are escaped as the text format requires.
"""

from __future__ import annotations

import calendar
import time

from hostaudit.visible import visible

_STATUSES = ("pass", "fail", "error", "not_applicable", "manual", "waived")


def _label(value: str) -> str:
    value = visible(value)  # target text: no control characters, no undecodable bytes
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _family(lines: list[str], name: str, help_text: str, samples: list[tuple[dict, float]]) -> None:
    lines.append(f"# HELP {name} {help_text}")
    lines.append(f"# TYPE {name} gauge")
    for labels, value in samples:
        rendered = ",".join(f'{k}="{_label(str(v))}"' for k, v in labels.items())
        lines.append(f"{name}{{{rendered}}} {value:g}" if rendered else f"{name} {value:g}")


def render(report: dict, *, now: float | None = None) -> str:
    """The report's figures in the Prometheus text exposition format."""
    base = {"baseline": report["baseline"]["name"], "mode": report["target"].get("mode", "")}
    lines: list[str] = []
    score = report["score"]
    _family(lines, "hostaudit_score", "Weighted score 0-100 (NaN when nothing was scored).",
            [(base, float("nan") if score is None else float(score))])
    _family(lines, "hostaudit_coverage_ratio", "Share of selected controls decided (pass or fail).",
            [(base, report["coverage"]["percent"] / 100)])
    counts = report["counts"]
    _family(lines, "hostaudit_controls", "Selected controls by status.",
            [({**base, "status": s}, counts.get(s, 0)) for s in _STATUSES])
    _family(lines, "hostaudit_failed_controls", "Failed controls by severity.",
            [({**base, "severity": sev}, n) for sev, n in sorted(report["failed_by_severity"].items())])
    _family(lines, "hostaudit_control_status", "1 for the status each control has.",
            [({**base, "control": r["id"], "severity": r["severity"], "status": r["status"]}, 1)
             for r in report["results"]])
    started = report["timing"]["started"]
    ended = now if now is not None else calendar.timegm(time.strptime(started[:19], "%Y-%m-%dT%H:%M:%S")) + \
        report["timing"]["duration_s"]
    _family(lines, "hostaudit_last_run_timestamp_seconds", "When the run ended (Unix time).", [(base, ended)])
    drift = report.get("drift")
    if drift is not None:
        _family(lines, "hostaudit_changes", "Control and fact changes since the previous kept run.",
                [({**base, "kind": "controls"}, len(drift["controls"])),
                 ({**base, "kind": "facts"}, len(drift["facts"]))])
    return "\n".join(lines) + "\n"
