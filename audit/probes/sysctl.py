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


@probe("sysctl_persistent", takes_request=True)
def sysctl_persistent(host: Host, request: dict | None = None) -> dict:
    """The persistent setting that wins for each key the selected controls name, and the
    sysctl files read, in the order they are applied.

    The keys come from ``request["keys"]``. ``{"looked_in": [...], "files": [paths in load
    order], "settings": {key: {value, path, line, ignore_failure, pattern?}}}``. A glob key
    (``net.ipv4.conf.*.rp_filter``, as in systemd's 50-default.conf) counts for a requested
    key it matches only where no line names the key itself (systemd-sysctl's rule).
    """
    wanted = _requested_keys(request)
    found = {d: host.listdir(d) if host.is_dir(d) else [] for d in SYSCTL_D_DIRS}
    files = [p for p in load_order(found) if not host.masked(p) and host.is_file(p)]
    if host.is_file(SYSCTL_CONF):
        files.append(SYSCTL_CONF)  # procps `sysctl --system` reads it last: it wins
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
    return {"looked_in": looked_in, "files": files, "settings": settings}


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
