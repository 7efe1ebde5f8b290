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
