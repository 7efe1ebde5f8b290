"""The shipped sysctl.* and files.immutable.* controls became data (generic kinds sysctl and
file): on the same fixture trees they give the same statuses, messages and evidence as the
Python checks they replaced. tests/data/shipped_sysctl_files_before.json was written by
tests/shipped_fixtures.py run against the code before the change (commit c7b6750); only
the note of an image without an init was reworded since (checks/scheduling.py)."""

import json
from pathlib import Path

from shipped_fixtures import all_results

BEFORE = Path(__file__).parent / "data" / "shipped_sysctl_files_before.json"


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
