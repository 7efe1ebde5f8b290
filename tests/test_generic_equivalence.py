"""Shipped controls that became data give, on the same fixture trees, the same statuses,
messages and evidence as the Python checks they replaced. Each tests/data/shipped_*_before.json
was written by tests/shipped_fixtures.py run against the code before its change:
sysctl.* and files.immutable.* (generic kinds sysctl and file) at commit c7b6750 (only the
note of an image without an init was reworded since, checks/scheduling.py, and the document
tree's /etc/sysctl.conf is read through Debian's /etc/sysctl.d/99-sysctl.conf link, as systemd
reads it),
fs.mount-options.* (generic kind mount) at commit 46d2c71."""

import json
from pathlib import Path

from shipped_fixtures import all_results

BEFORE = Path(__file__).parent / "data" / "shipped_sysctl_files_before.json"
MOUNT_BEFORE = Path(__file__).parent / "data" / "shipped_mount_options_before.json"


def test_converted_controls_give_the_results_of_the_python_checks_they_replace():
    before = json.loads(BEFORE.read_text())
    assert all_results(("sysctl.", "files.")) == before


def test_the_comparison_covers_every_converted_control_and_each_verdict():
    before = json.loads(BEFORE.read_text())
    ids = {cid for results in before.values() for cid in results}
    assert len([i for i in ids if i.startswith("sysctl.")]) == 8
    assert {"files.immutable.passwd", "files.immutable.gshadow"} <= ids
    statuses = {r["status"] for results in before.values() for r in results.values()}
    assert statuses >= {"pass", "fail", "not_applicable"}


def test_mount_option_controls_give_the_results_of_the_python_check_they_replace():
    before = json.loads(MOUNT_BEFORE.read_text())
    assert all_results(("fs.mount-options.",)) == before


def test_the_mount_comparison_covers_pass_and_both_kinds_of_failure():
    before = json.loads(MOUNT_BEFORE.read_text())
    messages = [r["message"] for results in before.values() for r in results.values()]
    assert any("is mounted" in m for m in messages)
    assert any("persistent options lack" in m for m in messages)
    assert any("not a filesystem of its own" in m for m in messages)
