"""/etc/passwd and /etc/group."""

from __future__ import annotations

import re

# Bytes no account database line holds: NUL (binary garbage, a file of zeros) and the other
# C0 controls but tab. A line with one is malformed rather than read around.
_CONTROL = frozenset(chr(c) for c in range(32) if c != 9) | {"\x7f"}


def has_control_chars(line: str) -> bool:
    """Whether ``line`` holds a NUL or another control character no database line may hold."""
    return not _CONTROL.isdisjoint(line)


def malformed_lines(entries: list[dict]) -> list[int]:
    """Line numbers of the entries a parser marked malformed, in file order."""
    return [e["line"] for e in entries if e.get("malformed")]


def password_field_kind(field: str) -> str:
    """Classify a passwd/shadow password field without keeping it.

    ``x`` means the hash lives in shadow; ``empty`` is no password at all; ``locked`` starts
    with ``!`` or ``*``; anything else is a hash stored in place (which is what we never copy).
    """
    if field == "x":
        return "shadowed"
    if field == "":
        return "empty"
    if field[0] in "!*":
        return "locked"
    return "hash"


def parse_passwd(text: str) -> list[dict]:
    """Parse passwd(5) lines into users; the password field is reduced to its kind.

    Each user: name, uid, gid, gecos, home, shell, password (kind), line (1-based).
    Malformed lines (wrong field count, non-numeric ids, control characters such as NUL)
    are returned with ``malformed: True`` so a check can name them.
    """
    users = []
    for number, raw in enumerate(entry_lines(text), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if has_control_chars(line):
            users.append({"name": "", "line": number, "malformed": True})
            continue
        if line[0] in "+-":  # NIS compat entries: keep the name, no fields to trust
            users.append({"name": line, "line": number, "nis_compat": True})
            continue
        fields = raw.split(":")
        if len(fields) != 7 or not fields[2].isdigit() or not fields[3].isdigit():
            users.append({"name": fields[0], "line": number, "malformed": True})
            continue
        name, pw, uid, gid, gecos, home, shell = fields
        users.append(
            {
                "name": name,
                "password": password_field_kind(pw),
                "uid": int(uid),
                "gid": int(gid),
                "gecos": gecos,
                "home": home,
                "shell": shell,
                "line": number,
            }
        )
    return users


def parse_group(text: str) -> list[dict]:
    """Parse group(5) lines: name, gid, members (list), line (1-based); malformed lines as
    :func:`parse_passwd` marks them."""
    groups = []
    for number, raw in enumerate(entry_lines(text), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if has_control_chars(line):
            groups.append({"name": "", "line": number, "malformed": True})
            continue
        fields = line.split(":")
        if len(fields) != 4 or not fields[2].isdigit():
            groups.append({"name": fields[0], "line": number, "malformed": True})
            continue
        name, _pw, gid, members = fields
        groups.append(
            {
                "name": name,
                "gid": int(gid),
                "members": [m for m in members.split(",") if m],
                "line": number,
            }
        )
    return groups


def parse_login_defs(text: str) -> dict:
    """login.defs(5): ``KEY value`` pairs, with the line each came from.

    Returns ``{key: {"value": str, "line": int}}``; later lines override earlier ones.
    """
    settings: dict = {}
    # shadow-utils reads with fgets and skips C blanks: a form feed does not end a line,
    # a no-break space is part of a value.
    for number, raw in enumerate(entry_lines(text), start=1):
        line = raw.strip(_BLANKS)
        if not line or line.startswith("#"):
            continue
        parts = re.split(f"[{_BLANKS}]+", line, maxsplit=1)
        if len(parts) == 2:
            settings[parts[0]] = {"value": parts[1].strip(_BLANKS), "line": number}
    return settings


_BLANKS = " \t\r\f\v"


def entry_lines(text: str) -> list[str]:
    """The lines of a colon-separated database, split at newlines only."""
    # Only newline ends an entry (as in glibc's nss_files); str.splitlines would also split
    # at \r, \v, \f and \x1c-\x1e and so shift every later line number.
    lines = text.split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines
