"""SysV /etc/inittab: ``id:runlevels:action:process`` entries."""

from __future__ import annotations

from hostaudit.parsers.lines import newline_lines


def parse_inittab(text: str) -> list[dict]:
    """Entries ``{"id", "runlevels", "action", "process", "line", "commented"}``.

    Commented entries (``#ca::ctrlaltdel:...``) are kept and marked so evidence can say the
    line was disabled; comment prose and lines without four fields are skipped.
    """
    entries = []
    for number, raw in enumerate(newline_lines(text), start=1):
        body = raw.strip()
        commented = body.startswith("#")
        fields = body.lstrip("#").strip().split(":", 3)
        if len(fields) != 4 or " " in fields[0] or not fields[2].isalpha():
            continue
        ident, runlevels, action, process = fields
        entries.append({"id": ident, "runlevels": runlevels, "action": action,
                        "process": process.strip(), "line": number, "commented": commented})
    return entries
