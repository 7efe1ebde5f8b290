"""Run history for scheduled audits (``hostaudit scan --state-dir DIR``).

Layout, one history per target (the live host, an image root, a network address)::

    DIR/                      0700: reports describe the host's weak points
      .lock                   flock: one run at a time per state directory
      <target-key>/
        index.json            the kept runs, oldest first: file, started, score
        runs/<stamp>.json.gz  each run's report, compressed

A run's report is written (temporary name, fsync, rename) before the index that names it,
so a run killed at any moment leaves the previous history readable; a report that no index
names is an orphan the next prune removes. Finding the last run reads only the index.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import gzip
import hashlib
import json
import os
import re
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass

from hostaudit.errors import AuditError, InputError
from hostaudit.reports.atomic import write_atomic

DEFAULT_KEEP = 30
LOCK_WAIT_S = 60.0
_INDEX_VERSION = 1


@dataclass(frozen=True)
class PreviousRun:
    """The last good run of a target, and the history entries skipped to find it."""

    report: dict | None
    file: str | None
    skipped: tuple[str, ...] = ()


def target_key(target: dict) -> str:
    """A stable directory name for a target: ``live-mail1``, ``image-rootfs-1a2b3c4d``,
    ``net-192.0.2.2``. Only [A-Za-z0-9._-], so a hostile host name cannot climb out."""
    mode = target.get("mode", "live")
    if mode == "live":
        name = target.get("hostname") or "localhost"
    elif mode == "net":
        name = target.get("address") or "unknown"
    else:
        source = target.get("image") or target.get("root") or ""
        digest = hashlib.sha256(source.encode("utf-8", "surrogateescape")).hexdigest()[:8]
        name = f"{os.path.basename(source.rstrip('/')) or 'root'}-{digest}"
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".")[:80] or "target"
    return f"{mode}-{safe}"


class StateDir:
    """A state directory: created 0700, locked while a run records into it."""

    def __init__(self, path: str, *, keep: int = DEFAULT_KEEP):
        if keep < 1:
            raise InputError(f"--keep {keep} must be at least 1", where="--keep")
        self.path = os.path.abspath(path)
        self.keep = keep

    def prepare(self) -> None:
        """Create the directory 0700 (parents as needed) or check an existing one is ours."""
        try:
            os.makedirs(self.path, mode=0o700, exist_ok=True)
            info = os.lstat(self.path)
        except OSError as exc:
            raise InputError(f"cannot create state directory: {exc.strerror}", where=self.path) from exc
        if not stat.S_ISDIR(info.st_mode):
            raise InputError("state directory is not a directory (a symlink is refused)", where=self.path)
        if info.st_uid != os.geteuid():
            raise InputError(f"state directory belongs to uid {info.st_uid}, not to this user",
                             where=self.path)
        if info.st_mode & (0o077 | stat.S_ISVTX):
            # Tighten only a directory that is ours: empty (made for hostaudit under a wide
            # umask) or one holding hostaudit's lock. A shared one (``--state-dir /var/tmp``,
            # ``/var/lib``) is refused as it is: 0700 on it would lock every other user out.
            try:
                names = os.listdir(self.path)
            except OSError as exc:
                raise InputError(f"cannot list state directory: {exc.strerror}", where=self.path) from exc
            if (names and ".lock" not in names) or info.st_mode & stat.S_ISVTX:
                raise InputError(f"is open to others (mode {stat.S_IMODE(info.st_mode):04o}) and not "
                                 "hostaudit's alone (it holds other files, or is a shared sticky "
                                 "directory); hostaudit leaves its mode alone",
                                 where=self.path, hint="give a directory of its own, e.g. "
                                 f"{os.path.join(self.path, 'hostaudit')}")
            os.chmod(self.path, 0o700)

    @contextlib.contextmanager
    def locked(self, wait_s: float = LOCK_WAIT_S) -> Iterator[None]:
        """Hold the state directory's lock; wait at most ``wait_s``, then exit 3."""
        lock = os.path.join(self.path, ".lock")
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            # ELOOP: a link put there while the directory was open to others; never followed.
            raise InputError(f"cannot open the lock file: {exc.strerror} (a symlink is refused)",
                             where=lock) from None
        try:
            deadline = time.monotonic() + wait_s
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() >= deadline:
                        raise AuditError(f"another hostaudit run holds the lock for {wait_s:g} s; "
                                         "try again later", where=self.path) from exc
                    time.sleep(0.2)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _target_dir(self, key: str) -> str:
        return os.path.join(self.path, key)

    def _own_dir(self, path: str, *, create: bool) -> bool:
        """Whether ``path`` is a directory of this user's that only it may write (made 0700
        when ``create`` and missing); InputError for anything else there. The state directory
        may have been open to others before it was tightened: what they left (a link to
        another directory, a directory of theirs) is neither written through nor read."""
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            if not create:
                return False
            with contextlib.suppress(FileExistsError):
                os.mkdir(path, 0o700)
            info = os.lstat(path)
        if not stat.S_ISDIR(info.st_mode):
            raise InputError("history directory is not a directory (a symlink is refused)", where=path)
        if info.st_uid != os.geteuid():
            raise InputError(f"history directory belongs to uid {info.st_uid}, not to this user",
                             where=path)
        if info.st_mode & 0o022:
            raise InputError(f"history directory is writable by others (mode {stat.S_IMODE(info.st_mode):04o})",
                             where=path)
        return True

    def _open_own(self, path: str):
        """A binary file object for ``path``, a regular file of this user's (not a link);
        ValueError naming what it is otherwise."""
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
            os.close(fd)
            raise ValueError("not a regular file" if not stat.S_ISREG(info.st_mode)
                             else f"owned by uid {info.st_uid}")
        return open(fd, "rb")

    def _index(self, key: str) -> list[dict]:
        if not self._own_dir(self._target_dir(key), create=False):
            return []
        try:
            with self._open_own(os.path.join(self._target_dir(key), "index.json")) as handle:
                data = json.load(handle)
            runs = data["runs"] if data.get("version") == _INDEX_VERSION else None
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            runs = None
        if not isinstance(runs, list):
            # An unreadable index is rebuilt from the run files (names sort by time).
            return [{"file": name} for name in sorted(self._run_files(key))]
        return [r for r in runs if isinstance(r, dict) and isinstance(r.get("file"), str)]

    def _run_files(self, key: str) -> list[str]:
        runs_dir = os.path.join(self._target_dir(key), "runs")
        if not self._own_dir(runs_dir, create=False):
            return []
        try:
            return [n for n in os.listdir(os.path.join(self._target_dir(key), "runs"))
                    if n.endswith(".json.gz")]
        except FileNotFoundError:
            return []

    def previous(self, key: str) -> PreviousRun:
        """The newest readable run of ``key``; corrupt entries are named and skipped."""
        skipped: list = []
        for entry in reversed(self._index(key)):
            name = os.path.basename(entry["file"])
            path = os.path.join(self._target_dir(key), "runs", name)
            try:
                with self._open_own(path) as raw, gzip.open(raw, "rt", encoding="utf-8") as handle:
                    report = json.load(handle)
                if not isinstance(report, dict) or "results" not in report:
                    raise ValueError("not a report")
                return PreviousRun(report, path, tuple(skipped))
            except (OSError, EOFError, ValueError) as exc:
                skipped.append(f"{path}: {exc.strerror if isinstance(exc, OSError) and exc.strerror else exc}")
        return PreviousRun(None, None, tuple(skipped))

    def record(self, key: str, report: dict) -> str:
        """Keep ``report`` as the newest run of ``key``, prune to ``keep``; return its path."""
        runs_dir = os.path.join(self._target_dir(key), "runs")
        for directory in (self._target_dir(key), runs_dir):
            self._own_dir(directory, create=True)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        index = self._index(key)
        taken = {os.path.basename(r["file"]) for r in index} | set(self._run_files(key))
        # Names sort in run order, also for runs within one second: the sequence number goes
        # past every name of that second ever kept, pruned ones included by the index.
        same_second = [int(m.group(1)) for t in taken if (m := re.fullmatch(re.escape(stamp) + r"-(\d+)\.json\.gz", t))]
        name = f"{stamp}-{max(same_second, default=0) + 1:03d}.json.gz"
        path = os.path.join(runs_dir, name)
        data = gzip.compress(json.dumps(report, sort_keys=True).encode("utf-8", "surrogateescape"), mtime=0)
        write_atomic(path, data, mode=0o600)
        index.append({"file": name, "started": report.get("timing", {}).get("started"),
                      "score": report.get("score")})
        kept = index[-self.keep:]
        write_atomic(os.path.join(self._target_dir(key), "index.json"),
                     json.dumps({"version": _INDEX_VERSION, "runs": kept}, indent=1) + "\n", mode=0o600)
        keep_names = {os.path.basename(r["file"]) for r in kept}
        for old in self._run_files(key):
            if old not in keep_names:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(runs_dir, old))
        return path
