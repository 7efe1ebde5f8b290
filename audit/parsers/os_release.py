"""os-release(5): which operating system a root holds, as the distribution names it."""

from __future__ import annotations

import re

from hostaudit.parsers.lines import newline_lines

# Only the fields a report header shows; the rest of the file is the distribution's business.
_FIELDS = ("NAME", "VERSION", "VERSION_ID", "ID", "ID_LIKE", "PRETTY_NAME")
_LINE = re.compile(r"([A-Z][A-Z0-9_]*)=(.*)")
# A hostile image can write anything here; a header line has no use for more.
_MAX_VALUE = 200


def _unquote(value: str) -> str:
    """Shell-style quoting as os-release(5) allows: one pair of quotes, backslash escapes."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
        if value and value[0] != "'":
            value = re.sub(r"\\([\\$\"`])", r"\1", value)
    return value


def parse_os_release(text: str) -> dict:
    """``NAME="Debian GNU/Linux"`` lines -> ``{"name": "Debian GNU/Linux", ...}`` (lower-case
    keys; only name, version, version_id, id, id_like and pretty_name; each value at most 200
    characters, control characters dropped)."""
    found: dict[str, str] = {}
    for line in newline_lines(text):
        match = _LINE.fullmatch(line.strip())
        if not match or match.group(1) not in _FIELDS:
            continue
        value = "".join(ch for ch in _unquote(match.group(2)) if ch.isprintable())
        found[match.group(1).lower()] = value[:_MAX_VALUE]
    return found
