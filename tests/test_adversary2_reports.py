"""A report read back (diff, --gate-against, plan, fleet) may have been edited by anyone who
could write it: a field of a shape hostaudit never writes is bad input (exit 2, naming its
JSON path), never an internal error."""

from __future__ import annotations

import json

from test_diff_cli import _run, _scan


def test_diff_of_a_report_whose_score_is_not_a_number_is_bad_input(tmp_root, tmp_path):
    tmp_root.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n")
    before = _scan(tmp_root, tmp_path / "before")
    edited = json.loads(before.read_text())
    edited["score"] = "100"
    after = tmp_path / "edited.json"
    after.write_text(json.dumps(edited))
    code, _, err = _run("diff", before, after, "-o", tmp_path / "diff")
    assert code == 2
    assert "$.score: not a number" in err


def test_a_report_larger_than_any_hostaudit_writes_is_refused_unread(tmp_root, tmp_path, monkeypatch):
    from hostaudit.reports import json_report

    tmp_root.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n")
    before = _scan(tmp_root, tmp_path / "before")
    monkeypatch.setattr(json_report, "MAX_UNPACKED", 1024)
    code, _, err = _run("diff", before, before, "-o", tmp_path / "diff")
    assert code == 2
    assert "holds more than 1024 bytes" in err


def test_diff_of_a_report_whose_coverage_percent_is_not_a_number_is_bad_input(tmp_root, tmp_path):
    tmp_root.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n")
    before = _scan(tmp_root, tmp_path / "before")
    edited = json.loads(before.read_text())
    edited["coverage"]["percent"] = "\x1b]0;x\x07"
    after = tmp_path / "edited.json"
    after.write_text(json.dumps(edited))
    code, _, err = _run("diff", before, after, "-o", tmp_path / "diff")
    assert code == 2
    assert "$.coverage.percent: not a number" in err
