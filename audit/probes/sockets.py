"""Probes: listening sockets and the mail-related processes of the live host.

Only a live host has a socket table and processes; on an image or a network target these
probes raise, so the checks that need them say why instead of guessing. psutil reads them
where it is installed; a collector on a bare Python (installed with ``--no-deps``) reads
the same tables from /proc through the Host instead, decoded as psutil decodes them, so
both give the same fact and only ``source`` tells them apart.
"""

from __future__ import annotations

import errno
import os
import pwd
import socket
import sys
from collections.abc import Callable, Iterable

try:
    import psutil
except ImportError:  # the /proc readers below stand in for it
    psutil = None  # type: ignore[assignment]

from hostaudit.errors import FileTooLarge, ProbeError
from hostaudit.host import ABSENT, Host
from hostaudit.parsers.proc_net import (
    TCP_LISTEN,
    display_name,
    parse_cmdline,
    parse_socket_table,
    parse_status,
    socket_inode,
)
from hostaudit.registry import probe

CMDLINE_CHARS = 300
_DAEMONS = {"tcpserver", "stunnel", "stunnel4", "sshd"}
# /proc/net/tcp takes 150 bytes a socket: 32 MiB is some 200,000 sockets. A larger table
# is an error, never a part of it read as the whole.
SOCKET_TABLE_LIMIT = 32 * 1024 * 1024
# status lists every supplementary group: 65536 of them take some 720 KiB.
STATUS_LIMIT = 1024 * 1024
# The kernel caps the argument area at 6 MiB (3/4 of _STK_LIM); a title rewritten past it
# reads on into the environment for at most a page.
CMDLINE_LIMIT = 8 * 1024 * 1024
_PROC_NET = (("tcp", "tcp", "ipv4"), ("tcp6", "tcp", "ipv6"), ("udp", "udp", "ipv4"),
             ("udp6", "udp", "ipv6"))
# What a vanished process says when its /proc files are read: gone, not unreadable.
_GONE = (*ABSENT, ProcessLookupError)


def _require_live(host: Host, what: str) -> None:
    """ProbeError naming what cannot be read and why, unless ``host`` is live."""
    if host.mode != "live":
        raise ProbeError(f"{what} can only be read on a live host (this is a {host.mode} target)")


def _unknown_owner(pid: int | None, note: str) -> dict:
    return {"pid": pid, "process": None, "user": None, "program": None, "owner_known": False,
            "owner_note": note}


def _pids(host: Host) -> list[int]:
    """The process ids /proc lists, in the kernel's (ascending) order, as psutil walks them."""
    return sorted(int(entry) for entry in host.listdir("/proc") if entry.isascii() and entry.isdigit())


def _open_sockets(host: Host) -> tuple[dict[int, int], list[int]]:
    """Socket inode -> pid holding it, and the processes whose open files may not be listed.

    A socket shared by several processes (forked workers) goes to the highest pid, as in
    psutil, which reads /proc in order and keeps the last. A process any of whose fds may
    not be read is denied as a whole, as psutil skips it.
    """
    owners: dict[int, int] = {}
    denied = []
    for pid in _pids(host):
        held: dict[int, int] = {}
        try:
            for fd in host.listdir(f"/proc/{pid}/fd"):
                try:
                    inode = socket_inode(host.readlink(f"/proc/{pid}/fd/{fd}"))
                except _GONE:
                    continue  # an fd closed while we looked
                except OSError as exc:
                    if exc.errno in (errno.EINVAL, errno.ENAMETOOLONG):
                        continue
                    raise
                if inode is not None:
                    held.setdefault(inode, pid)
        except PermissionError:
            denied.append(pid)
            continue
        except OSError:
            continue  # exited while we looked
        owners.update(held)
    return owners, denied


def _denied_pids(host: Host) -> list[int]:
    """Processes whose open files the auditor may not list: a socket psutil returns without a
    pid may belong to one of them (psutil skips them silently)."""
    return _open_sockets(host)[1]


def _unowned_note(denied: list[int]) -> str:
    """Why a socket has no pid: reading some processes' files was denied, or none here holds it."""
    if denied:
        shown = ", ".join(map(str, denied[:5])) + (", ..." if len(denied) > 5 else "")
        hint = "" if os.geteuid() == 0 else "; run as root to see it"
        return (f"its process is not known: listing the open files of {len(denied)} process(es) was denied "
                f"to uid {os.geteuid()} (pid {shown}){hint}")
    return ("no process this auditor can see holds it: a process in another PID namespace, a socket the "
            "kernel holds, or one that just exited")


def _username(uid: int) -> str:
    """The user of ``uid`` in the live passwd (NSS included), or the number, as psutil names it."""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _known_owner(pid: int, name: str, user: str, argv: list[str]) -> dict:
    # The program only, not its arguments: any listener's command line could carry a
    # password (--requirepass ...), and facts go into the report.
    return {"pid": pid, "process": name, "user": user,
            "program": argv[0][:CMDLINE_CHARS] if argv else None, "owner_known": True,
            "owner_note": None}


def _psutil_owner(pid: int) -> dict:
    """Name, user and program of process ``pid``, read by psutil."""
    try:
        proc = psutil.Process(pid)
        with proc.oneshot():
            argv = proc.cmdline()
            return _known_owner(pid, proc.name(), proc.username(), argv)
    except psutil.NoSuchProcess:
        return _unknown_owner(pid, "process exited")
    except psutil.AccessDenied:
        return _unknown_owner(pid, f"process details not visible to uid {os.geteuid()}")


class _Exited(Exception):
    """The process went away while its /proc files were read."""


class _Zombie(_Exited):
    """The process has exited and is not yet reaped: its name stands, its arguments are gone."""


def _read_proc(host: Host, pid: int, name: str, limit: int) -> str:
    """/proc/PID/NAME as text; _Exited when the process is gone, PermissionError as raised."""
    path = f"/proc/{pid}/{name}"
    try:
        return host.read_text(path, limit=limit)
    except _GONE as exc:
        raise _Exited(pid) from exc
    except FileTooLarge as exc:
        raise ProbeError(f"{path} holds more than {limit} bytes") from exc
    except PermissionError:
        raise
    except OSError as exc:
        raise ProbeError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _proc_argv(host: Host, pid: int, status: dict) -> list[str]:
    """Process ``pid``'s arguments; a zombie's are gone, as psutil says (ZombieProcess)."""
    argv = parse_cmdline(_read_proc(host, pid, "cmdline", CMDLINE_LIMIT))
    if not argv and status["state"] == "Z":
        raise _Zombie(pid)
    return argv


def _proc_status(host: Host, pid: int) -> dict:
    status = parse_status(_read_proc(host, pid, "status", STATUS_LIMIT))
    if status["name"] is None or status["uids"] is None or status["gids"] is None:
        raise ProbeError(f"/proc/{pid}/status has no Name:, Uid: or Gid: line")
    return status


def _proc_owner(host: Host, pid: int) -> dict:
    """Name, user and program of process ``pid``, read from /proc/PID/{status,cmdline}."""
    try:
        status = _proc_status(host, pid)
        argv = _proc_argv(host, pid, status)
        return _known_owner(pid, display_name(status["name"], argv), _username(status["uids"][0]), argv)
    except _Exited:
        return _unknown_owner(pid, "process exited")
    except PermissionError:
        return _unknown_owner(pid, f"process details not visible to uid {os.geteuid()}")


def _listener_entries(sockets: Iterable[tuple], owner: Callable[[int], dict],
                      denied: Callable[[], list[int]]) -> list[dict]:
    """The fact's entries from ``(proto, family, address, port, pid)`` tuples, sorted, each
    socket once, with its owner as far as the auditor may see it."""
    owners: dict = {}
    seen = set()
    entries = []
    for proto, family, address, port, pid in sockets:
        key = (proto, address, port, pid)
        if key in seen:  # the same socket shared by forked workers, or listed per thread
            continue
        seen.add(key)
        if pid is None:
            who = _unknown_owner(None, _unowned_note(denied()))
        else:
            if pid not in owners:
                owners[pid] = owner(pid)
            who = owners[pid]
        entries.append({"proto": proto, "family": family, "address": address, "port": port, **who})
    entries.sort(key=lambda e: (e["proto"], e["port"], e["address"], e["pid"] or 0))
    return entries


def _psutil_listeners(host: Host) -> list[dict]:
    try:
        connections = psutil.net_connections(kind="inet")
    except psutil.AccessDenied as exc:
        raise ProbeError(f"the socket table is not readable as uid {os.geteuid()}") from exc
    denied = _denied_pids(host) if any(c.pid is None for c in connections) else []
    sockets = []
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
        family = "ipv6" if conn.family == socket.AF_INET6 else "ipv4"
        sockets.append((proto, family, conn.laddr.ip, conn.laddr.port, conn.pid))
    return _listener_entries(sockets, _psutil_owner, lambda: denied)


def _proc_listeners(host: Host) -> list[dict]:
    # Owners first, then the tables, as psutil does: a socket opened in between has no pid.
    try:
        owners, denied = _open_sockets(host)
    except OSError as exc:
        raise ProbeError(f"cannot list /proc: {exc.strerror or exc}") from exc
    sockets = []
    for name, proto, family in _PROC_NET:
        path = f"/proc/net/{name}"
        try:
            text = host.read_text(path, limit=SOCKET_TABLE_LIMIT)
        except ABSENT as exc:
            if family == "ipv6":  # a kernel without IPv6 has no tcp6 or udp6
                continue
            raise ProbeError(f"{path} is missing: /proc is not mounted as procfs") from exc
        except FileTooLarge as exc:
            raise ProbeError(f"{path} holds more than {SOCKET_TABLE_LIMIT} bytes") from exc
        except OSError as exc:
            raise ProbeError(f"cannot read {path}: {exc.strerror or exc}") from exc
        table = parse_socket_table(text, family=family, byteorder=sys.byteorder)
        if table["errors"]:  # a socket on that line could be a listener: never skip it
            bad = table["errors"][0]
            raise ProbeError(f"{path} line {bad['line']} is not a socket line ({bad['reason']}): "
                             f"{bad['text']!r}")
        for entry in table["sockets"]:
            if not entry["local_port"]:
                continue
            if proto == "tcp" and entry["state"] != TCP_LISTEN:
                continue
            if proto == "udp" and entry["remote_port"]:  # connected: talks to one peer only
                continue
            sockets.append((proto, family, entry["local_address"], entry["local_port"],
                            owners.get(entry["inode"])))
    return _listener_entries(sockets, lambda pid: _proc_owner(host, pid), lambda: denied)


@probe("listeners")
def listeners(host: Host) -> dict:
    """Listening TCP sockets and bound, unconnected UDP sockets, with their owning process."""
    _require_live(host, "the socket table")
    if psutil is None:
        return {"source": "socket table (/proc)", "as_uid": os.geteuid(),
                "listeners": _proc_listeners(host)}
    return {"source": "socket table (psutil)", "as_uid": os.geteuid(),
            "listeners": _psutil_listeners(host)}


def _audited(name: str) -> bool:
    return name in _DAEMONS or name.startswith("qmail-")


def _process_entry(pid: int, ppid, name: str, user, uids, gids, argv) -> dict:
    return {
        "pid": pid, "ppid": ppid, "name": name, "user": user,
        "uid_real": uids[0] if uids else None, "uid_effective": uids[1] if uids else None,
        "gid_real": gids[0] if gids else None, "gid_effective": gids[1] if gids else None,
        "cmdline": " ".join(argv or [])[:CMDLINE_CHARS],
    }


def _psutil_processes() -> list[dict]:
    found = []
    # Names first (one small read per process); details only for the few daemons we audit.
    for proc in psutil.process_iter(["name"]):
        name = proc.info["name"] or ""
        if not _audited(name):
            continue
        try:
            info = proc.as_dict(["pid", "ppid", "uids", "gids", "username", "cmdline"])
        except psutil.NoSuchProcess:
            continue
        found.append(_process_entry(info["pid"], info["ppid"], name, info["username"],
                                    info["uids"], info["gids"], info["cmdline"]))
    return found


def _proc_argv_or_none(host: Host, pid: int, status: dict) -> list[str] | None:
    """The arguments as psutil's as_dict gives them: None when denied or a zombie's."""
    try:
        return _proc_argv(host, pid, status)
    except (_Zombie, PermissionError):
        return None


def _proc_processes(host: Host) -> list[dict]:
    found = []
    try:
        pids = _pids(host)
    except OSError as exc:
        raise ProbeError(f"cannot list /proc: {exc.strerror or exc}") from exc
    for pid in pids:
        try:
            # A process whose status may not be read has no name, as psutil gives it
            # (None): it is not one of ours.
            status = _proc_status(host, pid)
            # The comm is cut at 15 bytes: argv[0] may say the rest.
            argv = _proc_argv_or_none(host, pid, status) if len(status["name"]) >= 15 else None
            name = display_name(status["name"], argv)
            if not _audited(name):
                continue
            if argv is None:
                argv = _proc_argv_or_none(host, pid, status)
        except (_Exited, PermissionError):
            continue
        found.append(_process_entry(pid, status["ppid"], name, _username(status["uids"][0]),
                                    status["uids"], status["gids"], argv))
    return found


@probe("processes")
def processes(host: Host) -> dict:
    """Running tcpserver, stunnel, sshd and qmail-* processes with their real/effective ids."""
    _require_live(host, "the process table")
    if psutil is None:
        found, source = _proc_processes(host), "process table (/proc)"
    else:
        found, source = _psutil_processes(), "process table (psutil)"
    found.sort(key=lambda p: p["pid"])
    return {"source": source, "as_uid": os.geteuid(), "processes": found}
