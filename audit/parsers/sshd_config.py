"""sshd_config(5): directives with their lines, and the values sshd would actually use."""

from __future__ import annotations

import re
import shlex

from hostaudit.parsers.lines import newline_lines

# Keywords sshd accepts many times, each occurrence adding a value instead of being ignored.
ACCUMULATING = frozenset({"port", "listenaddress"})
# A keyword is separated from its arguments by blanks or one "=" (``Port=2112``).
_DIRECTIVE = re.compile(r"([^\s=]+)(?:\s*=\s*|\s+|$)(.*)")


def parse_sshd_config(text: str) -> list[dict]:
    """Directives of one sshd_config file, in order.

    Each: ``keyword`` (lower case, as sshd compares them), ``args`` (list), ``line``
    (1-based) and ``in_match`` (True after a ``Match`` line: such values are conditional,
    never global). A line sshd would reject (no argument, unbalanced quotes) is kept with
    ``malformed: True``.
    """
    directives: list[dict] = []
    in_match = False
    for number, raw in enumerate(newline_lines(text), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _DIRECTIVE.match(line)
        try:
            if match is None:
                raise ValueError("no keyword")
            keyword = match.group(1).lower()
            args = shlex.split(match.group(2), comments=True)
        except ValueError:
            directives.append({"keyword": match.group(1).lower() if match else line, "args": [],
                               "line": number, "in_match": in_match, "malformed": True})
            continue
        if keyword == "match":
            in_match = not (args and args[0].lower() == "all")
        entry = {"keyword": keyword, "args": args, "line": number, "in_match": in_match}
        if not args:
            entry["malformed"] = True
        directives.append(entry)
    return directives


def effective_settings(directives: list[dict]) -> dict:
    """The global values sshd uses: the first occurrence of each keyword wins.

    Accumulating keywords (``Port``, ``ListenAddress``) keep every global occurrence.
    Returns ``{keyword: [directive, ...]}`` (one element unless accumulating); directives
    inside ``Match`` blocks and malformed lines are left out.
    """
    settings: dict[str, list[dict]] = {}
    for d in directives:
        if d.get("in_match") or d.get("malformed") or d["keyword"] in ("match", "include"):
            continue
        if d["keyword"] in ACCUMULATING:
            settings.setdefault(d["keyword"], []).append(d)
        else:
            settings.setdefault(d["keyword"], [d])
    return settings


def listen_port(address: str) -> int | None:
    """The explicit port of a ``ListenAddress`` value (``0.0.0.0:22``, ``[::1]:2112``), if any."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        return None
    if address.startswith("["):
        return int(port) if host.endswith("]") else None
    return int(port) if ":" not in host else None  # a bare IPv6 address has no port
