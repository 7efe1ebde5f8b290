"""The shipped schedules: systemd units that systemd accepts, a cron line that works."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CONTRIB = Path(__file__).resolve().parent.parent / "contrib"


@pytest.fixture
def units(tmp_path):
    """The shipped units with ExecStart pointing at this checkout's hostaudit."""
    hostaudit = Path(sys.executable).parent / "hostaudit"
    for name in ("hostaudit.service", "hostaudit.timer"):
        text = (CONTRIB / "systemd" / name).read_text().replace("/opt/hostaudit/bin/hostaudit", str(hostaudit))
        (tmp_path / name).write_text(text)
    return tmp_path


def test_systemd_accepts_the_shipped_service_and_timer(units):
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed")
    done = subprocess.run(["systemd-analyze", "verify", "--man=no",
                           str(units / "hostaudit.service"), str(units / "hostaudit.timer")],
                          capture_output=True, text=True, timeout=60)
    problems = [line for line in done.stderr.splitlines() if "hostaudit" in line]
    assert done.returncode == 0 and not problems, done.stderr


def test_the_service_keeps_its_state_private_and_the_system_read_only():
    text = (CONTRIB / "systemd" / "hostaudit.service").read_text()
    for setting in ("ProtectSystem=strict", "StateDirectoryMode=0700", "NoNewPrivileges=yes", "PrivateTmp=yes"):
        assert setting in text


def test_the_timer_catches_up_missed_runs_at_a_random_delay():
    text = (CONTRIB / "systemd" / "hostaudit.timer").read_text()
    assert "Persistent=true" in text and "RandomizedDelaySec=" in text


def test_the_cron_line_runs_the_same_command_as_the_service():
    cron = (CONTRIB / "cron.d" / "hostaudit").read_text()
    service = (CONTRIB / "systemd" / "hostaudit.service").read_text()
    command = next(line for line in cron.splitlines() if line.startswith("17 ")).split(" root ", 1)[1]
    assert f"ExecStart={command}" in service
