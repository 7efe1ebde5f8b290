"""A crashing check or probe: the report says one line, --debug shows the traceback."""

import dataclasses
import io
import json
from contextlib import redirect_stderr, redirect_stdout

from hostaudit.cli import main
from hostaudit.facts import collect
from hostaudit.registry import KINDS, PROBES
from hostaudit.runner import evaluate

SITE = """\
name: site
controls:
  - id: site.accounts.uid0
    kind: account
    title: Only root has uid 0
    section: accounts
    severity: high
    modes: [live, image]
    rationale: A second uid 0 is a second root.
    parameters: {uid0_only_root: true}
"""


def _boom(facts, params):
    raise ValueError("first line of the reason\nsecond line stays out of the report")


def test_a_crashed_check_reports_one_line_and_keeps_its_traceback(tmp_root):
    tmp_root.write("/etc/passwd", "root:x:0:0::/root:/bin/sh\n")
    spec = dataclasses.replace(KINDS["account"], func=_boom)
    result = evaluate(spec, collect(tmp_root.host, ["passwd"], mode="image"), {"uid0_only_root": True})
    assert result.message == "check crashed: ValueError: first line of the reason"
    assert "Traceback (most recent call last)" in result.traceback
    assert "in _boom" in result.traceback


def test_a_crashed_probe_reports_one_line_and_keeps_its_traceback(tmp_root, monkeypatch):
    monkeypatch.setitem(PROBES, "passwd", dataclasses.replace(PROBES["passwd"], func=lambda host: 1 / 0))
    facts = collect(tmp_root.host, ["passwd"], mode="image")
    assert facts.error_of("passwd") == "probe passwd failed: ZeroDivisionError: division by zero"
    assert "ZeroDivisionError" in facts.tracebacks()["passwd"]
    assert facts.serialisable()["passwd"] == {"error": "probe passwd failed: ZeroDivisionError: division by zero"}


def _scan(tmp_path, tmp_root, *before):
    site = tmp_path / "site.yaml"
    site.write_text(SITE)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([*before, "scan", "--root", str(tmp_root.path), "--baseline", str(site), "-o",
                     str(tmp_path / "out"), "--format", "json", "--quiet"])
    return code, err.getvalue(), json.loads((tmp_path / "out" / "report.json").read_text())


def test_debug_shows_the_traceback_of_a_crashed_check_and_the_report_one_line(tmp_path, tmp_root, monkeypatch):
    tmp_root.write("/etc/passwd", "root:x:0:0::/root:/bin/sh\n")
    monkeypatch.setitem(KINDS, "account", dataclasses.replace(KINDS["account"], func=_boom))
    code, err, report = _scan(tmp_path, tmp_root, "--debug")
    assert report["results"][0]["message"] == "check crashed: ValueError: first line of the reason"
    assert "debug: check of site.accounts.uid0 crashed:\nTraceback (most recent call last)" in err
    assert "second line stays out of the report" in err
    assert "Traceback" not in json.dumps(report)


def test_without_debug_no_traceback_is_printed(tmp_path, tmp_root, monkeypatch):
    tmp_root.write("/etc/passwd", "root:x:0:0::/root:/bin/sh\n")
    monkeypatch.setitem(KINDS, "account", dataclasses.replace(KINDS["account"], func=_boom))
    _, err, _ = _scan(tmp_path, tmp_root)
    assert "Traceback" not in err


def _leaky_probe(host):
    raise ValueError("parsing failed at 'password=Sw0rdfish1'\x1b[31m")


def test_debug_shows_the_traceback_of_a_crashed_probe_in_a_scan(tmp_path, tmp_root, monkeypatch):
    monkeypatch.setitem(PROBES, "passwd", dataclasses.replace(PROBES["passwd"], func=_leaky_probe))
    _, err, report = _scan(tmp_path, tmp_root, "--debug")
    assert "debug: probe passwd crashed:\nTraceback (most recent call last)" in err
    assert "in _leaky_probe" in err
    assert "Traceback" not in json.dumps(report)


def test_a_debug_traceback_is_redacted_and_its_control_characters_made_visible(tmp_path, tmp_root, monkeypatch):
    monkeypatch.setitem(PROBES, "passwd", dataclasses.replace(PROBES["passwd"], func=_leaky_probe))
    _, err, _ = _scan(tmp_path, tmp_root, "--debug")
    assert "in _leaky_probe" in err
    assert "Sw0rdfish1" not in err and "\x1b" not in err


def test_debug_shows_the_traceback_of_a_crashed_probe_in_collect(tmp_path, tmp_root, monkeypatch):
    monkeypatch.setitem(PROBES, "passwd", dataclasses.replace(PROBES["passwd"], func=_leaky_probe))
    site = tmp_path / "site.yaml"
    site.write_text(SITE)
    err = io.StringIO()
    with redirect_stdout(io.StringIO()), redirect_stderr(err):
        code = main(["--debug", "collect", "--root", str(tmp_root.path), "--baseline", str(site),
                     "-o", str(tmp_path / "facts.json"), "--quiet"])
    assert code == 0
    assert "debug: probe passwd crashed:\nTraceback (most recent call last)" in err.getvalue()
