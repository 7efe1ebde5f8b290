"""The scan library call that the CLI, drift runs and fleets share."""

from __future__ import annotations

import os
import pwd

import pytest
from support import RootBuilder

from hostaudit.baseline import load
from hostaudit.errors import InputError
from hostaudit.redact import MARK, redact
from hostaudit.scan import TargetSpec, open_target, plan, scan


def test_scan_of_an_image_root_reports_each_selected_control(tmp_path):
    root = RootBuilder(tmp_path / "root")
    root.write("/var/qmail/control/databytes", "5000000\n")
    with open_target(TargetSpec(root=str(root.path))) as target:
        run = scan(target, load("gcux-qmail"), only=["mail.databytes", "mail.badmailfrom"])
    statuses = {r["id"]: r["status"] for r in run.report["results"]}
    assert statuses == {"mail.databytes": "pass", "mail.badmailfrom": "fail"}
    assert run.report["target"]["mode"] == "image"


def test_plan_lists_each_needed_fact_once_before_anything_is_collected(tmp_path):
    with open_target(TargetSpec(root=str(tmp_path))) as target:
        audit_plan = plan(load("gcux-qmail"), target, only=["mail."])
    assert "qmail_control" in audit_plan.facts
    assert len(audit_plan.facts) == len(set(audit_plan.facts))


def test_a_network_target_selects_only_network_controls():
    with open_target(TargetSpec(address="192.0.2.2")) as target:
        audit_plan = plan(load("gcux-qmail"), target)
    assert audit_plan.steps and all("net" in control.modes for control, _, _ in audit_plan.steps)


def test_a_range_as_network_target_is_bad_input():
    with pytest.raises(InputError, match="not one IP address"):
        with open_target(TargetSpec(address="192.0.2.0/24")):
            pass


def test_network_sweeps_do_not_combine_with_an_image_root(tmp_path):
    with pytest.raises(InputError, match="does not combine"):
        with open_target(TargetSpec(root=str(tmp_path), network=True)):
            pass


def test_command_line_is_kept_with_credentials_redacted(tmp_path):
    argv = ["hostaudit", "scan", "--root", str(tmp_path), "--password=hunter2", "--passphrase",
            "s3cret", "--baseline", "https://bob:pw@example.invalid/b.yaml", "--only=mail."]
    with open_target(TargetSpec(root=str(tmp_path)), invocation=argv) as target:
        invocation = target.description["invocation"]
    assert invocation == ["hostaudit", "scan", "--root", str(tmp_path), f"--password={MARK}", "--passphrase",
                          MARK, "--baseline", f"https://bob:{MARK}@example.invalid/b.yaml", "--only=mail."]
    assert "hunter2" not in str(invocation) and "s3cret" not in str(invocation)


def test_redaction_leaves_options_without_secrets_alone():
    argv = ["hostaudit", "scan", "--keep", "3", "--output=/srv/a:b@c", "--udp-ports", "53"]
    assert redact(argv) == argv


def test_target_names_the_user_who_ran_the_audit(tmp_path):
    with open_target(TargetSpec(root=str(tmp_path))) as target:
        assert target.description["user"] == pwd.getpwuid(os.geteuid()).pw_name
        assert "invocation" not in target.description
