"""Files the selected controls name (paths or globs): type, owner, mode, matching lines.

Requested, never walked: ``request["paths"]`` lists the patterns to stat,
``request["lines"]`` the ``{"path": pattern, "regex": ...}`` pairs to search for.
"""

from __future__ import annotations

import stat

from hostaudit.host import ABSENT, Host
from hostaudit.parsers.lines import matching_lines
from hostaudit.registry import probe


def _describe(host: Host, path: str) -> dict:
    info: dict = {"path": path}
    target = host.link_target(path)
    if target is not None:
        info["link"] = target
    try:
        st = host.stat(path)
    except ABSENT:
        info["type"] = "dangling link"
        return info
    info["type"] = host.file_type(path)
    info.update(uid=st.st_uid, gid=st.st_gid, mode=stat.S_IMODE(st.st_mode))
    return info


def _matches(host: Host, pattern: str) -> dict:
    try:
        return {"matches": [_describe(host, p) for p in host.glob(pattern)]}
    except OSError as exc:  # unreadable is never absent: the pattern's answer is unknown
        where = f" {exc.filename}" if exc.filename else ""
        return {"error": f"cannot look{where}: {exc.strerror or exc}"}


def _lines(host: Host, path: str, regex: str) -> dict:
    try:
        return matching_lines(host.read_text(path), regex)
    except OSError as exc:
        return {"error": str(exc.strerror or exc)}


@probe("file_state", takes_request=True)
def file_state(host: Host, request: dict | None = None) -> dict:
    """Type, owner, mode and matching lines of exactly the files the selected controls name.

    ``{"paths": {pattern: {"matches": [{path, type, uid, gid, mode, link?}]} or
    {"error"}}, "lines": {pattern: {regex: {path: {count, lines} or {error}}}}}``."""
    request = request or {}
    paths = {pattern: _matches(host, pattern) for pattern in request.get("paths", [])}
    lines: dict = {}
    for ask in request.get("lines", []):
        pattern, regex = ask["path"], ask["regex"]
        found = paths.get(pattern) or _matches(host, pattern)
        files = [m["path"] for m in found.get("matches", []) if m.get("type") == "regular file"]
        lines.setdefault(pattern, {})[regex] = {p: _lines(host, p, regex) for p in files}
    return {"paths": paths, "lines": lines}
