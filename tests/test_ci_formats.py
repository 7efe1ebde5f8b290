"""report.junit.xml, report.sarif and GitHub annotations: what CI systems read back."""

import io
import json
import os
import xml.etree.ElementTree as ET
from collections import Counter
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import jsonschema
import pytest
from junitparser import Error, Failure, JUnitXml, Skipped
from test_report_json import control_result, sample_report

from hostaudit.cli import main
from hostaudit.model import Result, ev
from hostaudit.reports import sarif
from hostaudit.reports.github_annotations import command, escape_data, escape_property

SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
HOSTILE_FSTAB = "# data disks\n/dev/sdb1\x1b]0;pwned\x07\x1b[2J\u202e /home ext4 defaults 0 0\n"


def _run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def outputs(tmp_root, tmp_path, monkeypatch):
    """One audit of a small root written as json, junit and sarif: failures (one from a
    hostile fstab line), errors, manual, not applicable and a waived control."""
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    tmp_root.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\ngames:x:5:60::/:/usr/sbin/nologin\n")
    tmp_root.write("/etc/group", "root:x:0:\n")
    tmp_root.write("/etc/fstab", HOSTILE_FSTAB)
    profile_d = tmp_root.mkdir("/etc/profile.d")
    open(os.path.join(os.fsencode(profile_d), b"bad\xff\x1b[2J.sh"), "wb").close()
    site = tmp_path / "site.yaml"
    site.write_text("name: site\nextends: gcux-qmail\nwaivers:\n  - control: accounts.removed-users\n"
                    "    reason: legacy\n    approved_by: J. Doe\n    expires: 2999-12-31\n")
    out = tmp_path / "out"
    out.mkdir()
    code, _, err = _run("scan", "--root", str(tmp_root.path), "--baseline", str(site), "-o", str(out),
                        "--format", "json,junit,sarif", "--quiet")
    assert code == 0, err
    return out, json.loads((out / "report.json").read_text())


def test_junit_has_one_testcase_per_control_grouped_by_section_with_the_report_counts(outputs):
    out, report = outputs
    xml = JUnitXml.fromfile(str(out / "report.junit.xml"))
    suites = {suite.name.split(":")[0]: suite for suite in xml}
    assert set(suites) == set(report["sections"])
    counts = report["counts"]
    assert xml.tests == len(report["results"])
    assert xml.failures == counts["fail"] > 0
    assert xml.errors == counts["error"] > 0
    assert xml.skipped == counts["not_applicable"] + counts["manual"] + counts["waived"]
    started = report["timing"]["started"]
    assert all(suite.timestamp == started.removesuffix("+00:00") for suite in suites.values())
    for name, suite in suites.items():
        in_section = [r for r in report["results"] if r["section"] == name]
        assert sorted(case.name.split(":")[0] for case in suite) == sorted(r["id"] for r in in_section)
        kinds = Counter(type(case.result[0]).__name__ if case.result else "pass" for case in suite)
        assert kinds["Failure"] == sum(r["status"] == "fail" for r in in_section) == suite.failures


def test_junit_failure_carries_message_and_evidence_and_waived_is_skipped(outputs):
    out, report = outputs
    cases = {case.name.split(":")[0]: case for suite in JUnitXml.fromfile(str(out / "report.junit.xml"))
             for case in suite}
    home = cases["fs.mount-options.home"]
    [failure] = home.result
    assert isinstance(failure, Failure)
    assert failure.message == next(r["message"] for r in report["results"] if r["id"] == "fs.mount-options.home")
    assert "/etc/fstab:2: /dev/sdb1\\x1b]0;pwned\\x07\\x1b[2J\\u202e /home" in failure.text
    [skipped] = cases["accounts.removed-users"].result
    assert isinstance(skipped, Skipped) and skipped.message.startswith("waived: waived until 2999-12-31")
    [manual] = cases["boot.bios-password"].result
    assert isinstance(manual, Skipped)
    assert manual.message == "manual: This cannot be read from the running system; a person with console access must check it."
    assert "1. Reboot the server" in manual.text
    erred = next(r["id"] for r in report["results"] if r["status"] == "error")
    assert isinstance(cases[erred].result[0], Error)


def test_junit_of_hostile_target_text_is_well_formed_xml(outputs):
    out, _ = outputs
    raw = (out / "report.junit.xml").read_bytes()
    ET.fromstring(raw)
    for char in ("\x1b", "\x07", "\u202e"):
        assert char.encode() not in raw


def test_sarif_validates_against_the_sarif_2_1_0_schema(outputs):
    out, _ = outputs
    schema = json.loads(SARIF_SCHEMA.read_text())
    log = json.loads((out / "report.sarif").read_text(encoding="utf-8"))
    errors = [e.message for e in jsonschema.Draft4Validator(schema).iter_errors(log)]
    assert errors == []
    assert log["version"] == "2.1.0"


def test_sarif_has_a_rule_per_control_and_a_located_result_per_failure(outputs):
    out, report = outputs
    [run] = json.loads((out / "report.sarif").read_text(encoding="utf-8"))["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [r["id"] for r in report["results"]]
    failed = [r for r in report["results"] if r["status"] == "fail"]
    assert [r["ruleId"] for r in run["results"]] == [r["id"] for r in failed]
    home = next(r for r in run["results"] if r["ruleId"] == "fs.mount-options.home")
    location = home["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "etc/fstab", "uriBaseId": "TARGETROOT"}
    assert location["region"] == {"startLine": 2}
    assert home["level"] == "warning"  # a medium control
    rule = rules[home["ruleIndex"]]
    assert rule["id"] == "fs.mount-options.home" and rule["defaultConfiguration"]["level"] == "warning"
    assert "Remediation" in rule["help"]["text"] and rule["fullDescription"]["text"]
    assert "\\x1b]0;pwned" in home["message"]["text"]
    errors = [n["associatedRule"]["id"] for n in run["invocations"][0]["toolExecutionNotifications"]]
    assert errors == [r["id"] for r in report["results"] if r["status"] == "error"]
    assert run["invocations"][0]["executionSuccessful"] is False


def _sarif_location(evidence) -> dict:
    report = sample_report([control_result("net.tcp-ports", "high", Result.failed(
        "TCP ports open outside the allowed set: 8080", evidence=evidence))])
    log = sarif.sarif(report)
    assert list(jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text())).iter_errors(log)) == []
    [result] = log["runs"][0]["results"]
    assert result["level"] == "error"  # a high control
    return result["locations"][0]["physicalLocation"]


def test_sarif_locates_a_failure_without_file_evidence_at_the_baseline_file():
    location = _sarif_location([ev("socket table (psutil)", "8080/tcp open on 0.0.0.0, relay")])
    # sample_report's baseline lives outside the working directory: an absolute file URI.
    assert location == {"artifactLocation": {"uri": "file:///usr/lib/baselines/gcux-qmail.yaml"}}


def test_sarif_percent_encodes_an_undecodable_file_name_byte_for_byte():
    location = _sarif_location([ev("/etc/profile.d/bad\udcff x%.sh", "present", 3)])
    assert location["artifactLocation"]["uri"] == "etc/profile.d/bad%FF%20x%25.sh"
    assert location["region"] == {"startLine": 3}


def test_sarif_reads_back_with_sarif_tools(outputs):
    loader = pytest.importorskip("sarif.loader")
    out, report = outputs
    sarif_file = loader.load_sarif_file(str(out / "report.sarif"))
    assert sarif_file.get_result_count() == report["counts"]["fail"]
    records = {r["Code"]: r for r in sarif_file.get_records()}
    assert records["fs.mount-options.home"]["Location"] == "etc/fstab"
    assert records["fs.mount-options.home"]["Line"] == 2


def test_github_annotation_escapes_data_and_properties_as_actions_core_does():
    assert escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    line = command("error", "50% of x:y, then\nmore", title="t:1,2", file="etc/a,b:c%.conf", line=3)
    assert line == "::error title=t%3A1%2C2,file=etc/a%2Cb%3Ac%25.conf,line=3::50%25 of x:y, then\\nmore"


def test_github_annotation_shows_control_characters_of_the_target_as_escapes():
    line = command("error", "evil \x1b[2J\r\n::error::forged", file="etc/\x1bx\u202e")
    assert "\x1b" not in line and "\u202e" not in line and "\n" not in line and "\r" not in line
    assert line == "::error file=etc/\\x1bx\\u202e::evil \\x1b[2J\\r\\n::error::forged"


def test_annotations_are_printed_only_under_github_actions(tmp_root, tmp_path, monkeypatch):
    tmp_root.write("/etc/fstab", "/dev/sdb1 /home ext4 defaults 0 0\n")
    argv = ("scan", "--root", str(tmp_root.path), "-o", str(tmp_path), "--format", "terminal",
            "--only", "fs.mount-options.home")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    code, out, _ = _run(*argv)
    assert code == 0
    assert "::error title=hostaudit fs.mount-options.home,file=etc/fstab,line=1::" in out
    monkeypatch.delenv("GITHUB_ACTIONS")
    assert "::error" not in _run(*argv)[1]
