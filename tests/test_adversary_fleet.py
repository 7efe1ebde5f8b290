"""The fleet directory is filled by the audited hosts (and by the playbook's error messages):
its text is target text, and the fleet report keeps no credential from it."""

from __future__ import annotations

import json

from test_fleet import _run, fleet_dir  # noqa: F401  (a fixture)

SECRET = "S3CRETMARK"


def test_no_fleet_report_carries_a_credential_from_a_not_audited_marker(fleet_dir, tmp_path):
    (fleet_dir / "lost" / "not-audited.json").write_text(json.dumps(
        {"state": "failed", "reason": f"non-zero return code: mysqldump --password={SECRET} mail"}))
    out = tmp_path / "out"
    code, stdout, err = _run("fleet", fleet_dir, "-o", out)
    assert code == 0, err
    assert "mysqldump --password=<redacted> mail" in (out / "fleet.json").read_text()
    for name in ("fleet.json", "fleet.html"):
        assert SECRET not in (out / name).read_text(), name
    assert SECRET not in stdout + err


def test_no_fleet_report_carries_a_credential_from_a_hosts_report(fleet_dir, tmp_path):
    code, _, err = _run("evaluate", fleet_dir / "drifted" / "facts.json", "-o", tmp_path / "drifted",
                        "--format", "json")
    assert code in (0, 1), err
    report = json.loads((tmp_path / "drifted" / "report.json").read_text())
    for result in report["results"]:
        result["title"] = f"{result['title']} (ask bob, password={SECRET})"
    (fleet_dir / "drifted" / "report.json").write_text(json.dumps(report))
    out = tmp_path / "out"
    code, stdout, err = _run("fleet", fleet_dir, "-o", out)
    assert code == 0, err
    for name in ("fleet.json", "fleet.html"):
        assert SECRET not in (out / name).read_text(), name
    assert SECRET not in stdout + err


def test_a_fleet_of_reports_and_markers_only_creates_its_output_directory(fleet_dir, tmp_path):
    for name in ("hardened", "drifted", "default"):
        (fleet_dir / name / "facts.json").unlink()
        (fleet_dir / name / "not-audited.json").write_text(json.dumps({"state": "unreachable", "reason": "x"}))
    out = tmp_path / "new" / "fleet-out"
    code, _, err = _run("fleet", fleet_dir, "-o", out)
    assert code == 0, err
    assert len(json.loads((out / "fleet.json").read_text())["not_audited"]) == 4
