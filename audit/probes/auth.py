"""Authentication state: /etc/shadow schemes and mode, /etc/pam.d/su, NIS configuration."""

from __future__ import annotations

import stat as _stat
import time

from hostaudit.host import Host
from hostaudit.parsers.nsswitch import parse_nsswitch
from hostaudit.parsers.pam import parse_pam
from hostaudit.parsers.shadow import parse_shadow
from hostaudit.probes.accounts import ACCOUNT_DB_LIMIT
from hostaudit.registry import probe

SHADOW = "/etc/shadow"
PAM_SU = "/etc/pam.d/su"
NSSWITCH = "/etc/nsswitch.conf"
# Where an enabled ypbind shows up: systemd wants links, SysV start links (Debian and Red Hat).
@probe("shadow", needs=["group"])
def shadow(host: Host, facts) -> dict:
    """/etc/shadow: its mode and owner, and each account's hash *scheme* (never the hash).

    ``{"path", "present", "mode", "uid", "gid", "group_name", "readable", "read_error", "entries":
    [{"name", "scheme", "line", "expires"?, "expired"?, "inactive_since"?}]}`` (``expired``: the
    account's expiration day has come; ``inactive_since``: the day its password, aged past its
    maximum, left the account inactive; either way it cannot log in at all). Mode is available
    even when the contents are not readable (live audit as a normal user), so ``auth.shadow`` can
    still decide.
    """
    fact = {"path": SHADOW, "present": host.exists(SHADOW)}
    if not fact["present"]:
        return fact
    info = host.stat(SHADOW)
    fact.update(mode=_stat.S_IMODE(info.st_mode), uid=info.st_uid, gid=info.st_gid)
    if not facts.error_of("group"):  # None: the group file cannot tell; "": no group has that gid
        fact["group_name"] = next((g["name"] for g in facts["group"]["groups"]
                                   if g.get("gid") == info.st_gid and "name" in g), "")
    try:
        entries = parse_shadow(host.read_text(SHADOW, limit=ACCOUNT_DB_LIMIT))
        today = int(time.time() // 86400)
        for entry in entries:
            # pam_unix: expired once the day count reaches the field (an image is judged as of today)
            if "expires" in entry and today >= entry["expires"]:
                entry["expired"] = True
            # pam_unix: a password older than max + inactive days locks the account (last change 0
            # only forces a change at the next login)
            ageing = entry.pop("ageing", None)
            if ageing and ageing["last_change"] \
                    and today - ageing["last_change"] > ageing["max_days"] + ageing["inactive_days"]:
                entry["inactive_since"] = ageing["last_change"] + ageing["max_days"] + ageing["inactive_days"]
        fact.update(readable=True, entries=entries)
    except PermissionError as exc:
        fact.update(readable=False, read_error=exc.strerror, entries=[])
    return fact


_PAM_DIR = "/etc/pam.d"
_INCLUDE_DEPTH = 8  # Linux-PAM's own limit on nested includes


def _included(rule: dict) -> str | None:
    """The service file an uncommented ``@include X`` or ``auth include X`` line pulls in."""
    if rule["commented"]:
        return None
    if "include" in rule:
        return rule["include"]
    return rule["module"] if rule.get("control") == "include" else None


def _auth_stack(host: Host, path: str, depth: int, seen: tuple) -> list[dict]:
    """The auth rules of ``path`` with includes expanded in place (PAM inlines them, so a
    sufficient module in common-auth ends su's stack); each rule names its ``path``."""
    stack = []
    for rule in parse_pam(host.read_text(path)):
        if rule.get("type", "auth") != "auth":
            continue
        stack.append({**rule, "path": path})
        name = _included(rule)
        if name is None:
            continue
        target = f"{_PAM_DIR}/{name}"
        if "/" in name or name in ("", ".", "..") or target in seen or depth >= _INCLUDE_DEPTH \
                or not host.is_file(target):
            continue  # PAM fails such a stack rather than skipping wheel: nothing to expand
        stack += _auth_stack(host, target, depth + 1, seen + (target,))
    return stack


@probe("pam_su")
def pam_su(host: Host) -> dict:
    """The auth rules of /etc/pam.d/su and the files it includes, commented-out ones marked.

    ``{"path", "present", "rules": [...]}``: each rule as :func:`hostaudit.parsers.pam.parse_pam`
    returns it plus ``path`` (the file it is in); the rules of an ``@include``d or ``include``d
    file follow its include line, as PAM runs them (``substack`` files are not expanded: what
    ends a substack does not end su's stack)."""
    if not host.exists(PAM_SU):
        return {"path": PAM_SU, "present": False, "rules": []}
    return {"path": PAM_SU, "present": True, "rules": _auth_stack(host, PAM_SU, 0, (PAM_SU,))}


@probe("nsswitch")
def nsswitch(host: Host) -> dict:
    """/etc/nsswitch.conf: which name services each database consults.

    /etc/nsswitch.conf entries: ``{"path", "present", "entries": [{"database",
    "services", "line"}]}``."""
    if not host.exists(NSSWITCH):
        return {"path": NSSWITCH, "present": False, "entries": []}
    return {"path": NSSWITCH, "present": True, "entries": parse_nsswitch(host.read_text(NSSWITCH))}
