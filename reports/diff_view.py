"""Views of a diff (``hostaudit diff``, drift runs): diff.json, plain text, one HTML page.

The text view is plain on purpose: a cron job mails it, so no colour, no markup, and lines
kept under 80 columns.
"""

from __future__ import annotations

import json
import textwrap
from functools import lru_cache
from importlib import resources

from hostaudit.reports.json_report import ReportInvalid
from hostaudit.schemas import json_path
from hostaudit.visible import terminal_text

CHANGE_LABELS = {
    "new_failure": "NEW FAILURE", "new_error": "new error", "added": "newly audited",
    "status_changed": "status changed", "fixed": "fixed", "error_cleared": "now decided",
    "became_not_applicable": "now not applicable", "became_manual": "now manual",
    "waived": "waived", "removed": "no longer audited", "reason_changed": "same status, new reason",
}
WIDTH = 79
# Fact changes listed in the text view; the rest are counted (the JSON has them all). A
# night of temporary files must not turn the cron mail into pages of records.
MAX_FACT_LINES = 20


@lru_cache(maxsize=1)
def _validator():
    import jsonschema

    schema = json.loads(resources.files("hostaudit.reports").joinpath("diff.schema.json").read_text("utf-8"))
    return jsonschema.Draft202012Validator(schema)


def validate(diff: dict) -> None:
    """Raise ReportInvalid naming the JSON path unless ``diff`` matches diff.schema.json."""
    errors = sorted(_validator().iter_errors(diff), key=lambda e: [str(k) for k in e.absolute_path])
    if errors:
        raise ReportInvalid(errors[0].message, json_path=json_path(errors[0].absolute_path))


def render_json(diff: dict) -> str:
    """diff.json text: sorted keys, two-space indent."""
    return json.dumps(diff, indent=2, sort_keys=True) + "\n"


def _short(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= 60 else text[:57] + "..."


def _score(value) -> str:
    return "n/a" if value is None else f"{value:g}"


def _percent(value) -> str:
    return "n/a" if value is None else f"{value:g}%"


def what_changed(before: dict, after: dict) -> list[str]:
    """For a control whose status held: the old words beside the new, the message when it
    changed, else the first evidence line that differs (the message alone would read the same
    twice)."""
    if before["message"] != after["message"]:
        return [f"was: {before['message'].splitlines()[0]}" if before["message"] else "was: (no message)"]
    old, new = before["evidence"], after["evidence"]
    gone = [e for e in old if e not in new]
    added = [e for e in new if e not in old]
    return ([f"now: {added[0]}"] if added else []) + ([f"was: {gone[0]}"] if gone else [])


def text_lines(diff: dict, listed_in: str = "the JSON report") -> list[str]:
    """The diff as plain lines, context first, then control changes, then fact changes (past
    MAX_FACT_LINES, counted: ``listed_in`` names where all of them are)."""
    before, after = diff["before"], diff["after"]
    if before["target"] == after["target"]:
        lines = [f"hostaudit diff: {after['target']}", f"runs {before['started']} -> {after['started']}"]
    else:
        lines = [f"hostaudit diff: {before['target']} ({before['started']}) -> "
                 f"{after['target']} ({after['started']})"]
    lines += [f"NOTE: {note}" for note in diff["context"]]
    score, coverage = diff["score"], diff["coverage"]
    decided = [c.get("percent") if isinstance(c, dict) else None for c in (coverage["before"], coverage["after"])]
    lines.append(f"score {_score(score['before'])} -> {_score(score['after'])}, "
                 f"coverage {_percent(decided[0])} -> {_percent(decided[1])}")
    if not diff["changed"]:
        lines.append("nothing changed")
    if diff["controls"]:
        lines.append("")
        lines.append(f"Controls ({len(diff['controls'])} changed)")
    for c in diff["controls"]:
        before = c["before"]["status"] if c["before"] else "-"
        after = c["after"]["status"] if c["after"] else "-"
        lines.append(f"  {CHANGE_LABELS[c['change']]}: {c['id']} [{c['severity']}] {before} -> {after}")
        if c["after"] and c["after"]["message"] and c["change"] != "removed":
            lines.append(f"      {c['after']['message'].splitlines()[0]}")
        if c["change"] == "reason_changed":
            lines += [f"      {line}" for line in what_changed(c["before"], c["after"])]
    if diff["facts"]:
        lines.append("")
        lines.append(f"Facts ({len(diff['facts'])} change{'s' if len(diff['facts']) != 1 else ''})")
    for f in diff["facts"][:MAX_FACT_LINES]:
        if f["change"] == "changed":
            lines.append(f"  changed {f['fact']} {f['key']}: {_short(f['before'])} -> {_short(f['after'])}")
        else:
            value = f["after"] if f["change"] == "added" else f["before"]
            lines.append(f"  {f['change']} {f['fact']} {f['key']}: {_short(value)}")
    if len(diff["facts"]) > MAX_FACT_LINES:
        lines.append(f"  ... and {len(diff['facts']) - MAX_FACT_LINES} more (all in {listed_in})")
    wrapped: list[str] = []
    # Report text came from the target: control characters and undecodable bytes become
    # visible escapes before anything reaches a terminal or a cron mail.
    for line in map(terminal_text, lines):
        indent = " " * (len(line) - len(line.lstrip(" ")) + 4)
        wrapped.extend(textwrap.wrap(line, WIDTH, subsequent_indent=indent, break_on_hyphens=False) or [""])
    return wrapped


def render_html(diff: dict) -> str:
    """The diff as one self-contained, autoescaped HTML page."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    from hostaudit.reports.html import finalize

    env = Environment(finalize=finalize, loader=PackageLoader("hostaudit.reports", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["short"] = _short
    env.filters["score"] = _score
    return env.get_template("diff.html.j2").render(diff=diff, labels=CHANGE_LABELS)
