"""One walk of the target's local filesystems: owners, set-id and world-writable files.

A live host is walked mount by mount from its mount table (each local filesystem once, from
its own mount point); an image is walked whole from its root. The walk is the expensive
part of an audit (one lstat per file), so everything a file's inode says is recorded in
the same pass: files whose owner or group is in neither /etc/passwd nor /etc/group
(``find / -nouser -o -nogroup``), setuid/setgid files and world-writable files.
"""

from __future__ import annotations

import bisect
import itertools
import os
import pickle
import posixpath
import stat
import sys
import time
import unicodedata
from concurrent.futures.process import BrokenProcessPool

from hostaudit.errors import ProbeError
from hostaudit.host import Host, WalkNotes
from hostaudit.registry import probe

# Bounds: past either, the fact is an error; a partial walk is never reported as whole.
MAX_ENTRIES = 20_000_000
TIME_BUDGET_S = 900.0
_CLOCK_EVERY = 4096  # entries between two looks at the clock
LISTED = 50  # offending paths kept per kind (counts are always complete)
LISTED_SETID = 1000  # set-id files are few; keep them all for drift runs to compare
LISTED_IDS = 100

# Trees that are kernel interfaces, never files: nothing mounted below them is walked.
KERNEL_TREES = ("/proc", "/sys", "/dev")
# Filesystem types not walked, and why. tmpfs/ramfs are left out on purpose: they live in
# memory and are emptied at every boot, so no ownership from an old tar unpacking or a
# removed account survives there (the document's concern), while what they hold now is
# runtime state (/run, /dev/shm, a container runtime's secrets) whose owners may be ids of
# other user namespaces. Network filesystems are not this host's files (and walking them
# is slow and visible to their server).
NOT_WALKED = {
    **dict.fromkeys(
        ("proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "securityfs", "debugfs",
         "tracefs", "configfs", "fusectl", "mqueue", "hugetlbfs", "pstore", "bpf",
         "binfmt_misc", "autofs", "efivarfs", "rpc_pipefs", "nsfs", "selinuxfs"),
        "kernel interface"),
    **dict.fromkeys(("tmpfs", "ramfs"), "memory, emptied at boot"),
    **dict.fromkeys(
        ("nfs", "nfs4", "cifs", "smb3", "smbfs", "ceph", "glusterfs", "9p", "afs", "ncpfs",
         "lustre", "davfs", "fuse"),
        "network or unknown backing"),
}


def _not_walked_reason(mount: dict) -> str | None:
    point, fstype = mount["mount_point"], mount["fstype"]
    if any(point == tree or point.startswith(tree + "/") for tree in KERNEL_TREES):
        return "kernel interface tree"
    if fstype.startswith("fuse.") and fstype != "fuseblk":  # sshfs, gvfs, lxcfs, rclone...
        return "FUSE (network or synthetic)"
    return NOT_WALKED.get(fstype)


def plan_walk(mounts: list[dict]) -> tuple[list[dict], list[dict]]:
    """Which mounts to walk, so that each local filesystem is walked once.

    A filesystem (device) mounted several times is walked from the mount showing its root; a
    bind mount of a part of it is skipped, unless no mount shows the root (a container's
    volume), then each distinct part is walked once. Returns ``(walk, skipped)``; a skipped
    mount is ``{mount_point, fstype, reason, duplicate}``, ``duplicate`` when its files are
    walked from another mount point or hidden under a later mount.
    """
    walk, skipped = [], []
    chosen: dict[str, list[str]] = {}
    candidates = []
    mounts = [m for m in mounts if not m.get("malformed")]
    # Only the last mount at a mount point is visible there; those under it are hidden.
    visible = {m["mount_point"]: m["line"] for m in mounts}
    for mount in mounts:
        if visible[mount["mount_point"]] != mount["line"]:
            skipped.append({"mount_point": display_path(mount["mount_point"]), "fstype": mount["fstype"],
                            "reason": "overmounted, hidden", "duplicate": True})
            continue
        reason = _not_walked_reason(mount)
        if reason:
            skipped.append({"mount_point": display_path(mount["mount_point"]), "fstype": mount["fstype"],
                            "reason": reason, "duplicate": False})
        else:
            candidates.append(mount)
    # Shortest root first: the whole filesystem before any bind mount of a part of it.
    for mount in sorted(candidates, key=lambda m: (len(m["root"]), m["line"])):
        roots = chosen.setdefault(mount["device"], [])
        covered = next((r for r in roots if r == "/" or mount["root"] == r
                        or mount["root"].startswith(r.rstrip("/") + "/")), None)
        if covered is not None:
            skipped.append({"mount_point": display_path(mount["mount_point"]), "fstype": mount["fstype"],
                            "reason": f"bind mount of {mount['device']}:{mount['root']}, "
                                      "walked elsewhere", "duplicate": True})
            continue
        roots.append(mount["root"])
        walk.append(mount)
    walk.sort(key=lambda m: m["line"])
    return walk, skipped


def display_path(path: str) -> str:
    """``path`` as printable text that still names exactly one file.

    Undecodable bytes (surrogate escapes) become ``\\xNN``, control and format characters
    (newline, ESC, bidi overrides) ``\\xNN``/``\\uNNNN``, and a backslash is doubled, so two
    different names never look alike and a report, a terminal or a JSON writer can carry it.
    """
    if path.isprintable() and "\\" not in path:
        return path
    out = []
    for ch in path:
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif 0xDC80 <= code <= 0xDCFF:  # surrogateescape of byte code - 0xDC00
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        elif code < 0x100:
            out.append(f"\\x{code:02x}")
        elif unicodedata.category(ch) == "Cs" or code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "".join(out)


def _known_ids(facts, name: str, key: str) -> tuple[set[int] | None, str | None]:
    reason = facts.error_of(name)
    if reason:
        return None, reason
    data = facts[name]
    entries = data["users"] if name == "passwd" else data["groups"]
    return {e[key] for e in entries if key in e}, None


class _Tally:
    """The count of one kind of finding and, whatever the walk's order, the ``keep``
    offenders first by path (so two runs over the same tree list the same files)."""

    def __init__(self, keep: int):
        self.keep, self.count = keep, 0
        self.files: list[dict] = []
        self._paths: list[str] = []

    def add(self, item: dict) -> None:
        self.count += 1
        path = item["path"]
        if len(self._paths) >= self.keep:
            if path >= self._paths[-1]:
                return
            self._paths.pop()
            self.files.pop()
        at = bisect.bisect(self._paths, path)
        self._paths.insert(at, path)
        self.files.insert(at, item)

    def as_fact(self) -> dict:
        return {"count": self.count, "files": list(self.files)}


class _Everyone:
    def __contains__(self, ident) -> bool:
        return True


class _Partial:
    """What one walker found: counts, the first offenders by path, unknown ids, notes. Walkers
    in other processes send theirs back; ``merge`` adds one to another exactly (the kept
    offenders stay the first ``keep`` by path, whoever found them)."""

    def __init__(self):
        self.unowned, self.setid, self.writable = _Tally(LISTED), _Tally(LISTED_SETID), _Tally(LISTED)
        self.unknown: dict[tuple[str, int], int] = {}
        self.notes = WalkNotes()
        self.entries = 0

    def merge(self, other: _Partial) -> None:
        for mine, theirs in ((self.unowned, other.unowned), (self.setid, other.setid),
                             (self.writable, other.writable)):
            for item in theirs.files:
                mine.add(item)
            mine.count += theirs.count - len(theirs.files)
        for key, n in other.unknown.items():
            self.unknown[key] = self.unknown.get(key, 0) + n
        self.notes.unreadable += other.notes.unreadable
        self.notes.other_device += other.notes.other_device
        self.entries += other.entries


def _walk_into(partial: _Partial, host: Host, top: str, prune: frozenset, uids, gids,
               deadline: float) -> None:
    """Walk ``top`` (not entering ``prune``) and add what it holds to ``partial``."""
    started = time.monotonic()
    check_at = partial.entries + _CLOCK_EVERY
    is_reg, is_dir = stat.S_ISREG, stat.S_ISDIR
    # Unknown users or groups (no /etc/passwd): judge nobody rather than everybody.
    known_uids = uids if uids is not None else _Everyone()
    known_gids = gids if gids is not None else _Everyone()
    unowned, setid, writable, unknown = partial.unowned, partial.setid, partial.writable, partial.unknown
    # Another walk's top must not be pruned from its own walk.
    try:
        walk = iter(host.walk(top, prune=prune - {top}, notes=partial.notes))
        item = next(walk)
    except OSError as exc:  # a mount point we cannot reach: unknown, never empty
        partial.notes.unreadable.append((top, exc.strerror or str(exc)))
        return
    count = partial.entries
    for count, (path, st) in enumerate(itertools.chain((item,), walk), start=partial.entries + 1):
        if count >= check_at:
            check_at += _CLOCK_EVERY
            if count > MAX_ENTRIES or time.monotonic() > deadline:
                raise ProbeError(
                    f"walk stopped after {count} entries/{time.monotonic() - started:.0f} s "
                    f"(limits {MAX_ENTRIES} entries, {TIME_BUDGET_S:g} s): "
                    "files past that point were not audited")
        if st.st_uid not in known_uids or st.st_gid not in known_gids:
            uid, gid = st.st_uid, st.st_gid
            no_user, no_group = uid not in known_uids, gid not in known_gids
            unowned.add({"path": display_path(path), "uid": uid, "gid": gid,
                         "no_user": no_user, "no_group": no_group})
            for kind, ident, missing in (("uid", uid, no_user), ("gid", gid, no_group)):
                if missing:
                    unknown[(kind, ident)] = unknown.get((kind, ident), 0) + 1
        mode = st.st_mode
        if mode & 0o6002:  # only set-id or world-writable entries cost any more work
            if mode & 0o6000 and is_reg(mode):
                setid.add({"path": display_path(path), "mode": f"{stat.S_IMODE(mode):04o}",
                           "uid": st.st_uid, "gid": st.st_gid,
                           "setuid": bool(mode & stat.S_ISUID),
                           "setgid": bool(mode & stat.S_ISGID)})
            # Symlinks are always 0777 and a sticky directory (/tmp) is meant to be shared.
            if mode & 0o002 and (is_reg(mode) or (is_dir(mode) and not mode & stat.S_ISVTX)):
                writable.add({"path": display_path(path), "mode": f"{stat.S_IMODE(mode):04o}",
                              "uid": st.st_uid, "gid": st.st_gid,
                              "type": "directory" if is_dir(mode) else "file"})
    partial.entries = count


def _walk_subtree(job: tuple) -> _Partial:
    """A worker process's share: one subtree, walked as the serial walk would."""
    host, top, prune, uids, gids, deadline = job
    partial = _Partial()
    _walk_into(partial, host, top, prune, uids, gids, deadline)
    return partial


# Subtrees handed to worker processes: the directories this deep below each top. Deep enough
# that /usr is many pieces (so two workers finish together), shallow enough to list at once.
_SPLIT_DEPTH = 2


def _subtrees(host: Host, top: str, prune: frozenset) -> list[str]:
    """Directories ``_SPLIT_DEPTH`` below ``top`` on its filesystem, not pruned: what workers
    walk while this process walks the rest (which then prunes them)."""
    device = host.lstat(top).st_dev
    level = [top]
    for _ in range(_SPLIT_DEPTH):
        below = []
        for directory in level:
            try:
                names = host.listdir(directory)
            except OSError:
                continue  # the serial part of the walk lists it again and notes why
            for name in names:
                path = posixpath.join(directory, name)
                try:
                    info = host.lstat(path)
                except OSError:
                    continue
                if stat.S_ISDIR(info.st_mode) and info.st_dev == device and path not in prune:
                    below.append(path)
        level = below
    return level


def _workers(host: Host) -> int:
    """How many processes may share the walk: the cores, for a live host's filesystems. An
    image is small next to them (starting workers would cost more than they save) or read
    from its index in memory."""
    if host.mode != "live" or type(host).walk is not Host.walk:
        return 1
    # A worker process imports the main module again by its path: a program read from stdin
    # or given with -c has none, and is walked in this process alone.
    main_path = getattr(sys.modules.get("__main__"), "__file__", None)
    if main_path is not None and not os.path.isfile(main_path):
        return 1
    return min(os.cpu_count() or 1, 4)


def walk_filesystems(host: Host, tops: list[str], prune: frozenset, uids, gids) -> dict:
    """Walk each of ``tops`` (not entering ``prune``), judging owners against the known
    ``uids``/``gids`` (None: unknown, nothing judged). Raises ProbeError past the bounds.

    With more than one core the subtrees two levels down go to worker processes (forked from
    a fresh, single-threaded server, not from this threaded process) while this one walks
    the rest: the walk is one lstat per file, and the cores share them. Results are the
    same either way (``_Partial.merge``)."""
    deadline = time.monotonic() + TIME_BUDGET_S
    total = _Partial()
    per_top = []
    workers = _workers(host)
    for top in tops:
        before = total.entries
        subtrees = _subtrees(host, top, prune) if workers > 1 else []
        if len(subtrees) >= 2:
            shared = _Partial()
            try:
                _walk_shared(shared, host, top, prune, subtrees, uids, gids, deadline, workers)
            except (BrokenProcessPool, OSError, pickle.PicklingError):
                # No worker processes here (an embedding program whose main module cannot be
                # imported again, no /dev/shm...): the walk is the same in this process alone.
                _walk_into(total, host, top, prune, uids, gids, deadline)
            else:
                total.merge(shared)
        else:
            _walk_into(total, host, top, prune, uids, gids, deadline)
        per_top.append(total.entries - before)
    if total.entries > MAX_ENTRIES:
        raise ProbeError(f"walk stopped after {total.entries} entries (limit {MAX_ENTRIES}): "
                         "files past that point were not audited")
    ids = sorted(total.unknown.items(), key=lambda item: (-item[1], item[0]))
    notes = total.notes
    return {
        "entries": total.entries,
        "entries_per_top": per_top,
        "unowned": total.unowned.as_fact(),
        "unknown_ids": [{"kind": k, "id": i, "files": n} for (k, i), n in ids[:LISTED_IDS]],
        "unknown_ids_total": len(ids),
        "setid": total.setid.as_fact(),
        "world_writable": total.writable.as_fact(),
        "unreadable": {"count": len(notes.unreadable),
                       "paths": [{"path": display_path(p), "reason": r}
                                 for p, r in notes.unreadable[:LISTED]]},
        "other_device": {"count": len(notes.other_device),
                         "paths": [display_path(p) for p in notes.other_device[:LISTED]]},
    }


def _walk_shared(total: _Partial, host: Host, top: str, prune: frozenset, subtrees: list[str],
                 uids, gids, deadline: float, workers: int) -> None:
    """Walk ``top`` with ``workers`` processes: they take ``subtrees``, this one the rest."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    jobs = [(host, subtree, prune, uids, gids, deadline) for subtree in subtrees]
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("forkserver"))
    try:
        results = pool.map(_walk_subtree, jobs, chunksize=1)
        _walk_into(total, host, top, prune | frozenset(subtrees), uids, gids, deadline)
        for partial in results:
            total.merge(partial)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@probe("file_walk", needs=["passwd", "group", "mountinfo"])
def file_walk(host: Host, facts) -> dict:
    """Walk the local filesystems once (live: from the mount table; image: the whole root).

    ``{"mode", "filesystems": [{mount_point, fstype, source, entries}], "skipped":
    [{mount_point, fstype, reason, duplicate}], "entries", "owners_unknown": reason|None,
    "unowned": {count, files: [{path, uid, gid, no_user, no_group}]}, "unknown_ids": [{kind,
    id, files}], "setid": {count, files: [{path, mode, uid, gid, setuid, setgid}]},
    "world_writable": {count, files: [{path, mode, uid, gid, type}]}, "unreadable": {count,
    paths: [{path, reason}]}, "other_device": {count, paths}}``. Paths are printable
    (:func:`display_path`); at most 50 are listed per kind (1000 set-id files), counts are
    complete. Raises ProbeError when the walk exceeds its bounds.
    """
    uids, uid_reason = _known_ids(facts, "passwd", "uid")
    gids, gid_reason = _known_ids(facts, "group", "gid")
    mountinfo = facts["mountinfo"]
    if mountinfo["available"]:
        mounts, skipped = plan_walk(mountinfo["mounts"])
        if not mounts:
            raise ProbeError(f"no local filesystem to walk in {mountinfo['path']}")
        tops = [posixpath.normpath(m["mount_point"]) for m in mounts]
        filesystems = [{"mount_point": display_path(m["mount_point"]), "fstype": m["fstype"],
                        "source": display_path(m["source"])} for m in mounts]
        prune = frozenset(posixpath.normpath(m["mount_point"])
                          for m in mountinfo["mounts"] if not m.get("malformed"))
    elif host.mode == "image":
        tops = ["/"]
        filesystems = [{"mount_point": "/", "fstype": "image", "source": display_path(host.root)}]
        skipped, prune = [], frozenset()
    else:
        raise ProbeError(mountinfo["reason"])
    walked = walk_filesystems(host, tops, prune, uids, gids)
    for fs, count in zip(filesystems, walked.pop("entries_per_top")):
        fs["entries"] = count
    reasons = [r for r in (uid_reason, gid_reason) if r]
    return {"mode": host.mode, "filesystems": filesystems, "skipped": skipped,
            "owners_unknown": "; ".join(reasons) or None, **walked}
