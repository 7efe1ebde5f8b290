"""/etc/passwd and /etc/group."""

from __future__ import annotations


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
    Malformed lines are returned with ``malformed: True`` so a check can name them.
    """
    users = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
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
    """Parse group(5) lines: name, gid, members (list), line (1-based)."""
    groups = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
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
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 1)
        if len(parts) == 2:
            settings[parts[0]] = {"value": parts[1].strip(), "line": number}
    return settings
