"""report.json: the built report validates against the published schema, and bad ones don't.

``sample_report`` is also used by the HTML and terminal renderer tests.
"""

from __future__ import annotations

import copy
import json
import os

import pytest

from hostaudit.baseline import Baseline
from hostaudit.model import ControlResult, Result, Severity, ev
from hostaudit.reports import json_report
from hostaudit.reports.atomic import write_atomic
from hostaudit.reports.json_report import ReportInvalid
from hostaudit.reports.model import build_report
from hostaudit.scoring import score

SECTIONS = {"boot": "Firmware and boot loader", "mail": "qmail", "os": "Operating system"}


def control_result(cid: str, severity: str, result: Result, **words) -> ControlResult:
    return ControlResult(
        id=cid,
        title=words.pop("title", f"title of {cid}"),
        section=cid.split(".")[0],
        severity=Severity(severity),
        result=result,
        rationale=words.pop("rationale", "Because the GCUX practical says so."),
        remediation=words.pop("remediation", "echo fix > /etc/somewhere"),
        reference=words.pop("reference", "GCUX 2002, step 1"),
        duration_ms=0.5,
    )


def sample_results() -> list[ControlResult]:
    """A small run with every status, including an evidence line that tries to inject HTML."""
    return [
        control_result("boot.loader-password", "high", Result.failed(
            "no GRUB password is set",
            evidence=[ev("/boot/grub/grub.cfg", "no 'set superusers' line"),
                      ev("/etc/grub.conf", "absent")],
            expected="password_pbkdf2 for a superuser")),
        control_result("boot.bios-password", "high",
                       Result.manual("Enter the BIOS setup and check.")),
        control_result("mail.databytes", "medium", Result.failed(
            "databytes is 52428800, above the limit",
            evidence=[ev("/var/qmail/control/<script>alert(1)</script>",
                         "<script>alert(1)</script>", 1)],
            expected="<= 10000000")),
        control_result("mail.relay", "high", Result.passed(
            "relaying is closed", evidence=[ev("/etc/tcp.smtp", ":allow", 3)])),
        control_result("os.ctrl-alt-del", "medium", Result.passed(
            "ctrl-alt-del.target is masked",
            evidence=[ev("/etc/systemd/system/ctrl-alt-del.target", "-> /dev/null")])),
        control_result("os.shell-timeout", "medium",
                       Result.error("cannot decide: /etc/profile unreadable")),
        control_result("os.history-size", "low", Result.not_applicable("no login shells")),
    ]


def sample_report(results: list[ControlResult] | None = None) -> dict:
    """A report as build_report makes it, from fake results and a fake baseline."""
    results = sample_results() if results is None else results
    baseline = Baseline(
        name="gcux-qmail",
        title="GCUX qmail mail server (Red Hat 7.3, 2002)",
        files=("/usr/lib/baselines/gcux-qmail.yaml",),
        digest="sha256:" + "ab" * 32,
        controls=(),
        sections=SECTIONS,
    )
    audit = {
        "results": results,
        "summary": score(results),
        "facts": {"passwd": {"path": "/etc/passwd", "users": []},
                  "packages": {"error": "no rpm db"}},
        "facts_used": ["packages", "passwd"],
        "timing": {"started": "2024-05-01T10:00:00+00:00", "duration_s": 1.25,
                   "collect_s": 1.0, "evaluate_s": 0.25, "probes_ms": {"passwd": 3.1}},
    }
    return build_report(
        audit=audit,
        baseline=baseline,
        target={"mode": "image", "root": "/srv/golden", "image": "/srv/golden"},
        selection={"only": None, "skip": ["fs."]},
    )


def test_built_report_validates_against_schema():
    json_report.validate(sample_report())


def test_target_kind_is_schema_1s_name_for_the_mode():
    target = sample_report()["target"]
    assert (target["mode"], target["kind"]) == ("image", "image")


def test_report_with_nothing_scored_validates_with_null_score():
    report = sample_report([control_result("os.history-size", "low", Result.manual("look"))])
    assert report["score"] is None
    json_report.validate(report)


def test_network_target_without_root_validates():
    report = sample_report()
    report["target"] = {"mode": "net", "kind": "net", "root": None,
                        "address": "192.0.2.25", "vantage": "scanner1"}
    json_report.validate(report)


def test_target_without_mode_is_invalid():
    report = sample_report()
    del report["target"]["mode"]
    with pytest.raises(ReportInvalid, match=r"^\$\.target: 'mode' is a required property"):
        json_report.validate(report)


def test_schema_is_draft_2020_12_and_loaded_once():
    assert json_report.schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert json_report.schema() is json_report.schema()


def test_report_without_results_is_invalid():
    report = sample_report()
    del report["results"]
    with pytest.raises(ReportInvalid, match=r"'results' is a required property") as err:
        json_report.validate(report)
    assert err.value.json_path == "$"


def test_result_with_unknown_status_is_invalid_and_names_its_path():
    report = sample_report()
    report["results"][2]["status"] = "passed"
    with pytest.raises(ReportInvalid) as err:
        json_report.validate(report, source="old/report.json")
    assert err.value.json_path == "$.results[2].status"
    assert str(err.value).startswith("old/report.json: $.results[2].status: 'passed' is not one of")


def test_evidence_with_extra_key_is_invalid():
    report = sample_report()
    report["results"][0]["evidence"][0]["secret"] = "x"
    with pytest.raises(ReportInvalid) as err:
        json_report.validate(report)
    assert err.value.json_path == "$.results[0].evidence[0]"


def test_result_id_must_look_like_a_control_id():
    report = sample_report()
    report["results"][0]["id"] = "Boot Loader"
    with pytest.raises(ReportInvalid, match=r"\$\.results\[0\]\.id"):
        json_report.validate(report)


def test_score_above_100_is_invalid():
    report = sample_report()
    report["score"] = 101
    with pytest.raises(ReportInvalid, match=r"^\$\.score: 101 is greater than the maximum"):
        json_report.validate(report)


def test_render_is_stable_sorted_and_keeps_non_ascii():
    report = sample_report()
    report["results"][0]["message"] = "Größe überschritten"
    text = json_report.render(report)
    assert text == json_report.render(copy.deepcopy(report))
    assert "Größe überschritten" in text
    assert text.index('"baseline"') < text.index('"schema_version"') < text.index('"tool"')
    assert json.loads(text) == report


def test_rendered_json_round_trips_and_still_validates():
    json_report.validate(json.loads(json_report.render(sample_report())))


def test_write_replaces_file_atomically_without_leftovers(tmp_path):
    target = tmp_path / "report.json"
    target.write_text("old")
    json_report.write(sample_report(), target)
    assert json.loads(target.read_text())["baseline"]["name"] == "gcux-qmail"
    assert os.listdir(tmp_path) == ["report.json"]


def test_failed_write_keeps_old_file_and_removes_temp(tmp_path):
    target = tmp_path / "report.json"
    target.write_text("old")
    with pytest.raises(UnicodeEncodeError):
        write_atomic(target, "bad surrogate \udc80")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["report.json"]


def test_undecodable_bytes_are_written_as_surrogate_escapes_and_round_trip(tmp_path):
    report = sample_report()
    name = "/etc/profile.d/bad\udcff.sh"
    report["facts"]["shell_profile"] = {"files": [name], name: "\u202e\x9b"}
    text = json_report.render(report)
    assert '"/etc/profile.d/bad\\udcff.sh"' in text
    assert '"\\u202e\\u009b"' in text
    assert json.loads(text) == report
    json_report.write(report, tmp_path / "report.json")
    back = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert back["facts"]["shell_profile"]["files"][0].encode("utf-8", "surrogateescape") == \
        b"/etc/profile.d/bad\xff.sh"


def test_build_report_redacts_findings_but_not_our_words():
    result = control_result("integrity.tripwire-scheduled", "medium", Result.failed(
        "tripwire --local-passphrase S3CRETMARK runs from cron",
        evidence=[ev("/etc/cron.d/tw", "0 4 * * * root tripwire --check -Q S3CRETMARK", 1)],
        expected="no password=S3CRETMARK on a command line"),
        remediation="remove --local-passphrase from the cron line")
    report = sample_report([result])
    [shown] = report["results"]
    assert shown["message"] == "tripwire --local-passphrase <redacted> runs from cron"
    assert shown["evidence"] == [{"where": "/etc/cron.d/tw", "line": 1,
                                  "text": "0 4 * * * root tripwire --check -Q <redacted>"}]
    assert shown["expected"] == "no password=<redacted> on a command line"
    assert shown["remediation"] == "remove --local-passphrase from the cron line"
    assert "S3CRETMARK" not in json_report.render(report)


def test_build_report_redacts_facts_and_target():
    results = sample_results()
    baseline = Baseline(name="b", title="t", files=("b.yaml",), digest="sha256:" + "00" * 32,
                        controls=(), sections=SECTIONS)
    audit = {
        "results": results, "summary": score(results), "facts_used": ["fstab"],
        "facts": {"fstab": {"entries": [{"options": ["username=u", "password=S3CRETMARK"]}]}},
        "timing": {"started": "2024-05-01T10:00:00+00:00", "duration_s": 1.0,
                   "collect_s": 1.0, "evaluate_s": 0.0, "probes_ms": {}},
    }
    report = build_report(audit=audit, baseline=baseline, selection={"only": None, "skip": []},
                          target={"mode": "image", "root": "/srv",
                                  "image": "https://u:S3CRETMARK@h/img.tar"})
    assert report["facts"]["fstab"]["entries"][0]["options"] == ["username=u", "password=<redacted>"]
    assert report["target"]["image"] == "https://u:<redacted>@h/img.tar"
    assert audit["facts"]["fstab"]["entries"][0]["options"][1] == "password=S3CRETMARK"


def test_target_with_os_kernel_user_and_invocation_validates():
    report = sample_report()
    report["target"].update({"os": {"name": "Debian GNU/Linux", "version_id": "12"},
                             "kernel": "6.1.0", "user": "root",
                             "invocation": ["hostaudit", "scan", "--password=***"]})
    json_report.validate(report)


def test_invocation_must_be_a_list_of_strings():
    report = sample_report()
    report["target"]["invocation"] = "hostaudit scan"
    with pytest.raises(ReportInvalid, match=r"^\$\.target\.invocation: "):
        json_report.validate(report)
