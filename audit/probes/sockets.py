"""Probes: listening sockets and the mail-related processes of the live host (psutil).

Only a live host has a socket table and processes; on an image or a network target these
probes raise, so the checks that need them say why instead of guessing. Where psutil is not
installed (a collector on a bare Python) they raise too, naming it: the rest of the audit
runs, and only the controls reading sockets or processes say ``error``.
"""

from __future__ import annotations

import os
import socket
import sys

try:
    import psutil
except ImportError:  # the probes below say so; every other fact is still collected
    psutil = None  # type: ignore[assignment]

from hostaudit.errors import ProbeError
from hostaudit.host import Host
from hostaudit.registry import probe

CMDLINE_CHARS = 300
_DAEMONS = {"tcpserver", "stunnel", "stunnel4", "sshd"}


def _require_live(host: Host, what: str) -> None:
    """ProbeError naming what cannot be read and why, unless ``host`` is live and psutil here."""
    if host.mode != "live":
        raise ProbeError(f"{what} can only be read on a live host (this is a {host.mode} target)")
    if psutil is None:
        raise ProbeError(f"{what} is read with psutil, which is not installed for this Python "
                         f"({sys.executable}); install psutil>=5.9 on the target")


def _unknown_owner(pid: int | None, note: str) -> dict:
    return {"pid": pid, "process": None, "user": None, "program": None, "owner_known": False,
            "owner_note": note}


def _denied_pids(host: Host) -> list[int]:
    """Processes whose open files the auditor may not list: a socket psutil returns without a
    pid may belong to one of them (psutil skips them silently)."""
    denied = []
    for entry in host.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            for fd in host.listdir(f"/proc/{entry}/fd"):
                host.readlink(f"/proc/{entry}/fd/{fd}")
        except PermissionError:
            denied.append(int(entry))
        except OSError:
            continue  # exited, or an fd closed while we looked
    return sorted(denied)


def _unowned_note(denied: list[int]) -> str:
    """Why a socket has no pid: reading some processes' files was denied, or none here holds it."""
    if denied:
        shown = ", ".join(map(str, denied[:5])) + (", ..." if len(denied) > 5 else "")
        hint = "" if os.geteuid() == 0 else "; run as root to see it"
        return (f"its process is not known: listing the open files of {len(denied)} process(es) was denied "
                f"to uid {os.geteuid()} (pid {shown}){hint}")
    return ("no process this auditor can see holds it: a process in another PID namespace, a socket the "
            "kernel holds, or one that just exited")


def _owner(pid: int | None, cache: dict, denied: list[int]) -> dict:
    """Name, user and command line of the process that owns a socket, as far as we may see.

    Every entry has the same keys; what cannot be seen is None with a note saying why.
    """
    if pid is None:
        return _unknown_owner(None, _unowned_note(denied))
    if pid not in cache:
        try:
            proc = psutil.Process(pid)
            with proc.oneshot():
                # The program only, not its arguments: any listener's command line could
                # carry a password (--requirepass ...), and facts go into the report.
                argv = proc.cmdline()
                cache[pid] = {"pid": pid, "process": proc.name(), "user": proc.username(),
                              "program": argv[0][:CMDLINE_CHARS] if argv else None,
                              "owner_known": True, "owner_note": None}
        except psutil.NoSuchProcess:
            cache[pid] = _unknown_owner(pid, "process exited")
        except psutil.AccessDenied:
            cache[pid] = _unknown_owner(pid, f"process details not visible to uid {os.geteuid()}")
    return cache[pid]


@probe("listeners")
def listeners(host: Host) -> dict:
    """Listening TCP sockets and bound, unconnected UDP sockets, with their owning process."""
    _require_live(host, "the socket table")
    try:
        connections = psutil.net_connections(kind="inet")
    except psutil.AccessDenied as exc:
        raise ProbeError(f"the socket table is not readable as uid {os.geteuid()}") from exc
    owners: dict = {}
    seen = set()
    entries = []
    denied = _denied_pids(host) if any(c.pid is None for c in connections) else []
    for conn in connections:
        if conn.type == socket.SOCK_STREAM:
            if conn.status != psutil.CONN_LISTEN:
                continue
            proto = "tcp"
        elif conn.type == socket.SOCK_DGRAM and not conn.raddr and conn.laddr:
            proto = "udp"
        else:
            continue
        if not conn.laddr:  # a listening socket has an address; psutil types it optional
            continue
        key = (proto, conn.laddr.ip, conn.laddr.port, conn.pid)
        if key in seen:  # the same socket shared by forked workers, or listed per thread
            continue
        seen.add(key)
        entries.append({"proto": proto, "family": "ipv6" if conn.family == socket.AF_INET6
                        else "ipv4", "address": conn.laddr.ip, "port": conn.laddr.port,
                        **_owner(conn.pid, owners, denied)})
    entries.sort(key=lambda e: (e["proto"], e["port"], e["address"], e["pid"] or 0))
    return {"source": "socket table (psutil)", "as_uid": os.geteuid(), "listeners": entries}


@probe("processes")
def processes(host: Host) -> dict:
    """Running tcpserver, stunnel, sshd and qmail-* processes with their real/effective ids."""
    _require_live(host, "the process table")
    found = []
    # Names first (one small read per process); details only for the few daemons we audit.
    for proc in psutil.process_iter(["name"]):
        name = proc.info["name"] or ""
        if name not in _DAEMONS and not name.startswith("qmail-"):
            continue
        try:
            info = proc.as_dict(["pid", "ppid", "uids", "gids", "username", "cmdline"])
        except psutil.NoSuchProcess:
            continue
        uids, gids = info["uids"], info["gids"]
        found.append({
            "pid": info["pid"], "ppid": info["ppid"], "name": name, "user": info["username"],
            "uid_real": uids.real if uids else None, "uid_effective": uids.effective if uids else None,
            "gid_real": gids.real if gids else None, "gid_effective": gids.effective if gids else None,
            "cmdline": " ".join(info["cmdline"] or [])[:CMDLINE_CHARS],
        })
    found.sort(key=lambda p: p["pid"])
    return {"source": "process table (psutil)", "as_uid": os.geteuid(), "processes": found}
