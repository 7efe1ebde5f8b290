"""qmail's own files: control files (one value a line, the first line the setting), the
``qmail-start`` lines of /var/qmail/rc, and a ``.qmail`` delivery template."""

from __future__ import annotations

import re

from hostaudit.parsers.lines import judged, judged_lines, newline_lines

EVIDENCE_CHARS = 120  # enough of a line to show what it says, never a whole file
MAILDIR = "./Maildir/"
SHOWN_TEMPLATE_LINES = 10
_QMAIL_START = re.compile(re.escape("qmail-start"))


def first_line(text: str, where: str, *, judged_whole: bool = True) -> str | None:
    """The first line of a control file, or None when it is empty: whole when a verdict reads
    it (``LineTooLong`` past the limit; ``0...0999999999`` cut would read as 99999), else
    cut to ``EVIDENCE_CHARS`` for display."""
    lines = newline_lines(text)
    if not lines:
        return None
    return judged(lines[0], f"{where}:1") if judged_whole else lines[0][:EVIDENCE_CHARS]


def entry_count(text: str) -> int:
    """How many entries a list control file (badmailfrom) holds: lines neither blank nor ``#``."""
    return sum(1 for line in newline_lines(text) if line.strip() and not line.startswith("#"))


def qmail_start_lines(text: str, where: str) -> list[dict]:
    """The uncommented lines of /var/qmail/rc that run ``qmail-start``, whole:
    ``[{"line", "text"}]`` (a cut ``qmail-start ./Maildir/mbox`` would read as ./Maildir/)."""
    return judged_lines(text, where, _QMAIL_START)


def delivery_template(text: str) -> dict:
    """A ``.qmail`` template: ``{"lines": the first ten (display), "maildir_line": the 1-based
    line that delivers to ./Maildir/, or None}``. Judged on every line, not the ten shown: a
    template may deliver below its comments."""
    lines = [line.strip() for line in newline_lines(text)]
    return {"lines": [line[:EVIDENCE_CHARS] for line in lines[:SHOWN_TEMPLATE_LINES]],
            "maildir_line": next((n for n, line in enumerate(lines, start=1) if line == MAILDIR), None)}


def dot_qmail_deliveries(text: str) -> dict:
    """What a .qmail file tells qmail-local to do, per dot-qmail(5): ``{"forwards", "files",
    "programs"}`` (each a list of ``{"line", "text"}``) and ``blank_first`` (a blank first line:
    qmail-local defers every message). ``#`` lines are comments; ``|`` runs a program; a line
    starting with ``.`` or ``/`` is an mbox or (ending in ``/``) a Maildir; ``&`` or anything
    else forwards to an address. Trailing blanks do not count; later blank lines are skipped.
    """
    found: dict = {"forwards": [], "files": [], "programs": [], "blank_first": False}
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip(" \t")
        if not line:
            found["blank_first"] = found["blank_first"] or (number == 1 and text != "")
            continue
        kind = {"#": None, "|": "programs", ".": "files", "/": "files"}.get(line[0], "forwards")
        if kind:
            found[kind].append({"line": number, "text": line[:EVIDENCE_CHARS]})
    return found
