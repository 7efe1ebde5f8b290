"""Reports of one run are written as a set: all replaced, or (full disk, any write error)
none, with no temporary file left and an error naming the file (exit 3)."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import subprocess
from contextlib import redirect_stderr, redirect_stdout

import pytest

from hostaudit.cli import main
from hostaudit.errors import AuditError, ExitCode
from hostaudit.reports import atomic
from hostaudit.reports.atomic import ReportWriteError, write_set


def _old_set(directory) -> dict[str, str]:
    old = {"report.json": "old json", "report.html": "old html"}
    for name, text in old.items():
        (directory / name).write_text(text)
    return old


def _contents(directory) -> dict[str, str]:
    return {name: (directory / name).read_text() for name in sorted(os.listdir(directory))}


@contextlib.contextmanager
def _tiny_tmpfs(directory, size="32k"):
    """A real file system of ``size`` mounted on ``directory``, unmounted however the test ends."""
    directory.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(directory)],
                          capture_output=True, text=True, timeout=10)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], capture_output=True, timeout=10)


def test_write_set_replaces_every_file(tmp_path):
    _old_set(tmp_path)
    write_set({tmp_path / "report.json": "new json", tmp_path / "report.html": "new html"})
    assert _contents(tmp_path) == {"report.html": "new html", "report.json": "new json"}


def test_error_on_the_second_file_replaces_none_and_leaves_no_temp(tmp_path, monkeypatch):
    old = _old_set(tmp_path)
    real_fsync, calls = os.fsync, []

    def fsync_fails_second_time(fd):
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", fsync_fails_second_time)
    with pytest.raises(ReportWriteError) as err:
        write_set({tmp_path / "report.json": "new json", tmp_path / "report.html": "new html"})
    assert err.value.where == str(tmp_path / "report.html")
    assert str(err.value) == f"{tmp_path / 'report.html'}: cannot write the report: No space left on device"
    assert isinstance(err.value, AuditError) and err.value.exit_code == ExitCode.AUDIT_FAILED
    assert _contents(tmp_path) == dict(sorted(old.items()))


def test_full_disk_replaces_none_and_leaves_no_temp(tmp_path, require_root):
    with _tiny_tmpfs(tmp_path / "small") as out:
        old = _old_set(out)
        with pytest.raises(ReportWriteError, match="No space left on device") as err:
            write_set({out / "report.json": "j" * 1024, out / "report.html": "h" * 64 * 1024})
        assert err.value.where == str(out / "report.html")
        assert _contents(out) == dict(sorted(old.items()))


def test_scan_onto_a_full_disk_exits_3_naming_the_file_and_keeps_the_old_set(tmp_root, tmp_path, require_root):
    tmp_root.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n")
    with _tiny_tmpfs(tmp_path / "small", size="24k") as out:
        old = _old_set(out)
        err = io.StringIO()
        with redirect_stdout(io.StringIO()), redirect_stderr(err):
            code = main(["scan", "--root", str(tmp_root.path), "-o", str(out), "--quiet"])
        assert code == 3
        assert err.getvalue().startswith(f"error: {out}/report.")
        assert "cannot write the report: No space left on device" in err.getvalue()
        assert "internal error" not in err.getvalue()
        assert _contents(out) == dict(sorted(old.items()))
