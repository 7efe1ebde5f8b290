"""Inode flags (``chattr +i``) of the files the selected controls name."""

from __future__ import annotations

import errno

from hostaudit.errors import NotCarried
from hostaudit.host import ABSENT, FS_APPEND_FL, FS_IMMUTABLE_FL, Host
from hostaudit.registry import probe

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


def _is_glob(path: str) -> bool:
    return any(ch in path for ch in "*?[")


@probe("file_attrs", takes_request=True)
def file_attrs_probe(host: Host, request: dict | None = None) -> dict:
    """The immutable and append-only flags of exactly the files the selected controls name.

    ``{path: {path, target, exists, immutable, append_only} or {.., error}}`` for exactly
    the paths the selected controls ask for (``request["paths"]``). A glob pattern gives
    ``{pattern: {"path": pattern, "matches": [one such entry per file]}}``."""
    found: dict = {}
    for path in (request or {}).get("paths", []):
        try:
            if _is_glob(path):
                found[path] = {"path": path, "matches": [file_attrs(host, p) for p in host.glob(path)]}
            else:
                found[path] = file_attrs(host, path)
        except OSError as exc:  # one unreadable path must not cost the other controls their fact
            # Unreadable is never absent: "exists" stays unknown-but-not-false, with the reason.
            found[path] = {"path": path, "target": None, "exists": True,
                           "error": f"cannot look: {exc.strerror or exc}"}
    return found
