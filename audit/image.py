"""Safe unpacking of image tarballs (``hostaudit scan --image FILE.tar[.gz|.xz|.bz2]``).

The tarball comes from outside and is unpacked as root, so each member is checked before
anything is written: no absolute or ``..`` names, never a write through a symlink already on
disk, hard links only to files this archive unpacked, no device nodes or FIFOs, and limits
against tar bombs. Symlinks are created as they are (absolute targets are normal in images;
``ImageHost`` resolves them inside the root). Modes with setuid bits, mtimes and numeric
ownership are kept because the audit checks them, which is why tarfile's 'data' filter (it
rejects absolute links and strips setuid) is not used.
"""

from __future__ import annotations

import contextlib
import lzma
import os
import shutil
import stat
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import PurePosixPath

from hostaudit.errors import AuditError, InputError

MAX_BYTES = 8 * 1024**3
MAX_MEMBERS = 2_000_000
MAX_SKIPPED_LISTED = 50
# What a corrupt or truncated (compressed) stream raises while it is read.
_READ_ERRORS = (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError)
_NOT_CREATED = {tarfile.CHRTYPE: "character device", tarfile.BLKTYPE: "block device",
                tarfile.FIFOTYPE: "FIFO"}


def unpack(tar_path: str, dest: str, *, max_bytes: int = MAX_BYTES,
           max_members: int = MAX_MEMBERS) -> dict:
    """Unpack ``tar_path`` (plain or gz/xz/bz2-compressed) into the existing empty ``dest``.

    Returns {"members", "bytes", "skipped": [{"name", "reason"}] (first 50), "skipped_count"}.
    Raises InputError for a missing or unreadable archive, an unsafe member or an exceeded
    limit; nothing is ever written outside ``dest``, and the caller removes ``dest``.
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
                if member.isreg():
                    summary["bytes"] += member.size
                    if summary["bytes"] > max_bytes:
                        raise InputError(f"unpacked size exceeds {max_bytes} bytes (max_bytes) "
                                         f"at member {member.name!r}", where=tar_path)
                try:
                    unpacker.extract(archive, member, parts)
                except OSError as exc:
                    # Our side failed (disk full, permissions of the temp dir): not bad input.
                    raise AuditError(f"cannot unpack member {member.name!r}: {exc}",
                                     where=tar_path) from exc
            # Directories last, children before parents: their mtimes change and a read-only mode
            # would block writes while their contents are unpacked.
            for path, member in reversed(unpacker.directories):
                _set_attributes(path, member)
    except _READ_ERRORS as exc:
        raise InputError(f"not a readable tar archive: {exc}", where=tar_path) from exc
    except OSError as exc:
        raise InputError(f"cannot read image tarball: {exc}", where=tar_path) from exc
    return summary


@contextlib.contextmanager
def unpacked_image(tar_path: str, **limits: int) -> Iterator[tuple[str, dict]]:
    """Unpack ``tar_path`` into a fresh temporary directory; yield (path, summary); remove it."""
    dest = tempfile.mkdtemp(prefix="hostaudit-image-")
    try:
        yield dest, unpack(tar_path, dest, **limits)
    finally:
        shutil.rmtree(dest, onerror=_make_writable_and_retry)


def _safe_parts(name: str, tar_path: str) -> tuple[str, ...]:
    """Path components of a member name relative to the root ('./' dropped); refuse escapes."""
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts:
        raise InputError(f"unsafe member {name!r}: absolute or '..' path would leave the "
                         "image root; the whole image is refused", where=tar_path)
    return path.parts


def _not_created_reason(member: tarfile.TarInfo) -> str | None:
    """Why a member is skipped (devices, FIFOs, unknown types), or None to create it."""
    if member.type in _NOT_CREATED:
        return f"{_NOT_CREATED[member.type]} not created"
    if not (member.isreg() or member.isdir() or member.issym() or member.islnk()):
        return f"unsupported member type {member.type!r} not created"
    return None


class _Unpacker:
    """Creates checked members under ``dest`` and remembers what hard links may point to."""

    def __init__(self, tar_path: str, dest: str):
        self.tar_path = tar_path
        self.dest = dest
        self.unpacked_files: set[str] = set()
        self.directories: list[tuple[str, tarfile.TarInfo]] = []

    def extract(self, archive: tarfile.TarFile, member: tarfile.TarInfo, parts) -> None:
        """Create one member; directories get their attributes at the end (see unpack)."""
        if not parts:  # the root entry "./" of `tar -C rootfs -c .`
            if not member.isdir():
                raise InputError(f"unsafe member {member.name!r}: the root is not a directory",
                                 where=self.tar_path)
            self.directories.append((self.dest, member))
            return
        self.check_parents(parts[:-1], member.name, create=True)
        path = os.path.join(self.dest, *parts)
        if member.islnk():
            source = self.hard_link_source(member)
            _clear(path, keep_directory=False)
            os.link(source, path, follow_symlinks=False)
            return  # like GNU tar: the inode keeps the attributes of the file it links to
        elif member.issym():
            _clear(path, keep_directory=False)
            os.symlink(member.linkname, path)
        elif member.isdir():
            _clear(path, keep_directory=True)
            if not os.path.isdir(path):
                os.mkdir(path, 0o700)
            self.directories.append((path, member))
            return
        else:
            _clear(path, keep_directory=False)
            # O_EXCL|O_NOFOLLOW: even a link planted behind our back is never followed.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(archive.extractfile(member), out, 1024 * 1024)
            self.unpacked_files.add("/".join(parts))
        _set_attributes(path, member)

    def check_parents(self, parts, name: str, *, create: bool) -> None:
        """Refuse when a directory between ``dest`` and a member is a symlink on disk.

        Missing directories (tars may omit them) are created when ``create`` is set.
        """
        current = self.dest
        for part in parts:
            current = os.path.join(current, part)
            try:
                mode = os.lstat(current).st_mode
            except FileNotFoundError:
                if not create:
                    raise
                os.mkdir(current, 0o755)
                continue
            if stat.S_ISLNK(mode):
                raise InputError(f"unsafe member {name!r}: its parent "
                                 f"{os.path.relpath(current, self.dest)!r} is a symlink, writing "
                                 "through it could leave the image root", where=self.tar_path)

    def hard_link_source(self, member: tarfile.TarInfo) -> str:
        """The on-disk path of a hard link's target, which must be a file unpacked before."""
        # Only checked names enter unpacked_files, so absolute and '..' targets never match.
        parts = PurePosixPath(member.linkname).parts
        if "/".join(parts) not in self.unpacked_files:
            raise InputError(f"unsafe member {member.name!r}: hard link target "
                             f"{member.linkname!r} is not a regular file unpacked earlier",
                             where=self.tar_path)
        self.check_parents(parts[:-1], member.name, create=False)
        source = os.path.join(self.dest, *parts)
        if not stat.S_ISREG(os.lstat(source).st_mode):
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


def _set_attributes(path: str, member: tarfile.TarInfo) -> None:
    """Numeric owner (root only), mode with setuid/setgid/sticky bits, and mtime."""
    if os.geteuid() == 0:
        os.chown(path, member.uid, member.gid, follow_symlinks=False)
    if not member.issym():  # Linux has no symlink modes; chmod here would follow the link
        os.chmod(path, member.mode & 0o7777)  # after chown, which clears setuid bits
    os.utime(path, (member.mtime, member.mtime), follow_symlinks=False)


def _make_writable_and_retry(function, path, _exc_info) -> None:
    """rmtree helper: a read-only directory from the image (non-root runs) blocks deletion."""
    os.chmod(os.path.dirname(path), 0o700)
    function(path)
