"""A fact bundle is written on the audited host: a compromised one sends whatever it likes.
Evaluating it never fails the run (exit 3): a malformed bundle is bad input naming the JSON
path; a fact whose inner shape is wrong makes the checks that read it ``error``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from test_bundle import _bad_bundle, _run, good_bundle  # noqa: F401  (a fixture)


def test_a_bundle_whose_target_invocation_holds_no_string_is_bad_input_naming_the_path(good_bundle, tmp_path):
    good_bundle["target"]["invocation"] = [{"argv": "hostaudit"}]
    code, err = _bad_bundle(tmp_path, json.dumps(good_bundle))
    assert code == 2, err
    assert "$.target.invocation[0]" in err


def test_a_bundle_whose_target_os_is_no_object_is_bad_input_naming_the_path(good_bundle, tmp_path):
    good_bundle["target"]["os"] = "Debian"
    code, err = _bad_bundle(tmp_path, json.dumps(good_bundle))
    assert code == 2, err
    assert "$.target.os" in err


def test_a_fact_whose_path_is_no_string_makes_its_checks_error_and_the_report_is_written(good_bundle, tmp_path):
    good_bundle["facts"]["qmail_control"]["databytes"]["path"] = {"a": 1}
    bundle = tmp_path / "facts.json"
    bundle.write_text(json.dumps(good_bundle))
    code, _, err = _run("evaluate", bundle, "--format", "json", "-o", tmp_path / "out")
    assert code in (0, 1), err
    results = {r["id"]: r for r in json.loads((tmp_path / "out" / "report.json").read_text())["results"]}
    assert results["mail.databytes"]["status"] == "error"
    assert "evidence" in results["mail.databytes"]["message"]


def test_a_bundle_nested_too_deeply_to_read_is_bad_input(tmp_path):
    code, err = _bad_bundle(tmp_path, "[" * 200_000 + "]" * 200_000)
    assert code == 2, err
    assert "bad.json" in err and "nested too deeply" in err


def test_a_bundle_named_by_a_fifo_is_bad_input_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "facts.json"
    os.mkfifo(fifo)
    done = subprocess.run([sys.executable, "-m", "hostaudit", "evaluate", str(fifo), "-o", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=20)
    assert done.returncode == 2, done.stderr
    assert "not a regular file" in done.stderr and str(fifo) in done.stderr


def test_a_fact_nested_deeper_than_any_probe_makes_is_bad_input_naming_its_path(good_bundle, tmp_path):
    value = "x"
    for _ in range(500):
        value = [value]
    good_bundle["facts"]["qmail_control"]["deep"] = value
    code, err = _bad_bundle(tmp_path, json.dumps(good_bundle))
    assert code == 2, err
    assert "$.facts.qmail_control.deep" in err and "nested" in err
