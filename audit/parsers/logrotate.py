"""/etc/logrotate.conf global directives (those outside ``path { ... }`` blocks)."""

from __future__ import annotations

from hostaudit.parsers.lines import newline_lines

FREQUENCIES = ("hourly", "daily", "weekly", "monthly", "yearly")
# Directives that matter for retention; commented copies of them are kept too so evidence
# can say "#compress is commented out" rather than "not found".
_FLAGS = set(FREQUENCIES) | {"compress", "nocompress"}


def _directive(body: str) -> dict | None:
    words = body.split()
    if not words:
        return None
    name, args = words[0], words[1:]
    if name in _FLAGS and not args:
        return {"name": name, "args": []}
    if name == "rotate" and len(args) == 1 and args[0].lstrip("-").isdigit():
        return {"name": name, "args": args}
    return None


def parse_logrotate_globals(text: str) -> list[dict]:
    """Global retention directives in file order: ``{"name", "args", "line", "commented"}``.

    Only frequency, ``rotate N``, ``compress`` and ``nocompress`` are returned; lines inside
    ``{ }`` blocks belong to one log and are skipped. Comment prose such as
    ``# rotate log files weekly`` is not mistaken for a directive (it has the wrong shape).
    """
    directives = []
    depth = 0
    for number, raw in enumerate(newline_lines(text), start=1):
        body = raw.strip()
        commented = body.startswith("#")
        if not commented:
            opened, closed = body.count("{"), body.count("}")
            inside = depth > 0 or opened > 0
            depth = max(0, depth + opened - closed)
            if inside:
                continue
        elif depth > 0:
            continue
        found = _directive(body.lstrip("#").strip())
        if found:
            directives.append({**found, "line": number, "commented": commented})
    return directives
