"""A host writes its own files into the fleet directory: a hostile report, marker or link
there spoils that host's entry at most, never the fleet report, and never makes the
controller read (or wait on) a file outside the fleet directory."""

from __future__ import annotations

import json
import os

from test_fleet import _run, fleet_dir  # noqa: F401  (a fixture)
from test_fleet_network import swept_fleet  # noqa: F401  (a fixture)

SECRET = "CONTROLLERSECRET"


def _host_report(fleet_dir, tmp_path, name="drifted") -> dict:
    code, _, err = _run("evaluate", fleet_dir / name / "facts.json", "-o", tmp_path / "eval" / name,
                        "--format", "json")
    assert code in (0, 1), err
    return json.loads((tmp_path / "eval" / name / "report.json").read_text())


def _fleet_json(fleet_dir, tmp_path) -> dict:
    out = tmp_path / "out"
    code, _, err = _run("fleet", fleet_dir, "-o", out)
    assert code == 0, err
    return json.loads((out / "fleet.json").read_text())


def _not_audited(fleet, name) -> dict:
    return next(e for e in fleet["not_audited"] if e["name"] == name)


def test_a_host_report_whose_score_is_not_a_number_is_not_audited_and_the_fleet_is_built(fleet_dir, tmp_path):
    report = _host_report(fleet_dir, tmp_path)
    report["score"] = "100"
    (fleet_dir / "drifted" / "facts.json").unlink()
    (fleet_dir / "drifted" / "report.json").write_text(json.dumps(report))
    fleet = _fleet_json(fleet_dir, tmp_path)
    assert "score" in _not_audited(fleet, "drifted")["reason"]
    assert {h["name"] for h in fleet["hosts"]} == {"default", "hardened"}


def test_a_host_report_with_a_severity_the_baseline_has_not_is_not_audited_and_the_fleet_is_built(
        fleet_dir, tmp_path):
    report = _host_report(fleet_dir, tmp_path)
    for result in report["results"]:
        if result["status"] == "fail":
            result["severity"] = "apocalyptic"
    (fleet_dir / "drifted" / "facts.json").unlink()
    # Sorted first, so its control metadata would be the fleet's.
    os.rename(fleet_dir / "drifted", fleet_dir / "aaa")
    (fleet_dir / "aaa" / "report.json").write_text(json.dumps(report))
    fleet = _fleet_json(fleet_dir, tmp_path)
    assert "severity" in _not_audited(fleet, "aaa")["reason"]


def test_a_host_directory_that_links_out_of_the_fleet_directory_is_not_read(fleet_dir, tmp_path):
    outside = tmp_path / "controller"
    outside.mkdir()
    report = _host_report(fleet_dir, tmp_path)
    (outside / "report.json").write_text(json.dumps(report))
    os.symlink(outside, fleet_dir / "sneaky")
    fleet = _fleet_json(fleet_dir, tmp_path)
    assert "sneaky" not in {h["name"] for h in fleet["hosts"]}
    assert "link" in _not_audited(fleet, "sneaky")["reason"]


def test_a_report_that_links_out_of_the_fleet_directory_is_not_read(fleet_dir, tmp_path):
    report = _host_report(fleet_dir, tmp_path)
    (tmp_path / "elsewhere.json").write_text(json.dumps(report))
    (fleet_dir / "drifted" / "facts.json").unlink()
    os.symlink(tmp_path / "elsewhere.json", fleet_dir / "drifted" / "report.json")
    fleet = _fleet_json(fleet_dir, tmp_path)
    assert "drifted" not in {h["name"] for h in fleet["hosts"]}
    assert "link" in _not_audited(fleet, "drifted")["reason"]


def test_a_marker_that_links_out_of_the_fleet_directory_is_not_read(fleet_dir, tmp_path):
    (tmp_path / "vault.json").write_text(json.dumps({"state": "unreachable", "reason": SECRET}))
    (fleet_dir / "lost" / "not-audited.json").unlink()
    os.symlink(tmp_path / "vault.json", fleet_dir / "lost" / "not-audited.json")
    out = tmp_path / "out"
    code, stdout, err = _run("fleet", fleet_dir, "-o", out)
    assert code == 0, err
    assert SECRET not in (out / "fleet.json").read_text() + stdout + err
    assert "link" in _not_audited(json.loads((out / "fleet.json").read_text()), "lost")["reason"]


def test_a_net_marker_that_links_out_of_the_fleet_directory_is_not_read(fleet_dir, tmp_path):
    (tmp_path / "vault.json").write_text(json.dumps({"state": "failed", "reason": SECRET}))
    (fleet_dir / "hardened" / "net").mkdir()
    os.symlink(tmp_path / "vault.json", fleet_dir / "hardened" / "net" / "not-audited.json")
    out = tmp_path / "out"
    code, stdout, err = _run("fleet", fleet_dir, "-o", out)
    assert code == 0, err
    assert SECRET not in (out / "fleet.json").read_text() + stdout + err
    host = next(h for h in json.loads((out / "fleet.json").read_text())["hosts"] if h["name"] == "hardened")
    assert host["network"]["state"] == "failed"
    assert "link" in host["network"]["reason"]


def test_a_marker_that_is_a_fifo_is_not_waited_on(fleet_dir, tmp_path):
    (fleet_dir / "lost" / "not-audited.json").unlink()
    os.mkfifo(fleet_dir / "lost" / "not-audited.json")
    fleet = _fleet_json(fleet_dir, tmp_path)
    assert _not_audited(fleet, "lost")["state"] == "failed"


ESC = "\x1b]8;;http://evil.invalid\x07\x1b[2J"


def test_a_net_report_with_a_port_that_is_not_a_number_fails_that_sweep_not_the_fleet(swept_fleet):
    net_path = swept_fleet["dir"] / "live" / "net" / "report.json"
    net = json.loads(net_path.read_text())
    for index, port in enumerate(net["facts"]["nmap_tcp"]["open"]):
        port["port"] = f"{ESC}{index}"
    net_path.write_text(json.dumps(net))
    code, stdout, err = _run("fleet", swept_fleet["dir"], "-o", swept_fleet["out"])
    assert code == 0, err
    fleet = json.loads((swept_fleet["out"] / "fleet.json").read_text())
    view = next(h for h in fleet["hosts"] if h["name"] == "live")["network"]
    assert view["state"] == "failed" and view["reason"].startswith("bad net report")
    assert "\x1b" not in stdout + err


def test_a_host_report_whose_section_is_not_a_string_is_not_audited_and_the_fleet_is_built(fleet_dir, tmp_path):
    report = _host_report(fleet_dir, tmp_path)
    for result in report["results"]:
        result["section"] = {"nested": True}
    (fleet_dir / "drifted" / "facts.json").unlink()
    (fleet_dir / "drifted" / "report.json").write_text(json.dumps(report))
    fleet = _fleet_json(fleet_dir, tmp_path)
    assert _not_audited(fleet, "drifted")["reason"].startswith("bad report")


def test_a_control_id_with_terminal_escapes_is_shown_as_escapes_in_the_fleet_summary(fleet_dir, tmp_path):
    report = _host_report(fleet_dir, tmp_path)
    for result in report["results"]:
        result["id"] += ESC
    (fleet_dir / "drifted" / "facts.json").unlink()
    (fleet_dir / "drifted" / "report.json").write_text(json.dumps(report))
    code, stdout, err = _run("fleet", fleet_dir, "-o", tmp_path / "out")
    assert code == 0, err
    assert "\x1b" not in stdout
    assert "mail.databytes\\x1b]8;;http://evil.invalid\\x07" in stdout


def test_one_hosts_control_titles_do_not_rename_the_control_for_the_fleet(fleet_dir, tmp_path):
    report = _host_report(fleet_dir, tmp_path)
    for result in report["results"]:
        result["title"] = "Informational only, nothing to do"
    (fleet_dir / "aaa").mkdir()  # sorted first: its titles were the fleet's
    (fleet_dir / "aaa" / "report.json").write_text(json.dumps(report))
    fleet = _fleet_json(fleet_dir, tmp_path)
    databytes = next(e for e in fleet["top_failures"] if e["id"] == "mail.databytes")
    assert "aaa" in databytes["failed_on"]
    assert databytes["title"] != "Informational only, nothing to do"


def test_a_host_report_whose_baseline_digest_is_not_a_string_is_not_audited_and_the_fleet_is_built(
        fleet_dir, tmp_path):
    report = _host_report(fleet_dir, tmp_path)
    report["baseline"]["digest"] = 5
    (fleet_dir / "drifted" / "facts.json").unlink()
    (fleet_dir / "drifted" / "report.json").write_text(json.dumps(report))
    fleet = _fleet_json(fleet_dir, tmp_path)
    assert "digest" in _not_audited(fleet, "drifted")["reason"]


def test_a_host_report_whose_coverage_is_not_counted_is_not_audited(fleet_dir, tmp_path):
    report = _host_report(fleet_dir, tmp_path)
    report["coverage"]["decided"] = ESC
    (fleet_dir / "drifted" / "facts.json").unlink()
    (fleet_dir / "drifted" / "report.json").write_text(json.dumps(report))
    out = tmp_path / "out"
    code, stdout, err = _run("fleet", fleet_dir, "-o", out)
    assert code == 0, err
    assert "\x1b" not in stdout
    assert "coverage" in _not_audited(json.loads((out / "fleet.json").read_text()), "drifted")["reason"]


def test_a_host_report_whose_section_title_is_not_a_string_is_not_audited_and_the_fleet_is_built(
        fleet_dir, tmp_path):
    report = _host_report(fleet_dir, tmp_path)
    for section in report["sections"].values():
        section["title"] = 5
    (fleet_dir / "drifted" / "facts.json").unlink()
    (fleet_dir / "drifted" / "report.json").write_text(json.dumps(report))
    fleet = _fleet_json(fleet_dir, tmp_path)
    assert "title" in _not_audited(fleet, "drifted")["reason"]


def test_a_host_report_whose_undecided_counts_are_no_mapping_is_not_audited_and_the_fleet_is_built(
        fleet_dir, tmp_path):
    report = _host_report(fleet_dir, tmp_path)
    report["coverage"]["undecided"] = 5
    (fleet_dir / "drifted" / "facts.json").unlink()
    (fleet_dir / "drifted" / "report.json").write_text(json.dumps(report))
    fleet = _fleet_json(fleet_dir, tmp_path)
    assert "undecided" in _not_audited(fleet, "drifted")["reason"]
