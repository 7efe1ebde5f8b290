"""Safe unpacking of image tarballs (``hostaudit scan --image FILE.tar[.gz|.xz|.bz2]``).

The tarball comes from outside and is unpacked as root, so each member is checked before
anything is written: no absolute or ``..`` names, never a write through a symlink already on
disk, hard links only to files this archive unpacked, no device nodes or FIFOs, names the
filesystem can hold, and limits against tar bombs. Symlinks are created as they are
(absolute targets are normal in images; ``ImageHost`` resolves them inside the root).
tarfile's 'data' filter is not used: it rejects absolute links.

What lands on disk is defanged, because while the audit runs it is a real tree on the
auditor's machine: the temporary root stays 0700 whatever the image's ``./`` entry says, no
file keeps setuid/setgid/sticky bits or group/world write, and nothing is chowned. The
image's own modes and owners, which the audit judges, are kept in a ``MetadataIndex`` that
``ImageHost`` answers stat() from.
"""

from __future__ import annotations

import contextlib
import errno
import lzma
import os
import shutil
import stat
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import NamedTuple

from hostaudit.errors import AuditError, InputError
from hostaudit.interrupt import deferred

MAX_BYTES = 8 * 1024**3
MAX_MEMBERS = 2_000_000
MAX_SKIPPED_LISTED = 50
# Linux limits (linux/limits.h); pathconf() may say less for the filesystem under /tmp.
PATH_MAX = 4096
NAME_MAX = 255
# What a corrupt or truncated (compressed) stream raises while it is read.
_READ_ERRORS = (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError)
_NOT_CREATED = {tarfile.CHRTYPE: "character device", tarfile.BLKTYPE: "block device",
                tarfile.FIFOTYPE: "FIFO"}
# On disk: no setuid/setgid/sticky, no group/world write; the owner may always read (and
# enter and empty directories), so an auditor that is not root reads the whole image.
_DISK_MODE_MASK = 0o755
_DISK_FILE_BITS = 0o400
_DISK_DIR_BITS = 0o700


class MetadataIndex:
    """The image's own permission bits and numeric owner of every inode it unpacked.

    Keyed by the inode on disk (device, inode number), not by name: whatever path reaches a
    file (a symlink followed by stat(), a hard link, ``..``), the stat result names the inode,
    so a hard link shares its target's record and lstat()/stat() cannot be confused.
    """

    def __init__(self):
        self._records: dict[tuple[int, int], tuple[int, int, int]] = {}
        # Most members share a handful of (mode, uid, gid) triples; keep one copy of each.
        self._interned: dict[tuple[int, int, int], tuple[int, int, int]] = {}

    def record(self, disk: os.stat_result, mode: int, uid: int, gid: int) -> None:
        """Remember the image's mode bits (``S_IMODE``) and owner of the inode ``disk``."""
        triple = (stat.S_IMODE(mode), uid, gid)
        self._records[(disk.st_dev, disk.st_ino)] = self._interned.setdefault(triple, triple)

    def forget(self, disk: os.stat_result) -> None:
        """Drop a record: the inode was created without an image entry (a missing parent
        directory) and may reuse the number of a file a later member replaced."""
        self._records.pop((disk.st_dev, disk.st_ino), None)

    def lookup(self, disk: os.stat_result) -> tuple[int, int, int] | None:
        """(mode bits, uid, gid) the image gives the inode ``disk``, or None when unknown."""
        return self._records.get((disk.st_dev, disk.st_ino))

    def __len__(self) -> int:
        return len(self._records)


class Unpacked(NamedTuple):
    """What ``unpack`` made: the summary the report shows and the image's metadata."""

    summary: dict
    index: MetadataIndex


class UnpackedImage(NamedTuple):
    """A temporary image root, its unpack summary and its metadata (see ``unpacked_image``)."""

    root: str
    summary: dict
    index: MetadataIndex


def unpack(tar_path: str, dest: str, *, max_bytes: int = MAX_BYTES,
           max_members: int = MAX_MEMBERS) -> Unpacked:
    """Unpack ``tar_path`` (plain or gz/xz/bz2-compressed) into the existing empty ``dest``.

    Returns the summary {"members", "bytes", "skipped": [{"name", "reason"}] (first 50),
    "skipped_count"} and the index of the image's modes and owners. ``dest`` itself keeps
    its own mode (the image's root entry goes to the index only). Raises InputError for a
    missing or unreadable archive, an unsafe member or an exceeded limit; nothing is ever
    written outside ``dest``, and the caller removes ``dest``.
    """
    summary: dict = {"members": 0, "bytes": 0, "skipped": [], "skipped_count": 0}
    unpacker = _Unpacker(tar_path, dest)
    try:
        with tarfile.open(tar_path, "r:*") as archive:
            for member in archive:
                summary["members"] += 1
                if summary["members"] > max_members:
                    raise InputError(f"more than {max_members} members (max_members)",
                                     where=tar_path)
                parts = _safe_parts(member.name, tar_path)
                reason = _not_created_reason(member)
                if reason:
                    summary["skipped_count"] += 1
                    if len(summary["skipped"]) < MAX_SKIPPED_LISTED:
                        summary["skipped"].append({"name": member.name, "reason": reason})
                    continue
                unpacker.check_fits(member, parts)
                if member.isreg():
                    summary["bytes"] += member.size
                    if summary["bytes"] > max_bytes:
                        raise InputError(f"unpacked size exceeds {max_bytes} bytes (max_bytes) "
                                         f"at member {member.name!r}", where=tar_path)
                try:
                    unpacker.extract(archive, member, parts)
                except OSError as exc:
                    if exc.errno == errno.ENAMETOOLONG:
                        raise InputError(f"member {_shown(member.name)}: name too long for the "
                                         "filesystem", where=tar_path) from exc
                    # Our side failed (disk full, permissions of the temp dir): not bad input.
                    raise AuditError(f"cannot unpack member {member.name!r}: {exc}",
                                     where=tar_path) from exc
            # Directories last, children before parents: unpacking their contents changed
            # their mtimes.
            for path, member in reversed(unpacker.directories):
                os.utime(path, (member.mtime, member.mtime), follow_symlinks=False)
    except _READ_ERRORS as exc:
        raise InputError(f"not a readable tar archive: {exc}", where=tar_path) from exc
    except OSError as exc:
        raise InputError(f"cannot read image tarball: {exc}", where=tar_path) from exc
    return Unpacked(summary, unpacker.index)


@contextlib.contextmanager
def unpacked_image(tar_path: str, **limits: int) -> Iterator[UnpackedImage]:
    """Unpack ``tar_path`` into a fresh 0700 temporary directory; yield (root, summary,
    index); remove it afterwards, also when a signal ends the run (see interrupt)."""
    dest = None
    try:
        with deferred():  # a signal between mkdtemp and the assignment would leak the dir
            dest = tempfile.mkdtemp(prefix="hostaudit-image-")
        summary, index = unpack(tar_path, dest, **limits)
        yield UnpackedImage(dest, summary, index)
    finally:
        if dest is not None:
            with deferred():  # a second Ctrl-C must not leave half a tree behind
                shutil.rmtree(dest)


def _shown(name: str) -> str:
    """A member name for a message: overlong names are cut, with their length."""
    if len(name) <= 120:
        return repr(name)
    return f"{name[:120]!r}... ({len(os.fsencode(name))} bytes)"


def _safe_parts(name: str, tar_path: str) -> tuple[str, ...]:
    """Path components of a member name relative to the root ('./' dropped); refuse escapes."""
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts:
        raise InputError(f"unsafe member {_shown(name)}: absolute or '..' path would leave the "
                         "image root; the whole image is refused", where=tar_path)
    return path.parts


def _not_created_reason(member: tarfile.TarInfo) -> str | None:
    """Why a member is skipped (devices, FIFOs, unknown types), or None to create it."""
    if member.type in _NOT_CREATED:
        return f"{_NOT_CREATED[member.type]} not created"
    if not (member.isreg() or member.isdir() or member.issym() or member.islnk()):
        return f"unsupported member type {member.type!r} not created"
    return None


def _disk_mode(member: tarfile.TarInfo) -> int:
    """The defanged mode a member gets on disk (its own lives in the index)."""
    bits = _DISK_DIR_BITS if member.isdir() else _DISK_FILE_BITS
    return (member.mode & _DISK_MODE_MASK) | bits


class _Unpacker:
    """Creates checked members under ``dest``, records their metadata, and remembers what
    hard links may point to."""

    def __init__(self, tar_path: str, dest: str):
        self.tar_path = tar_path
        self.dest = dest
        self.index = MetadataIndex()
        self.unpacked_files: set[str] = set()
        self.directories: list[tuple[str, tarfile.TarInfo]] = []
        try:
            self.name_max = min(NAME_MAX, os.pathconf(dest, "PC_NAME_MAX"))
        except (OSError, ValueError):
            self.name_max = NAME_MAX
        # Room left for a member's relative path: PATH_MAX counts the terminating NUL.
        self.path_room = PATH_MAX - 1 - len(os.fsencode(dest)) - 1

    def check_fits(self, member: tarfile.TarInfo, parts) -> None:
        """Refuse a member whose name (or link target) this filesystem cannot hold: that is
        the image's doing, bad input, not a failure of the audit."""
        for part in parts:
            if len(os.fsencode(part)) > self.name_max:
                raise InputError(f"member {_shown(member.name)}: a name component is longer than "
                                 f"NAME_MAX ({self.name_max} bytes)", where=self.tar_path)
        if len(os.fsencode("/".join(parts))) > self.path_room:
            raise InputError(f"member {_shown(member.name)}: the path is longer than PATH_MAX "
                             f"({PATH_MAX} bytes with the temporary root)", where=self.tar_path)
        if member.issym() and len(os.fsencode(member.linkname)) >= PATH_MAX:
            raise InputError(f"member {_shown(member.name)}: symlink target is longer than "
                             f"PATH_MAX ({PATH_MAX} bytes)", where=self.tar_path)

    def extract(self, archive: tarfile.TarFile, member: tarfile.TarInfo, parts) -> None:
        """Create one member; directories get their mtimes at the end (see unpack)."""
        if not parts:  # the root entry "./" of `tar -C rootfs -c .`
            if not member.isdir():
                raise InputError(f"unsafe member {member.name!r}: the root is not a directory",
                                 where=self.tar_path)
            # Its mode is the image's and goes to the index; the temporary root stays 0700.
            self.index.record(os.lstat(self.dest), member.mode, member.uid, member.gid)
            self.directories.append((self.dest, member))
            return
        self.check_parents(parts[:-1], member.name, create=True)
        path = os.path.join(self.dest, *parts)
        if member.islnk():
            source = self.hard_link_source(member)
            _clear(path, keep_directory=False)
            os.link(source, path, follow_symlinks=False)
            return  # like GNU tar: the inode keeps the attributes of the file it links to
        if member.issym():
            _clear(path, keep_directory=False)
            os.symlink(member.linkname, path)
        elif member.isdir():
            _clear(path, keep_directory=True)
            if not os.path.isdir(path):
                os.mkdir(path, 0o700)
            os.chmod(path, _disk_mode(member))
            self.directories.append((path, member))
        else:
            _clear(path, keep_directory=False)
            # O_EXCL|O_NOFOLLOW: even a link planted behind our back is never followed.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(archive.extractfile(member), out, 1024 * 1024)
                os.fchmod(out.fileno(), _disk_mode(member))
            self.unpacked_files.add("/".join(parts))
        if not member.isdir():
            os.utime(path, (member.mtime, member.mtime), follow_symlinks=False)
        disk = os.lstat(path)
        # Linux has no symlink modes: a link is 0777 on any system, whatever the tar says.
        mode = disk.st_mode if member.issym() else member.mode
        self.index.record(disk, mode, member.uid, member.gid)

    def check_parents(self, parts, name: str, *, create: bool) -> None:
        """Refuse when a directory between ``dest`` and a member is a symlink on disk.

        Missing directories (tars may omit them) are created when ``create`` is set; the
        image says nothing about them, so the index has no record and disk is the answer.
        """
        current = self.dest
        for part in parts:
            current = os.path.join(current, part)
            try:
                mode = os.lstat(current).st_mode
            except FileNotFoundError:
                if not create:
                    raise
                os.mkdir(current, 0o700)
                os.chmod(current, 0o755)  # as tar makes them, whatever the auditor's umask
                self.index.forget(os.lstat(current))
                continue
            if stat.S_ISLNK(mode):
                raise InputError(f"unsafe member {name!r}: its parent "
                                 f"{os.path.relpath(current, self.dest)!r} is a symlink, writing "
                                 "through it could leave the image root", where=self.tar_path)
            if not stat.S_ISDIR(mode):
                raise InputError(f"member {name!r}: its parent "
                                 f"{os.path.relpath(current, self.dest)!r} is not a directory",
                                 where=self.tar_path)

    def hard_link_source(self, member: tarfile.TarInfo) -> str:
        """The on-disk path of a hard link's target, which must be a file unpacked before."""
        # Only checked names enter unpacked_files, so absolute and '..' targets never match.
        parts = PurePosixPath(member.linkname).parts
        if "/".join(parts) not in self.unpacked_files:
            raise InputError(f"unsafe member {member.name!r}: hard link target "
                             f"{member.linkname!r} is not a regular file unpacked earlier",
                             where=self.tar_path)
        source = os.path.join(self.dest, *parts)
        try:
            self.check_parents(parts[:-1], member.name, create=False)
            mode = os.lstat(source).st_mode
        except FileNotFoundError as exc:
            raise InputError(f"member {member.name!r}: hard link target {member.linkname!r} "
                             "was removed by a later member", where=self.tar_path) from exc
        if not stat.S_ISREG(mode):
            raise InputError(f"unsafe member {member.name!r}: hard link target "
                             f"{member.linkname!r} was replaced by a non-regular file",
                             where=self.tar_path)
        return source


def _clear(path: str, *, keep_directory: bool) -> None:
    """Remove what a later member replaces; a symlink is unlinked, never followed."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(mode):
        os.unlink(path)
    elif not keep_directory:
        shutil.rmtree(path)
