"""Writing a file so that readers see the old content or the new, never half of it."""

from __future__ import annotations

import os
import tempfile


def write_atomic(path: str | os.PathLike, text: str | bytes, *, mode: int = 0o644) -> None:
    """Write ``text`` (str as UTF-8, or bytes as they are) to ``path`` via a temp file in the same directory and rename.

    The temp file is fsynced before ``os.replace`` so a crash leaves the previous report
    intact; on any error it is removed and the error propagates.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with (os.fdopen(fd, "wb") if isinstance(text, bytes)
              else os.fdopen(fd, "w", encoding="utf-8", newline="")) as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        # mkstemp creates 0600; callers keeping sensitive state pass mode=0o600 themselves.
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise

