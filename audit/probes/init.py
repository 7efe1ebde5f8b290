"""What the Ctrl-Alt-Del key does: SysV inittab ``ctrlaltdel`` entries and systemd's target."""

from __future__ import annotations

import stat as _stat

from hostaudit.host import Host
from hostaudit.parsers.inittab import parse_inittab
from hostaudit.registry import probe

INITTAB = "/etc/inittab"
SYSTEMD_BINARIES = ("/lib/systemd/systemd", "/usr/lib/systemd/systemd")
MASK_PATH = "/etc/systemd/system/ctrl-alt-del.target"
UNIT_PATHS = ("/usr/lib/systemd/system/ctrl-alt-del.target", "/lib/systemd/system/ctrl-alt-del.target")


def _link_state(host: Host, path: str) -> dict | None:
    """``{"path", "kind": "symlink"|"file", "target"}`` for an existing path, else None."""
    try:
        info = host.lstat(path)
    except FileNotFoundError:
        return None
    if _stat.S_ISLNK(info.st_mode):
        return {"path": path, "kind": "symlink", "target": host.readlink(path)}
    return {"path": path, "kind": "file", "target": None}


@probe("ctrl_alt_del")
def ctrl_alt_del(host: Host) -> dict:
    """``{"inittab": {"path", "present", "entries": [ctrlaltdel entries]}, "systemd":
    {"present", "binary", "override": link state or None, "unit": vendor unit path or None}}``."""
    inittab = {"path": INITTAB, "present": host.exists(INITTAB), "entries": []}
    if inittab["present"]:
        inittab["entries"] = [e for e in parse_inittab(host.read_text(INITTAB))
                              if e["action"] == "ctrlaltdel"]
    binary = next((path for path in SYSTEMD_BINARIES if host.exists(path)), None)
    systemd = {
        "present": binary is not None,
        "binary": binary,
        "override": _link_state(host, MASK_PATH),
        "unit": next((path for path in UNIT_PATHS if host.exists(path)), None),
    }
    return {"inittab": inittab, "systemd": systemd}
