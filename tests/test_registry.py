"""The shipped baseline and the check registry agree, one to one."""

from hostaudit.baseline import load, load_checked, shipped_names
from hostaudit.registry import CHECKS, PROBES, load_all, spec_for


def _shipped():
    load_all()
    return load("gcux-qmail")


def test_every_automated_control_of_the_shipped_baseline_has_a_check():
    missing = [c.id for c in _shipped().controls if not c.manual and spec_for(c) is None]
    assert missing == []


def test_every_check_belongs_to_a_control_of_the_shipped_baseline():
    ids = set(_shipped().ids)
    assert sorted(set(CHECKS) - ids) == []


def test_manual_controls_tell_a_person_how_to_verify():
    manual = [c for c in _shipped().controls if c.manual]
    assert manual, "the document has manual steps (BIOS password, daily log review)"
    assert all(len(c.manual) > 40 and not c.modes for c in manual)


def test_every_fact_a_check_needs_has_a_probe():
    load_all()
    unknown = sorted({n for spec in CHECKS.values() for n in spec.needs if n not in PROBES})
    assert unknown == []


def test_every_shipped_baseline_validates():
    for name in shipped_names():
        assert load_checked(name).controls


def test_control_ids_are_unique_and_sections_match_their_prefix():
    baseline = _shipped()
    assert len(baseline.ids) == len(set(baseline.ids))
    for control in baseline.controls:
        assert control.id.split(".")[0] == control.section
