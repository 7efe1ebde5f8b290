"""Run history in a state directory: drift between runs, pruning, locking, faults."""

from __future__ import annotations

import gzip
import io
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout

import pytest

from hostaudit.cli import main
from hostaudit.state import StateDir, target_key


def _run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def tree(tmp_root):
    tmp_root.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n")
    tmp_root.write("/var/qmail/control/databytes", "5242880\n")
    return tmp_root


def _cron_scan(tree, state, out, *extra):
    out.mkdir(exist_ok=True)
    return _run("scan", "--root", tree.path, "--state-dir", state, "-o", out, "--format", "json",
                "--quiet-unless-changed", *extra)


def test_the_state_directory_is_created_private(tree, tmp_path):
    _cron_scan(tree, tmp_path / "state", tmp_path / "out")
    for dirpath, _dirnames, filenames in os.walk(tmp_path / "state"):
        assert os.stat(dirpath).st_mode & 0o077 == 0, dirpath
        for name in filenames:
            assert os.stat(os.path.join(dirpath, name)).st_mode & 0o077 == 0, name


def test_a_second_run_with_nothing_changed_prints_nothing(tree, tmp_path):
    _cron_scan(tree, tmp_path / "state", tmp_path / "out")
    code, out, err = _cron_scan(tree, tmp_path / "state", tmp_path / "out")
    assert (code, out, err) == (0, "", "")


def test_a_change_between_runs_is_printed_and_kept_in_the_report(tree, tmp_path):
    _cron_scan(tree, tmp_path / "state", tmp_path / "out")
    tree.write("/var/qmail/control/databytes", "99999999\n")
    code, out, _ = _cron_scan(tree, tmp_path / "state", tmp_path / "out")
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert code == 0
    assert "NEW FAILURE: mail.databytes" in out
    assert all(len(line) < 80 for line in out.splitlines())
    assert [c["id"] for c in report["drift"]["controls"]] == ["mail.databytes"]


def test_each_target_has_its_own_history(tree, tmp_root, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    _cron_scan(tree, tmp_path / "state", tmp_path / "out")
    code, out, _ = _run("scan", "--root", other, "--state-dir", tmp_path / "state", "-o", tmp_path / "out",
                        "--format", "json", "--quiet-unless-changed")
    assert "first run" in out
    assert len([d for d in os.listdir(tmp_path / "state") if not d.startswith(".")]) == 2


def test_keep_prunes_the_oldest_runs(tree, tmp_path):
    for _ in range(4):
        _cron_scan(tree, tmp_path / "state", tmp_path / "out", "--keep", "2")
    (target,) = [d for d in os.listdir(tmp_path / "state") if not d.startswith(".")]
    runs = os.listdir(tmp_path / "state" / target / "runs")
    index = json.loads((tmp_path / "state" / target / "index.json").read_text())["runs"]
    assert len(runs) == 2 and sorted(runs) == [r["file"] for r in index]


def test_a_truncated_history_entry_is_named_and_skipped(tree, tmp_path):
    state = tmp_path / "state"
    _cron_scan(tree, state, tmp_path / "out")
    _cron_scan(tree, state, tmp_path / "out")
    (target,) = [d for d in os.listdir(state) if not d.startswith(".")]
    newest = sorted(os.listdir(state / target / "runs"))[-1]
    data = (state / target / "runs" / newest).read_bytes()
    (state / target / "runs" / newest).write_bytes(data[: len(data) // 2])
    code, out, _ = _cron_scan(tree, state, tmp_path / "out")
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert code == 0
    assert newest in " ".join(report["drift"]["context"])
    assert report["drift"]["previous"]["file"].endswith(sorted(os.listdir(state / target / "runs"))[0])


def test_a_second_run_waits_for_the_lock_then_gives_up_with_exit_3(tmp_path):
    state = StateDir(str(tmp_path / "state"))
    state.prepare()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time, fcntl, os\n"
         "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\nfcntl.flock(fd, fcntl.LOCK_EX)\n"
         "print('held', flush=True)\ntime.sleep(30)", str(tmp_path / "state" / ".lock")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        with pytest.raises(Exception) as caught:
            with state.locked(wait_s=1.0):
                pass
        assert caught.value.exit_code == 3 and "holds the lock" in str(caught.value)
        assert 0.9 < time.monotonic() - started < 5
    finally:
        holder.kill()
        holder.wait(timeout=10)


def test_history_survives_runs_killed_at_random_points(tree, tmp_path):
    """kill -9 during runs, ten times: the history stays readable and the next run works."""
    state, out = tmp_path / "state", tmp_path / "out"
    out.mkdir()
    argv = [sys.executable, "-m", "hostaudit", "scan", "--root", str(tree.path), "--state-dir", str(state),
            "-o", str(out), "--format", "json", "--quiet"]
    subprocess.run(argv, timeout=60, check=False)
    for delay in (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6):
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    done = subprocess.run(argv, timeout=60, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    (target,) = [d for d in os.listdir(state) if not d.startswith(".")]
    index = json.loads((state / target / "index.json").read_text())["runs"]
    for entry in index:
        with gzip.open(state / target / "runs" / entry["file"], "rt") as handle:
            assert "results" in json.load(handle)
    report = json.loads((out / "report.json").read_text())
    assert report["drift"]["previous"] is not None


def test_a_cron_environment_gives_the_same_verdicts(tree, tmp_path):
    argv = ["-m", "hostaudit", "scan", "--root", str(tree.path), "--format", "json", "--quiet"]
    (tmp_path / "cron").mkdir()
    (tmp_path / "shell").mkdir()
    cron = subprocess.run(["env", "-i", "PATH=/usr/bin:/bin", sys.executable, *argv, "-o", str(tmp_path / "cron")],
                          timeout=120, capture_output=True, text=True)
    shell = subprocess.run([sys.executable, *argv, "-o", str(tmp_path / "shell")], timeout=120,
                           capture_output=True, text=True)
    assert cron.returncode == shell.returncode == 0, cron.stderr

    def verdicts(directory):
        report = json.loads((directory / "report.json").read_text())
        return {r["id"]: (r["status"], r["message"]) for r in report["results"]}
    assert verdicts(tmp_path / "cron") == verdicts(tmp_path / "shell")


def test_target_keys_cannot_climb_out_of_the_state_directory():
    key = target_key({"mode": "live", "hostname": "../../etc/x\x1b[2J"})
    assert "/" not in key and not key.startswith(".") and "\x1b" not in key


def test_prometheus_metrics_parse_with_the_reference_parser(tree, tmp_path):
    from prometheus_client.parser import text_string_to_metric_families

    metrics = tmp_path / "hostaudit.prom"
    _cron_scan(tree, tmp_path / "state", tmp_path / "out", "--prometheus", metrics)
    families = {f.name: f for f in text_string_to_metric_families(metrics.read_text())}
    assert {"hostaudit_score", "hostaudit_coverage_ratio", "hostaudit_controls",
            "hostaudit_control_status", "hostaudit_last_run_timestamp_seconds", "hostaudit_changes"} <= set(families)
    statuses = {s.labels["control"]: s.labels["status"] for s in families["hostaudit_control_status"].samples}
    assert statuses["mail.databytes"] == "pass"


def test_a_cron_environment_still_finds_the_sbin_programs_of_a_live_audit(tmp_path):
    """cron's PATH lacks /usr/sbin, where iptables-save and quotaon live."""
    argv = ["-m", "hostaudit", "scan", "--only", "fw.default-policy,fs.quota.enabled", "--format", "json",
            "--quiet"]
    results = {}
    for name, prefix in (("cron", ["env", "-i", "PATH=/usr/bin:/bin"]), ("shell", [])):
        (tmp_path / name).mkdir()
        done = subprocess.run([*prefix, sys.executable, *argv, "-o", str(tmp_path / name)], timeout=120,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        report = json.loads((tmp_path / name / "report.json").read_text())
        results[name] = {r["id"]: r["status"] for r in report["results"]}
        assert not any("not installed" in r["message"] for r in report["results"]), report["results"]
    assert results["cron"] == results["shell"]


def test_a_lost_immutable_bit_is_one_fact_change_and_one_new_failure(tree, tmp_path, require_root):
    passwd = tree.path / "etc" / "passwd"
    done = subprocess.run(["chattr", "+i", str(passwd)], capture_output=True, text=True, timeout=10)
    if done.returncode != 0:
        pytest.skip(f"this filesystem keeps no attributes: {done.stderr.strip()}")
    try:
        _cron_scan(tree, tmp_path / "state", tmp_path / "out", "--only", "files.")
    finally:
        subprocess.run(["chattr", "-i", str(passwd)], check=False, timeout=10)
    code, out, _ = _cron_scan(tree, tmp_path / "state", tmp_path / "out", "--only", "files.")
    drift = json.loads((tmp_path / "out" / "report.json").read_text())["drift"]
    assert [(c["id"], c["change"]) for c in drift["controls"]] == [("files.immutable.passwd", "new_failure")]
    assert [(f["fact"], f["key"], f["before"], f["after"]) for f in drift["facts"]] == [
        ("file_attrs", "/etc/passwd.immutable", True, False)]


def test_two_concurrent_runs_on_one_state_directory_both_land(tree, tmp_path):
    state = tmp_path / "state"
    procs = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "hostaudit", "scan", "--root", str(tree.path), "--state-dir", str(state),
             "-o", str(tmp_path / name), "--format", "json", "--quiet"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
    try:
        codes = [p.wait(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert codes == [0, 0]
    (target,) = [d for d in os.listdir(state) if not d.startswith(".")]
    assert len(json.loads((state / target / "index.json").read_text())["runs"]) == 2
    drifts = [json.loads((tmp_path / n / "report.json").read_text())["drift"]["previous"] for n in ("a", "b")]
    assert sorted(d is None for d in drifts) == [False, True]
