"""The kernel's socket and process tables as proc(5) prints them: /proc/net/{tcp,tcp6,udp,
udp6}, /proc/PID/status and /proc/PID/cmdline.

What a collector without psutil reads instead; every helper decodes exactly as psutil 7
does on Linux, so a fact reads the same whichever way it was collected. Pure text -> data:
a line that does not have the kernel's shape is kept as an error, never guessed at.
"""

from __future__ import annotations

import re
import socket

# include/net/tcp_states.h: TCP_LISTEN is 10.
TCP_LISTEN = 0x0A
_ENDPOINT = re.compile(r"([0-9A-Fa-f]{8}|[0-9A-Fa-f]{32}):([0-9A-Fa-f]{1,4})")
_SLOT = re.compile(r"[0-9]{1,10}:")
_STATE = re.compile(r"[0-9A-Fa-f]{2}")
_NUMBER = re.compile(r"[0-9]{1,20}")
_SOCKET_LINK = re.compile(r"socket:\[([0-9]{1,20})\]")
_EXCERPT = 120


def _excerpt(line: str) -> str:
    return line[:_EXCERPT] + ("..." if len(line) > _EXCERPT else "")


def decode_address(hex_address: str, *, byteorder: str = "little") -> str:
    """An address as /proc/net prints it, in text form.

    The kernel prints the raw ``__be32`` words as host integers: on a little-endian machine
    each 32-bit word reads byte-reversed (IPv4 one word, IPv6 four). Raises ValueError for
    anything but 8 or 32 hex digits.
    """
    if not re.fullmatch(r"[0-9A-Fa-f]{8}|[0-9A-Fa-f]{32}", hex_address):
        raise ValueError(f"not an address: {hex_address[:40]!r}")
    raw = bytes.fromhex(hex_address)
    if byteorder == "little":
        raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)


def parse_socket_table(text: str, *, family: str, byteorder: str = "little") -> dict:
    """Parse /proc/net/tcp, tcp6, udp or udp6 (``family`` "ipv4" or "ipv6").

    Returns ``{"sockets": [...], "errors": [...]}``. Each socket: local_address, local_port,
    remote_address, remote_port (port 0: no peer, as psutil reads it), state (an int; TCP
    listens at TCP_LISTEN, an unconnected UDP socket says 07), uid, inode, line (1-based).
    Each error: line, reason and an excerpt of the text. The header line is skipped; blank
    lines carry nothing.
    """
    width = 8 if family == "ipv4" else 32
    sockets: list[dict] = []
    errors: list[dict] = []
    for number, line in enumerate(text.split("\n"), start=1):
        fields = line.split()
        if not fields:
            continue
        if number == 1 and fields[0] == "sl":
            continue
        try:
            sockets.append(_socket_line(fields, width, byteorder) | {"line": number})
        except ValueError as exc:
            errors.append({"line": number, "reason": str(exc), "text": _excerpt(line)})
    return {"sockets": sockets, "errors": errors}


def _socket_line(fields: list[str], width: int, byteorder: str) -> dict:
    if len(fields) < 10:
        raise ValueError(f"{len(fields)} fields, a socket line has at least 10")
    if not _SLOT.fullmatch(fields[0]):
        raise ValueError(f"slot {fields[0][:20]!r} is not a number and a colon")
    ends = []
    for which, field in (("local", fields[1]), ("remote", fields[2])):
        match = _ENDPOINT.fullmatch(field)
        if not match or len(match.group(1)) != width:
            raise ValueError(f"{which} endpoint {field[:50]!r} is not {width} hex digits, a colon "
                             f"and a hex port")
        ends.append((decode_address(match.group(1), byteorder=byteorder), int(match.group(2), 16)))
    if not _STATE.fullmatch(fields[3]):
        raise ValueError(f"state {fields[3][:20]!r} is not two hex digits")
    for name, field in (("uid", fields[7]), ("inode", fields[9])):
        if not _NUMBER.fullmatch(field):
            raise ValueError(f"{name} {field[:24]!r} is not a number")
    (local, local_port), (remote, remote_port) = ends
    return {"local_address": local, "local_port": local_port, "remote_address": remote,
            "remote_port": remote_port, "state": int(fields[3], 16), "uid": int(fields[7]),
            "inode": int(fields[9])}


def socket_inode(link: str) -> int | None:
    """The inode of a /proc/PID/fd link ``socket:[INODE]``; None for any other file."""
    match = _SOCKET_LINK.fullmatch(link)
    return int(match.group(1)) if match else None


def _unescape_name(value: str) -> str:
    # The kernel escapes only backslash and newline in status's Name: (seq_escape_str with
    # "\n\\"); every other byte of the comm, tabs and parentheses included, is printed as is.
    return re.sub(r"\\(\\|n)", lambda m: "\n" if m.group(1) == "n" else "\\", value)


def _ids(value: str) -> tuple[int, ...] | None:
    numbers = value.split("\t")
    if len(numbers) < 3 or not all(_NUMBER.fullmatch(n) for n in numbers):
        return None
    return tuple(int(n) for n in numbers)


def parse_status(text: str) -> dict:
    """Parse /proc/PID/status: name (the comm, unescaped), state (its letter), ppid, and
    uids / gids as (real, effective, saved[, filesystem]) tuples.

    Read line by line, first occurrence of each key: a process name cannot forge a later
    ``Uid:`` line (the kernel escapes newlines in it), but it may hold tabs and digits.
    What is missing or malformed is None.
    """
    found: dict = {"name": None, "state": None, "ppid": None, "uids": None, "gids": None}
    seen = set()
    for line in text.split("\n"):
        key, sep, value = line.partition(":\t")
        if not sep or key in seen:
            continue
        seen.add(key)
        if key == "Name":
            found["name"] = _unescape_name(value)
        elif key == "State" and value:
            found["state"] = value[0]
        elif key == "PPid" and _NUMBER.fullmatch(value):
            found["ppid"] = int(value)
        elif key in ("Uid", "Gid"):
            found[key.lower() + "s"] = _ids(value)
    return found


def parse_cmdline(text: str) -> list[str]:
    """Split /proc/PID/cmdline into arguments, as psutil does.

    Arguments end in NUL; a process that rewrote its title (setproctitle) may separate them
    with spaces instead, which is split on spaces. Empty text (a kernel thread, a zombie)
    is no argument at all.
    """
    if not text:
        return []
    sep = "\x00" if text.endswith("\x00") else " "
    if text.endswith(sep):
        text = text[:-1]
    args = text.split(sep)
    if sep == "\x00" and len(args) == 1 and " " in text:
        args = text.split(" ")
    return args


def display_name(comm: str, argv: list[str] | None) -> str:
    """The process name as psutil gives it: the comm, which the kernel cuts at 15 bytes,
    or the base name of argv[0] when the comm is that long and is its beginning."""
    if len(comm) >= 15 and argv:
        extended = argv[0].rsplit("/", 1)[-1]
        if extended.startswith(comm):
            return extended
    return comm
