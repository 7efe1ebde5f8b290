"""Inode flags (``chattr +i``) of the files the baseline wants immutable."""

from __future__ import annotations

import errno

from hostaudit.errors import NotCarried
from hostaudit.host import ABSENT, FS_APPEND_FL, FS_IMMUTABLE_FL, Host
from hostaudit.registry import probe

# The document's list (2002) and where the same files live today.
CRITICAL_FILES = (
    "/etc/passwd",
    "/etc/shadow",
    "/etc/group",
    "/etc/gshadow",
    "/etc/grub.conf",
    "/boot/grub/grub.conf",
    "/boot/grub/grub.cfg",
    "/boot/grub2/grub.cfg",
)
_NO_ATTRIBUTES = (errno.ENOTTY, errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS)


def file_attrs(host: Host, path: str) -> dict:
    """Immutable and append-only flags of ``path`` (links followed), or why they are unknown:
    ``error`` when the auditor could not read them, ``not_carried`` when the target's format
    cannot hold them (a tar archive)."""
    target = host.canonical(path)
    info: dict = {"path": path, "target": target if target != path else None}
    try:
        kind = host.file_type(target)
    except ABSENT:
        info["exists"] = False
        return info
    info["exists"] = True
    if kind != "regular file":  # a FIFO or device where the file should be is not "absent"
        info["error"] = f"is a {kind}, not a regular file"
        return info
    try:
        flags = host.attr_flags(target)
    except NotCarried as exc:
        info["not_carried"] = exc.strerror
        return info
    except OSError as exc:
        if exc.errno in _NO_ATTRIBUTES:
            info["error"] = f"the filesystem keeps no inode attributes ({exc.strerror})"
        else:
            info["error"] = f"cannot read attributes: {exc.strerror or exc}"
        return info
    info["immutable"] = bool(flags & FS_IMMUTABLE_FL)
    info["append_only"] = bool(flags & FS_APPEND_FL)
    return info


@probe("critical_file_attrs")
def critical_file_attrs(host: Host) -> dict:
    """``{path: {path, target, exists, immutable, append_only} or {.., error}}`` per file."""
    return {path: file_attrs(host, path) for path in CRITICAL_FILES}
