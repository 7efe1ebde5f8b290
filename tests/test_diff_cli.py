"""`hostaudit diff`: two scans of one tree, changed in between, say exactly what changed."""

from __future__ import annotations

import gzip
import io
import json
from contextlib import redirect_stderr, redirect_stdout

import pytest

from hostaudit.cli import main
from hostaudit.compare import compare
from hostaudit.reports import diff_view


def _run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def _scan(root, out):
    out.mkdir()
    code, _, err = _run("scan", "--root", root.path, "--format", "json", "-o", out, "--quiet")
    assert code == 0, err
    return out / "report.json"


@pytest.fixture
def two_scans(tmp_root, tmp_path):
    """A tree scanned, then changed (a user added, databytes raised, nosuid dropped, an
    overridden sysctl.d file added) and scanned again."""
    tmp_root.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n")
    tmp_root.write("/var/qmail/control/databytes", "5242880\n")
    tmp_root.write("/etc/fstab", "/dev/sda3 /home ext4 nosuid,nodev,usrquota 0 2\n")
    tmp_root.write("/etc/sysctl.d/99-net.conf", "net.ipv4.tcp_syncookies = 1\n")
    before = _scan(tmp_root, tmp_path / "before")
    tmp_root.write("/etc/passwd", "games:x:5:60:games:/usr/games:/bin/sh\nroot:x:0:0:root:/root:/bin/bash\n")
    tmp_root.write("/var/qmail/control/databytes", "52428800\n")
    tmp_root.write("/etc/fstab", "/dev/sda3 /home ext4 nodev,usrquota 0 2\n")
    tmp_root.write("/etc/sysctl.d/10-early.conf", "net.ipv4.tcp_syncookies = 0\n")
    after = _scan(tmp_root, tmp_path / "after")
    return before, after


def test_diff_names_each_change_of_the_tree_once(two_scans, tmp_path):
    before, after = two_scans
    code, out, err = _run("diff", before, after, "-o", tmp_path)
    assert code == 0, err
    diff = json.loads((tmp_path / "diff.json").read_text())
    diff_view.validate(diff)
    changed = {c["id"]: c["change"] for c in diff["controls"]}
    assert changed["mail.databytes"] == "new_failure"
    assert changed["accounts.removed-users"] == "new_failure"
    assert changed["fs.mount-options.home"] == "new_failure"
    facts = {(f["fact"], f["key"], f["change"]) for f in diff["facts"]}
    assert ("passwd", "users[games]", "added") in facts
    assert ("fstab", "entries[/home].options", "removed") in facts
    assert any(f == "sysctl_persistent" and "10-early.conf" in json.dumps(d)
               for f, _, d in [(x["fact"], x["key"], x) for x in diff["facts"]])
    assert len(facts) == len(diff["facts"])
    assert "NEW FAILURE: mail.databytes" in out


def test_diff_text_lines_fit_in_80_columns(two_scans, tmp_path):
    before, after = two_scans
    _, out, _ = _run("diff", before, after, "--format", "terminal")
    assert out and all(len(line) < 80 for line in out.splitlines())


def test_diff_writes_a_self_contained_html_view(two_scans, tmp_path):
    before, after = two_scans
    code, _, _ = _run("diff", before, after, "--format", "html", "-o", tmp_path)
    html = (tmp_path / "diff.html").read_text()
    assert code == 0 and "mail.databytes" in html and "http" not in html.replace("http-equiv", "")


def test_a_file_that_is_not_a_report_is_bad_input(tmp_path, two_scans):
    before, _ = two_scans
    other = tmp_path / "other.json"
    other.write_text('{"name": "not a report"}')
    code, _, err = _run("diff", before, other)
    assert code == 2 and "not a hostaudit report" in err and "other.json" in err


def test_diff_reads_a_run_kept_gzipped_in_a_state_directory(tmp_path, two_scans):
    before, after = two_scans
    kept = tmp_path / "20261201T031700Z-001.json.gz"
    kept.write_bytes(gzip.compress(before.read_bytes()))
    code, out, err = _run("diff", kept, after, "--format", "terminal")
    assert code == 0, err
    assert "NEW FAILURE: mail.databytes" in out


def test_a_truncated_gzip_report_is_bad_input(tmp_path, two_scans):
    before, after = two_scans
    kept = tmp_path / "kept.json.gz"
    kept.write_bytes(gzip.compress(before.read_bytes())[:-20])
    code, _, err = _run("diff", kept, after, "--format", "terminal")
    assert (code, err) == (2, f"error: {kept}: cannot read report: truncated gzip file\n")


def test_a_gzip_report_unpacking_past_the_limit_is_bad_input(tmp_path, two_scans, monkeypatch):
    from hostaudit.reports import json_report

    before, after = two_scans
    monkeypatch.setattr(json_report, "MAX_UNPACKED", 1024)
    kept = tmp_path / "kept.json.gz"
    kept.write_bytes(gzip.compress(before.read_bytes()))
    code, _, err = _run("diff", kept, after, "--format", "terminal")
    assert code == 2 and "unpacks to more than" in err


def test_a_report_of_an_unknown_schema_version_is_bad_input(tmp_path, two_scans):
    before, _ = two_scans
    future = tmp_path / "future.json"
    future.write_text(json.dumps({**json.loads(before.read_text()), "schema_version": 99}))
    code, _, err = _run("diff", before, future)
    assert code == 2 and "schema version 99" in err


def test_a_missing_report_is_bad_input(tmp_path, two_scans):
    before, _ = two_scans
    code, _, err = _run("diff", before, tmp_path / "missing.json")
    assert code == 2 and "missing.json" in err


def test_a_report_whose_result_lacks_a_status_names_the_json_path(tmp_path, two_scans):
    before, _ = two_scans
    broken = json.loads(before.read_text())
    del broken["results"][2]["status"]
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    code, _, err = _run("diff", before, path)
    assert code == 2 and "$.results[2].status" in err


def test_diff_text_shows_hostile_bytes_as_escapes(tmp_path, two_scans):
    before, after = two_scans
    hostile = json.loads(after.read_text())
    hostile["facts"]["passwd"]["users"].append({"name": "ev\x1b]0;pwned\x07il\udcff", "uid": 7})
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(hostile))
    code, out, _ = _run("diff", before, path, "--format", "terminal")
    assert code == 0 and "\x1b" not in out and "\x07" not in out and "\\x1b]0;pwned\\x07il\\xff" in out


def test_diff_of_an_old_unredacted_report_carries_no_secret(tmp_path, two_scans):
    before, after = two_scans
    leaky = json.loads(after.read_text())
    leaky["facts"]["schedules"] = {"cron": [{"command": "mysqldump --password=S3CRETMARK db", "path": "/etc/cron.d/x"}]}
    path = tmp_path / "leaky.json"
    path.write_text(json.dumps(leaky))
    code, out, _ = _run("diff", before, path, "-o", tmp_path, "--format", "json,html,terminal")
    assert code == 0
    for text in (out, (tmp_path / "diff.json").read_text(), (tmp_path / "diff.html").read_text()):
        assert "S3CRETMARK" not in text


def _report(results, facts=None, coverage=50.0):
    return {"tool": {"version": "0.1.0"}, "baseline": {"name": "gcux-qmail", "digest": "d"},
            "target": {"mode": "image", "root": "/srv/img"}, "timing": {"started": "2026-12-01T00:00:00+00:00"},
            "score": 50.0, "coverage": None if coverage is None else {"percent": coverage},
            "results": [{"id": i, "title": i, "severity": "medium", "status": "fail", "message": m,
                         "evidence": [{"where": w, "text": t} for w, t in ev]} for i, m, ev in results],
            "facts": facts or {}}


def test_a_new_reason_in_the_evidence_shows_the_line_that_changed():
    message = "net.ipv4.tcp_syncookies: not set persistently"
    old = _report([("sysctl.x", message, [("/etc/sysctl.conf", "no setting")])])
    new = _report([("sysctl.x", message, [("/etc/sysctl.d/60-site.conf, /etc/sysctl.conf", "no setting")])])
    lines = diff_view.text_lines(compare(old, new))
    at = lines.index("  same status, new reason: sysctl.x [medium] fail -> fail")
    assert lines[at + 1:at + 4] == [f"      {message}",
                                    "      now: /etc/sysctl.d/60-site.conf, /etc/sysctl.conf: no setting",
                                    "      was: /etc/sysctl.conf: no setting"]


def test_a_new_reason_in_the_message_shows_the_old_message():
    old = _report([("mail.databytes", "databytes is 10000000", [])])
    new = _report([("mail.databytes", "databytes is 20000000", [])])
    lines = diff_view.text_lines(compare(old, new))
    assert lines[-2:] == ["      databytes is 20000000", "      was: databytes is 10000000"]


def test_a_first_run_has_no_coverage_before_and_says_so():
    lines = diff_view.text_lines(compare(_report([], coverage=None), _report([], coverage=85.4)))
    assert "score 50 -> 50, coverage n/a -> 85.4%" in lines


def test_many_fact_changes_are_counted_past_the_first_twenty():
    def users(names):
        return {"passwd": {"users": [{"name": n} for n in names]}}
    diff = compare(_report([], users(["root"])), _report([], users(["root"] + [f"u{i}" for i in range(25)])))
    lines = diff_view.text_lines(diff)
    assert "Facts (25 changes)" in lines
    assert sum(line.startswith("  added passwd users[") for line in lines) == diff_view.MAX_FACT_LINES
    assert lines[-1] == "  ... and 5 more (all in the JSON report)"
    assert len(diff["facts"]) == 25
