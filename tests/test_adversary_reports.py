"""Reports read back (diff, plan, gate, fleet) may have been edited by anyone who could
write them: a field of the wrong type is bad input naming its JSON path, never exit 3."""

from __future__ import annotations

import json

import pytest
from test_diff_cli import _run, two_scans  # noqa: F401  (a fixture)


@pytest.mark.parametrize("evidence, path", [
    ("../../etc/shadow", "$.results[2].evidence"),
    (["a line"], "$.results[2].evidence[0]"),
    ([{"where": {"a": 1}, "text": "x"}], "$.results[2].evidence[0].where"),
    ([{"where": "/etc/x", "text": 5}], "$.results[2].evidence[0].text"),
])
def test_a_report_whose_evidence_is_malformed_is_bad_input_naming_the_json_path(tmp_path, two_scans, evidence, path):
    before, after = two_scans
    broken = json.loads(before.read_text())
    broken["results"][2]["evidence"] = evidence
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(broken))
    for argv in (("diff", edited, after, "-o", tmp_path / "d1"), ("diff", after, edited, "-o", tmp_path / "d2"),
                 ("plan", edited)):
        code, _, err = _run(*argv)
        assert code == 2, (argv, err)
        assert path in err and str(edited) in err
    assert not (tmp_path / "d1").exists() and not (tmp_path / "d2").exists()


def test_a_report_whose_message_is_no_string_is_bad_input_naming_the_json_path(tmp_path, two_scans):
    before, after = two_scans
    broken = json.loads(before.read_text())
    broken["results"][2]["message"] = {"a": 1}
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(broken))
    code, _, err = _run("diff", edited, after, "-o", tmp_path / "d")
    assert code == 2, err
    assert "$.results[2].message" in err


def test_a_report_with_a_fact_nested_too_deeply_is_bad_input_naming_its_path(tmp_path, two_scans):
    before, after = two_scans
    broken = json.loads(before.read_text())
    value = "x"
    for _ in range(500):
        value = [value]
    broken["facts"]["passwd"]["deep"] = value
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(broken))
    for argv in (("diff", edited, after, "-o", tmp_path / "d"), ("plan", edited)):
        code, _, err = _run(*argv)
        assert code == 2, (argv, err)
        assert "$.facts.passwd.deep" in err and "nested more than" in err
