"""Mounts: the persistent table (/etc/fstab, systemd units) and, live, what is mounted now."""

from __future__ import annotations

from hostaudit.host import Host
from hostaudit.parsers.fstab import parse_fstab, parse_unit
from hostaudit.parsers.mountinfo import parse_mountinfo, parse_swaps
from hostaudit.registry import probe

FSTAB = "/etc/fstab"
UNIT_DIR = "/etc/systemd/system"
MOUNTINFO = "/proc/self/mountinfo"
SWAPS = "/proc/swaps"


def _units(host: Host, suffix: str) -> list[dict]:
    units = []
    for path in host.glob(f"{UNIT_DIR}/*.{suffix}"):
        if host.is_file(path):  # a link to /dev/null masks the unit
            name = path.rsplit("/", 1)[1]
            # A unit starts at boot only when a target pulls it in (systemctl enable made the link),
            # or, for a mount, when its .automount unit is pulled in (mounted at first access).
            names = [name] + ([name[: -len(".mount")] + ".automount"] if suffix == "mount" else [])
            links = [p for n in names for kind in ("wants", "requires") for p in host.glob(f"{UNIT_DIR}/*.{kind}/{n}")]
            units.append({"path": path, "unit": name, "enabled_via": links[0] if links else None,
                          **parse_unit(host.read_text(path))})
    return units


@probe("fstab")
def fstab(host: Host) -> dict:
    """/etc/fstab entries plus admin-written .mount/.swap units in /etc/systemd/system.

    ``{"path", "present", "entries": [{spec, mount_point, fstype, options, line}],
    "mount_units": [{path, unit, enabled_via, what, where, type, options, line}], "swap_units":
    [...]}``; ``enabled_via`` is the first ``*.wants``/``*.requires`` link to the unit, or None.
    """
    try:
        entries = parse_fstab(host.read_text(FSTAB))
        present = True
    except FileNotFoundError:
        entries, present = [], False
    return {
        "path": FSTAB,
        "present": present,
        "entries": entries,
        "mount_units": _units(host, "mount"),
        "swap_units": _units(host, "swap"),
    }


@probe("mountinfo")
def mountinfo(host: Host) -> dict:
    """What is mounted now, with its options (live only: an image has nothing mounted).

    Live: ``{"available": True, "path", "mounts": [parse_mountinfo entries]}``.

    An image has nothing mounted: ``{"available": False, "reason"}``.
    """
    if not host.carries("mount_table"):
        return {"available": False, "reason": host.not_carried_reason("mount_table")}
    return {"available": True, "path": MOUNTINFO,
            "mounts": parse_mountinfo(host.read_text(MOUNTINFO))}


@probe("swaps")
def swaps(host: Host) -> dict:
    """The swap areas in use now (live only: an image has none in use).

    Live: ``{"available": True, "path", "areas": [{filename, type, line}]}``; image: not."""
    if host.mode != "live":
        return {"available": False, "reason": f"a {host.mode} target has no active swap"}
    return {"available": True, "path": SWAPS, "areas": parse_swaps(host.read_text(SWAPS))}
