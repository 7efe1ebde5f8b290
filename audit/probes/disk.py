"""Disk space and user quotas of the target's filesystems."""

from __future__ import annotations

import math
import posixpath

from hostaudit.errors import ProbeError
from hostaudit.host import Host
from hostaudit.parsers.fstab import option_in_effect
from hostaudit.parsers.quota_file import QuotaFileError, parse_quota_file
from hostaudit.parsers.quotaon import parse_quotaon_print
from hostaudit.parsers.repquota import parse_repquota
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
# What checks and switches quota on at boot: the quota tools, and what runs them (systemd's
# generator pulls in systemd-quotacheck.service and quotaon.service for usrquota mounts;
# sysvinit runs the quota package's init script).
QUOTA_PROGRAMS = ("quotacheck", "quotaon")
QUOTA_PROGRAM_DIRS = ("/sbin", "/usr/sbin")
QUOTA_BOOT_HOOKS = tuple(f"{d}/{u}" for d in ("/etc/systemd/system", "/usr/lib/systemd/system",
                                              "/lib/systemd/system")
                         for u in ("systemd-quotacheck.service", "quotaon.service")) + (
    "/etc/init.d/quota", "/etc/init.d/quotaon", "/etc/rc.d/init.d/quota")


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
    """How full each mounted filesystem is, as df counts it (live only: an image mounts nothing).

    Live: ``{"available": True, "filesystems": [{mount_point, fstype, source, device,
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


def quota_boot(host: Host) -> dict:
    """The quota tools that will check and switch quota on at boot: ``{"programs": {name:
    path | None}, "hooks": [unit or init script paths], "looked": [...]}``."""
    programs = {name: next((f"{d}/{name}" for d in QUOTA_PROGRAM_DIRS if host.is_file(f"{d}/{name}")), None)
                for name in QUOTA_PROGRAMS}
    hooks = [p for p in QUOTA_BOOT_HOOKS if host.is_file(p)]
    return {"programs": programs, "hooks": hooks,
            "looked": [f"{d}/{n}" for n in QUOTA_PROGRAMS for d in QUOTA_PROGRAM_DIRS] + list(QUOTA_BOOT_HOOKS)}


@probe("quota", needs=["fstab", "mountinfo"])
def quota(host: Host, facts) -> dict:
    """User quota per mount point (fstab's, and live the mounted quota-capable ones), and
    what will switch it on at boot.

    ``{"mount_points": {mp: {"files": [quota files at its root], "state": {command, on,
    text} | {command, error} | None (image)}}, "boot": quota_boot(host)}``
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
        state = quota_state(host, point) if host.carries("quota_state") and point in live_points else None
        result[point] = {"files": files, "state": state}
    return {"mount_points": result, "boot": quota_boot(host)}


# The paths whose users' quota limits are read (the baseline's fs.quota.users mount_point).
QUOTA_LIMIT_PATHS = ("/home",)
REPQUOTA_TIMEOUT = 30.0
QUOTA_FILE_LIMIT = 64 * 1024 * 1024
_QUOTA_OFF = ("has no quota enabled", "not found or has no quota")


def _within(path: str, mount_point: str) -> bool:
    return mount_point == "/" or path == mount_point or path.startswith(mount_point.rstrip("/") + "/")


def _persistent_filesystem(fstab: dict, path: str) -> dict:
    """The fstab entry (or .mount unit) of the filesystem that holds ``path`` at boot."""
    candidates = [{"mount_point": e["mount_point"], "options": e["options"], "where": fstab["path"],
                   "line": e["line"], "text": f"{e['spec']} {e['mount_point']} {e['fstype']} {','.join(e['options'])}"}
                  for e in fstab["entries"] if not e.get("malformed") and e["fstype"] != "swap"]
    candidates += [{"mount_point": u["where"], "options": u["options"], "where": u["path"], "line": u["line"],
                    "text": f"Where={u['where']} Options={','.join(u['options'])}"}
                   for u in fstab["mount_units"] if u["where"]]
    holding = [c for c in candidates if _within(path, c["mount_point"])]
    if not holding:
        return {"mount_point": "/", "options": [], "where": fstab["path"], "line": None,
                "text": "no entry for / (the root filesystem's options are unknown)"}
    # The longest mount point wins; among equals the last entry, as mount -a stacks them.
    return max(reversed(holding), key=lambda c: len(c["mount_point"]))


def _image_limits(host: Host, fstab: dict, path: str) -> dict:
    """Limits from the quota file at the root of the filesystem that holds ``path``."""
    fs = _persistent_filesystem(fstab, path)
    requested = option_in_effect(fs["options"], "usrquota")
    result = {"mount_point": fs["mount_point"], "source": None, "requested": requested,
              "fstab": {"where": fs["where"], "line": fs["line"], "text": fs["text"]},
              "entries": None, "error": None, "reason": None}
    quota_file = posixpath.join(fs["mount_point"], "aquota.user")
    old_file = posixpath.join(fs["mount_point"], "quota.user")
    try:
        if host.exists(quota_file):
            result["source"] = quota_file
            if not host.is_file(quota_file):
                raise ProbeError(f"{quota_file} is not a regular file")
            size = host.stat(quota_file).st_size
            if size > QUOTA_FILE_LIMIT:
                raise ProbeError(f"{quota_file} is {size} bytes, over the {QUOTA_FILE_LIMIT} read here")
            data = host.read_bytes(quota_file, limit=QUOTA_FILE_LIMIT)
            if len(data) != size:
                raise ProbeError(f"{quota_file} changed size while it was read")
            parsed = parse_quota_file(data)
            result["format"] = parsed["format"]
            result["entries"] = parsed["entries"]
        elif host.exists(old_file):
            result["source"] = old_file
            raise ProbeError(f"{old_file} is in the old vfsold format, which hostaudit does not read")
        else:
            state = "asked for" if requested else "not asked for (no usrquota)"
            result["reason"] = (f"no aquota.user at {fs['mount_point']} (user quota {state} in "
                                f"{fs['where']}); an ext4 quota feature keeps limits in hidden inodes, "
                                "which an image's files do not show")
    except QuotaFileError as exc:
        result["error"] = f"{quota_file}: {exc}"
    except ProbeError as exc:
        result["error"] = str(exc)
    except OSError as exc:
        result["error"] = f"cannot read {exc.filename or quota_file}: {exc.strerror or exc}"
    return result


def _live_limits(host: Host, mountinfo: dict, path: str) -> dict:
    """Limits as ``repquota -u -n -v`` reports them for the mount that holds ``path``."""
    mounts = [m for m in mountinfo["mounts"] if not m.get("malformed") and _within(path, m["mount_point"])]
    if not mounts:
        return {"mount_point": None, "source": None, "entries": None, "reason": None,
                "error": f"no mount in {mountinfo['path']} holds {path}"}
    mount = max(reversed(mounts), key=lambda m: len(m["mount_point"]))
    argv = ["repquota", "-u", "-n", "-v", mount["mount_point"]]
    result = {"mount_point": mount["mount_point"], "source": " ".join(argv), "entries": None,
              "error": None, "reason": None, "quota_off": False}
    try:
        done = host.run(argv, timeout=REPQUOTA_TIMEOUT)
    except ProbeError as exc:
        result["error"] = str(exc)
        return result
    said = (done.stderr.strip().splitlines() or [""])[0]
    if done.returncode != 0:
        if any(marker in done.stderr for marker in _QUOTA_OFF):
            result["quota_off"] = True
            result["reason"] = said
        elif "Cannot open quotafile" in done.stderr and "No such file" in done.stderr:
            result["reason"] = said
        else:
            result["error"] = said or f"exit status {done.returncode}"
        return result
    try:
        result["entries"] = parse_repquota(done.stdout)
    except ValueError as exc:
        result["error"] = f"{result['source']}: {exc}"
    return result


@probe("quota_limits", needs=["fstab", "mountinfo"])
def quota_limits(host: Host, facts) -> dict:
    """Users' quota limits on the filesystem holding each of QUOTA_LIMIT_PATHS.

    ``{path: {"mount_point", "source" (file or command), "entries": [{id, block_soft,
    block_hard, inode_soft, inode_hard, ...}] | None, "error", "reason" (why there are no
    limits to read), ...}}``. Live: repquota (read-only, it reads what the kernel or the
    quota file holds); image: the quota file parsed as bytes, or why there is none.
    """
    result = {}
    for path in QUOTA_LIMIT_PATHS:
        if host.mode == "live":
            result[path] = _live_limits(host, facts["mountinfo"], path)
        else:
            result[path] = _image_limits(host, facts["fstab"], path)
    return result
