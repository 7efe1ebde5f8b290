"""/etc/nsswitch.conf: which name services each database consults."""

from __future__ import annotations

import re

from hostaudit.parsers.lines import newline_lines


def parse_nsswitch(text: str) -> list[dict]:
    """Entries ``{"database", "services", "line"}``; ``[NOTFOUND=return]`` actions are dropped.

    Lines without ``database:`` are returned with ``malformed: True``.
    """
    entries: list[dict] = []
    for number, raw in enumerate(newline_lines(text), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        database, sep, rest = line.partition(":")
        if not sep or not database.strip() or " " in database.strip():
            entries.append({"line": number, "malformed": True})
            continue
        # Drop "[NOTFOUND=return]" action blocks, which may contain spaces.
        services = re.sub(r"\[[^\]]*\]?", " ", rest).split()
        entries.append({"database": database.strip(), "services": services, "line": number})
    return entries
