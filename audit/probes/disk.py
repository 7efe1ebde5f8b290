"""Disk space and user quotas of the target's filesystems."""

from __future__ import annotations

import math
import posixpath

from hostaudit.errors import ProbeError
from hostaudit.host import Host
from hostaudit.parsers.quotaon import parse_quotaon_print
from hostaudit.registry import probe

# Filesystems that hold no local data of their own: kernel interfaces, memory, network,
# read-only images. Everything else (ext4, xfs, btrfs, an overlay root...) is measured.
NOT_LOCAL_DATA = frozenset({
    "proc", "sysfs", "tmpfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "securityfs",
    "debugfs", "tracefs", "configfs", "fusectl", "mqueue", "hugetlbfs", "pstore", "bpf",
    "binfmt_misc", "autofs", "efivarfs", "rpc_pipefs", "nsfs", "ramfs", "selinuxfs",
    "squashfs", "iso9660", "erofs", "nfs", "nfs4", "cifs", "smb3", "ceph", "glusterfs",
    "9p", "afs", "fuse.sshfs", "fuse.gvfsd-fuse", "fuse.lxcfs", "fuse.portal",
})
# Filesystems whose user quota quotaon(8) can report.
QUOTA_CAPABLE = frozenset({"ext2", "ext3", "ext4", "xfs", "reiserfs", "jfs", "f2fs",
                           "ocfs2", "gfs2"})
QUOTA_FILES = ("aquota.user", "quota.user")


def _local_mounts(mountinfo: dict) -> list[dict]:
    """Mounts holding local data, one per filesystem (bind mounts of it are skipped)."""
    seen: set[str] = set()
    mounts = []
    for mount in mountinfo.get("mounts", []):
        if mount.get("malformed") or mount["fstype"] in NOT_LOCAL_DATA:
            continue
        if mount["device"] in seen:
            continue
        seen.add(mount["device"])
        mounts.append(mount)
    return mounts


@probe("disk_usage", needs=["mountinfo"])
def disk_usage(host: Host, facts) -> dict:
    """Live: ``{"available": True, "filesystems": [{mount_point, fstype, source, device,
    used_percent, size_bytes, avail_bytes, line}]}`` (df's rounding); image: not available.
    """
    mountinfo = facts["mountinfo"]
    if not mountinfo["available"]:
        return {"available": False, "reason": mountinfo["reason"]}
    filesystems = []
    for mount in _local_mounts(mountinfo):
        st = host.statvfs(mount["mount_point"])
        if st.f_blocks == 0:  # a pseudo filesystem this list does not know
            continue
        used = st.f_blocks - st.f_bfree
        usable = used + st.f_bavail  # what df counts: root's reserve is not usable
        filesystems.append({
            "mount_point": mount["mount_point"],
            "fstype": mount["fstype"],
            "source": mount["source"],
            "device": mount["device"],
            "used_percent": math.ceil(100 * used / usable) if usable else 100,
            "size_bytes": st.f_blocks * st.f_frsize,
            "avail_bytes": st.f_bavail * st.f_frsize,
            "line": mount["line"],
        })
    return {"available": True, "path": mountinfo["path"], "filesystems": filesystems}


def quota_state(host: Host, mount_point: str) -> dict:
    """Ask ``quotaon -pu MOUNT_POINT`` (read-only) whether user quota is on there."""
    argv = ["quotaon", "-pu", mount_point]
    try:
        done = host.run(argv)
    except ProbeError as exc:
        return {"command": " ".join(argv), "error": str(exc)}
    for state in parse_quotaon_print(done.stdout):
        if state["type"] == "user" and state["mount_point"] == mount_point:
            return {"command": " ".join(argv), "on": state["on"], "text": state["text"]}
    reason = (done.stderr.strip() or done.stdout.strip() or f"exit status {done.returncode}")
    return {"command": " ".join(argv), "error": reason.splitlines()[-1]}


@probe("quota", needs=["fstab", "mountinfo"])
def quota(host: Host, facts) -> dict:
    """User quota per mount point (fstab's, and live the mounted quota-capable ones).

    ``{"mount_points": {mp: {"files": [quota files at its root], "state": {command, on,
    text} | {command, error} | None (image)}}}``
    """
    fstab, mountinfo = facts["fstab"], facts["mountinfo"]
    points = [e["mount_point"] for e in fstab["entries"]
              if not e.get("malformed") and e["fstype"] != "swap"]
    points += [u["where"] for u in fstab["mount_units"] if u["where"]]
    live_points = [m["mount_point"] for m in mountinfo.get("mounts", [])
                   if m.get("fstype") in QUOTA_CAPABLE]
    result: dict = {}
    for point in dict.fromkeys(points + live_points):
        files = [posixpath.join(point, name) for name in QUOTA_FILES
                 if host.is_file(posixpath.join(point, name))]
        state = quota_state(host, point) if point in live_points else None
        result[point] = {"files": files, "state": state}
    return {"mount_points": result}
