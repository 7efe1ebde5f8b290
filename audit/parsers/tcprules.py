"""tcprules(1) source text: ``address:instruction[,VAR="value"...]`` rules, one a line."""

from __future__ import annotations

import re

from hostaudit.parsers.lines import newline_lines

# The instruction must be allow or deny; what follows are environment settings for the
# server (``RELAYCLIENT=""``), which do not change who is let in.
_RULE = re.compile(r"^([^:]*):(allow|deny)(?:,(.*))?$")


def parse_tcprules(text: str) -> list[dict]:
    """Rules in file order: ``address`` ('' is the catch-all), ``action`` (allow/deny),
    ``env`` (the settings text, '' if none) and ``line`` (1-based).

    A line tcprules would reject (no colon, an instruction other than allow/deny) is kept with
    ``malformed: True`` and its ``text``. Comments (``#``) and blank lines are skipped.
    """
    rules: list[dict] = []
    for number, raw in enumerate(newline_lines(text), start=1):
        # as tcprules reads a line: trailing blanks go, leading ones stay part of the address
        line = raw.rstrip(" \t")
        if not line or line.startswith("#"):
            continue
        match = _RULE.match(line)
        if match is None:
            rules.append({"line": number, "malformed": True, "text": line[:200]})
            continue
        address, action, env = match.groups()
        rules.append({"address": address, "action": action, "env": env or "", "line": number})
    return rules


def effective_rule(rules: list[dict], address: str) -> dict | None:
    """The rule tcpserver applies to ``address`` (exact text), as the cdb lookup does:
    the first rule whose address equals it, else None."""
    return next((r for r in rules if not r.get("malformed") and r["address"] == address), None)
