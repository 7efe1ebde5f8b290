"""Users, groups and login.defs, read from the target's files."""

from __future__ import annotations

from hostaudit.host import Host
from hostaudit.parsers.passwd import parse_group, parse_login_defs, parse_passwd
from hostaudit.registry import probe


@probe("passwd")
def passwd(host: Host) -> dict:
    """/etc/passwd users (password field reduced to its kind, never the hash)."""
    return {"path": "/etc/passwd", "users": parse_passwd(host.read_text("/etc/passwd"))}


@probe("group")
def group(host: Host) -> dict:
    """/etc/group groups and members."""
    return {"path": "/etc/group", "groups": parse_group(host.read_text("/etc/group"))}


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
