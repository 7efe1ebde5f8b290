"""/proc/self/mountinfo (proc(5)) and /proc/swaps: what is mounted and swapped on right now."""

from __future__ import annotations

from hostaudit.parsers.fstab import unescape


def parse_mountinfo(text: str) -> list[dict]:
    """Parse mountinfo lines.

    Each mount: mount_id, parent_id, device ("major:minor"), root, mount_point,
    mount_options (per-mount flags such as nosuid), fstype, source, super_options
    (filesystem options such as usrquota), line (1-based). A line that does not have the
    documented shape comes back as ``{"line": n, "malformed": True}``.
    """
    mounts: list[dict] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        fields = raw.split()
        try:
            separator = fields.index("-", 6)
        except ValueError:
            mounts.append({"line": number, "malformed": True})
            continue
        tail = fields[separator + 1:]
        if len(tail) < 2 or not fields[0].isdigit() or not fields[1].isdigit():
            mounts.append({"line": number, "malformed": True})
            continue
        mounts.append(
            {
                "mount_id": int(fields[0]),
                "parent_id": int(fields[1]),
                "device": fields[2],
                "root": unescape(fields[3]),
                "mount_point": unescape(fields[4]),
                "mount_options": fields[5].split(","),
                "fstype": tail[0],
                "source": unescape(tail[1]),
                "super_options": tail[2].split(",") if len(tail) > 2 else [],
                "line": number,
            }
        )
    return mounts


def parse_swaps(text: str) -> list[dict]:
    """Parse /proc/swaps: each active swap area's filename, type and line (header skipped)."""
    areas = []
    for number, raw in enumerate(text.splitlines(), start=1):
        fields = raw.split()
        if number == 1 or len(fields) < 2:
            continue
        areas.append({"filename": unescape(fields[0]), "type": fields[1], "line": number})
    return areas
