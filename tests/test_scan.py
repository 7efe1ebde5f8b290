"""The scan library call that the CLI, drift runs and fleets share."""

from __future__ import annotations

import pytest
from support import RootBuilder

from hostaudit.baseline import load
from hostaudit.errors import InputError
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
