"""Kernel parameters: the persistent settings (sysctl.d order), the values in force, and
which kernels an image carries (a key may not exist in them at all).
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from hostaudit.host import Host
from hostaudit.parsers.sysctl import (
    SYSCTL_CONF,
    SYSCTL_D_DIRS,
    load_order,
    parse_sysctl_conf,
    proc_path,
)
from hostaudit.registry import probe

# The network parameters the document sets in /etc/sysctl.conf (one control each).
AUDITED_KEYS = (
    "net.ipv4.icmp_echo_ignore_all",
    "net.ipv4.icmp_echo_ignore_broadcasts",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.conf.all.accept_source_route",
    "net.ipv4.conf.all.accept_redirects",
    "net.ipv4.ip_always_defrag",
    "net.ipv4.conf.all.rp_filter",
    "net.ipv4.conf.all.log_martians",
)
_KERNEL_VERSION = re.compile(r"^(\d+(?:\.\d+)*)")
# /proc/sys refuses reads of the Host's default 4 MiB size with ENOMEM.
_PROC_SYS_READ = 4096


def _masked(host: Host, path: str) -> bool:
    """A sysctl.d name linked to /dev/null masks the vendor file of that name."""
    return host.link_target(path) == "/dev/null"


@probe("sysctl_persistent")
def sysctl_persistent(host: Host) -> dict:
    """The winning persistent setting of each audited key, and the files read in order.

    ``{"looked_in": [...], "files": [paths in load order], "settings": {key: {value, path,
    line, ignore_failure, pattern?}}}``. A glob key (``net.ipv4.conf.*.rp_filter``, as in
    systemd's 50-default.conf) counts for every audited key it matches.
    """
    found = {d: host.listdir(d) if host.is_dir(d) else [] for d in SYSCTL_D_DIRS}
    files = [p for p in load_order(found) if not _masked(host, p) and host.is_file(p)]
    if host.is_file(SYSCTL_CONF):
        files.append(SYSCTL_CONF)  # procps `sysctl --system` reads it last: it wins
    settings: dict = {}
    for path in files:
        for entry in parse_sysctl_conf(host.read_text(path)):
            if entry.get("malformed"):
                continue
            for key in AUDITED_KEYS:
                if entry["key"] == key or fnmatch.fnmatchcase(key, entry["key"]):
                    settings[key] = {
                        "value": entry["value"], "path": path, "line": entry["line"],
                        "ignore_failure": entry["ignore_failure"],
                        **({"pattern": entry["key"]} if entry["key"] != key else {}),
                    }
    looked_in = [f"{d}/*.conf" for d in SYSCTL_D_DIRS] + [SYSCTL_CONF]
    return {"looked_in": looked_in, "files": files, "settings": settings}


@probe("sysctl_runtime")
def sysctl_runtime(host: Host) -> dict:
    """Live: ``{"available": True, "values": {key: {"path", "value"} or {"path",
    "missing": True} or {"path", "error"}}}``; an image has no running kernel.
    """
    if host.kind != "live":
        return {"available": False, "reason": f"a {host.kind} target has no running kernel"}
    values: dict[str, dict[str, Any]] = {}
    for key in AUDITED_KEYS:
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
    """Kernel releases: ``{"running": str|None, "installed": [{release, version: [ints],
    source}]}`` from /proc (live), /lib/modules/* and /boot/vmlinuz-*.
    """
    running = None
    if host.kind == "live":
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
