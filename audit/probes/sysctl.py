"""Kernel parameters: the persistent settings (sysctl.d order), the values in force, and
which kernels an image carries (a key may not exist in them at all).
"""

from __future__ import annotations

import re
from typing import Any

from hostaudit.host import Host
from hostaudit.parsers.sysctl import (
    SYSCTL_CONF,
    SYSCTL_D_DIRS,
    load_order,
    normalize_key,
    parse_sysctl_conf,
    proc_path,
    winning_setting,
)
from hostaudit.registry import probe

_KERNEL_VERSION = re.compile(r"^(\d+(?:\.\d+)*)")
# /proc/sys refuses reads of the Host's default 4 MiB size with ENOMEM.
_PROC_SYS_READ = 4096



def _requested_keys(request: dict | None) -> list[str]:
    return [normalize_key(str(k)) for k in (request or {}).get("keys", [])]


def boots_systemd(facts) -> bool:
    """Whether systemd is the init that boots (image) or runs (live) the target."""
    return not facts.error_of("init_system") and facts["init_system"]["kind"] == "systemd"


def boot_files(host: Host, systemd: bool) -> list[str]:
    """The sysctl files applied at boot, in order. systemd-sysctl reads sysctl.d only: since
    systemd 207 /etc/sysctl.conf counts only through a sysctl.d link to it (Debian's
    99-sysctl.conf, already in the order); procps' ``sysctl --system`` reads it last."""
    found = {d: host.listdir(d) if host.is_dir(d) else [] for d in SYSCTL_D_DIRS}
    files = [p for p in load_order(found) if not host.masked(p) and host.is_file(p)]
    if host.is_file(SYSCTL_CONF) and not systemd:
        files.append(SYSCTL_CONF)  # procps `sysctl --system` reads it last: it wins
    return files


def unread_sysctl_conf(host: Host, files: list[str], systemd: bool) -> str | None:
    """Why /etc/sysctl.conf, present, applies nothing at boot (None when it is read)."""
    if not systemd or not host.is_file(SYSCTL_CONF):
        return None
    if any(host.canonical(p) == host.canonical(SYSCTL_CONF) for p in files):
        return None
    return ("systemd-sysctl does not read it (since systemd 207), and no /etc/sysctl.d/*.conf "
            "links to it (Debian's 99-sysctl.conf)")


@probe("sysctl_persistent", needs=["init_system"], takes_request=True)
def sysctl_persistent(host: Host, facts, request: dict | None = None) -> dict:
    """The persistent setting that wins for each key the selected controls name, and the
    sysctl files read, in the order they are applied.

    The keys come from ``request["keys"]``. ``{"looked_in": [...], "files": [paths in load
    order], "settings": {key: {value, path, line, ignore_failure, pattern?}}, "ignored"?: [{path,
    why}]}`` (``ignored``: /etc/sysctl.conf where systemd boots and reads it not). A glob key
    (``net.ipv4.conf.*.rp_filter``, as in systemd's 50-default.conf) counts for a requested
    key it matches only where no line names the key itself (systemd-sysctl's rule).
    """
    wanted = _requested_keys(request)
    systemd = boots_systemd(facts)
    files = boot_files(host, systemd)
    parsed = [(path, parse_sysctl_conf(host.read_text(path))) for path in files]
    settings: dict = {}
    for key in wanted:
        won = winning_setting(parsed, key)
        if won is not None:
            path, entry = won
            settings[key] = {
                "value": entry["value"], "path": path, "line": entry["line"],
                "ignore_failure": entry["ignore_failure"],
                **({"pattern": entry["key"]} if entry["key"] != key else {}),
            }
    looked_in = [f"{d}/*.conf" for d in SYSCTL_D_DIRS] + [SYSCTL_CONF]
    fact = {"looked_in": looked_in, "files": files, "settings": settings}
    unread = unread_sysctl_conf(host, files, systemd)
    if unread:
        fact["ignored"] = [{"path": SYSCTL_CONF, "why": unread}]
    return fact


@probe("sysctl_runtime", takes_request=True)
def sysctl_runtime(host: Host, request: dict | None = None) -> dict:
    """The kernel parameters in force, read from /proc/sys (live only: an image runs no kernel).

    Live: ``{"available": True, "values": {key: {"path", "value"} or {"path",
    "missing": True} or {"path", "error"}}}`` for exactly the requested keys (one read of
    /proc/sys each, never a scan of the tree); an image has no running kernel.
    """
    if host.mode != "live":
        return {"available": False, "reason": f"a {host.mode} target has no running kernel"}
    values: dict[str, dict[str, Any]] = {}
    for key in _requested_keys(request):
        path = proc_path(key)
        try:
            text = host.read_text(path, limit=_PROC_SYS_READ)
            values[key] = {"path": path, "value": " ".join(text.split())}
        except FileNotFoundError:
            values[key] = {"path": path, "missing": True}
        except OSError as exc:
            values[key] = {"path": path, "error": exc.strerror or str(exc)}
    return {"available": True, "values": values}


def _version(name: str) -> list[int] | None:
    match = _KERNEL_VERSION.match(name)
    return [int(n) for n in match.group(1).split(".")] if match else None


@probe("kernels")
def kernels(host: Host) -> dict:
    """Kernel releases: the running one (live) and those installed in /lib/modules and /boot.

    Kernel releases: ``{"running": str|None, "installed": [{release, version: [ints],
    source}]}`` from /proc (live), /lib/modules/* and /boot/vmlinuz-*.
    """
    running = None
    if host.mode == "live":
        running = host.read_text("/proc/sys/kernel/osrelease", limit=_PROC_SYS_READ).strip()
    installed: list[dict[str, Any]] = []
    if host.is_dir("/lib/modules"):
        for release in host.listdir("/lib/modules"):
            installed.append({"release": release, "source": f"/lib/modules/{release}"})
    for path in host.glob("/boot/vmlinuz-*"):
        release = path.rsplit("/", 1)[1].removeprefix("vmlinuz-")
        installed.append({"release": release, "source": path})
    for kernel in installed:
        kernel["version"] = _version(kernel["release"])
    return {"running": running, "running_version": _version(running or ""),
            "installed": installed}
