"""Disk images (``hostaudit scan --image disk.img|disk.qcow2``): the real filesystems, mounted.

A raw image (MBR or GPT, or one bare filesystem) is read through its own partition table
(``parsers.partition_table``, checked against the file's size), each Linux filesystem found
by ``blkid`` is attached read-only to a loop device of its own (``losetup --offset
--sizelimit``: no partition scan, no udev), the root (the filesystem with /etc/fstab and
an os-release) is mounted read-only without journal replay, and the other filesystems are
mounted where the image's /etc/fstab puts them. So mount tables, inode flags (chattr +i)
and quota files are judged on the filesystems the image really has, not on a copy.

qcow2 (Packer's default) is converted by ``qemu-img convert -O raw`` into a sparse file in
the same 0700 temporary directory, once its header shows no backing or external data file
(either would make qemu open a file the image names, on the auditor's machine) and its
virtual size fits the free space. (qemu-nbd is not used: it needs the kernel's nbd module,
and the conversion works everywhere.)

The image is attacker-written: nothing it holds is executed, every mount is
``ro,nosuid,nodev,noexec`` (ext4 ``noload``, XFS ``norecovery,nouuid``) inside a 0700
directory, and mount points named by its fstab are resolved inside its root and must be
existing directories there. Every mount is undone and every loop device detached when the
block ends, also on error and on the signals ``interrupt.signals_unwind`` turns into
exceptions; attaching and mounting hold signals until the device or mount is recorded, so
there is never one that cleanup does not know about.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import stat
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

from hostaudit.errors import AuditError, InputError
from hostaudit.interrupt import deferred
from hostaudit.parsers.fstab import parse_fstab
from hostaudit.parsers.partition_table import PartitionTable, PartitionTableError, parse_partition_table

QCOW2_MAGIC = b"QFI\xfb"
# Incompatible feature bit 2 of a version 3 header (qcow2.txt): data in another file.
_QCOW2_EXTERNAL_DATA = 1 << 2
_MAX_VIRTUAL = 1 << 50
_HEAD = 64 * 1024
# What the audit can read on mounted real filesystems and not on an unpacked archive.
CARRIES = frozenset({"inode_flags", "mount_table", "quota_files"})
# Filesystems hostaudit mounts: Linux roots and data, and the EFI system partition.
_MOUNT_OPTIONS = {
    "ext2": ("ext4", "ro,noload,nosuid,nodev,noexec"),
    "ext3": ("ext4", "ro,noload,nosuid,nodev,noexec"),
    "ext4": ("ext4", "ro,noload,nosuid,nodev,noexec"),
    # nouuid: an image cloned from the auditor's own disk has the same XFS UUID.
    "xfs": ("xfs", "ro,norecovery,nouuid,nosuid,nodev,noexec"),
    "vfat": ("vfat", "ro,nosuid,nodev,noexec"),
}
_ROOT_TYPES = ("ext2", "ext3", "ext4", "xfs")
# GPT types of a root (discoverable partitions spec): tried first when looking for the root.
_GPT_ROOT_TYPES = frozenset({
    "4f68bce3-e8cd-4db1-96e7-fbcaf984b709",  # x86-64
    "44479540-f297-41b2-9af7-d131d5f0458a",  # x86
    "b921b045-1df0-41c3-af44-4c6f280d3fae",  # arm64
})
# Each partition costs a blkid run and maybe a loop device (a host-wide resource).
MAX_PARTITIONS = 64
FSTAB_LIMIT = 1024 * 1024
_TIMEOUT = 60.0
# Converting a large qcow2 can take minutes; still bounded.
_CONVERT_TIMEOUT = 1800.0
_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C", "LANG": "C"}
_UMOUNT_TRIES = 10
# An fstab device name whose trailing number is the partition: /dev/sda7, /dev/hda7,
# /dev/vda2, /dev/xvda1, /dev/nvme0n1p3, /dev/mmcblk0p2.
_DEVICE_PARTITION = re.compile(r"/dev/(?:[hsvx]v?d[a-z]+|(?:nvme\d+n\d+|mmcblk\d+)p)(\d+)")


def is_disk_image(path: str) -> str | None:
    """What the content of ``path`` is, if a disk image: ``qcow2``, ``gpt``, ``mbr``, or a
    bare filesystem (``ext``, ``xfs``, ``fat``); None for anything else (a tar archive,
    compressed or not) or a file that cannot be read (the caller reports that)."""
    try:
        # O_NONBLOCK: a FIFO given as the image must not hang the audit; only files count.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            head = os.pread(fd, _HEAD, 0)
        finally:
            os.close(fd)
    except OSError:
        return None
    if head[257:262] == b"ustar":  # a tar whose first member happens to hold an image
        return None
    if head[:4] == QCOW2_MAGIC:
        return "qcow2"
    if head[:4] == b"XFSB":
        return "xfs"
    if head[1080:1082] == b"\x53\xef":
        return "ext"
    if head[510:512] == b"\x55\xaa":
        if head[82:87] == b"FAT32" or head[54:59] in (b"FAT12", b"FAT16") or head[3:7] == b"NTFS":
            return "fat"
        if head[512:520] == b"EFI PART":
            return "gpt"
        return "mbr"
    return None


@contextlib.contextmanager
def attached_disk(path: str) -> Iterator[tuple[str, dict]]:
    """Mount the disk image ``path`` read-only; yield (root directory, description).

    The description says what the image was (format, sha256, size, partitions with their
    filesystems and where each was mounted, fstab entries not mounted and why). Raises
    InputError when ``path`` is no disk image or holds no Linux root (naming what it found),
    AuditError when the auditor's own tools fail (no loop device, no qemu-img).
    """
    kind = is_disk_image(path)
    if kind is None:
        raise InputError("not a disk image (no qcow2, MBR, GPT, ext or XFS signature)", where=path)
    session = _Session(path)
    try:
        with deferred():  # a signal between mkdtemp and the assignment would leak the dir
            session.workdir = tempfile.mkdtemp(prefix="hostaudit-disk-")
        yield session.open(kind)
    finally:
        with deferred():  # a second Ctrl-C must not leave mounts or loop devices behind
            session.close()


class _Session:
    """Everything one attached image set up, so that ``close`` undoes exactly that."""

    def __init__(self, path: str):
        self.path = path
        self.workdir: str | None = None
        self.raw: str | None = None
        self.loops: list[str] = []
        self.mounts: list[str] = []

    @property
    def work(self) -> str:
        """The session's 0700 working directory (made before anything is attached)."""
        if self.workdir is None:
            raise RuntimeError("disk image session used before its working directory was made")
        return self.workdir

    # -- setting up -----------------------------------------------------------------------
    def open(self, kind: str) -> tuple[str, dict]:
        root = os.path.join(self.work, "root")
        os.mkdir(root, 0o700)
        description: dict = {"format": "qcow2" if kind == "qcow2" else "raw",
                             "sha256": _sha256(self.path), "size": os.path.getsize(self.path)}
        raw = self.path
        if kind == "qcow2":
            raw, description["virtual_size"] = self.convert_qcow2()
            description["read_through"] = "qemu-img convert -O raw into a sparse temporary file"
            kind = is_disk_image(raw) or "unknown"
        if kind == "fat":
            raise InputError("a bare FAT/NTFS filesystem, no partition table and no Linux root",
                             where=self.path)
        size = os.path.getsize(raw)
        if kind in ("mbr", "gpt"):
            try:
                table = parse_partition_table(_file_reader(raw), size)
            except PartitionTableError as exc:
                raise InputError(f"partition table: {exc}", where=self.path) from exc
        elif kind in ("ext", "xfs"):
            table = None
        else:
            raise InputError(f"the converted image holds no partition table or filesystem ({kind})",
                             where=self.path)
        parts = self.probe(raw, table, size)
        description["partitioning"] = table.scheme if table else "none (one bare filesystem)"
        description["partitions"] = parts
        root_part = self.mount_root(raw, parts, root)
        description["root"] = root_part["number"]
        description["not_mounted"] = self.mount_fstab(raw, parts, root)
        description["carries"] = sorted(CARRIES)
        # Loop device names change from run to run and say nothing about the image.
        description["partitions"] = [{k: v for k, v in p.items() if k != "loop"} for p in parts]
        return root, description

    def convert_qcow2(self) -> tuple[str, int]:
        """The qcow2 image as a sparse raw file in the work directory; (path, virtual size).

        The header is checked before qemu opens anything: a backing file or an external
        data file would make qemu open a path the image names on the auditor's machine.
        """
        with open(self.path, "rb") as handle:
            virtual = _qcow2_virtual_size(handle.read(104), self.path)
        free = shutil.disk_usage(self.work).free
        if virtual > free:
            raise AuditError(f"the raw conversion may need {virtual} bytes, {free} are free in "
                             f"{os.path.dirname(self.work)}", where=self.path,
                             hint="set TMPDIR to a larger filesystem")
        self.raw = os.path.join(self.work, "disk.raw")
        _run(["qemu-img", "convert", "-q", "-f", "qcow2", "-O", "raw", self.path, self.raw],
             what="qemu-img convert", where=self.path, bad_input=True, timeout=_CONVERT_TIMEOUT)
        return self.raw, virtual

    def probe(self, raw: str, table: PartitionTable | None, size: int) -> list[dict]:
        """Each partition with what blkid finds in it (read from the file, nothing attached)."""
        regions: list[dict[str, Any]]
        if table is None:
            regions = [{"number": 1, "start": 0, "size": size, "type": None}]
        else:
            regions = [{"number": p.number, "start": p.start, "size": p.size, "type": p.type,
                        "partuuid": p.partuuid, "name": p.name} for p in table.partitions]
        if len(regions) > MAX_PARTITIONS:
            raise InputError(f"{len(regions)} partitions; more than {MAX_PARTITIONS} are not "
                             "looked at", where=self.path)
        for region in regions:
            region.update(_blkid(raw, region["start"], region["size"]))
        return regions

    def attach(self, raw: str, part: dict) -> str:
        """A read-only loop device over exactly one partition of ``raw``."""
        if "loop" in part:
            return part["loop"]
        with deferred():  # the device exists once losetup returns: record it before a signal
            loop = _run(["losetup", "--read-only", "--find", "--show", "--offset", str(part["start"]),
                         "--sizelimit", str(part["size"]), raw], what="losetup").strip()
            if not re.fullmatch(r"/dev/loop\d+", loop):
                raise AuditError(f"losetup printed {loop!r}, not a loop device", where=self.path)
            self.loops.append(loop)
        part["loop"] = loop
        return loop

    def detach(self, part: dict) -> None:
        """Give back the loop device of a partition that is not mounted after all."""
        loop = part.pop("loop", None)
        if loop is not None:
            with deferred():
                _command(["losetup", "-d", loop])
                self.loops.remove(loop)

    def mount(self, raw: str, part: dict, directory: str) -> str | None:
        """Mount a partition read-only at ``directory``; None when mounted, else the reason."""
        fstype, options = _MOUNT_OPTIONS[part["fstype"]]
        loop = self.attach(raw, part)
        with deferred():
            done = _command(["mount", "-i", "-t", fstype, "-o", options, loop, directory])
            if done.returncode == 0:
                self.mounts.append(directory)
                return None
        return f"mount -t {fstype} -o {options} failed: {_text(done.stderr)}"

    def mount_root(self, raw: str, parts: list[dict], root: str) -> dict:
        """Mount the partition with /etc/fstab and an os-release at ``root``; return it."""
        candidates = [p for p in parts if p.get("fstype") in _ROOT_TYPES]
        candidates.sort(key=lambda p: (str(p.get("type")).lower() not in _GPT_ROOT_TYPES, p["number"]))
        for part in candidates:
            failed = self.mount(raw, part, root)
            if failed:
                part["note"] = failed
                continue
            if _looks_like_root(root):
                part["mounted_at"] = "/"
                return part
            part["note"] = "no /etc/fstab with an os-release: not the root"
            self.unmount(root)
            self.detach(part)
        found = "; ".join(_found(p) for p in parts) or "no partitions"
        raise InputError(f"no Linux root filesystem (one with /etc/fstab and /etc/os-release) in "
                         f"the image; found: {found}", where=self.path)

    def mount_fstab(self, raw: str, parts: list[dict], root: str) -> list[dict]:
        """Mount the image's other filesystems where its /etc/fstab says; the entries that
        were not mounted, with why."""
        fstab_path = _inside(root, "/etc/fstab")
        if fstab_path is None:
            return [{"mount_point": "/", "reason": "/etc/fstab leads outside the image root"}]
        with open(fstab_path, "rb") as handle:
            data = handle.read(FSTAB_LIMIT + 1)
        if len(data) > FSTAB_LIMIT:  # half an fstab would assemble half the system
            raise InputError(f"/etc/fstab is larger than {FSTAB_LIMIT} bytes", where=self.path)
        text = data.decode("utf-8", errors="surrogateescape")
        skipped = []
        entries = [e for e in parse_fstab(text) if not e.get("malformed")
                   and e["fstype"] not in ("swap",) and e["mount_point"] not in ("/", "none")]
        # Parents before children, as systemd orders mounts; otherwise as fstab lists them.
        entries.sort(key=lambda e: len(PurePosixPath(e["mount_point"]).parts))
        for entry in entries:
            reason = self.mount_entry(raw, parts, root, entry)
            if reason:
                skipped.append({"mount_point": entry["mount_point"], "spec": entry["spec"],
                                "line": entry["line"], "reason": reason})
        return skipped

    def mount_entry(self, raw: str, parts: list[dict], root: str, entry: dict) -> str | None:
        point = entry["mount_point"]
        if "noauto" in entry["options"]:
            return "noauto: not mounted at boot"
        if not point.startswith("/") or ".." in PurePosixPath(point).parts:
            return "mount point is not an absolute path without '..'"
        part, why = _resolve_spec(entry["spec"], parts)
        if part is None:
            return why
        if part.get("fstype") not in _MOUNT_OPTIONS:
            return f"partition {part['number']} holds {part.get('fstype') or 'no known filesystem'}"
        directory = _inside(root, point)
        if directory is None:
            return "mount point leads outside the image root"
        try:
            info = os.lstat(directory)
        except FileNotFoundError:
            return "mount point does not exist in the image"
        if not stat.S_ISDIR(info.st_mode):
            return "mount point is not a directory in the image"
        failed = self.mount(raw, part, directory)
        if failed:
            return failed
        part.setdefault("mounted_at", point)
        return None

    # -- tearing down ---------------------------------------------------------------------
    def unmount(self, directory: str) -> None:
        """umount, retried while busy, lazily as a last resort: nothing stays mounted."""
        for _ in range(_UMOUNT_TRIES):
            if _command(["umount", directory]).returncode == 0:
                break
            time.sleep(0.2)
        else:
            _command(["umount", "-l", directory])
        self.mounts.remove(directory)

    def close(self) -> None:
        """Unmount in reverse order, detach every loop device, remove the work directory."""
        for directory in reversed(list(self.mounts)):
            self.unmount(directory)
        for loop in reversed(self.loops):
            # -d on a device still held (a lazy unmount) sets it to clear itself when freed.
            _command(["losetup", "-d", loop])
        self.loops.clear()
        if self.workdir is None:
            return
        if self.raw is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.raw)
        # rmdir only: never a recursive removal over what may still be a mounted image.
        with contextlib.suppress(OSError):
            os.rmdir(os.path.join(self.workdir, "root"))
            os.rmdir(self.workdir)


def _file_reader(path: str):
    def read(offset: int, length: int) -> bytes:
        with open(path, "rb") as handle:
            handle.seek(offset)
            return handle.read(length)
    return read


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _command(argv: list[str], timeout: float = _TIMEOUT) -> subprocess.CompletedProcess:
    """One of the auditor's own tools, without a shell, bounded in time."""
    try:
        return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
                              env=_ENV, check=False)
    except FileNotFoundError as exc:
        raise AuditError(f"{argv[0]} is not installed; it is needed to read disk images") from exc
    except subprocess.TimeoutExpired as exc:
        raise AuditError(f"{argv[0]} did not finish within {timeout:g}s") from exc


def _run(argv: list[str], *, what: str, where: str | None = None, bad_input: bool = False,
         timeout: float = _TIMEOUT) -> str:
    """stdout of a command that must succeed; its failure on the image is bad input when
    ``bad_input`` (qemu-img refusing a corrupt qcow2), else the audit's own failure."""
    done = _command(argv, timeout)
    if done.returncode != 0:
        error = InputError if bad_input else AuditError
        raise error(f"{what} failed: {_text(done.stderr)}", where=where or argv[-1])
    return done.stdout.decode("utf-8", errors="replace")


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace").strip()[:500]


def _qcow2_virtual_size(header: bytes, path: str) -> int:
    """The virtual size a qcow2 header gives; InputError for a backing or external data file."""
    if len(header) < 32 or header[:4] != QCOW2_MAGIC:
        raise InputError("truncated qcow2 header", where=path)
    version, backing_offset = struct.unpack_from(">IQ", header, 4)
    virtual = struct.unpack_from(">Q", header, 24)[0]
    if backing_offset:
        raise InputError("qcow2 image has a backing file; audit the flattened image "
                         "(qemu-img convert -O qcow2 without -B) instead", where=path)
    if version >= 3:
        if len(header) < 80:
            raise InputError("truncated qcow2 version 3 header", where=path)
        if struct.unpack_from(">Q", header, 72)[0] & _QCOW2_EXTERNAL_DATA:
            raise InputError("qcow2 image keeps its data in an external file", where=path)
    if not 0 < virtual <= _MAX_VIRTUAL:
        raise InputError(f"qcow2 virtual size {virtual} bytes is not plausible", where=path)
    return virtual


def _blkid(raw: str, start: int, size: int) -> dict:
    """fstype, uuid and label blkid finds in one region of the file (none: nothing known)."""
    done = _command(["blkid", "-p", "-o", "export", "-O", str(start), "-S", str(size), raw])
    found: dict = {"fstype": None}
    if done.returncode != 0:
        return found
    keys = {"TYPE": "fstype", "UUID": "uuid", "LABEL": "label", "PARTLABEL": "partlabel"}
    for line in done.stdout.decode("utf-8", errors="surrogateescape").splitlines():
        key, _, value = line.partition("=")
        if key in keys:
            # export format escapes shell-special characters with a backslash.
            found[keys[key]] = re.sub(r"\\(.)", r"\1", value)
    return found


def _inside(root: str, path: str) -> str | None:
    """``path`` of the image resolved inside ``root`` (links re-anchored at the root, as
    ImageHost resolves them); None when that fails."""
    from hostaudit.host import ImageHost

    try:
        real = ImageHost(root).real_path(path)
    except OSError:
        return None
    return real if os.path.commonpath([root, real]) == root else None


def _looks_like_root(root: str) -> bool:
    """A Linux root: an /etc/fstab and an os-release (/etc or /usr/lib) that are files."""
    def is_file(path):
        real = _inside(root, path)
        return real is not None and os.path.isfile(real) and not os.path.islink(real)
    return is_file("/etc/fstab") and (is_file("/etc/os-release") or is_file("/usr/lib/os-release"))


def _resolve_spec(spec: str, parts: list[dict]) -> tuple[dict | None, str]:
    """The partition an fstab first field names, or None and why not."""
    keys = {"UUID": "uuid", "LABEL": "label", "PARTUUID": "partuuid", "PARTLABEL": "name"}
    key, _, value = spec.partition("=")
    if key in keys and value:
        value = value.strip('"')
        fold = key in ("UUID", "PARTUUID")
        matches = [p for p in parts if p.get(keys[key]) is not None and
                   (p[keys[key]].lower() == value.lower() if fold else p[keys[key]] == value)]
    elif key.startswith("/dev/disk/by-uuid/"):
        return _resolve_spec("UUID=" + key.rsplit("/", 1)[1], parts)
    elif key.startswith("/dev/disk/by-label/"):
        return _resolve_spec("LABEL=" + key.rsplit("/", 1)[1], parts)
    elif match := _DEVICE_PARTITION.fullmatch(spec):
        matches = [p for p in parts if p["number"] == int(match.group(1))]
    else:
        return None, "not a partition of this image (network, pseudo or unknown device)"
    if not matches:
        return None, "no partition of the image has this identity"
    if len(matches) > 1:
        return None, f"{len(matches)} partitions have this identity: ambiguous"
    return matches[0], ""


def _found(part: dict) -> str:
    what = part.get("fstype") or "no filesystem blkid knows"
    text = f"partition {part['number']} ({part['type']}): {what}" if part["type"] else what
    return text + (f", {part['note']}" if part.get("note") else "")
