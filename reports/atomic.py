"""Writing reports so that readers see the old content or the new, never half of it.

``write_set`` writes the reports of one run: every file goes to a temporary name in its
own directory first, and only when all of them are written and synced are they renamed
over the old ones. A full disk or any other write error leaves the previous set whole (and
no temporary file behind), so report.json never sits next to a report.html of another run.

The renames are one ``os.replace`` each: a reader who looks between two of them (a few
microseconds) can still see one new and one old file. Closing that window too would take a
directory swap behind a symlink, which would change the layout users point their tools at.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping

from hostaudit.errors import AuditError


class ReportWriteError(AuditError):
    """A report could not be written (``where`` names the file); the old set is intact."""


def _write_temp(path: str, text: str | bytes, mode: int) -> str:
    """``text`` (str as UTF-8, bytes as they are) in a synced temp file beside ``path``;
    returns the temp's name. On any error the temp file is removed and the error propagates."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(text if isinstance(text, bytes) else text.encode("utf-8"))
            out.flush()
            os.fsync(out.fileno())
        # mkstemp creates 0600 (whatever the umask); a wider mode is the caller's choice.
        os.chmod(tmp, mode)
    except BaseException:
        _remove(tmp)
        raise
    return tmp


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _sync_directory(directory: str) -> None:
    """Make the renames durable; a file system that cannot sync a directory is no error."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# Reports, diffs, bundles and plans quote root-only facts (which account's shadow entry is
# empty, which files are world-writable): their owner's alone, wherever they are written.
PRIVATE = 0o600


def write_atomic(path: str | os.PathLike, text: str | bytes, *, mode: int = PRIVATE) -> None:
    """Write ``text`` (str as UTF-8, or bytes as they are) to ``path`` via a synced temp file in the same directory and
    rename, so a crash leaves the previous file intact; on any error the temp file is
    removed and the error propagates. The file is ``mode`` (default: its owner's only)."""
    path = os.fspath(path)
    tmp = _write_temp(path, text, mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


def write_set(files: Mapping[str, str | bytes] | Mapping[os.PathLike, str | bytes], *, mode: int = PRIVATE,
              modes: Mapping[str, int] | None = None) -> None:
    """Write every ``path: text`` of ``files``, renaming none until all are written; each
    file is ``mode`` unless ``modes`` names its path (metrics another user must read).

    Raises ReportWriteError (exit 3) naming the file when the disk is full or any other
    OSError occurs; then no file of the set was replaced and no temp file remains.
    """
    written: list[tuple[str, str]] = []
    path = ""
    try:
        for path, text in ((os.fspath(p), t) for p, t in files.items()):
            written.append((_write_temp(path, text, (modes or {}).get(path, mode)), path))
        for index, (tmp, path) in enumerate(written):
            os.replace(tmp, path)
            written[index] = ("", path)
    except OSError as exc:
        raise ReportWriteError(f"cannot write the report: {exc.strerror or exc}", where=path) from exc
    finally:
        for tmp, _ in written:
            if tmp:
                _remove(tmp)
    for directory in dict.fromkeys(os.path.dirname(os.path.abspath(p)) for _, p in written):
        _sync_directory(directory)
