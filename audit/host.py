"""The one door to the audited system.

Every probe reads the target through a ``Host``; nothing else touches the filesystem or runs
programs. ``LiveHost`` is the machine hostaudit runs on; ``ImageHost`` is an unpacked root
filesystem, whose symlinks are resolved *inside* the root (an absolute link ``/etc/x ->
/usr/y`` means ``ROOT/usr/y``, never the auditor's own ``/usr/y``) and whose programs are
never executed. Paths given to a Host are always absolute paths as seen on the target.
"""

from __future__ import annotations

import array
import fcntl
import fnmatch
import os
import posixpath
import stat as _stat
import subprocess
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Iterator

from hostaudit.errors import CommandUnavailable, ProbeError

# FS_IOC_GETFLAGS from linux/fs.h; the kernel reads an int-sized value whatever the macro says.
FS_IOC_GETFLAGS = 0x80086601
FS_IMMUTABLE_FL = 0x00000010
FS_APPEND_FL = 0x00000020

_MAX_SYMLINK_HOPS = 40
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


class Host:
    """Read-only access to a target root. Subclasses decide how paths map and what may run."""

    kind = "abstract"

    def __init__(self, root: str):
        self.root = os.path.abspath(root)
        # Address to sweep over the network, when the audit also looks from the wire, and
        # how (``udp_ports``: "all", "top:N" or a port list; see the CLI's --udp-ports).
        self.network_target: str | None = None
        self.sweep_options: dict = {}

    @property
    def vantages(self) -> frozenset:
        """Where this audit looks from: its own kind, plus ``net`` when sweeping a target."""
        return frozenset({self.kind, "net"} if self.network_target else {self.kind})

    # -- path mapping -------------------------------------------------------------------------
    def real_path(self, path: str) -> str:
        """The path on the auditor's filesystem that holds the target's ``path``."""
        raise NotImplementedError

    # -- reads --------------------------------------------------------------------------------
    def read_text(self, path: str, *, limit: int = 4 * 1024 * 1024) -> str:
        """File contents as text (undecodable bytes replaced). Raises OSError as ``open`` does."""
        return self.read_bytes(path, limit=limit).decode("utf-8", errors="replace")

    def read_bytes(self, path: str, *, limit: int = 4 * 1024 * 1024) -> bytes:
        """At most ``limit`` bytes of a file, read in chunks (/proc files refuse huge reads)."""
        chunks, size = [], 0
        with open(self.real_path(path), "rb", buffering=0) as handle:
            while size < limit:
                chunk = handle.read(min(65536, limit - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        return b"".join(chunks)

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
        return self.as_target(path, os.stat(self.real_path(path)))

    def lstat(self, path: str) -> os.stat_result:
        """stat() of the path itself; its parent directories are resolved inside the root."""
        parent = str(PurePosixPath(path).parent)
        name = PurePosixPath(path).name
        if not name:
            return self.as_target(path, os.lstat(self.real_path(path)))
        return self.as_target(path, os.lstat(os.path.join(self.real_path(parent), name)))

    def as_target(self, path: str, disk: os.stat_result) -> os.stat_result:
        """The target's own view of ``path`` given what the auditor's disk says.

        Identity here; an image unpacked by hostaudit overrides it, because what it writes to
        disk is defanged (no setuid, no group/world write) while checks must see the image's
        real mode and owner. Every stat a probe sees passes through this one place.
        """
        return disk

    def readlink(self, path: str) -> str:
        parent = str(PurePosixPath(path).parent)
        return os.readlink(os.path.join(self.real_path(parent), PurePosixPath(path).name))

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
            try:
                target = self.readlink(candidate)
            except OSError:  # not a link, or missing: keep the name
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

    def is_file(self, path: str) -> bool:
        """A regular file (links followed); missing is False, a permission error is raised."""
        try:
            return _stat.S_ISREG(self.stat(path).st_mode)
        except (FileNotFoundError, NotADirectoryError):
            return False

    def listdir(self, path: str) -> list[str]:
        """Sorted entry names of a directory. Raises OSError when it is missing or unreadable."""
        return sorted(os.listdir(self.real_path(path)))

    def glob(self, pattern: str) -> list[str]:
        """Target paths matching a shell pattern, wildcards in any component
        (``/etc/rc?.d/S??ssh``), sorted. Directories are listed through the Host, so links
        resolve inside an image's root. Hidden names match only a pattern starting with '.'.
        """
        paths = ["/"]
        for part in PurePosixPath(pattern).parts[1:]:
            if not any(ch in part for ch in "*?["):
                paths = [posixpath.join(base, part) for base in paths]
                continue
            matched = []
            for base in paths:
                try:
                    names = self.listdir(base)
                except OSError:
                    continue
                matched.extend(
                    posixpath.join(base, name)
                    for name in names
                    if fnmatch.fnmatchcase(name, part) and (part.startswith(".") or not name.startswith("."))
                )
            paths = matched
        return sorted(p for p in paths if self.exists(p))

    def attr_flags(self, path: str) -> int:
        """Inode flags (``lsattr``) via the read-only FS_IOC_GETFLAGS ioctl.

        Raises OSError (ENOTTY/EOPNOTSUPP) on filesystems without attributes, so a caller
        reports ``error`` instead of guessing.
        """
        real = self.real_path(path)
        flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW
        try:
            # O_NOATIME keeps the audit from touching access times; only the owner may ask.
            fd = os.open(real, flags | getattr(os, "O_NOATIME", 0))
        except PermissionError:
            fd = os.open(real, flags)
        try:
            buf = array.array("i", [0])
            fcntl.ioctl(fd, FS_IOC_GETFLAGS, buf, True)
            return buf[0] & 0xFFFFFFFF
        finally:
            os.close(fd)

    def statvfs(self, path: str) -> os.statvfs_result:
        return os.statvfs(self.real_path(path))

    def walk(self, top: str, *, prune=frozenset(), notes: WalkNotes | None = None,
             ) -> Iterator[tuple[str, os.stat_result]]:
        """Every entry of the filesystem holding ``top``, from ``top`` down, as
        ``(target path, stat)`` with the stat passed through :meth:`as_target`.

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
        yield top, self.as_target(top, disk)
        if not _stat.S_ISDIR(disk.st_mode):
            return
        # The loop below runs once per file of the target. Each directory is opened once
        # (O_NOFOLLOW, and its inode compared with the one listed, so a directory swapped
        # for a symlink mid-walk is not followed) and its entries are stat'ed relative to
        # that descriptor: no path lookup per file, which makes most of the walk's cost. A
        # name is looked up in ``pruned`` only in the few directories holding a pruned name,
        # and an as_target that is the identity is not called.
        pruned: dict[str, set] = {}
        for path in prune:
            parent, name = posixpath.split(path)
            if name:
                pruned.setdefault(parent, set()).add(name)
        as_target = None if type(self).as_target is Host.as_target else self.as_target
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
                        yield path, (as_target(path, disk) if as_target else disk)
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
        raise CommandUnavailable(f"cannot run {argv[0]} on a {self.kind} target")

    def describe(self) -> dict:
        """What the report says about the target."""
        return {"kind": self.kind, "root": self.root}


class LiveHost(Host):
    """The machine hostaudit runs on. Paths map to themselves; commands may run."""

    kind = "live"

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
            stdout=done.stdout.decode("utf-8", errors="replace"),
            stderr=done.stderr.decode("utf-8", errors="replace"),
        )

    def describe(self) -> dict:
        return {"kind": self.kind, "root": "/", "hostname": os.uname().nodename}


class ImageHost(Host):
    """An unpacked root filesystem. Symlinks resolve inside the root; nothing executes."""

    kind = "image"

    def __init__(self, root: str):
        super().__init__(root)
        if not os.path.isdir(self.root):
            raise FileNotFoundError(self.root)

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
            except OSError:
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
        return {"kind": self.kind, "root": self.root}


class NetHost(Host):
    """A target seen only over the network, from where hostaudit runs (the vantage point).

    It has no files to read; commands (nmap) run on the vantage point, never on the target.
    """

    kind = "net"

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
    def vantages(self) -> frozenset:
        return frozenset({"net"})

    def describe(self) -> dict:
        return {"kind": self.kind, "root": None, "address": self.network_target,
                "vantage": os.uname().nodename}
