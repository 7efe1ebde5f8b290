"""Ending a scan: signals unwind and remove the unpacked image; a stuck probe ends nothing.

Each test runs ``hostaudit scan`` in a subprocess whose ``passwd`` probe is replaced before
the CLI starts, with TMPDIR pointing at the test's own directory so the temporary image root
can be found and inspected from outside while the scan runs.
"""

import io
import json
import os
import signal
import stat
import subprocess
import sys
import tarfile
import time

import pytest

from hostaudit.interrupt import Interrupted, deferred, signals_unwind

SCAN = """
import os, subprocess, sys, time
import hostaudit.probes
from hostaudit.registry import PROBES, ProbeSpec

def stuck(host):
    child = subprocess.Popen(["sleep", "3600"]) if os.environ.get("CHILD") else None
    with open(os.environ["STARTED"], "w") as started:
        started.write(str(child.pid) if child else "")
    time.sleep(3600)

PROBES["passwd"] = ProbeSpec("passwd", stuck, (), float(os.environ["DEADLINE"]))
from hostaudit.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _image(path, members=0):
    """A tarball as `tar -C rootfs -cf` writes it: './' world-writable, a setuid-root file,
    and ``members`` empty files under /etc (kept on disk, as probes read /etc) to make
    reading take a while."""
    with tarfile.open(path, "w") as archive:
        root = tarfile.TarInfo(".")
        root.type, root.mode = tarfile.DIRTYPE, 0o777
        archive.addfile(root)
        passwd = b"root:x:0:0:root:/root:/bin/sh\n"
        entry = tarfile.TarInfo("./etc/passwd")
        entry.size = len(passwd)
        archive.addfile(entry, io.BytesIO(passwd))
        su = tarfile.TarInfo("./usr/bin/su")
        su.size, su.mode, su.uid, su.gid = 4, 0o4755, 0, 0
        archive.addfile(su, io.BytesIO(b"\x7fELF"))
        for n in range(members):
            archive.addfile(tarfile.TarInfo(f"./etc/filler/{n // 1000}/{n}"))
    return str(path)


@pytest.fixture
def scan(tmp_path):
    """Start a scan of an image; yields a starter, kills what is left at the end."""
    procs = []
    temp = tmp_path / "tmpdir"
    temp.mkdir()

    def start(image, *, deadline=600.0, child=False):
        out = tmp_path / "out"
        out.mkdir(exist_ok=True)
        env = {**os.environ, "TMPDIR": str(temp), "STARTED": str(tmp_path / "started"),
               "DEADLINE": str(deadline), "CHILD": "1" if child else ""}
        proc = subprocess.Popen(
            [sys.executable, "-c", SCAN, "scan", "--image", image, "-o", str(out), "--quiet",
             "--only", "ssh.sshd-user"],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(tmp_path / "stderr", "w"), start_new_session=True)
        procs.append(proc)
        return proc

    start.temp, start.started, start.out = temp, tmp_path / "started", tmp_path / "out"
    start.stderr = tmp_path / "stderr"
    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def _wait_for(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {seconds} s")
        time.sleep(0.02)


@pytest.mark.parametrize("signo", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP],
                         ids=["SIGINT", "SIGTERM", "SIGHUP"])
def test_signal_during_a_probe_removes_the_image_and_exits_128_plus_signo(tmp_path, scan, signo):
    proc = scan(_image(tmp_path / "img.tar"))
    _wait_for(scan.started.exists, 60, "the probe starting")
    assert len(list(scan.temp.iterdir())) == 1
    proc.send_signal(signo)
    assert proc.wait(timeout=10) == 128 + signo
    assert list(scan.temp.iterdir()) == []
    assert not (scan.out / "report.json").exists()
    assert f"interrupted by {signal.Signals(signo).name}" in scan.stderr.read_text()


def _running(pid):
    """Whether ``pid`` runs (a zombie waiting for its new parent to reap it does not)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except FileNotFoundError:
        return False


def test_sigterm_also_ends_the_commands_a_probe_left_running(tmp_path, scan):
    proc = scan(_image(tmp_path / "img.tar"), child=True)
    _wait_for(lambda: scan.started.exists() and scan.started.read_text(), 60, "the probe starting")
    child = int(scan.started.read_text())
    try:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 128 + signal.SIGTERM
        _wait_for(lambda: not _running(child), 5, "the probe's command ending")
    finally:
        if _running(child):
            os.kill(child, signal.SIGKILL)


def test_image_root_is_private_and_holds_no_setuid_program_while_scanned(tmp_path, scan):
    proc = scan(_image(tmp_path / "img.tar"))
    _wait_for(scan.started.exists, 60, "the probe starting")
    [root] = list(scan.temp.iterdir())
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    # Only the files probes read, under numbers, read-only: the setuid su is in the index only.
    kept = {p.name: stat.S_IMODE(p.lstat().st_mode) for p in root.iterdir()}
    assert kept == {"1": 0o400}
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=10)


def test_sigterm_while_unpacking_removes_what_was_unpacked(tmp_path, scan):
    proc = scan(_image(tmp_path / "big.tar", members=20000))
    _wait_for(lambda: any(p.iterdir() for p in scan.temp.iterdir()), 60, "unpacking starting")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 128 + signal.SIGTERM
    assert not scan.started.exists(), "the signal came after unpacking; make the image bigger"
    assert list(scan.temp.iterdir()) == []


def test_probe_stuck_past_its_deadline_neither_stalls_the_report_nor_the_exit(tmp_path, scan):
    proc = scan(_image(tmp_path / "img.tar"), deadline=1.0)
    assert proc.wait(timeout=60) == 0
    [result] = json.loads((scan.out / "report.json").read_text())["results"]
    assert (result["id"], result["status"]) == ("ssh.sshd-user", "error")
    assert result["message"] == "cannot decide: probe passwd timed out after 1 s"
    assert list(scan.temp.iterdir()) == []


# -- in process -------------------------------------------------------------------------------
def test_sigterm_raises_interrupted_and_the_old_handler_comes_back():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Interrupted) as caught, signals_unwind():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises before this ends
    assert caught.value.signo == signal.SIGTERM and caught.value.exit_code == 143
    assert signal.getsignal(signal.SIGTERM) is before


def test_signal_in_a_deferred_section_is_raised_when_the_section_ends():
    finished = False
    with pytest.raises(Interrupted) as caught, signals_unwind():
        with deferred():
            os.kill(os.getpid(), signal.SIGHUP)
            time.sleep(0.1)
            finished = True
    assert finished and caught.value.signo == signal.SIGHUP
