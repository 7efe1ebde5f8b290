"""Users, groups and login.defs, read from the target's files."""

from __future__ import annotations

from hostaudit.errors import ProbeError
from hostaudit.host import Host
from hostaudit.parsers.passwd import malformed_lines, parse_group, parse_login_defs, parse_passwd
from hostaudit.registry import probe

# Account databases are read whole: a hidden account past any cut-off would pass unseen.
# 64 MiB holds about a million entries; a larger file is refused (the checks say error).
ACCOUNT_DB_LIMIT = 64 << 20
_LINES_NAMED = 10


def refuse_malformed(path: str, entries: list[dict]) -> None:
    """Raise ProbeError naming ``path`` and its malformed lines, if it has any.

    A line the parser cannot read may hold any account (binary garbage, a NUL-filled file,
    a mangled entry): every conclusion drawn from the rest would be a guess.
    """
    bad = malformed_lines(entries)
    if bad:
        named = ", ".join(str(n) for n in bad[:_LINES_NAMED])
        more = f" and {len(bad) - _LINES_NAMED} more" if len(bad) > _LINES_NAMED else ""
        raise ProbeError(f"{path}: malformed entry at line {named}{more}; its accounts cannot be known")


@probe("passwd")
def passwd(host: Host) -> dict:
    """/etc/passwd users (password field reduced to its kind, never the hash).

    A file with malformed lines is a ProbeError naming them (see :func:`refuse_malformed`).
    """
    users = parse_passwd(host.read_text("/etc/passwd", limit=ACCOUNT_DB_LIMIT))
    refuse_malformed("/etc/passwd", users)
    return {"path": "/etc/passwd", "users": users}


@probe("group")
def group(host: Host) -> dict:
    """/etc/group groups and members; malformed lines are a ProbeError as for passwd."""
    groups = parse_group(host.read_text("/etc/group", limit=ACCOUNT_DB_LIMIT))
    refuse_malformed("/etc/group", groups)
    return {"path": "/etc/group", "groups": groups}


@probe("login_defs")
def login_defs(host: Host) -> dict:
    """/etc/login.defs settings; an absent file is an empty mapping (defaults apply)."""
    try:
        text = host.read_text("/etc/login.defs")
    except FileNotFoundError:
        return {"path": "/etc/login.defs", "present": False, "settings": {}}
    return {"path": "/etc/login.defs", "present": True, "settings": parse_login_defs(text)}


# sshd's default AuthorizedKeysFile; key files are stat'ed, never opened.
KEY_FILES = (".ssh/authorized_keys", ".ssh/authorized_keys2")
_NO_LOGIN = ("nologin", "false")
_MAX_HOMES = 5000


@probe("authorized_keys", needs=["passwd"])
def authorized_keys(host: Host, facts) -> dict:
    """Non-empty authorized_keys files in the homes of accounts with a shell that allows logins.

    ``{"files": {user: [path...]}, "unreadable": {user: reason}, "truncated": bool}``: only
    presence and size are looked at, so no key ever enters a fact.
    """
    users = [u for u in facts["passwd"]["users"] if u.get("home", "").startswith("/") and u.get("uid")
             and (u.get("shell") or "/bin/sh").rsplit("/", 1)[-1] not in _NO_LOGIN]
    files: dict = {}
    unreadable: dict = {}
    for user in users[:_MAX_HOMES]:
        for name in KEY_FILES:
            path = f"{user['home'].rstrip('/')}/{name}"
            try:
                if host.is_file(path) and host.stat(path).st_size > 0:
                    files.setdefault(user["name"], []).append(path)
            except OSError as exc:
                unreadable[user["name"]] = f"{path}: {exc.strerror or exc}"
    return {"files": files, "unreadable": unreadable, "truncated": len(users) > _MAX_HOMES}
