"""Reading ``--image`` archives: detect the format from the content, index every member in one
streaming pass, keep only the bytes the probes may read.

Formats (``detect_image_format``): a flat root filesystem tarball (``docker export``; plain,
gzip, xz, bzip2 or zstd), a ``docker save``/``podman save`` archive (manifest.json, a config,
layer tarballs, possibly compressed) and an OCI image layout (a directory or a tar of one:
oci-layout, index.json, blobs/sha256/...). Layers are applied in order with their whiteouts
(``.wh.NAME``) and opaque directories (``.wh..wh..opq``); every blob is checked against its
sha256 digest. Whatever else is given is bad input, never audited as a root.

Every byte is the image's: member names are checked (no absolute or ``..`` paths, names
Linux could hold), links are resolved inside the image when read, nothing is executed, no
device node or symlink is created, and limits stop tar bombs. The tree lives in memory
(``hostaudit.imagetree``); only regular files matching ``hostaudit.probes.reads`` are written,
under numbers, into a fresh 0700 directory that is removed afterwards.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import hashlib
import io
import json
import lzma
import os
import platform as _platform
import posixpath
import re
import shutil
import stat
import subprocess
import tarfile
import tempfile
import threading
import zlib
from collections.abc import Iterator
from typing import IO, NamedTuple, cast

import zstandard

from hostaudit.errors import AuditError, InputError
from hostaudit.host import _COMMAND_ENV
from hostaudit.imagetree import (
    ARCHIVE_CARRIES,
    MAX_KEPT_FILE,
    TOO_LARGE,
    WHITEOUT,
    ImageTree,
    TreeHost,
    safe_parts,
    shown,
)
from hostaudit.interrupt import deferred
from hostaudit.probes.reads import may_be_read

MAX_BYTES = 8 * 1024**3       # regular-file bytes over all layers (the unpacked size)
MAX_MEMBERS = 2_000_000       # members over all layers
MAX_JSON = 4 * 1024 * 1024    # manifest, index, config
MAX_SKIPPED_LISTED = 50
_CHUNK = 1024 * 1024
# tarfile's stream mode copies the rest of its buffer on every read: a pipe-sized buffer
# keeps that copy small (a 1 MiB one costs twice the CPU on a Debian tree).
_TAR_BUFFER = 64 * 1024
_MAX_INDEX_DEPTH = 4
_MAX_OUTER_LINKS = 8
# tarfile reads a pax header or GNU long name whole into memory: bound it.
MAX_EXTENDED_HEADER = 1024 * 1024
# Bytes of all kept files together (one is at most imagetree.MAX_KEPT_FILE).
MAX_KEPT_TOTAL = 2 * 1024**3
_MAX_OUTER_MEMBERS = 100_000  # an image archive holds blobs and a few JSON files
_MAX_SMALL_TOTAL = 64 * 1024 * 1024  # JSON and small layers of a compressed archive, in memory
_WAIT_S = 60.0                # for a decompressor whose input and output are done
_PEEK_MEMBERS = 32
# Compressed streams, by their magic bytes (content, never the file name).
_MAGIC = ((b"\x1f\x8b", "gzip"), (b"\xfd7zXZ\x00", "xz"), (b"BZh", "bzip2"),
          (b"\x28\xb5\x2f\xfd", "zstd"))
# What a corrupt or truncated (compressed) stream raises while it is read.
_READ_ERRORS = (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, zstandard.ZstdError,
                gzip.BadGzipFile)
_UNSUPPORTED = {tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE}
_DIGEST = re.compile(r"sha256:([0-9a-f]{64})")
_HEX = re.compile(r"[0-9a-f]{64}")
# The top level of an image archive, as opposed to a root filesystem.
_LAYOUT_FILES = ("manifest.json", "index.json", "oci-layout", "repositories")
_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm/v7", "armv6l": "arm/v6",
         "i686": "386", "i386": "386", "ppc64le": "ppc64le", "s390x": "s390x",
         "riscv64": "riscv64"}
_FORMAT_NAMES = {"rootfs-tar": "a root filesystem tarball", "docker-archive": "a docker-save archive",
                 "oci-archive": "an OCI image archive", "oci-layout": "an OCI image layout"}


class OpenedImage(NamedTuple):
    """An image ready to audit: the Host reading it and what the report says about it."""

    host: TreeHost
    description: dict


def default_platform() -> str:
    """This machine's platform as OCI names it (``linux/amd64``, ``linux/arm64``...)."""
    machine = _platform.machine()
    return f"linux/{_ARCH.get(machine, machine)}"


def detect_image_format(path: str) -> str:
    """What ``path`` holds, from its content: ``rootfs-tar`` (``+gzip``, ``+xz``, ``+bzip2``,
    ``+zstd``), ``docker-archive``, ``oci-archive`` (also compressed: ``docker-archive+gzip``
    is ``docker save | gzip``) or ``oci-layout`` (a directory).

    Raises InputError for anything else, saying what was found. A flat tarball is told from
    an image archive by its first members; reading it checks the rest (see ``open_image``).
    """
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, "oci-layout")) and \
                os.path.isfile(os.path.join(path, "index.json")):
            return "oci-layout"
        raise InputError("a directory that is not an OCI image layout (no oci-layout and "
                         "index.json); give an unpacked root filesystem with --root", where=path)
    compression = _compression_of(path)
    suffix = f"+{compression}" if compression else ""
    with _opened(path) as raw:
        stream = _decompressed(raw, compression) if compression else raw
        try:
            markers = _peek_markers(stream)
        except _READ_ERRORS as exc:
            what = f"{compression}-compressed data" if compression else _first_bytes(path)
            raise InputError(f"not an image: {what} that is not a tar archive ({exc}); "
                             "hostaudit reads root filesystem tarballs (plain, gzip, xz, bzip2, "
                             "zstd), docker-save archives and OCI layouts", where=path) from exc
    if not markers:
        return "rootfs-tar" + suffix
    if compression:
        kind = "oci-archive" if "oci-layout" in markers or "index.json" in markers else "docker-archive"
        return kind + suffix
    return _classify_archive(path, _TarSource(path).names)


def _first_bytes(path: str) -> str:
    with _opened(path) as raw:
        head = raw.read(16)
    return f"data starting {head!r}" if head else "an empty file"


def _compression_of(path: str) -> str | None:
    with _opened(path) as raw:
        return _compression(raw.read(8))


def _compression(head: bytes) -> str | None:
    return next((name for magic, name in _MAGIC if head.startswith(magic)), None)


@contextlib.contextmanager
def _opened(path: str):
    """The image file, opened without following a FIFO into a block."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise InputError(f"cannot read the image: {exc.strerror}", where=path) from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise InputError("not a regular file (nor an OCI layout directory)", where=path)
    with os.fdopen(fd, "rb", buffering=_CHUNK) as raw:
        yield raw


def _decompressed(raw, compression: str):
    """A reader of ``raw`` decompressed; the stream ends where the compressed data does."""
    if compression == "gzip":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if compression == "xz":
        return lzma.LZMAFile(raw)
    if compression == "bzip2":
        return bz2.BZ2File(raw)
    return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True,
                                                      closefd=False)


# The auditor's own decompressors (never the image's), run on another core while this one
# indexes: the first installed of each list (igzip, from ISA-L, inflates four times as fast
# as gzip); the in-process modules stand in where none is.
_PROGRAMS = {"gzip": (("igzip", "-dc"), ("gzip", "-dc")), "xz": (("xz", "-dc"),),
             "bzip2": (("bzip2", "-dc"),), "zstd": (("zstd", "-dcq"),)}
# gzip, igzip and xz exit 2 for a warning only (trailing zero bytes after the stream).
_WARNING_STATUS = {"gzip": 2, "xz": 2}


class _DecompressorFailed(EOFError):
    """The decompressing program exited non-zero: corrupt or truncated data."""


@contextlib.contextmanager
def _inflated(raw, compression: str, *, external: bool = True):
    """``(hashing, stream)``: ``hashing`` hashes the compressed bytes of ``raw``, ``stream``
    reads them decompressed. The stream is drained (and the program's exit checked) when
    the block ends normally; on any exception the program is killed."""
    hashing = _Hashing(raw)
    program, argv = None, ()
    # The loop keeps the first installed program and its arguments for after the loop.
    for program_name, *argv in _PROGRAMS[compression] if external else ():  # noqa: B007
        program = shutil.which(program_name, path=_COMMAND_ENV["PATH"])
        if program:
            break
    if program is None:
        stream = _Hashing(_decompressed(hashing, compression))
        yield hashing, stream
        stream.drain()
        return
    proc = subprocess.Popen([program, *argv], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_COMMAND_ENV,
                            close_fds=True, bufsize=_CHUNK)
    failures: list[BaseException] = []
    # Both pipes exist: Popen was asked for them.
    feed, out = cast(IO[bytes], proc.stdin), cast(IO[bytes], proc.stdout)

    def pump() -> None:
        try:
            while chunk := hashing.read(_CHUNK):
                feed.write(chunk)
        except BrokenPipeError:
            pass  # the program ended (or was killed): its exit status tells
        except BaseException as exc:  # noqa: BLE001  (reported by the main thread)
            failures.append(exc)
        finally:
            with contextlib.suppress(OSError):
                feed.close()

    feeder = threading.Thread(target=pump, name=f"{compression} feeder", daemon=True)
    feeder.start()
    stream = _Hashing(out)
    try:
        yield hashing, stream
        stream.drain()
        feeder.join()
        status = proc.wait(timeout=_WAIT_S)
        if failures:
            raise failures[0]
        if status not in (0, _WARNING_STATUS.get(compression)):
            raise _DecompressorFailed(f"{program} -d exited with status {status}: corrupt or "
                                      "truncated data")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        feeder.join(timeout=10)
        out.close()


def _member_bytes(archive: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    """A regular member's bytes (tarfile gives no reader only for non-regular members)."""
    reader = archive.extractfile(member)
    return reader.read() if reader is not None else b""


def _marker(parts: tuple[str, ...], member: tarfile.TarInfo) -> str | None:
    """What in a member's name says "image archive, not a root filesystem", or None."""
    if not parts:
        return None
    top = parts[0]
    if len(parts) == 1 and member.isreg() and top in _LAYOUT_FILES:
        return top
    if top == "blobs" and len(parts) >= 2 and parts[1] == "sha256":
        return "blobs/sha256/"
    if _HEX.fullmatch(top) or (len(parts) == 1 and top.endswith(".tar") and _HEX.fullmatch(top[:-4])):
        return "layer " + top  # docker save's <id>/layer.tar, podman's <diff-id>.tar
    return None


def _peek_markers(stream) -> set[str]:
    """Image-archive markers among the first members; raises when not even one is a tar
    member (a damaged stream further on is for the reading pass to report)."""
    markers: set[str] = set()
    archive = tarfile.open(fileobj=stream, mode="r|", tarinfo=_BoundedTarInfo)
    with contextlib.suppress(*_READ_ERRORS):
        for count, member in enumerate(archive):
            if count >= _PEEK_MEMBERS:
                break
            try:
                parts = safe_parts(member.name, "")
            except InputError:
                continue
            marker = _marker(parts, member)
            if marker:
                markers.add(marker)
    return markers


class _BoundedTarInfo(tarfile.TarInfo):
    """A TarInfo whose extended headers (pax, GNU long name/link) may not exceed
    MAX_EXTENDED_HEADER: tarfile reads them whole, so an image could claim gigabytes."""

    def _bounded(self) -> None:
        if self.size > MAX_EXTENDED_HEADER:
            raise tarfile.ReadError(f"an extended header of {self.size} bytes (over "
                                    f"{MAX_EXTENDED_HEADER}) before member at offset {self.offset}")

    def _proc_gnulong(self, tarfile_):
        self._bounded()
        return super()._proc_gnulong(tarfile_)

    def _proc_pax(self, tarfile_):
        self._bounded()
        # Python's pax parser searches the header with a backtracking regex (CVE-2024-6232),
        # quadratic in its size and uninterruptible: check the records' syntax in one linear
        # pass first, then let tarfile parse bytes known to be well-formed.
        raw = tarfile_.fileobj.read(self._block(self.size))
        _check_pax_records(raw[:self.size], self.offset)
        inner = tarfile_.fileobj
        tarfile_.fileobj = _Prefixed(raw, inner)
        try:
            return super()._proc_pax(tarfile_)
        finally:
            tarfile_.fileobj = inner


def _check_pax_records(data: bytes, offset: int) -> None:
    """Raise ReadError unless ``data`` is a run of pax records ``LEN KEY=VALUE\n`` (each LEN
    the record's own length), NUL padding after the last. Linear in ``len(data)``."""
    pos = 0
    while pos < len(data) and data[pos] != 0:
        space = data.find(b" ", pos, pos + 21)
        digits = data[pos:space] if space > pos else b""
        if not digits.isdigit():
            raise tarfile.ReadError(f"malformed pax header at offset {offset}: no record length "
                                    f"at byte {pos}")
        end = pos + int(digits)
        if end <= space + 2 or end > len(data) or data[end - 1] != 0x0A or b"=" not in data[space + 1:end]:
            raise tarfile.ReadError(f"malformed pax header at offset {offset}: record at byte {pos} "
                                    "is not LEN KEY=VALUE")
        pos = end


# -- the one streaming pass over a tar (a flat rootfs or one layer) ---------------------------
class _Pass:
    """Counts and limits shared by every member of every layer of one image."""

    def __init__(self, dest: str, max_bytes: int, max_members: int):
        self.dest, self.max_bytes, self.max_members = dest, max_bytes, max_members
        self.summary: dict = {"members": 0, "bytes": 0, "special_files": 0,
                              "materialised": {"files": 0, "bytes": 0},
                              "skipped": [], "skipped_count": 0}
        self.markers: set[str] = set()

    def materialise(self, source, size: int, name: str, where: str) -> int:
        """Write one file's bytes under the next number; returns the number."""
        number = self.summary["materialised"]["files"] + 1
        path = os.path.join(self.dest, str(number))
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                         0o400)
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(source, out, _CHUNK)
        except OSError as exc:  # our side (disk full): not bad input
            raise AuditError(f"cannot keep member {shown(name)}: {exc}", where=where) from exc
        self.summary["materialised"]["files"] = number
        self.summary["materialised"]["bytes"] += size
        return number

    def records(self, stream, *, whiteouts: bool, where: str) -> Iterator[tuple]:
        """``(member, parts, blob)`` for every member of the tar ``stream`` to put in a tree,
        whiteouts included; ``blob`` is the number of its kept bytes, TOO_LARGE or None."""
        summary = self.summary
        with tarfile.open(fileobj=stream, mode="r|", bufsize=_TAR_BUFFER,
                          tarinfo=_BoundedTarInfo) as archive:
            for member in archive:
                summary["members"] += 1
                if summary["members"] > self.max_members:
                    raise InputError(f"more than {self.max_members} members (max_members)", where=where)
                parts = safe_parts(member.name, where)
                if not whiteouts:
                    marker = _marker(parts, member)
                    if marker:
                        self.markers.add(marker)
                elif parts and parts[-1].startswith(WHITEOUT):
                    yield member, parts, None
                    continue
                if not (member.isreg() or member.isdir() or member.issym() or member.islnk()
                        or member.type in _UNSUPPORTED):
                    summary["skipped_count"] += 1
                    if len(summary["skipped"]) < MAX_SKIPPED_LISTED:
                        summary["skipped"].append({"name": member.name, "reason":
                                                   f"unsupported member type {member.type!r}"})
                    continue
                if member.type in _UNSUPPORTED:
                    summary["special_files"] += 1  # indexed as what it is, never created
                blob = None
                if member.isreg():
                    summary["bytes"] += member.size
                    if summary["bytes"] > self.max_bytes:
                        raise InputError(f"unpacked size exceeds {self.max_bytes} bytes (max_bytes) "
                                         f"at member {shown(member.name)}", where=where)
                    if may_be_read("/" + "/".join(parts)):
                        blob = self._keep(archive, member, where)
                yield member, parts, blob

    def _keep(self, archive: tarfile.TarFile, member: tarfile.TarInfo, where: str) -> int:
        if member.size > MAX_KEPT_FILE:
            return TOO_LARGE  # a probe reading it is told so, with the size
        if self.summary["materialised"]["bytes"] + member.size > MAX_KEPT_TOTAL:
            raise InputError(f"the files probes read exceed {MAX_KEPT_TOTAL} bytes at "
                             f"member {shown(member.name)}", where=where)
        return self.materialise(archive.extractfile(member), member.size, member.name, where)

    def ingest(self, tree: ImageTree, stream, *, layer: int, whiteouts: bool, where: str) -> int:
        """Index every member of the tar ``stream`` into ``tree``; returns the member count."""
        return _apply(tree, self.records(stream, whiteouts=whiteouts, where=where),
                      layer=layer, whiteouts=whiteouts, where=where)


def _apply(tree: ImageTree, records, *, layer: int, whiteouts: bool, where: str) -> int:
    """Put ``records`` (see ``_Pass.records``) into ``tree`` as layer ``layer``."""
    count = 0
    for member, parts, blob in records:
        count += 1
        if whiteouts and parts and parts[-1].startswith(WHITEOUT):
            tree.whiteout(parts, layer, where, member.name)
            continue
        node = tree.add(member, parts, layer, where)
        if node is not None and blob is not None:
            node.blob = blob
    return count


@contextlib.contextmanager
def _plain(raw):
    """``(hashing, stream)`` of an uncompressed stream: one hash serves both."""
    hashing = _Hashing(raw)
    yield hashing, hashing
    hashing.drain()


class _Hashing:
    """A reader that hashes (sha256) and counts what passes through it."""

    def __init__(self, raw):
        self.raw, self.hash, self.size = raw, hashlib.sha256(), 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.hash.update(data)
        self.size += len(data)
        return data

    def readable(self) -> bool:
        return True

    def drain(self) -> None:
        while self.read(_CHUNK):
            pass

    def hexdigest(self) -> str:
        return self.hash.hexdigest()


# -- where an image archive's files come from --------------------------------------------------
class _TarSource:
    """An uncompressed tar holding an image layout, read by member name (random access)."""

    def __init__(self, path: str):
        self.path = path
        self.members: dict[str, tarfile.TarInfo] = {}
        try:
            self.archive = tarfile.open(path, "r:", tarinfo=_BoundedTarInfo)
            members = []
            for member in self.archive:
                members.append(member)
                if len(members) > _MAX_OUTER_MEMBERS:
                    raise InputError(f"more than {_MAX_OUTER_MEMBERS} members: not an image "
                                     "archive of blobs", where=path)
        except _READ_ERRORS as exc:
            raise InputError(f"not a readable tar archive: {exc}", where=path) from exc
        for member in members:
            parts = safe_parts(member.name, path)
            if parts:
                self.members["/".join(parts)] = member
        self.names = set(self.members)

    def open(self, name: str):
        """A reader of the regular file ``name`` in the archive; symlinks (docker save links
        identical layers) and hard links are followed inside the archive only, by this
        index (tarfile's own lookup of a hard link's target raises KeyError when the archive
        lacks it, and would be an internal error)."""
        current = name
        for _ in range(_MAX_OUTER_LINKS):
            member = self.members.get(current)
            if member is None:
                what = f"{name!r}," if current == name else f"{name!r}, a link to {current!r},"
                raise InputError(f"names {what} which the archive does not hold", where=self.path)
            if member.issym() or member.islnk():
                # A symlink is relative to its directory, a hard link to the archive's top.
                base = posixpath.dirname(current) if member.issym() else ""
                target = posixpath.normpath(posixpath.join(base, member.linkname))
                if target.startswith(("/", "../")) or target == "..":
                    raise InputError(f"{name!r} links outside the archive ({member.linkname!r})",
                                     where=self.path)
                current = target
                continue
            if not member.isreg():
                raise InputError(f"{name!r} is not a regular file in the archive", where=self.path)
            return self.archive.extractfile(member)
        raise InputError(f"{name!r}: too many links in the archive", where=self.path)

    def recorded_layer(self, name: str):
        return None  # every layer is read when it is applied

    def close(self) -> None:
        self.archive.close()


class _DirSource:
    """An OCI layout directory; files are opened without following any symlink."""

    def __init__(self, path: str):
        self.path = path
        self.names = None

    def open(self, name: str):
        parts = name.split("/")
        if any(p in ("", ".", "..") for p in parts):
            raise InputError(f"names {name!r}, not a file of the layout", where=self.path)
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                for part in parts[:-1]:
                    inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                                    dir_fd=fd)
                    os.close(fd)
                    fd = inner
                file_fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                                  dir_fd=fd)
            finally:
                os.close(fd)
        except FileNotFoundError as exc:
            raise InputError(f"names {name!r}, which the layout does not hold", where=self.path) from exc
        except OSError as exc:
            raise InputError(f"cannot open {name!r} in the layout: {exc.strerror} (a symlink or "
                             "non-directory on the way is refused)", where=self.path) from exc
        if not stat.S_ISREG(os.fstat(file_fd).st_mode):
            os.close(file_fd)
            raise InputError(f"{name!r} is not a regular file in the layout", where=self.path)
        return os.fdopen(file_fd, "rb", buffering=_CHUNK)

    def recorded_layer(self, name: str):
        return None  # every layer is read when it is applied

    def close(self) -> None:
        pass


class _Recorded(NamedTuple):
    """A layer read as it streamed by, before the manifest said where it goes."""

    records: list
    raw_hex: str      # sha256 of the stored (compressed) bytes
    diff_hex: str     # sha256 of the tar
    size: int
    compression: str | None


class _Prefixed:
    """A reader giving ``head`` back before the rest of ``reader`` (a stream cannot seek);
    anything else (``tell``...) is the reader's."""

    def __init__(self, head: bytes, reader):
        self.head, self.reader = head, reader

    def read(self, size: int = -1) -> bytes:
        if not self.head:
            return self.reader.read(size)
        if size is None or size < 0:
            data, self.head = self.head + self.reader.read(), b""
            return data
        data, self.head = self.head[:size], self.head[size:]
        if len(data) < size:  # tarfile takes a short header read for a truncated archive
            data += self.reader.read(size - len(data))
        return data

    def readable(self) -> bool:
        return True

    def __getattr__(self, name):
        return getattr(self.reader, name)


class _StreamedSource:
    """A compressed image archive (``docker save | gzip``) read in one pass: files up to
    MAX_JSON (manifests, configs, small layers) are kept in memory, larger blobs are read
    as layers while they stream by (their records wait for the manifest, which comes last
    in a docker save archive); a blob that is no tar is only an error if a manifest uses it."""

    def __init__(self, path: str, compression: str, work: _Pass):
        self.path = path
        self.small: dict[str, bytes] = {}
        self.recorded: dict[str, _Recorded | str] = {}
        self.links: dict[str, str] = {}
        kept = 0
        with _opened(path) as raw:
            try:
                with _inflated(raw, compression) as (_, outer_stream), \
                        tarfile.open(fileobj=outer_stream, mode="r|", bufsize=_TAR_BUFFER,
                                     tarinfo=_BoundedTarInfo) as outer:
                    for count, member in enumerate(outer):
                        if count >= _MAX_OUTER_MEMBERS:
                            raise InputError(f"more than {_MAX_OUTER_MEMBERS} members: not an "
                                             "image archive of blobs", where=path)
                        name = "/".join(safe_parts(member.name, path))
                        if member.issym():
                            self.links[name] = posixpath.normpath(
                                posixpath.join(posixpath.dirname(name), member.linkname))
                        elif member.isreg() and member.size <= MAX_JSON:
                            kept += member.size
                            if kept > _MAX_SMALL_TOTAL:
                                raise InputError(f"more than {_MAX_SMALL_TOTAL} bytes of small "
                                                 "files: not an image archive", where=path)
                            self.small[name] = _member_bytes(outer, member)
                        elif member.isreg():
                            self.recorded[name] = _record_layer(outer.extractfile(member), work,
                                                                f"{path}: {name}")
            except _READ_ERRORS as exc:
                raise InputError(f"not a readable tar archive: {exc}", where=path) from exc
        self.names = set(self.small) | set(self.recorded) | set(self.links)

    def _resolve(self, name: str) -> str:
        for _ in range(_MAX_OUTER_LINKS):
            if name not in self.links:
                return name
            name = self.links[name]
            if name.startswith(("/", "../")) or name == "..":
                raise InputError(f"{name!r} links outside the archive", where=self.path)
        raise InputError(f"{name!r}: too many links in the archive", where=self.path)

    def open(self, name: str):
        resolved = self._resolve(name)
        if resolved in self.small:
            return io.BytesIO(self.small[resolved])
        if resolved in self.recorded:
            raise InputError(f"{name!r} is larger than {MAX_JSON} bytes", where=self.path)
        raise InputError(f"names {name!r}, which the archive does not hold", where=self.path)

    def recorded_layer(self, name: str) -> _Recorded | None:
        recorded = self.recorded.get(self._resolve(name))
        if isinstance(recorded, str):
            raise InputError(recorded, where=f"{self.path}: {name}")
        return recorded

    def close(self) -> None:
        pass


def _record_layer(reader, work: _Pass, where: str) -> _Recorded | str:
    head = reader.read(8)
    compression = _compression(head)
    source = _Prefixed(head, reader)
    try:
        with _inflated(source, compression) if compression else _plain(source) as (hashing, stream):
            records = list(work.records(stream, whiteouts=True, where=where))
        hashing.drain()
    except _READ_ERRORS as exc:
        return f"not a readable layer: {exc}"
    return _Recorded(records, hashing.hexdigest(), stream.hexdigest(), hashing.size, compression)


def _read_small(source, name: str, digest: str | None, what: str) -> bytes:
    """A manifest, index or config: whole, bounded, and checked against ``digest``."""
    with contextlib.closing(source.open(name)) as reader:
        data = reader.read(MAX_JSON + 1)
    if len(data) > MAX_JSON:
        raise InputError(f"{what} {name!r} is larger than {MAX_JSON} bytes", where=source.path)
    if digest is not None:
        actual = hashlib.sha256(data).hexdigest()
        if actual != digest:
            raise InputError(f"{what} {name!r}: sha256 {actual} does not match its digest "
                             f"sha256:{digest}", where=source.path)
    return data


def _read_json(source, name: str, digest: str | None, what: str):
    data = _read_small(source, name, digest, what)
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{what} {name!r} is not JSON: {exc}", where=source.path) from exc


def _digest_hex(value, what: str, where: str) -> str:
    match = _DIGEST.fullmatch(value) if isinstance(value, str) else None
    if not match:
        raise InputError(f"{what} has digest {value!r}, not sha256:<64 hex digits>", where=where)
    return match.group(1)


def _field(mapping, key: str, kind: type, what: str, where: str):
    value = mapping.get(key) if isinstance(mapping, dict) else None
    if not isinstance(value, kind):
        raise InputError(f"{what} has no {key!r} ({kind.__name__})", where=where)
    return value


class _Layer(NamedTuple):
    name: str                  # path in the archive or layout
    blob_digest: str | None    # sha256 of the stored bytes, when the format names it
    diff_id: str | None        # sha256 of the uncompressed tar (docker save's legacy layers)


def _platform_of(config: dict) -> str:
    parts = [str(config.get("os", "?")), str(config.get("architecture", "?"))]
    if config.get("variant"):
        parts.append(str(config["variant"]))
    return "/".join(parts)


def _platform_matches(have: str, want: str) -> bool:
    # linux/arm64 matches linux/arm64/v8: a variant only narrows when both name one.
    have_parts, want_parts = have.split("/"), want.split("/")
    return have_parts[:2] == want_parts[:2] and (len(have_parts) < 3 or len(want_parts) < 3
                                                 or have_parts[2] == want_parts[2])


def _docker_plan(source, platform: str | None) -> tuple[list[_Layer], dict]:
    where = source.path
    manifest = _read_json(source, "manifest.json", None, "manifest")
    if not isinstance(manifest, list) or not manifest:
        raise InputError("manifest.json is not a list of images", where=where)
    if len(manifest) > 1:
        tags = [", ".join(_repo_tags(e, n, where) or ["untagged"])
                for n, e in enumerate(manifest) if isinstance(e, dict)]
        raise InputError(f"the archive holds {len(manifest)} images ({'; '.join(tags)}); "
                         "save one image per archive", where=where)
    entry = manifest[0]
    config_name = _field(entry, "Config", str, "manifest.json's image", where)
    layer_names = _field(entry, "Layers", list, "manifest.json's image", where)
    base = posixpath.basename(config_name)
    config_hex = base[:-5] if base.endswith(".json") else base
    if not _HEX.fullmatch(config_hex):
        raise InputError(f"config {config_name!r} is not named by its sha256 digest", where=where)
    config = _read_json(source, config_name, config_hex, "config")
    diff_ids = _field(_field(config, "rootfs", dict, "config", where), "diff_ids", list,
                      "config's rootfs", where)
    if len(diff_ids) != len(layer_names):
        raise InputError(f"manifest.json names {len(layer_names)} layers, the config "
                         f"{len(diff_ids)} diff_ids", where=where)
    have = _platform_of(config)
    if platform is not None and not _platform_matches(have, platform):
        raise InputError(f"the image is {have}, not the --platform {platform}", where=where)
    layers = []
    for name, diff_id in zip(layer_names, diff_ids):
        if not isinstance(name, str):
            raise InputError(f"manifest.json names a layer {name!r}", where=where)
        match = re.fullmatch(r"blobs/sha256/([0-9a-f]{64})", name)
        layers.append(_Layer(name, match.group(1) if match else None,
                             None if match else _digest_hex(diff_id, f"layer {name!r}", where)))
    described = {"format": "docker-archive", "digest": f"sha256:{config_hex}",
                 "repo_tags": _repo_tags(entry, 0, where), "platform": have}
    return layers, described


def _repo_tags(entry: dict, number: int, where: str) -> list[str]:
    """An image's RepoTags in manifest.json: a list of strings, or none (null, absent)."""
    tags = entry.get("RepoTags")
    if tags is None:
        return []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise InputError(f"manifest.json[{number}].RepoTags is not a list of strings", where=where)
    return tags


def _object_field(descriptor: dict, key: str, at: str, where: str) -> dict:
    """A descriptor's optional object (``platform``, ``annotations``): {} when absent."""
    value = descriptor.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError(f"{at}.{key} is {type(value).__name__}, not an object", where=where)
    return value


def _choose_manifest(source, index: dict, platform: str | None, depth: int = 0,
                     label: str = "index.json") -> tuple[str, str]:
    """(manifest digest hex, platform) of the image ``platform`` names in an OCI index
    (``label`` names it in messages: index.json or a nested index's blob)."""
    where = source.path
    descriptors = []
    for number, d in enumerate(_field(index, "manifests", list, "index", where)):
        if isinstance(d, dict):
            # What the choice reads of a descriptor must be objects: checked once, here.
            for key in ("platform", "annotations"):
                _object_field(d, key, f"{label}: manifests[{number}]", where)
            descriptors.append(d)
    images = [d for d in descriptors
              if (d.get("annotations") or {}).get("vnd.docker.reference.type") != "attestation-manifest"
              and (d.get("platform") or {}).get("os") != "unknown"]
    if not images:
        raise InputError("the index names no image manifest", where=where)
    want = platform or default_platform()
    if len(images) > 1:
        chosen = [d for d in images if isinstance(d.get("platform"), dict)
                  and _platform_matches(_platform_of(d["platform"]), want)]
        if not chosen:
            have = ", ".join(_platform_of(d.get("platform") or {}) for d in images)
            raise InputError(f"the index has no image for {want} (it has {have}); choose one "
                             "with --platform", where=where)
        images = chosen[:1]
    descriptor = images[0]
    digest = _digest_hex(descriptor.get("digest"), "a manifest descriptor", where)
    media = str(descriptor.get("mediaType", ""))
    if media.endswith("image.index.v1+json") or media.endswith("manifest.list.v2+json"):
        if depth >= _MAX_INDEX_DEPTH:
            raise InputError("image indexes nest too deep", where=where)
        inner = _read_json(source, f"blobs/sha256/{digest}", digest, "index")
        return _choose_manifest(source, inner, platform, depth + 1, f"blobs/sha256/{digest}")
    if platform is not None and isinstance(descriptor.get("platform"), dict) and \
            not _platform_matches(_platform_of(descriptor["platform"]), platform):
        raise InputError(f"the image is {_platform_of(descriptor['platform'])}, not the "
                         f"--platform {platform}", where=where)
    return digest, _platform_of(descriptor.get("platform") or {})


def _oci_plan(source, platform: str | None, kind: str) -> tuple[list[_Layer], dict]:
    where = source.path
    layout = _read_json(source, "oci-layout", None, "oci-layout")
    if not isinstance(layout, dict) or "imageLayoutVersion" not in layout:
        raise InputError("oci-layout has no imageLayoutVersion", where=where)
    index = _read_json(source, "index.json", None, "index")
    digest, have = _choose_manifest(source, index, platform)
    manifest = _read_json(source, f"blobs/sha256/{digest}", digest, "manifest")
    config_hex = _digest_hex(_field(manifest, "config", dict, "manifest", where).get("digest"),
                             "the config descriptor", where)
    config = _read_json(source, f"blobs/sha256/{config_hex}", config_hex, "config")
    if have.startswith("?") and isinstance(config, dict):
        have = _platform_of(config)
        if platform is not None and not _platform_matches(have, platform):
            raise InputError(f"the image is {have}, not the --platform {platform}", where=where)
    layers = []
    for descriptor in _field(manifest, "layers", list, "manifest", where):
        hexdigest = _digest_hex((descriptor or {}).get("digest") if isinstance(descriptor, dict) else None,
                                "a layer descriptor", where)
        layers.append(_Layer(f"blobs/sha256/{hexdigest}", hexdigest, None))
    return layers, {"format": kind, "digest": f"sha256:{digest}", "platform": have}


def _apply_layers(source, layers: list[_Layer], work: _Pass) -> tuple[ImageTree, list[dict]]:
    tree = ImageTree()
    described = []
    for number, layer in enumerate(layers, start=1):
        where = f"{source.path}: layer {number} ({layer.name})"
        recorded = source.recorded_layer(layer.name)
        if recorded is not None:
            members = _apply(tree, recorded.records, layer=number, whiteouts=True, where=where)
            _check_layer(layer, recorded.raw_hex, recorded.diff_hex, where)
            described.append({"digest": f"sha256:{layer.blob_digest or recorded.diff_hex}",
                              "size": recorded.size, "compression": recorded.compression or "none",
                              "members": members})
            continue
        with contextlib.closing(source.open(layer.name)) as raw:
            head = raw.read(8)
            raw.seek(0)
            compression = _compression(head)
            try:
                with _inflated(raw, compression) if compression else _plain(raw) as (hashing, stream):
                    members = work.ingest(tree, stream, layer=number, whiteouts=True, where=where)
                hashing.drain()
            except _READ_ERRORS as exc:
                raise InputError(f"not a readable layer: {exc}", where=where) from exc
        _check_layer(layer, hashing.hexdigest(), stream.hexdigest(), where)
        described.append({"digest": f"sha256:{layer.blob_digest or stream.hexdigest()}",
                          "size": hashing.size, "compression": compression or "none",
                          "members": members})
    return tree, described


def _check_layer(layer: _Layer, raw_hex: str, diff_hex: str, where: str) -> None:
    if layer.blob_digest and raw_hex != layer.blob_digest:
        raise InputError(f"sha256 {raw_hex} does not match the layer's digest "
                         f"sha256:{layer.blob_digest}", where=where)
    if layer.diff_id and diff_hex != layer.diff_id:
        raise InputError(f"sha256 {diff_hex} of the layer does not match its "
                         f"diff_id sha256:{layer.diff_id}", where=where)


def _read_archive(path: str, kind: str, platform: str | None, work: _Pass,
                  compression: str | None = None):
    if compression:
        source = _StreamedSource(path, compression, work)
        kind = _classify_archive(path, source.names)
    else:
        source = _DirSource(path) if kind == "oci-layout" else _TarSource(path)
    try:
        if kind == "docker-archive":
            layers, described = _docker_plan(source, platform)
        else:
            layers, described = _oci_plan(source, platform, kind)
        tree, described["layers"] = _apply_layers(source, layers, work)
    finally:
        source.close()
    return tree, described


def _classify_archive(path: str, names: set[str]) -> str:
    """docker-archive or oci-archive from an uncompressed tar's full listing; else bad input."""
    if "manifest.json" in names:
        return "docker-archive"
    if "oci-layout" in names and "index.json" in names:
        return "oci-archive"
    found = sorted({n.split("/", 1)[0] for n in names})[:10]
    raise InputError("the top level looks like an image archive but it has neither a "
                     "manifest.json (docker save) nor oci-layout and index.json (OCI); found: "
                     + ", ".join(found), where=path)


def _read_rootfs(path: str, compression: str | None, work: _Pass):
    tree = ImageTree()
    with _opened(path) as raw:
        try:
            with _inflated(raw, compression) if compression else _plain(raw) as (hashing, stream):
                work.ingest(tree, stream, layer=0, whiteouts=False, where=path)
            hashing.drain()
        except _READ_ERRORS as exc:
            raise InputError(f"not a readable tar archive: {exc}", where=path) from exc
    return tree, {"format": "rootfs-tar", "compression": compression or "none",
                  "digest": f"sha256:{hashing.hexdigest()}"}


def read_image(path: str, dest: str, *, platform: str | None = None, max_bytes: int = MAX_BYTES,
               max_members: int = MAX_MEMBERS) -> OpenedImage:
    """Index the image at ``path`` and keep the files probes may read in the existing empty
    directory ``dest``; returns the Host over it and the report's description of the image.

    Raises InputError for anything that is not a readable image of a known format, an unsafe
    member, a digest mismatch or an exceeded limit; nothing is written outside ``dest``.
    """
    kind = detect_image_format(path)
    work = _Pass(dest, max_bytes, max_members)
    base, _, compression = kind.partition("+")
    if base == "rootfs-tar":
        tree, described = _read_rootfs(path, compression or None, work)
        if work.markers:
            # The first members looked like a root filesystem; the rest did not.
            base = "image-archive" if compression else _classify_archive(path, _TarSource(path).names)
            work = _Pass(dest, max_bytes, max_members)
            _clear_directory(dest)
    if base != "rootfs-tar":
        tree, described = _read_archive(path, base, platform, work, compression or None)
        base = described["format"]
        if compression:
            described["compression"] = compression
    elif platform is not None:
        raise InputError("a root filesystem tarball has no platforms to choose from", where="--platform")
    host = TreeHost(tree, dest, format_name=_FORMAT_NAMES[base], carries=ARCHIVE_CARRIES)
    summary = {k: v for k, v in work.summary.items() if k != "skipped"}
    description = {**described, **summary, "carries": sorted(host.carried)}
    if work.summary["skipped"]:
        description["skipped"] = work.summary["skipped"]
    return OpenedImage(host, description)


def _clear_directory(path: str) -> None:
    for name in os.listdir(path):
        os.unlink(os.path.join(path, name))


@contextlib.contextmanager
def open_image(path: str, *, platform: str | None = None, **limits: int) -> Iterator[OpenedImage]:
    """``read_image`` into a fresh 0700 temporary directory, removed afterwards, also when a
    signal ends the run (see interrupt)."""
    dest = None
    try:
        with deferred():  # a signal between mkdtemp and the assignment would leak the dir
            dest = tempfile.mkdtemp(prefix="hostaudit-image-")
        yield read_image(path, dest, platform=platform, **limits)
    finally:
        if dest is not None:
            with deferred():  # a second Ctrl-C must not leave half a tree behind
                shutil.rmtree(dest, ignore_errors=False)


__all__ = ["detect_image_format", "default_platform", "open_image", "read_image", "OpenedImage",
           "MAX_BYTES", "MAX_MEMBERS"]
