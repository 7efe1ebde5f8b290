"""Baselines are validated before anything runs; every error names file, line and path."""

import textwrap

import pytest

from hostaudit.baseline import load, select
from hostaudit.errors import InputError

PARENT = """\
name: parent
controls:
  - id: mail.databytes
    title: qmail caps message size
    section: mail
    severity: high
    modes: [live, image]
    rationale: Big messages fill the disk.
    parameters: {databytes_max: 5242880}
  - id: mail.badmailfrom
    title: badmailfrom exists
    section: mail
    severity: low
    modes: [live, image]
    rationale: Blocks known spammers.
  - id: boot.bios-password
    title: BIOS password
    section: boot
    severity: high
    modes: []
    manual: Enter the firmware setup and confirm it asks for a password.
    rationale: Physical access.
"""


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_valid_baseline_loads_with_its_controls(tmp_path):
    baseline = load(_write(tmp_path, "parent.yaml", PARENT))
    assert baseline.ids == ["mail.databytes", "mail.badmailfrom", "boot.bios-password"]
    assert baseline.control("mail.databytes").parameters == {"databytes_max": 5242880}
    assert baseline.digest.startswith("sha256:")


def test_malformed_yaml_names_file_and_line(tmp_path):
    path = _write(tmp_path, "bad.yaml", "name: x\ncontrols:\n  - id: [unclosed\n")
    with pytest.raises(InputError) as err:
        load(path)
    assert str(err.value).startswith(f"{path}:")
    assert "malformed YAML" in str(err.value)


def test_schema_violation_names_line_and_json_path(tmp_path):
    broken = PARENT.replace("severity: low", "severity: catastrophic")
    path = _write(tmp_path, "p.yaml", broken)
    with pytest.raises(InputError) as err:
        load(path)
    message = str(err.value)
    assert f"{path}:13:" in message
    assert "$.controls[1].severity" in message
    assert "catastrophic" in message


def test_unknown_property_points_at_its_key(tmp_path):
    path = _write(tmp_path, "p.yaml", PARENT.replace("    rationale: Blocks", "    rationale_typo: x\n    rationale: Blocks"))
    with pytest.raises(InputError) as err:
        load(path)
    assert f"{path}:15:" in str(err.value)
    assert "rationale_typo" in str(err.value)


def test_extends_overrides_parameters_and_severity(tmp_path):
    _write(tmp_path, "parent.yaml", PARENT)
    child = _write(tmp_path, "site.yaml", """\
        name: site
        extends: parent.yaml
        overrides:
          mail.databytes:
            severity: medium
            parameters: {databytes_max: 10485760}
        drop: [mail.badmailfrom]
        """)
    baseline = load(child)
    assert baseline.ids == ["mail.databytes", "boot.bios-password"]
    assert baseline.control("mail.databytes").severity == "medium"
    assert baseline.control("mail.databytes").parameters["databytes_max"] == 10485760
    assert len(baseline.files) == 2


def test_unknown_control_in_overrides_suggests_nearest_id(tmp_path):
    _write(tmp_path, "parent.yaml", PARENT)
    child = _write(tmp_path, "site.yaml", """\
        name: site
        extends: parent.yaml
        overrides:
          mail.databyte: {severity: low}
        """)
    with pytest.raises(InputError) as err:
        load(child)
    assert f"{child}:4:" in str(err.value)
    assert "did you mean 'mail.databytes'" in str(err.value)


def test_unknown_override_points_at_the_mistyped_key_not_its_value(tmp_path):
    _write(tmp_path, "parent.yaml", PARENT)
    child = _write(tmp_path, "site.yaml", """\
        name: site
        extends: parent.yaml
        overrides:
          mail.databyte:
            severity: low
        """)
    with pytest.raises(InputError) as err:
        load(child)
    assert str(err.value).startswith(f"{child}:4: unknown control 'mail.databyte'")


def test_extends_cycle_is_refused(tmp_path):
    a = _write(tmp_path, "a.yaml", "name: a\nextends: b.yaml\n")
    _write(tmp_path, "b.yaml", "name: b\nextends: a.yaml\n")
    with pytest.raises(InputError, match="extends cycle"):
        load(a)


def test_redefining_an_inherited_control_is_refused(tmp_path):
    _write(tmp_path, "parent.yaml", PARENT)
    child = _write(tmp_path, "site.yaml", "name: site\nextends: parent.yaml\ncontrols:\n" +
                   PARENT.split("controls:\n", 1)[1].split("  - id: mail.badmailfrom")[0])
    with pytest.raises(InputError, match="defined twice"):
        load(child)


def test_unknown_shipped_name_lists_what_is_shipped():
    with pytest.raises(InputError, match="no shipped baseline named 'gcux-qmale'"):
        load("gcux-qmale")


def test_only_prefix_selects_a_section(tmp_path):
    baseline = load(_write(tmp_path, "p.yaml", PARENT))
    assert [c.id for c in select(baseline, ["mail."], None)] == ["mail.databytes", "mail.badmailfrom"]


def test_skip_removes_exact_ids(tmp_path):
    baseline = load(_write(tmp_path, "p.yaml", PARENT))
    assert [c.id for c in select(baseline, None, ["mail.databytes"])] == ["mail.badmailfrom", "boot.bios-password"]


def test_only_with_unknown_id_is_bad_input_with_suggestion(tmp_path):
    baseline = load(_write(tmp_path, "p.yaml", PARENT))
    with pytest.raises(InputError) as err:
        select(baseline, ["mail.databyte"], None)
    assert "did you mean 'mail.databytes'" in str(err.value)
