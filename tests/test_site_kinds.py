"""A site baseline adds controls of every generic kind in YAML alone: it validates, runs in
live and image mode where each kind can, and scores like any other control. Bad parameters
exit 2 at validation, naming file:line and JSON path."""

import io
import textwrap
from contextlib import redirect_stderr, redirect_stdout

import pytest
from schedulers import boots_systemd
from support import evidence_lines

from hostaudit.baseline import load_checked
from hostaudit.cli import main
from hostaudit.errors import ExitCode
from hostaudit.scan import TargetSpec, open_target, scan

SITE = """\
name: site
extends: gcux-qmail
controls:
  - id: site.sysctl.kptr-restrict
    kind: sysctl
    title: Kernel pointers are hidden
    section: sysctl
    severity: medium
    modes: [live, image]
    rationale: Kernel addresses help exploits.
    parameters: {key: kernel.kptr_restrict, expected: "1", compare: ">="}
  - id: site.files.cron-allow
    kind: file
    title: Only root may use cron
    section: files
    severity: low
    modes: [live, image]
    rationale: cron.allow lists who may schedule jobs.
    parameters: {path: /etc/cron.allow, mode_max: "0600", must_match: ["^root$"]}
  - id: site.packages.telnetd
    kind: package
    title: No telnet server
    section: services
    severity: high
    modes: [live, image]
    rationale: Cleartext logins.
    parameters: {name: telnetd, state: absent}
  - id: site.services.rpcbind
    kind: service
    title: rpcbind does not start
    section: services
    severity: medium
    modes: [live, image]
    rationale: Not needed on a mail server.
    parameters: {name: rpcbind, state: disabled}
  - id: site.fs.tmp
    kind: mount
    title: /tmp is noexec
    section: fs
    severity: low
    modes: [live, image]
    rationale: No programs from a world-writable place.
    parameters: {mount_point: /tmp, required_options: [noexec]}
  - id: site.net.telnet
    kind: port
    title: Nothing listens on the telnet port
    section: net
    severity: high
    modes: [live, net]
    rationale: Cleartext logins.
    parameters: {port: 23}
  - id: site.accounts.uid0
    kind: account
    title: Only root has uid 0
    section: accounts
    severity: high
    modes: [live, image]
    rationale: A second uid 0 is a second root.
    parameters: {uid0_only_root: true}
"""
SITE_IDS = ["site.sysctl.kptr-restrict", "site.files.cron-allow", "site.packages.telnetd",
            "site.services.rpcbind", "site.fs.tmp", "site.net.telnet", "site.accounts.uid0"]


def _validate(path):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["baseline", "validate", str(path)])
    return code, out.getvalue(), err.getvalue()


def _site(tmp_path, text=SITE):
    path = tmp_path / "site.yaml"
    path.write_text(text)
    return path


def _fixture(tmp_root):
    boots_systemd(tmp_root)
    tmp_root.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n")
    tmp_root.write("/etc/group", "root:x:0:\n")
    tmp_root.write("/etc/sysctl.d/60-site.conf", "kernel.kptr_restrict = 2\n")
    tmp_root.write("/etc/cron.allow", "root\n", mode=0o640)
    tmp_root.installed("bash", "telnetd")
    tmp_root.write("/etc/fstab", "tmpfs /tmp tmpfs nosuid,nodev,noexec 0 0\n")


def test_site_baseline_with_one_control_of_each_kind_validates(tmp_path):
    code, out, err = _validate(_site(tmp_path))
    assert (code, err) == (ExitCode.OK, "")
    assert out.startswith("ok: site: ")


def test_site_kinds_run_in_image_mode_and_score(tmp_path, tmp_root):
    _fixture(tmp_root)
    baseline = load_checked(str(_site(tmp_path)))
    with open_target(TargetSpec(root=str(tmp_root.path))) as target:
        run = scan(target, baseline, only=["site."])
    got = {r.id: r.status.value for r in run.results}
    assert got == {"site.sysctl.kptr-restrict": "pass", "site.files.cron-allow": "fail",
                   "site.packages.telnetd": "fail", "site.services.rpcbind": "pass",
                   "site.fs.tmp": "pass", "site.net.telnet": "not_applicable",
                   "site.accounts.uid0": "pass"}
    report = run.report
    assert report["counts"]["fail"] == 2 and report["counts"]["pass"] == 4
    assert report["score"] < 100
    assert report["failed_by_severity"]["high"] == 1  # site.packages.telnetd weighs as any high control


def test_site_kinds_run_in_live_mode_each_decided_by_its_kind(tmp_path):
    baseline = load_checked(str(_site(tmp_path)))
    with open_target(TargetSpec()) as target:
        run = scan(target, baseline, only=["site."])
    results = {r.id: r.result for r in run.results}
    assert list(results) == SITE_IDS
    assert not [i for i, r in results.items() if "no check is registered" in r.message]
    # this kernel has the key and a socket table: both decided from the live host
    assert any(line.startswith("/proc/sys/kernel/kptr_restrict: in force: ")
               for line in evidence_lines(results["site.sysctl.kptr-restrict"]))
    assert results["site.net.telnet"].evidence[0].where == "socket table (psutil)"


def _one(kind, params, modes="[live, image]"):
    return textwrap.dedent(f"""\
        name: bad
        controls:
          - id: site.bad.one
            kind: {kind}
            title: t
            section: s
            severity: low
            modes: {modes}
            rationale: r
            parameters:
              {params}
        """)


@pytest.mark.parametrize(("kind", "params", "line", "message"), [
    ("file", "{path: /etc/x, mode_max: 644}", 11, "$.controls[0].parameters.mode_max: 644 is not of type 'string'"),
    ("file", "{path: /etc/x, paht: /etc/passwd}", 11, "$.controls[0].parameters.paht: unknown parameter 'paht'"),
    ("file", "{path: /etc/x, must_match: ['(unclosed']}", 11,
     "$.controls[0].parameters.must_match[0]: '(unclosed' is not a 'regex'"),
    ("file", "path: /etc/../../outside", 11,
     "$.controls[0].parameters.path: '/etc/../../outside' does not match"),
    ("sysctl", "{key: net.ipv4.tcp_syncookies, expected: 1, compare: '=>'}", 11,
     "$.controls[0].parameters.compare: '=>' is not one of"),
    ("account", "{shell: /bin/sh}", 11,
     "$.controls[0].parameters: control 'site.bad.one': give exactly one of user, group or uid0_only_root"),
    ("package", "{name: telnetd, state: absent, version: '1.0'}", 11,
     "an absent package has no version to compare"),
])
def test_bad_parameters_exit_2_at_validation_with_file_and_line(tmp_path, kind, params, line, message):
    path = _site(tmp_path, _one(kind, params))
    code, out, err = _validate(path)
    assert code == ExitCode.BAD_INPUT
    assert out == ""
    assert f"{path}:{line}: " in err
    assert message in err


def test_a_glob_escaping_the_root_is_refused_with_what_a_path_looks_like(tmp_path):
    path = _site(tmp_path, _one("file", "path: /etc/cron.d/../../../*"))
    code, _, err = _validate(path)
    assert code == ExitCode.BAD_INPUT
    assert "an absolute path or glob without '..'" in err


def test_a_kind_in_a_mode_it_cannot_decide_is_refused(tmp_path):
    path = _site(tmp_path, _one("port", "port: 23", modes="[image]"))
    code, _, err = _validate(path)
    assert code == ExitCode.BAD_INPUT
    assert f"{path}:8: $.controls[0].modes: control 'site.bad.one': kind 'port' cannot decide in image mode" in err


def test_an_unknown_kind_is_refused_with_did_you_mean(tmp_path):
    path = _site(tmp_path, _one("fiel", "path: /etc/passwd"))
    code, _, err = _validate(path)
    assert code == ExitCode.BAD_INPUT
    assert f"{path}:4: $.controls[0].kind: control 'site.bad.one': no generic kind 'fiel'" in err
    assert "did you mean 'file'?" in err
