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
@probe("shadow")
def shadow(host: Host) -> dict:
    """/etc/shadow: its mode and owner, and each account's hash *scheme* (never the hash).

    ``{"path", "present", "mode", "uid", "gid", "readable", "read_error", "entries":
    [{"name", "scheme", "line", "expires"?, "expired"?}]}`` (``expired``: the account's
    expiration day has come, so it cannot log in at all). Mode is available even when the contents are not
    readable (live audit as a normal user), so ``auth.shadow`` can still decide.
    """
    fact = {"path": SHADOW, "present": host.exists(SHADOW)}
    if not fact["present"]:
        return fact
    info = host.stat(SHADOW)
    fact.update(mode=_stat.S_IMODE(info.st_mode), uid=info.st_uid, gid=info.st_gid)
    try:
        entries = parse_shadow(host.read_text(SHADOW, limit=ACCOUNT_DB_LIMIT))
        today = int(time.time() // 86400)
        for entry in entries:
            # pam_unix: expired once the day count reaches the field (an image is judged as of today)
            if "expires" in entry and today >= entry["expires"]:
                entry["expired"] = True
        fact.update(readable=True, entries=entries)
    except PermissionError as exc:
        fact.update(readable=False, read_error=exc.strerror, entries=[])
    return fact


@probe("pam_su")
def pam_su(host: Host) -> dict:
    """The auth rules of /etc/pam.d/su and the files it includes, commented-out ones marked.

    /etc/pam.d/su auth rules and includes (commented ones marked): ``{"path", "present",
    "rules": [...]}`` as :func:`hostaudit.parsers.pam.parse_pam` returns them."""
    if not host.exists(PAM_SU):
        return {"path": PAM_SU, "present": False, "rules": []}
    rules = [r for r in parse_pam(host.read_text(PAM_SU)) if r.get("type", "auth") == "auth"]
    return {"path": PAM_SU, "present": True, "rules": rules}


@probe("nsswitch")
def nsswitch(host: Host) -> dict:
    """/etc/nsswitch.conf: which name services each database consults.

    /etc/nsswitch.conf entries: ``{"path", "present", "entries": [{"database",
    "services", "line"}]}``."""
    if not host.exists(NSSWITCH):
        return {"path": NSSWITCH, "present": False, "entries": []}
    return {"path": NSSWITCH, "present": True, "entries": parse_nsswitch(host.read_text(NSSWITCH))}
