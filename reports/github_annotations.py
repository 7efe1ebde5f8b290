"""GitHub Actions workflow commands: ``::error file=...,line=...::message`` per failure, so a
failed control shows on the run's summary and, where the file is in the repository, on the
line. Written to stdout only when ``GITHUB_ACTIONS=true``.

Escaping follows @actions/core (``toCommandValue``/``escapeData``/``escapeProperty``): in
the message ``%``, CR and LF become ``%25``, ``%0D``, ``%0A``; in a property also ``:`` and
``,`` become ``%3A`` and ``%2C``. Target text passes ``hostaudit.visible`` first, so an ESC
or a newline in a file name cannot act on a log viewer nor start a command of its own.
"""

from __future__ import annotations

from hostaudit.reports.present import sorted_results
from hostaudit.visible import terminal_text


def escape_data(text: str) -> str:
    """A command's message, as @actions/core escapes it."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A command's property value (file, title...), as @actions/core escapes it."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(kind: str, message: str, **properties) -> str:
    """``::kind prop=value,...::message`` with target text made visible, then escaped."""
    props = ",".join(f"{key}={escape_property(terminal_text(str(value)))}"
                     for key, value in properties.items() if value is not None)
    return f"::{kind}{' ' + props if props else ''}::{escape_data(terminal_text(message))}"


def _location(result: dict) -> dict:
    """The first evidence that is a file (an absolute path), with its line if known."""
    for e in result["evidence"]:
        if e["where"].startswith("/"):
            return {"file": e["where"].lstrip("/") or "/", "line": e["line"]}
    return {}


def lines(report: dict, *, new: set[str] | None = None) -> list[str]:
    """An ``::error`` per failed control, a ``::warning`` per control that could not be
    decided and per expired waiver, worst first.

    Gating against a reference report, ``new`` names the controls that newly failed or
    erred: they come first, as errors, and the failures the reference already had follow as
    ``::notice`` (GitHub shows only the first ten errors of a step)."""
    out, accepted = [], []
    for r in sorted_results(report["results"]):
        if r["status"] not in ("fail", "error"):
            continue
        verdict = "failed" if r["status"] == "fail" else "could not be decided"
        if new is not None and r["id"] not in new:
            accepted.append(command("notice", f"{r['id']} {verdict} ({r['severity']}), as in the "
                                    f"reference report: {r['message']}", title=f"hostaudit {r['id']}",
                                    **_location(r)))
            continue
        kind = "error" if r["status"] == "fail" else "warning"
        since = ", new since the reference report" if new is not None else ""
        out.append(command(kind, f"{r['id']} {verdict} ({r['severity']}{since}): {r['message']}",
                           title=f"hostaudit {r['id']}", **_location(r)))
    for w in report.get("waivers", []):
        if w["status"] == "expired":
            out.append(command("warning", f"waiver of {w['control']} expired on {w['expires']} "
                               f"(approved by {w['approved_by']}): {w['reason']}",
                               title=f"hostaudit waiver expired: {w['control']}"))
    return out + accepted
