"""systemd unit files (``[Section]`` then ``Key=value`` lines), as systemd.syntax(7) reads them."""

from __future__ import annotations

from hostaudit.parsers.lines import newline_lines


def parse_unit(text: str) -> list[dict]:
    """Assignments in file order: ``section``, ``key``, ``value`` and ``line`` (1-based).

    Backslash-continued lines are joined and reported at their first line. An empty value
    (``ListenStream=``) is kept: for list settings it resets what came before. Lines that are
    neither a section header nor an assignment are kept with ``malformed: True``.
    """
    entries: list[dict] = []
    section = ""
    pending = ""
    start = 0
    for number, raw in enumerate(newline_lines(text), start=1):
        if not pending:
            start = number
        line = raw.strip()
        if not pending and (not line or line[0] in "#;"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = (pending + line).strip(), ""
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            entries.append({"section": section, "line": start, "malformed": True, "text": line[:200]})
            continue
        entries.append({"section": section, "key": key.strip(), "value": value.strip(), "line": start})
    return entries


def list_setting(entries: list[dict], section: str, key: str) -> list[dict]:
    """The values of a list setting after resets: an empty assignment clears earlier ones.

    ``entries`` may concatenate a unit and its drop-ins, in the order systemd applies them.
    """
    values: list[dict] = []
    for e in entries:
        if e.get("malformed") or e["section"] != section or e["key"] != key:
            continue
        values = values + [e] if e["value"] else []
    return values
