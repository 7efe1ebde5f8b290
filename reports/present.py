"""Wording and ordering shared by the HTML and terminal renderers, so both say the same."""

from __future__ import annotations

import re
import shlex

from hostaudit.model import Severity

STATUS_ORDER = ("fail", "error", "waived", "manual", "not_applicable", "pass")
SEVERITY_ORDER = Severity.order()
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


def gate_counts(results: list[dict]) -> list[dict]:
    """Per severity (high first), the failures and errors that ``--fail-on`` counts:
    ``[{"severity": "high", "fail": 13, "error": 2, "total": 15}, ...]``."""
    rows = []
    for severity in SEVERITY_ORDER:
        fail = sum(1 for r in results if r["severity"] == severity and r["status"] == "fail")
        error = sum(1 for r in results if r["severity"] == severity and r["status"] == "error")
        rows.append({"severity": severity, "fail": fail, "error": error, "total": fail + error})
    return rows


# A status worth a chip even at zero: "0 failed" and "0 errors" are news; "0 waived" is noise.
_ALWAYS_COUNTED = ("fail", "error", "pass")


def status_chips(counts: dict) -> list[tuple[str, int]]:
    """(status, count) for the summary, in STATUS_ORDER; a status nothing produced is left out."""
    return [(s, counts.get(s, 0)) for s in STATUS_ORDER if counts.get(s, 0) or s in _ALWAYS_COUNTED]


def section_score(data: dict) -> float | None:
    """A section's score as shown: None when nothing in it was decided (only errors, manual
    or not applicable), so that a section nobody could judge never reads as 0, failed."""
    return data["score"] if data["coverage"]["decided"] else None


_STEP = re.compile(r"\s*(\d{1,3})[.)]\s+(.*)")


def message_parts(message: str) -> tuple[str, list[str]]:
    """A message's lead text and its numbered steps: ``"Check by hand.\\n1. Reboot\\n   and
    look.\\n2. Record"`` -> ``("Check by hand.", ["Reboot and look.", "Record"])``. Indented
    lines continue the step above; a message without ``1.`` has no steps."""
    lead: list[str] = []
    steps: list[str] = []
    for line in message.splitlines():
        match = _STEP.fullmatch(line)
        if match and (steps or match.group(1) == "1"):
            steps.append(match.group(2).strip())
        elif steps:
            if line.strip():
                steps[-1] += " " + line.strip()
        else:
            lead.append(line)
    return "\n".join(lead).strip(), steps


def os_text(target: dict) -> str | None:
    """``Debian GNU/Linux 12 (bookworm)``; the reason when os-release was unreadable; None
    when the report does not say (a network target, an older report)."""
    info = target.get("os")
    if not isinstance(info, dict):
        return None
    if info.get("error"):
        return f"unknown ({info['error']})"
    text = info.get("pretty_name") or " ".join(
        v for v in (info.get("name"), info.get("version") or info.get("version_id")) if v)
    return text or "unknown (os-release names no system)"


def command_text(target: dict) -> str | None:
    """The (already redacted) command line as a shell would read it back."""
    argv = target.get("invocation")
    return shlex.join(str(a) for a in argv) if argv else None


def finding_message(result: dict) -> str:
    """A finding's message without a leading copy of its own ID: ``sysctl.net.x`` saying
    ``net.x: not set`` reads ``not set`` under a heading that already names the control."""
    message = result["message"]
    control = result["id"]
    for prefix in (control, control.split(".", 1)[-1]):
        if prefix and message.startswith(prefix + ": ") and len(message) > len(prefix) + 2:
            return message[len(prefix) + 2:]
    return message


# "looked in A, B, C" up to a closing parenthesis or the end: the places a check searched,
# useful once (with --verbose), noise when six sysctl.d patterns repeat under every key.
_LOOKED_IN = re.compile(r"\blooked in ([^()]*?)(?=\)|$)")


def _list_items(text: str) -> list[str]:
    return [item for item in text.split(", ") if item]


def shorten_lists(text: str, keep: int = 2) -> str:
    """``(looked in a, b, c, d)`` -> ``(looked in 4 places)``; the where of an evidence line
    naming many files -> ``a and 3 more``: the count stays, the list waits for --verbose."""
    def looked(match: re.Match) -> str:
        items = _list_items(match.group(1))
        return f"looked in {len(items)} places" if len(items) > keep else match.group(0)

    return _LOOKED_IN.sub(looked, text)


def short_where(where: str, keep: int = 1) -> str:
    """An evidence location listing more than ``keep`` files, shortened with a count."""
    items = _list_items(where)
    if len(items) <= keep + 1:
        return where
    return f"{', '.join(items[:keep])} and {len(items) - keep} more"


def severity_gate_text(row: dict) -> str:
    """One ``gate_counts`` row as the HTML report says it: ``15 high (13 fail, 2 error)``."""
    if not row["total"]:
        return f"0 {row['severity']}"
    split = f"{row['fail']} fail" + (f", {row['error']} error" if row["error"] else "")
    return f"{row['total']} {row['severity']} ({split})"
