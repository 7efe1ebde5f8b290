"""The one door to the audited system.

Every probe reads the target through a ``Host``; nothing else touches the filesystem or runs
programs. ``LiveHost`` is the machine hostaudit runs on; ``ImageHost`` is an unpacked root
filesystem, whose symlinks are resolved *inside* the root (an absolute link ``/etc/x ->
/usr/y`` means ``ROOT/usr/y``, never the auditor's own ``/usr/y``) and whose programs are
never executed. Paths given to a Host are always absolute paths as seen on the target.
"""

from __future__ import annotations

import array
import contextlib
import errno
import fcntl
import fnmatch
import io
import os
import posixpath
import stat as _stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from hostaudit.errors import (
    CommandUnavailable,
    FileTooLarge,
    NotRegularFile,
    ProbeError,
    RefusedRead,
    TooManyMatches,
)

# FS_IOC_GETFLAGS from linux/fs.h; the kernel reads an int-sized value whatever the macro says.
FS_IOC_GETFLAGS = 0x80086601
FS_IMMUTABLE_FL = 0x00000010
FS_APPEND_FL = 0x00000020

_MAX_SYMLINK_HOPS = 40
# What a configuration file may weigh unless the caller says otherwise: far above any real
# config, far below what would hurt the auditor. Package databases pass their own limits.
READ_LIMIT = 4 * 1024 * 1024
_CHUNK = 65536
# Missing, or a path through a non-directory: the file is absent. Anything else (EACCES,
# ELOOP, EIO...) means the auditor could not look, which is never the same as absent.
ABSENT = (FileNotFoundError, NotADirectoryError)
_FILE_KINDS = (
    (_stat.S_ISDIR, "directory"),
    (_stat.S_ISFIFO, "FIFO"),
    (_stat.S_ISCHR, "character device"),
    (_stat.S_ISBLK, "block device"),
    (_stat.S_ISSOCK, "socket"),
    (_stat.S_ISLNK, "symbolic link"),
)
_DEFAULT_TIMEOUT = 10.0
# Commands run with a fixed, minimal environment so their output is parseable everywhere.
_COMMAND_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C", "LANG": "C"}


@dataclass(frozen=True)
class CommandResult:
    """What a finished command printed and returned."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


@dataclass
class WalkNotes:
    """What a :meth:`Host.walk` could not see, as target paths.

    ``unreadable``: ``(path, reason)`` for each directory that could not be listed (or was
    replaced between being seen and being opened) and each entry that could not be stat'ed:
    their contents are unknown, never taken as empty.
    ``other_device``: directories not entered because they belong to another filesystem.
    """

    unreadable: list = field(default_factory=list)
    other_device: list = field(default_factory=list)


def _open_directory(path: str) -> int:
    """A descriptor of directory ``path`` itself (never through a final symlink), opened
    without touching its access time when the kernel lets us (owner or CAP_FOWNER)."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        return os.open(path, flags | getattr(os, "O_NOATIME", 0))
    except PermissionError:
        return os.open(path, flags)


# What a target's format may or may not carry (see Host.carries), as a reason names it.
PROPERTIES = {
    "owners": "file owners",
    "modes": "permission bits",
    "links": "symbolic and hard links",
    "inode_flags": "inode flags (chattr +i, +a)",
    "mount_table": "a mount table (what is mounted now)",
    "quota_state": "quota state (whether quota is switched on)",
}


class Host:
    """Read-only access to a target root. Subclasses decide how paths map and what may run."""

    mode = "abstract"
    # The most paths one glob may name (see glob): far past any configuration directory.
    GLOB_MATCH_LIMIT = 100_000
    # Said in not_applicable reasons: "<format_name> does not carry inode flags".
    format_name = "this target"
    carried: frozenset = frozenset(PROPERTIES)
    # Extra open(2) flags for reading files; an image host refuses a final symlink.
    _open_flags = 0

    def __init__(self, root: str):
        self.root = os.path.abspath(root)
        # Address to sweep over the network, when the audit also looks from the wire, and
        # how (``udp_ports``: "all", "top:N" or a port list; see the CLI's --udp-ports).
        self.network_target: str | None = None
        self.sweep_options: dict = {}

    def _check_opened(self, fd: int, path: str) -> None:
        """Raise when the open descriptor ``fd`` of target path ``path`` is not the target's
        (an image host checks where it landed; on a live host every file is the target's)."""

    @property
    def modes(self) -> frozenset:
        """Where this audit looks from: its own mode, plus ``net`` when sweeping a target."""
        return frozenset({self.mode, "net"} if self.network_target else {self.mode})

    def carries(self, prop: str) -> bool:
        """Whether this target's format can hold ``prop`` (a key of ``PROPERTIES``).

        A property it cannot carry is unknown, neither present nor absent: a check whose
        evidence it is returns not_applicable with ``not_carried_reason``, never fail.
        """
        if prop not in PROPERTIES:
            raise KeyError(f"unknown target property {prop!r}")
        return prop in self.carried

    def not_carried_reason(self, prop: str) -> str:
        """Why ``prop`` is unknown here, for a not_applicable result."""
        return f"{self.format_name} does not carry {PROPERTIES[prop]}"

    # -- path mapping -------------------------------------------------------------------------
    def real_path(self, path: str) -> str:
        """The path on the auditor's filesystem that holds the target's ``path``."""
        raise NotImplementedError

    # -- reads --------------------------------------------------------------------------------
    def read_text(self, path: str, *, limit: int = READ_LIMIT) -> str:
        """A whole regular file as text, as :meth:`read_bytes` reads it.

        Bytes that are not UTF-8 decode with ``surrogateescape``, so the exact bytes survive
        to the report (``text.encode("utf-8", "surrogateescape")`` gives them back).
        """
        return self.read_bytes(path, limit=limit).decode("utf-8", errors="surrogateescape")

    def read_bytes(self, path: str, *, limit: int = READ_LIMIT) -> bytes:
        """A whole regular file, never a part of it.

        Raises NotRegularFile for a FIFO, device, socket or directory (never opened for
        reading, so nothing blocks), FileTooLarge when the file holds more than ``limit``
        bytes, and OSError as ``open`` does (FileNotFoundError only when it is absent).
        /proc files say their size is 0: the limit is enforced on the bytes actually read.
        """
        buffer = io.BytesIO()
        self.copy_file(path, buffer, limit=limit)
        return buffer.getvalue()

    def copy_file(self, path: str, destination, *, limit: int) -> int:
        """Copy a whole regular file into the open binary ``destination``; returns its size.

        For databases a library must open by name (sqlite): the copy is the auditor's, so the
        target is never written to. Refuses as :meth:`read_bytes` does.
        """
        with self.open_file(path) as (fd, info):
            if info.st_size > limit:
                raise FileTooLarge(path, info.st_size, limit)
            size = 0
            # One byte past the limit tells a file of exactly ``limit`` bytes from a longer one.
            while chunk := _read_chunk(fd, min(_CHUNK, limit + 1 - size), path):
                size += len(chunk)
                if size > limit:
                    raise FileTooLarge(path, limit, limit, at_least=True)
                destination.write(chunk)
            return size

    @contextlib.contextmanager
    def open_file(self, path: str, *, directory_ok: bool = False):
        """The one way a target file is opened: yields ``(fd, os.fstat(fd))`` of a regular
        file (or a directory when ``directory_ok``), closing it afterwards.

        The type is checked before opening (opening a device can have effects of its own: a
        watchdog starts, a tape rewinds) and again on the open descriptor, in case the path
        was swapped in between. The open never blocks (O_NONBLOCK: a FIFO without a writer),
        never takes a controlling terminal (O_NOCTTY) and leaves access times alone where
        the kernel lets it (O_NOATIME). Errors name ``path`` as the target sees it.
        """
        try:
            real = self.real_path(path)
            nofollow = bool(self._open_flags & os.O_NOFOLLOW)
            _refuse_special(path, os.lstat(real) if nofollow else os.stat(real), directory_ok)
            fd = _open_quietly(real, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
                               | self._open_flags)
        except NotRegularFile:
            raise
        except OSError as exc:
            raise _renamed(exc, path) from None
        try:
            self._check_opened(fd, path)
            info = os.fstat(fd)
            _refuse_special(path, info, directory_ok)
            yield fd, info
        finally:
            os.close(fd)

    def exists(self, path: str) -> bool:
        """Whether ``path`` exists (a dangling link counts). A permission error is raised, not
        taken for absence: an auditor who cannot look must not report a file as missing."""
        try:
            self.lstat(path)
            return True
        except (FileNotFoundError, NotADirectoryError):
            return False

    def stat(self, path: str) -> os.stat_result:
        """stat() following links (inside the root)."""
        try:
            return os.stat(self.real_path(path))
        except OSError as exc:
            raise _renamed(exc, path) from None

    def lstat(self, path: str) -> os.stat_result:
        """stat() of the path itself; its parent directories are resolved inside the root."""
        parent = str(PurePosixPath(path).parent)
        name = PurePosixPath(path).name
        try:
            if not name:
                return os.lstat(self.real_path(path))
            return os.lstat(os.path.join(self.real_path(parent), name))
        except OSError as exc:
            raise _renamed(exc, path) from None

    def readlink(self, path: str) -> str:
        """The target of the symlink ``path`` as written (not resolved). Raises OSError."""
        parent = str(PurePosixPath(path).parent)
        try:
            return os.readlink(os.path.join(self.real_path(parent), PurePosixPath(path).name))
        except OSError as exc:
            raise _renamed(exc, path) from None

    def link_target(self, path: str) -> str | None:
        """The target of the symlink ``path``, or None when ``path`` is not a link or absent.

        A permission error (or any other failure to look) is raised: an auditor who cannot
        look must not report that a mask or a start link is not there.
        """
        try:
            return self.readlink(path)
        except OSError as exc:
            if isinstance(exc, ABSENT) or exc.errno == errno.EINVAL:
                return None
            raise

    def masked(self, path: str) -> bool:
        """Whether ``path`` is a link to /dev/null: how systemd masks a unit and how a
        sysctl.d or modprobe.d name shadows the vendor file of that name. A permission error
        is raised, never read as "not masked"."""
        return self.link_target(path) == "/dev/null"

    def canonical(self, path: str) -> str:
        """``path`` with every symlink resolved, as a path on the target (not the auditor's).

        Missing components are kept as they are, so a dangling link resolves to its target name.
        """
        parts = [p for p in path.split("/") if p]
        resolved = "/"
        hops = 0
        while parts:
            part = parts.pop(0)
            if part == ".":
                continue
            if part == "..":
                resolved = posixpath.dirname(resolved)
                continue
            candidate = posixpath.join(resolved, part)
            target = self.link_target(candidate)
            if target is None:  # not a link, or missing: keep the name
                resolved = candidate
                continue
            hops += 1
            if hops > _MAX_SYMLINK_HOPS:
                raise OSError(40, "Too many levels of symbolic links", path)
            if target.startswith("/"):
                resolved = "/"
            parts = [p for p in target.split("/") if p] + parts
        return resolved

    def is_dir(self, path: str) -> bool:
        """A directory (links followed); missing is False, a permission error is raised."""
        try:
            return _stat.S_ISDIR(self.stat(path).st_mode)
        except (FileNotFoundError, NotADirectoryError):
            return False

    def file_type(self, path: str) -> str:
        """"regular file", "directory", "FIFO", "character device"... (links followed).

        Raises OSError like :meth:`stat`, FileNotFoundError when ``path`` is absent.
        """
        return _kind(self.stat(path)) or "regular file"

    def is_file(self, path: str) -> bool:
        """A regular file (links followed); missing is False, a permission error is raised."""
        try:
            return _stat.S_ISREG(self.stat(path).st_mode)
        except (FileNotFoundError, NotADirectoryError):
            return False

    def listdir(self, path: str) -> list[str]:
        """Sorted entry names of a directory. Raises OSError when it is missing or unreadable.

        Names are ``str``; bytes that are not UTF-8 come back surrogate-escaped (os.fsdecode)
        and work as they are in further Host calls.
        """
        try:
            # Opened like a file (O_NOATIME where allowed): listing leaves the access time alone.
            fd = _open_quietly(self.real_path(path), os.O_RDONLY | os.O_DIRECTORY | os.O_NONBLOCK
                               | os.O_CLOEXEC | self._open_flags)
            try:
                self._check_opened(fd, path)
                return sorted(os.listdir(fd))
            finally:
                os.close(fd)
        except OSError as exc:
            raise _renamed(exc, path) from None

    def glob(self, pattern: str) -> list[str]:
        """Target paths matching a shell pattern, wildcards in any component
        (``/etc/rc?.d/S??ssh``), sorted. Directories are listed through the Host, so links
        resolve inside an image's root. Hidden names match only a pattern starting with '.'.

        A directory that is absent (or not a directory) matches nothing; one the auditor may
        not list raises PermissionError, since its files may be there. A pattern that would
        name more than ``GLOB_MATCH_LIMIT`` paths at any step raises TooManyMatches: the
        target's directory links can multiply each wildcard (``/x/*/*/*`` through 1,000 links
        back to ``/x`` is a billion paths).
        """
        paths = ["/"]
        for part in PurePosixPath(pattern).parts[1:]:
            if not any(ch in part for ch in "*?["):
                paths = [posixpath.join(base, part) for base in paths]
                continue
            matched: list[str] = []
            for base in paths:
                try:
                    names = self.listdir(base)
                except ABSENT:
                    continue
                matched.extend(
                    posixpath.join(base, name)
                    for name in names
                    if fnmatch.fnmatchcase(name, part) and (part.startswith(".") or not name.startswith("."))
                )
                if len(matched) > self.GLOB_MATCH_LIMIT:
                    raise TooManyMatches(pattern, self.GLOB_MATCH_LIMIT)
            paths = matched
        return sorted(p for p in paths if self.exists(p))

    def attr_flags(self, path: str) -> int:
        """Inode flags (``lsattr``) via the read-only FS_IOC_GETFLAGS ioctl.

        Raises OSError (ENOTTY/EOPNOTSUPP) on filesystems without attributes, so a caller
        reports ``error`` instead of guessing.
        """
        with self.open_file(path, directory_ok=True) as (fd, _info):
            buf = array.array("i", [0])
            fcntl.ioctl(fd, FS_IOC_GETFLAGS, buf, True)
            return buf[0] & 0xFFFFFFFF

    def statvfs(self, path: str) -> os.statvfs_result:
        return os.statvfs(self.real_path(path))

    def walk(self, top: str, *, prune=frozenset(), notes: WalkNotes | None = None,
             ) -> Iterator[tuple[str, os.stat_result]]:
        """Every entry of the filesystem holding ``top``, from ``top`` down, as
        ``(target path, stat)``.

        One ``lstat`` per entry (os.scandir's, relative to its directory's descriptor), no
        other lookup. Symlinks are never followed,
        directories of another device are yielded but not entered (noted in
        ``notes.other_device``), and target paths in ``prune`` (other mount points) are
        neither yielded nor entered. A directory that cannot be listed is noted in
        ``notes.unreadable`` and the walk goes on. Names are str as os.scandir gives them
        (undecodable bytes kept by surrogateescape). ``top`` is resolved like any path; a
        top that is not a directory is yielded alone. Raises OSError when ``top`` is missing.
        The caller bounds the walk by stopping the iteration (the open directory is closed).
        """
        notes = notes if notes is not None else WalkNotes()
        real_top = self.real_path(top)
        disk = os.lstat(real_top)
        yield top, disk
        if not _stat.S_ISDIR(disk.st_mode):
            return
        # The loop below runs once per file of the target. Each directory is opened once
        # (O_NOFOLLOW, and its inode compared with the one listed, so a directory swapped
        # for a symlink mid-walk is not followed) and its entries are stat'ed relative to
        # that descriptor: no path lookup per file, which makes most of the walk's cost. A
        # name is looked up in ``pruned`` only in the few directories holding a pruned name.
        pruned: dict[str, set] = {}
        for path in prune:
            parent, name = posixpath.split(path)
            if name:
                pruned.setdefault(parent, set()).add(name)
        same_paths = real_top == top
        is_dir, device = _stat.S_ISDIR, disk.st_dev
        unreadable, other_device = notes.unreadable, notes.other_device
        stack = [(real_top, top, disk.st_ino)]
        while stack:
            real_dir, target_dir, inode = stack.pop()
            prefix = target_dir.rstrip("/") + "/"
            real_prefix = real_dir.rstrip("/") + "/"
            skip = pruned.get(target_dir)
            try:
                fd = _open_directory(real_dir)
            except OSError as exc:
                unreadable.append((target_dir, exc.strerror or str(exc)))
                continue
            try:
                opened = os.fstat(fd)
                if opened.st_ino != inode or opened.st_dev != device:
                    unreadable.append((target_dir, "replaced while the walk ran"))
                    continue
                with os.scandir(fd) as entries:
                    for entry in entries:
                        name = entry.name
                        if skip and name in skip:
                            continue
                        path = prefix + name
                        try:
                            disk = entry.stat(follow_symlinks=False)
                        except FileNotFoundError:  # removed while we looked: nothing to audit
                            continue
                        except OSError as exc:
                            unreadable.append((path, exc.strerror or str(exc)))
                            continue
                        yield path, disk
                        if is_dir(disk.st_mode):
                            if disk.st_dev == device:
                                stack.append((path if same_paths else real_prefix + name,
                                              path, disk.st_ino))
                            else:
                                other_device.append(path)
            except OSError as exc:  # reading the directory failed part-way
                unreadable.append((target_dir, exc.strerror or str(exc)))
            finally:
                os.close(fd)

    # -- commands -----------------------------------------------------------------------------
    def run(self, argv: list[str], *, timeout: float = _DEFAULT_TIMEOUT) -> CommandResult:
        """Run a read-only program on the target. Only a live host can."""
        raise CommandUnavailable(f"cannot run {argv[0]} on a {self.mode} target")

    def describe(self) -> dict:
        """What the report says about the target."""
        return {"mode": self.mode, "root": self.root}

    def os_release(self) -> dict:
        """The target's os-release(5) (name, version, id, pretty_name), read through this
        Host; ``{"error": reason}`` when it cannot be read, never a guess."""
        from hostaudit.parsers.os_release import parse_os_release

        for path in ("/etc/os-release", "/usr/lib/os-release"):
            try:
                return parse_os_release(self.read_text(path, limit=64 * 1024))
            except (FileNotFoundError, NotADirectoryError):
                continue
            except OSError as exc:
                return {"error": f"cannot read {path}: {exc.strerror or exc}"}
        return {"error": "no /etc/os-release or /usr/lib/os-release"}


def _kind(info: os.stat_result) -> str | None:
    """What a non-regular file is ("FIFO", "character device"...), or None for a regular one."""
    if _stat.S_ISREG(info.st_mode):
        return None
    return next((name for test, name in _FILE_KINDS if test(info.st_mode)), "special file")


def _refuse_special(path: str, info: os.stat_result, directory_ok: bool) -> None:
    kind = _kind(info)
    if kind is not None and not (directory_ok and kind == "directory"):
        raise NotRegularFile(path, kind)


def _open_quietly(real: str, flags: int) -> int:
    """open(2) with O_NOATIME when allowed: only the file's owner (or CAP_FOWNER) may ask."""
    try:
        return os.open(real, flags | getattr(os, "O_NOATIME", 0))
    except PermissionError as exc:
        if exc.errno != errno.EPERM:
            raise
    return os.open(real, flags)


def _read_chunk(fd: int, size: int, path: str) -> bytes:
    # A regular file never says EAGAIN; if one does, it is not what fstat said: give up
    # rather than spin on a non-blocking descriptor.
    try:
        return os.read(fd, size)
    except BlockingIOError as exc:
        raise OSError(exc.errno, "would block (not a regular file)", path) from exc
    except OSError as exc:
        raise _renamed(exc, path) from None


def _renamed(exc: OSError, path: str) -> OSError:
    """The same error, naming the target's path rather than the auditor's copy of it."""
    if exc.filename == path or exc.errno is None:
        return exc
    return type(exc)(exc.errno, exc.strerror, path)


class LiveHost(Host):
    """The machine hostaudit runs on. Paths map to themselves; commands may run."""

    mode = "live"
    format_name = "the live host"

    def __init__(self, *, network_target: str | None = None, sweep_options: dict | None = None):
        super().__init__("/")
        self.network_target = network_target
        self.sweep_options = dict(sweep_options or {})

    def real_path(self, path: str) -> str:
        return path

    def run(self, argv: list[str], *, timeout: float = _DEFAULT_TIMEOUT) -> CommandResult:
        """Run ``argv`` without a shell, with a timeout and a fixed environment.

        The caller names only read-only commands (``iptables-save``, ``sshd -V``...). A missing
        program, a timeout or a signal becomes a ProbeError carrying the reason.
        """
        try:
            done = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout,
                env=_COMMAND_ENV,
                check=False,
                shell=False,
            )
        except FileNotFoundError as exc:
            raise CommandUnavailable(f"{argv[0]} is not installed") from exc
        except subprocess.TimeoutExpired as exc:
            raise ProbeError(f"{' '.join(argv)} did not finish within {timeout:g}s") from exc
        except OSError as exc:
            raise ProbeError(f"cannot run {argv[0]}: {exc.strerror}") from exc
        return CommandResult(
            argv=tuple(argv),
            returncode=done.returncode,
            stdout=done.stdout.decode("utf-8", errors="surrogateescape"),
            stderr=done.stderr.decode("utf-8", errors="surrogateescape"),
        )

    def describe(self) -> dict:
        return {"mode": self.mode, "root": "/", "hostname": os.uname().nodename,
                "os": self.os_release(), "kernel": os.uname().release}


class ImageHost(Host):
    """An unpacked root filesystem. Symlinks resolve inside the root; nothing executes.

    A ``--root`` tree is read from disk, whose modes and owners are the truth. An ``--image``
    archive is read by ``hostaudit.imagetree.TreeHost``, a subclass answering from memory.
    """

    mode = "image"
    format_name = "an unpacked root directory"
    # A tree on disk has whatever its filesystem keeps; nothing is mounted from it.
    carried = frozenset(PROPERTIES) - {"mount_table", "quota_state"}
    # real_path has resolved every link inside the root; a link found at open time was
    # swapped in since, and would lead outside it.
    _open_flags = os.O_NOFOLLOW

    def __init__(self, root: str):
        super().__init__(root)
        if not os.path.isdir(self.root):
            raise FileNotFoundError(self.root)
        # Where the kernel says the root is, to tell a descriptor inside it from one outside.
        self._real_root = os.path.realpath(self.root)

    def _check_opened(self, fd: int, path: str) -> None:
        """Refuse a descriptor that is not inside the root. real_path resolved every link
        inside the root, but whoever can write the tree can replace a directory on the way
        with a link to the auditor's own /etc before open() walks the path again; O_NOFOLLOW
        guards only the last component. The kernel's name of the open file says where the
        open landed (without /proc there is nothing to ask, and the check is skipped)."""
        try:
            landed = os.readlink(f"/proc/self/fd/{fd}")
        except FileNotFoundError:
            return
        inside = self._real_root.rstrip("/") + "/"
        if landed != self._real_root and not landed.startswith(inside):
            raise RefusedRead(path, "opened outside the root (a directory on the way was replaced "
                                    "by a link while it was opened)")

    def real_path(self, path: str) -> str:
        """Resolve ``path`` component by component, re-anchoring every link at the root.

        ``..`` never climbs above the root, so a hostile image cannot point the auditor at its
        own files. Raises OSError(ELOOP) on link loops.
        """
        parts = [p for p in PurePosixPath("/", path).parts[1:]]
        resolved: list[str] = []
        hops = 0
        while parts:
            part = parts.pop(0)
            if part in ("", "."):
                continue
            if part == "..":
                if resolved:
                    resolved.pop()
                continue
            candidate = os.path.join(self.root, *resolved, part)
            try:
                is_link = _stat.S_ISLNK(os.lstat(candidate).st_mode)
            except ABSENT:
                # Missing components: the caller's open()/stat() reports the real error.
                resolved.append(part)
                resolved.extend(p for p in parts if p not in ("", "."))
                break
            if not is_link:
                resolved.append(part)
                continue
            hops += 1
            if hops > _MAX_SYMLINK_HOPS:
                raise OSError(40, "Too many levels of symbolic links", path)
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = []
            parts = [p for p in PurePosixPath(target).parts if p != "/"] + parts
        return os.path.join(self.root, *resolved)

    def describe(self) -> dict:
        # The image's kernel is not running: only the live host has a kernel to name.
        return {"mode": self.mode, "root": self.root, "os": self.os_release()}


class NetHost(Host):
    """A target seen only over the network, from where hostaudit runs (the vantage point).

    It has no files to read; commands (nmap) run on the vantage point, never on the target.
    """

    mode = "net"
    format_name = "a network target"
    carried = frozenset()  # no files: nothing of a filesystem, no mount table, no quota

    def __init__(self, target: str, *, sweep_options: dict | None = None):
        super().__init__("/")
        self.network_target = target
        self.sweep_options = dict(sweep_options or {})

    def real_path(self, path: str) -> str:
        raise CommandUnavailable(f"a network target has no files to read ({path})")

    def run(self, argv: list[str], *, timeout: float = _DEFAULT_TIMEOUT) -> CommandResult:
        """Run a program on the vantage point (nmap), never on the target."""
        return LiveHost.run(self, argv, timeout=timeout)

    @property
    def modes(self) -> frozenset:
        return frozenset({"net"})

    def describe(self) -> dict:
        return {"mode": self.mode, "root": None, "address": self.network_target,
                "vantage": os.uname().nodename}
