"""Baseline parameters have types: each check declares its own, and a baseline that gives a
wrong type, an unknown name or no value is refused at load time, naming file:line and path."""

import io
import textwrap
from contextlib import redirect_stderr, redirect_stdout

import jsonschema
import pytest

from hostaudit.baseline import load, load_checked
from hostaudit.cli import main
from hostaudit.errors import ExitCode, InputError
from hostaudit.facts import Facts
from hostaudit.model import Result
from hostaudit.registry import CHECKS, KINDS, CheckSpec, check, load_all
from hostaudit.runner import evaluate


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def _validate(path):
    """``hostaudit baseline validate PATH``: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["baseline", "validate", path])
    return code, out.getvalue(), err.getvalue()


def _site(tmp_path, overrides):
    """A site baseline extending the shipped one with ``overrides`` (YAML, indented 2)."""
    return _write(tmp_path, "site.yaml", "name: site\nextends: gcux-qmail\noverrides:\n"
                  + textwrap.indent(textwrap.dedent(overrides), "  "))


def test_wrong_type_exits_2_naming_file_line_and_json_path(tmp_path):
    site = _site(tmp_path, """\
        ssh.port:
          parameters:
            ssh_port: "2222x"
        """)
    code, out, err = _validate(site)
    assert code == ExitCode.BAD_INPUT
    assert out == ""
    assert f"{site}:6: $.overrides['ssh.port'].parameters.ssh_port: '2222x' is not of type 'integer'" in err


def test_misspelt_parameter_is_refused_with_did_you_mean(tmp_path):
    site = _site(tmp_path, """\
        ssh.port:
          parameters: {ssh_prot: 2222}
        """)
    code, _, err = _validate(site)
    assert code == ExitCode.BAD_INPUT
    assert f"{site}:5: $.overrides['ssh.port'].parameters.ssh_prot: unknown parameter 'ssh_prot'" in err
    assert "(did you mean 'ssh_port'?)" in err


def test_missing_required_parameter_points_at_the_control(tmp_path):
    path = _write(tmp_path, "own.yaml", """\
        name: own
        controls:
          - id: ssh.port
            title: sshd listens on the site's port
            section: ssh
            severity: high
            modes: [live]
            rationale: Fewer scans.
        """)
    with pytest.raises(InputError) as err:
        load_checked(path)
    assert str(err.value).startswith(
        f"{path}:3: $.controls[0].parameters: control 'ssh.port' needs parameter 'ssh_port'")
    assert "1-65535" in str(err.value)


def test_site_overriding_ssh_port_2222_validates(tmp_path):
    site = _site(tmp_path, """\
        ssh.port:
          parameters: {ssh_port: 2222}
        """)
    code, out, err = _validate(site)
    assert (code, err) == (ExitCode.OK, "")
    assert out.startswith("ok: site: ")
    assert load_checked(site).control("ssh.port").parameters == {"ssh_port": 2222}


def test_shipped_baseline_validates_against_the_checks():
    baseline = load_checked("gcux-qmail")
    assert baseline.control("mail.databytes").parameters == {"databytes_max": 5242880}


def test_every_shipped_parameter_is_declared_by_its_check():
    load_all()
    undeclared = [(c.id, name) for c in load("gcux-qmail").controls if c.id in CHECKS
                  for name in c.parameters if name not in CHECKS[c.id].params]
    assert undeclared == []


def test_every_declared_parameter_type_is_a_valid_json_schema():
    load_all()
    for spec in [*CHECKS.values(), *KINDS.values()]:
        jsonschema.Draft202012Validator.check_schema(spec.params_schema())
    assert KINDS["sysctl"].required_params == ("key", "expected")


def test_wrong_type_in_a_parent_is_reported_where_it_was_written(tmp_path):
    parent = _write(tmp_path, "parent.yaml", """\
        name: parent
        extends: gcux-qmail
        overrides:
          mail.databytes:
            parameters: {databytes_max: 0}
        """)
    child = _write(tmp_path, "child.yaml", "name: child\nextends: parent.yaml\n")
    code, _, err = _validate(child)
    assert code == ExitCode.BAD_INPUT
    assert f"{parent}:5: $.overrides['mail.databytes'].parameters.databytes_max: 0 is less than" in err


def test_unquoted_version_is_refused_because_yaml_reads_3_10_as_a_number(tmp_path):
    site = _site(tmp_path, """\
        ssh.version:
          parameters: {ssh_min_version: 3.10}
        """)
    with pytest.raises(InputError) as err:
        load_checked(site)
    assert "ssh_min_version: 3.1 is not of type 'string'" in str(err.value)


def test_a_whole_float_is_not_a_port(tmp_path):
    site = _site(tmp_path, """\
        ssh.port:
          parameters: {ssh_port: 2222.0}
        """)
    with pytest.raises(InputError, match=r"2222\.0 is not of type 'integer'"):
        load_checked(site)


def test_misspelt_key_inside_a_parameter_suggests_the_declared_one(tmp_path):
    site = _site(tmp_path, """\
        fw.inbound-allowed:
          parameters:
            allowed:
              - {proto: tcp, port: 25, frm: external}
        """)
    with pytest.raises(InputError) as err:
        load_checked(site)
    message = str(err.value)
    assert message.startswith(f"{site}:7: $.overrides['fw.inbound-allowed'].parameters.allowed[0].frm: ")
    assert "did you mean 'from'?" in message


def test_every_problem_is_counted_after_the_first(tmp_path):
    site = _site(tmp_path, """\
        ssh.port:
          parameters: {ssh_port: 0}
        mail.databytes:
          parameters: {databytes_max: big}
        """)
    with pytest.raises(InputError) as err:
        load_checked(site)
    assert "(and 1 more)" in str(err.value)


def test_duplicate_key_names_both_lines(tmp_path):
    site = _write(tmp_path, "site.yaml", """\
        name: site
        extends: gcux-qmail
        overrides:
          ssh.port:
            severity: low
            parameters: {ssh_port: 2222}
            severity: high
        """)
    code, _, err = _validate(site)
    assert code == ExitCode.BAD_INPUT
    assert f"error: {site}:7: duplicate key 'severity' (first at line 5)" in err


def test_duplicate_key_inside_a_flow_mapping_is_refused(tmp_path):
    site = _site(tmp_path, """\
        ssh.port:
          parameters: {ssh_port: 2222, ssh_port: 22}
        """)
    with pytest.raises(InputError, match=r"site\.yaml:5: duplicate key 'ssh_port' \(first at line 5\)"):
        load(site)


def test_yaml_merge_keys_are_not_duplicates(tmp_path):
    path = _write(tmp_path, "own.yaml", """\
        name: own
        controls:
          - &port
            id: ssh.port
            title: sshd port
            section: ssh
            severity: high
            modes: [live]
            rationale: Fewer scans.
            parameters: {ssh_port: 2112}
          - <<: *port
            id: ssh.enabled
            parameters: {}
        """)
    assert load(path).control("ssh.enabled").severity == "high"


def test_check_refuses_parameters_named_without_types():
    with pytest.raises(TypeError, match="JSON Schema"):
        check("test.untyped", needs=[], params=["limit"])  # type: ignore[arg-type]
    assert "test.untyped" not in CHECKS


def test_an_omitted_optional_parameter_reaches_the_check_as_its_default():
    spec = CheckSpec("x.y", lambda facts, params: Result.passed(f"limit {params['limit']}"), {},
                     {"limit": {"type": "integer", "default": 5}})
    assert spec.required_params == ()
    assert evaluate(spec, Facts(mode="image"), {}).message == "limit 5"
