"""A state directory holds root's history; what another user could have put there (while the
directory was open to others, before hostaudit tightened it) is never written through nor
read as a previous run."""

from __future__ import annotations

import gzip
import json
import os

from test_state import _cron_scan, tree  # noqa: F401  (a fixture)


def _target(state) -> str:
    (target,) = [d for d in os.listdir(state) if not d.startswith(".")]
    return target


def test_a_history_directory_that_is_a_link_is_refused_not_written_through(tree, tmp_path):
    state = tmp_path / "state"
    _cron_scan(tree, state, tmp_path / "out")
    target = _target(state)
    elsewhere = tmp_path / "elsewhere"
    os.rename(state / target, elsewhere)
    (elsewhere / "runs" / "precious.json.gz").write_bytes(gzip.compress(b"{}"))
    os.symlink(elsewhere, state / target)
    code, _, err = _cron_scan(tree, state, tmp_path / "out", "--keep", "1")
    assert code == 2
    assert f"{state / target}" in err
    assert (elsewhere / "runs" / "precious.json.gz").exists()


def test_a_history_directory_another_user_owns_is_refused(tree, tmp_path):
    state = tmp_path / "state"
    _cron_scan(tree, state, tmp_path / "out")
    target = _target(state)
    os.chown(state / target, 65534, 65534)
    code, _, err = _cron_scan(tree, state, tmp_path / "out")
    assert code == 2
    assert "uid 65534" in err


def test_a_history_entry_another_user_owns_is_skipped_and_named(tree, tmp_path):
    state = tmp_path / "state"
    _cron_scan(tree, state, tmp_path / "out")
    target = _target(state)
    (run,) = os.listdir(state / target / "runs")
    os.chown(state / target / "runs" / run, 65534, 65534)
    code, _, err = _cron_scan(tree, state, tmp_path / "out")
    assert code == 0, err
    drift = json.loads((tmp_path / "out" / "report.json").read_text())["drift"]
    assert drift["previous"] is None
    assert f"{run}: owned by uid 65534" in " ".join(drift["context"])


def test_a_lock_file_that_is_a_link_is_refused_as_bad_input(tree, tmp_path):
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    os.symlink("/etc/passwd", state / ".lock")
    code, _, err = _cron_scan(tree, state, tmp_path / "out")
    assert code == 2
    assert ".lock" in err and "internal error" not in err
