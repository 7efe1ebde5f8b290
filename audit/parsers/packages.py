"""Package databases: dpkg's status file and RPM headers (as stored in rpmdb.sqlite)."""

from __future__ import annotations

import struct

from hostaudit.parsers.lines import newline_lines

# RPM header tags and types we read (rpm/rpmtag.h).
_RPMTAG_NAME = 1000
_RPMTAG_VERSION = 1001
_RPMTAG_RELEASE = 1002
_RPM_STRING_TYPES = (6, 8, 9)  # STRING, STRING_ARRAY, I18NSTRING


# dpkg package states (the Status field's last word) in which the package's files are on disk.
_FILES_ON_DISK = {"installed", "unpacked", "half-configured", "half-installed", "triggers-awaited",
                  "triggers-pending"}


def parse_dpkg_status(text: str) -> dict[str, dict]:
    """Installed packages from /var/lib/dpkg/status.

    Returns ``{name: {"version": str, "line": int}}`` for stanzas whose package state leaves
    its files on disk: installed, and also unpacked, half-configured, half-installed or awaiting
    triggers (dpkg -l's iU, iF, iH, iW, iT: its programs are there); config-files (removed, its
    configuration kept) and not-installed do not count.
    ``line`` is the stanza's ``Package:`` line, so evidence can point at it.
    """
    installed: dict[str, dict] = {}
    stanza: dict = {}
    start = 0

    def flush():
        name = stanza.get("Package")
        status = stanza.get("Status", "").split()
        if name and status[-1:] and status[-1] in _FILES_ON_DISK:
            installed[name] = {"version": stanza.get("Version", ""), "line": start}

    for number, raw in enumerate(newline_lines(text), start=1):
        if not raw.strip():
            flush()
            stanza = {}
            continue
        if raw[0] in " \t":
            continue  # continuation of a multi-line field we do not need
        key, sep, value = raw.partition(":")
        if not sep:
            continue
        if key == "Package":
            start = number
        stanza[key] = value.strip()
    flush()
    return installed


def parse_rpm_header(blob: bytes) -> dict[str, str]:
    """Name, version and release from one RPM header blob (the ``Packages`` table's value).

    The blob is an index (count, data size, then 16-byte entries of tag, type, offset, count)
    followed by the data store. Raises ValueError on a blob that does not fit that shape.
    """
    if len(blob) < 8:
        raise ValueError("rpm header too short")
    count, size = struct.unpack(">II", blob[:8])
    store_start = 8 + 16 * count
    if store_start + size > len(blob) or count > 100000:
        raise ValueError("rpm header index does not fit its blob")
    store = blob[store_start : store_start + size]
    wanted = {_RPMTAG_NAME: "name", _RPMTAG_VERSION: "version", _RPMTAG_RELEASE: "release"}
    found: dict[str, str] = {}
    for i in range(count):
        tag, kind, offset, _n = struct.unpack(">IIII", blob[8 + 16 * i : 24 + 16 * i])
        if tag in wanted and kind in _RPM_STRING_TYPES and offset < len(store):
            end = store.find(b"\0", offset)
            found[wanted[tag]] = store[offset : end if end >= 0 else None].decode("utf-8", "surrogateescape")
    if "name" not in found:
        raise ValueError("rpm header has no name tag")
    return found
