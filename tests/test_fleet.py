"""hostaudit fleet: many hosts' reports and bundles summed up in one fleet report."""

import io
import json
import re
from contextlib import redirect_stderr, redirect_stdout

import pytest
from support import RootBuilder

from hostaudit.cli import main
from hostaudit.reports import fleet_view

PASSWD = "root:x:0:0:root:/root:/bin/bash\nqmaild:x:201:200::/var/qmail:/bin/false\n"


def _run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def _tree(path, *, databytes="5000000", extra_user=None):
    root = RootBuilder(path)
    passwd = PASSWD + (f"{extra_user}:x:1500:1500::/home/{extra_user}:/bin/bash\n" if extra_user else "")
    root.write("/etc/passwd", passwd)
    root.write("/etc/group", "root:x:0:\nwheel:x:10:root\n")
    root.write("/var/qmail/control/databytes", f"{databytes}\n")
    return root


ONLY = ("--only", "mail.databytes", "--only", "accounts.")


def _bundle(tmp_path, fleet_dir, name, **tree):
    root = _tree(tmp_path / "trees" / name, **tree)
    (fleet_dir / name).mkdir(parents=True)
    code, _, err = _run("collect", "--root", root.path, "-o", fleet_dir / name / "facts.json", "-q", *ONLY)
    assert code == 0, err


@pytest.fixture
def fleet_dir(tmp_path):
    """Three hosts that differ (hardened, drifted, default) and one unreachable."""
    fleet = tmp_path / "fetched"
    _bundle(tmp_path, fleet, "hardened")
    _bundle(tmp_path, fleet, "drifted", databytes="0", extra_user="intruder")
    RootBuilder(tmp_path / "trees" / "default")
    (fleet / "default").mkdir()
    code, _, err = _run("collect", "--root", tmp_path / "trees" / "default", "-o",
                        fleet / "default" / "facts.json", "-q", *ONLY)
    assert code == 0, err
    (fleet / "lost").mkdir()
    (fleet / "lost" / "not-audited.json").write_text(json.dumps(
        {"state": "unreachable", "reason": "Failed to connect to the host via ssh: No route to host"}))
    return fleet


def _fleet(fleet_dir, out, *extra):
    out.mkdir(exist_ok=True)
    code, stdout, err = _run("fleet", fleet_dir, "-o", out, *extra)
    assert code == 0, err
    return json.loads((out / "fleet.json").read_text()), stdout


def _host(fleet, name):
    return next(h for h in fleet["hosts"] if h["name"] == name)


def test_each_audited_host_has_its_score_coverage_and_section_scores(fleet_dir, tmp_path):
    fleet, _ = _fleet(fleet_dir, tmp_path / "out")
    assert [h["name"] for h in fleet["hosts"]] == ["default", "drifted", "hardened"]
    assert _host(fleet, "hardened")["sections"]["mail"] == 100
    assert _host(fleet, "drifted")["sections"]["mail"] == 0
    assert _host(fleet, "drifted")["coverage"]["selected"] == _host(fleet, "hardened")["coverage"]["selected"]


def test_the_unreachable_host_is_listed_with_its_reason(fleet_dir, tmp_path):
    fleet, stdout = _fleet(fleet_dir, tmp_path / "out")
    assert fleet["not_audited"] == [{"name": "lost", "state": "unreachable",
                                     "reason": "Failed to connect to the host via ssh: No route to host"}]
    assert fleet["summary"]["unreachable"] == 1 and fleet["summary"]["audited"] == 3
    assert "unreachable  lost: Failed to connect" in stdout


def test_the_controls_failing_on_most_hosts_come_first(fleet_dir, tmp_path):
    fleet, _ = _fleet(fleet_dir, tmp_path / "out")
    top = {e["id"]: e["failed_on"] for e in fleet["top_failures"]}
    assert top["mail.databytes"] == ["default", "drifted"] or top["mail.databytes"] == ["drifted", "default"]
    counts = [len(e["failed_on"]) for e in fleet["top_failures"]]
    assert counts == sorted(counts, reverse=True)


def test_each_host_links_to_its_own_report(fleet_dir, tmp_path):
    fleet, _ = _fleet(fleet_dir, tmp_path / "out")
    link = _host(fleet, "drifted")["report_html"]
    assert link == "hosts/drifted/report.html"
    assert (tmp_path / "out" / link).is_file()
    assert json.loads((tmp_path / "out/hosts/drifted/report.json").read_text())["score"] == _host(fleet, "drifted")["score"]


def test_a_host_with_a_report_is_read_not_evaluated(fleet_dir, tmp_path):
    first, _ = _fleet(fleet_dir, tmp_path / "first")
    (fleet_dir / "drifted" / "facts.json").unlink()
    (tmp_path / "first/hosts/drifted/report.json").rename(fleet_dir / "drifted" / "report.json")
    fleet, _ = _fleet(fleet_dir, tmp_path / "out")
    assert _host(fleet, "drifted")["score"] == _host(first, "drifted")["score"]
    assert _host(fleet, "drifted")["report_json"] == "../fetched/drifted/report.json"


def test_a_bad_bundle_marks_its_host_failed_and_the_others_still_come_out(fleet_dir, tmp_path):
    (fleet_dir / "default" / "facts.json").write_text('{"format": "hostaudit-facts", "bundle_ver')
    fleet, _ = _fleet(fleet_dir, tmp_path / "out")
    failed = {e["name"]: e for e in fleet["not_audited"]}["default"]
    assert failed["state"] == "failed" and "bad bundle" in failed["reason"] and "not JSON" in failed["reason"]
    assert [h["name"] for h in fleet["hosts"]] == ["drifted", "hardened"]


def test_the_fleet_report_matches_its_schema(fleet_dir, tmp_path):
    fleet, _ = _fleet(fleet_dir, tmp_path / "out")
    fleet_view.validate(fleet)
    assert fleet["changes"] is None


def test_parallel_evaluation_gives_what_one_process_gives(fleet_dir, tmp_path):
    serial, _ = _fleet(fleet_dir, tmp_path / "one", "--workers", "1")
    parallel, _ = _fleet(fleet_dir, tmp_path / "two", "--workers", "2")
    assert serial["hosts"] == parallel["hosts"] and serial["top_failures"] == parallel["top_failures"]


def test_the_html_page_is_self_contained_with_the_matrix_and_unreachable_host(fleet_dir, tmp_path):
    _fleet(fleet_dir, tmp_path / "out")
    page = (tmp_path / "out" / "fleet.html").read_text()
    assert not re.search(r"(src|href)=\"(https?:)?//", page) and "<script" not in page
    assert 'href="hosts/drifted/report.html"' in page
    row = re.search(r'<tr class="host" data-host="drifted">(.*?)</tr>', page, re.S).group(1)
    assert re.search(r'class="cell poor" data-section="mail">0<', row)
    assert '<td class="name">lost</td><td class="poor">unreachable</td>' in page


def test_hostile_text_in_a_marker_is_escaped_in_html_and_terminal(fleet_dir, tmp_path):
    (fleet_dir / "lost" / "not-audited.json").write_text(json.dumps(
        {"state": "failed", "reason": "<script>alert(1)</script>\x1b[31m\u202e"}))
    _, stdout = _fleet(fleet_dir, tmp_path / "out")
    page = (tmp_path / "out" / "fleet.html").read_text()
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;\\x1b[31m\\u202e" in page
    assert "\x1b" not in stdout and "\\x1b[31m" in stdout


def test_with_a_state_dir_the_hosts_changed_since_the_last_run_are_named(fleet_dir, tmp_path):
    state = tmp_path / "state"
    first, _ = _fleet(fleet_dir, tmp_path / "out", "--state-dir", state)
    assert first["changes"]["new"] == ["default", "drifted", "hardened"] and first["changes"]["changed"] == []
    (fleet_dir / "hardened").rename(tmp_path / "hardened-before")
    _bundle(tmp_path / "again", fleet_dir, "hardened", databytes="0")
    second, stdout = _fleet(fleet_dir, tmp_path / "out", "--state-dir", state)
    changed = second["changes"]["changed"]
    assert [c["name"] for c in changed] == ["hardened"]
    assert {"id": "mail.databytes", "before": "pass", "after": "fail"} in changed[0]["controls"]
    assert second["changes"]["new"] == [] and "hardened: score" in stdout


def test_a_missing_fleet_directory_is_bad_input(tmp_path):
    code, _, err = _run("fleet", tmp_path / "nope", "-o", tmp_path)
    assert code == 2 and "no such fleet directory" in err


def test_hosts_limits_the_report_and_names_a_host_without_results(fleet_dir, tmp_path):
    fleet, _ = _fleet(fleet_dir, tmp_path / "out", "--hosts", "drifted,lost,vanished")
    assert [h["name"] for h in fleet["hosts"]] == ["drifted"]
    assert {e["name"]: e["state"] for e in fleet["not_audited"]} == {"lost": "unreachable", "vanished": "failed"}


def test_sigterm_ends_the_fleet_and_its_workers_quietly(fleet_dir, tmp_path):
    import shutil
    import signal
    import subprocess
    import sys
    import time

    import psutil

    for index in range(200):
        shutil.copytree(fleet_dir / "drifted", fleet_dir / f"copy{index:03d}")
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "hostaudit", "fleet", str(fleet_dir), "-o", str(out),
                             "--workers", "2", "--format", "json"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (out / "hosts").exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        workers = psutil.Process(proc.pid).children()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == 143
    assert err.strip() == "interrupted by SIGTERM"
    assert workers and not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers)
    assert not (out / "fleet.json").exists()


def test_the_terminal_summary_shows_the_lowest_scores_and_counts_the_rest():
    hosts = [{"name": f"h{i:02d}", "score": float(i), "failed": [], "errors": [],
              "coverage": {"decided": 1, "selected": 1}} for i in range(30)]
    fleet = {"source": "/f", "hosts": hosts, "not_audited": [], "top_failures": [], "changes": None,
             "summary": {"audited": 30, "hosts": 30, "mean_score": 14.5, "min_score": 0.0}}
    lines = fleet_view.text_lines(fleet, hosts_shown=3)
    assert [line.split()[1] for line in lines[1:4]] == ["h00", "h01", "h02"]
    assert lines[4] == "  ... 27 more hosts (highest scores) in fleet.json and fleet.html"


def test_a_malformed_report_marks_its_host_failed(fleet_dir, tmp_path):
    first, _ = _fleet(fleet_dir, tmp_path / "first")
    report = json.loads((tmp_path / "first/hosts/drifted/report.json").read_text())
    report["sections"] = ["not", "an", "object"]
    (fleet_dir / "drifted" / "facts.json").unlink()
    (fleet_dir / "drifted" / "report.json").write_text(json.dumps(report))
    fleet, _ = _fleet(fleet_dir, tmp_path / "out")
    failed = {e["name"]: e for e in fleet["not_audited"]}["drifted"]
    assert failed["state"] == "failed" and failed["reason"].startswith("bad report: missing or malformed field")
    assert [h["name"] for h in fleet["hosts"]] == ["default", "hardened"]
