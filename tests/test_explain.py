"""`hostaudit explain ID`: a control's why, how in each mode, parameters and fix."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout

from hostaudit.cli import main


def _run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_explain_names_the_facts_read_in_each_mode():
    code, out, _ = _run("explain", "ssh.port")
    assert code == 0
    assert "live: reads" in out and "listeners:" in out and "net: reads" in out and "greetings:" in out


def test_explain_shows_parameters_remediation_and_reference():
    _, out, _ = _run("explain", "mail.databytes")
    assert "databytes_max: 5242880" in out and "Remediation" in out and "Reference" in out


def test_explain_of_a_manual_control_gives_the_steps_a_person_follows():
    _, out, _ = _run("explain", "boot.bios-password")
    assert "1. Reboot the server" in out


def test_explain_wraps_its_own_text_under_80_columns():
    """Remediation is printed as the baseline wrote it (commands to copy); the rest is wrapped."""
    _, out, _ = _run("explain", "fw.inbound-allowed")
    assert all(len(line) < 80 for line in out.split("\nRemediation\n")[0].splitlines())


def test_explain_json_carries_the_same_data():
    _, out, _ = _run("explain", "mail.databytes", "--json")
    assert json.loads(out)["checked"]["facts"]["*"][0]["fact"] == "qmail_control"


def test_a_mistyped_control_id_suggests_the_nearest():
    code, _, err = _run("explain", "mail.databyte")
    assert code == 2 and "did you mean 'mail.databytes'" in err


def test_explain_describes_every_fact_in_words_not_data_shapes():
    # A probe's first docstring paragraph is what explain shows an administrator; the shape
    # of its data belongs in the paragraphs after it.
    from hostaudit.baseline import load_checked
    from hostaudit.explain import describe

    shapes = {}
    for control in load_checked("gcux-qmail").controls:
        checked = describe(control)["checked"] or {"facts": {}}
        for facts in checked["facts"].values():
            for fact in facts:
                if not fact["probe"] or any(mark in fact["probe"] for mark in ("{", ":func:")):
                    shapes[fact["fact"]] = fact["probe"]
    assert shapes == {}


def test_an_unknown_control_without_a_site_file_suggests_naming_one():
    code, _, err = _run("explain", "site.ssh.banner-anonymous")
    assert code == 2
    assert err == ("error: unknown control 'site.ssh.banner-anonymous' in baseline gcux-qmail (a site "
                   "baseline's own control? name its file with --baseline)\n")
