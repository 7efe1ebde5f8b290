"""hostaudit plan: a remediation plan (shell or Ansible) for the failed controls of a report.

The round trip (applying plans to a Debian 12 tree and re-auditing it) is in
test_plan_roundtrip.py; here: what goes into a plan and how it is written.
"""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from hostaudit.baseline import load_checked
from hostaudit.cli import main
from hostaudit.fixes import FAMILIES, family_of, render
from hostaudit.fixplan import build
from hostaudit.reports.model import SCHEMA_VERSION

DEBIAN = {"id": "debian", "version_id": "12", "pretty_name": "Debian GNU/Linux 12 (bookworm)"}


def report(statuses: dict, os_info=DEBIAN, baseline="gcux-qmail") -> dict:
    """The parts of a report.json that plan reads: results, the target's OS, the baseline."""
    return {"schema_version": SCHEMA_VERSION,
            "results": [{"id": cid, "status": status, "severity": "medium"} for cid, status in statuses.items()],
            "facts": {}, "baseline": {"name": baseline}, "tool": {}, "timing": {}, "coverage": {},
            "target": {"mode": "image", "root": "/srv/rootfs", "os": os_info}}


def write(tmp_path, data, name="report.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def plan_cli(tmp_path, data, *args, out="plan.out"):
    target = tmp_path / out
    code = main(["plan", write(tmp_path, data), "-o", str(target), *args])
    return code, (target.read_text() if target.exists() else None)


@pytest.fixture(scope="module")
def shipped():
    return load_checked("gcux-qmail")


def test_every_shipped_control_has_a_fix_or_says_why_a_person_must(shipped):
    missing = [c.id for c in shipped.controls if c.fix is None]
    assert missing == []
    for control in shipped.controls:
        assert control.fix.steps or control.fix.manual, control.id


def test_every_shipped_fix_renders_with_its_controls_parameters(shipped):
    for control in shipped.controls:
        for family in FAMILIES:
            for step in control.fix.steps_for(family):
                rendered = render(step, control.parameters)
                assert "{{" not in json.dumps(rendered.args), (control.id, rendered)


def test_plan_without_failures_is_empty_and_says_so(tmp_path, capsys):
    code, text = plan_cli(tmp_path, report({"ssh.port": "pass", "mail.databytes": "pass"}))
    assert code == 0
    assert "no failed controls: wrote an empty plan" in capsys.readouterr().err
    assert "nothing to do" in text
    assert not re.search(r"^ha_control=[a-z]", text, re.M)


def test_empty_shell_plan_runs_and_changes_nothing(tmp_path):
    _, text = plan_cli(tmp_path, report({"ssh.port": "pass"}))
    run = subprocess.run(["sh", "-c", text], env={"DRY_RUN": "1", "PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    assert "0 change(s) would be made" in run.stdout


def test_plan_of_a_report_of_another_schema_version_exits_2(tmp_path, capsys):
    data = report({"ssh.port": "fail"})
    data["schema_version"] = 999
    code, text = plan_cli(tmp_path, data)
    assert code == 2
    assert text is None
    assert "schema version 999" in capsys.readouterr().err


def test_plan_for_an_os_of_no_known_family_exits_2_and_names_the_option(tmp_path, capsys):
    code, _ = plan_cli(tmp_path, report({"ssh.port": "fail"}, os_info={"id": "alpine"}))
    assert code == 2
    assert "--family" in capsys.readouterr().err


def test_family_comes_from_os_release_id_then_id_like():
    assert family_of({"id": "debian"}) == "debian"
    assert family_of({"id": "rocky", "id_like": "rhel centos fedora"}) == "rhel"
    assert family_of({"id": "mint-ish", "id_like": "ubuntu debian"}) == "debian"
    assert family_of({"id": "alpine"}) is None


def test_shell_plan_names_each_failed_control_and_lists_those_for_a_person(tmp_path):
    _, text = plan_cli(tmp_path, report({"auth.su-wheel": "fail", "fs.partition.var": "fail",
                                         "ssh.port": "pass"}))
    assert "ha_control=auth.su-wheel" in text
    assert "pam_wheel.so use_uid group=wheel" in text
    assert "#   fs.partition.var: Repartitioning" in text
    assert "ssh.port" not in text


def test_shell_plan_puts_package_installs_first_and_immutable_files_last(tmp_path, shipped):
    plan = build(report({"files.immutable.passwd": "fail", "accounts.removed-users": "fail",
                         "ssh.port": "fail"}), shipped, family="debian", source="r.json")
    kinds = [(p.control, p.step.kind) for p in plan.steps]
    assert kinds[0] == ("ssh.port", "package")
    assert kinds[-1] == ("files.immutable.passwd", "attribute")


def test_plan_skips_the_controls_asked_to(tmp_path, shipped):
    plan = build(report({"logs.rotation": "fail", "auth.su-wheel": "fail"}), shipped,
                 family="debian", source="r.json", skip=["logs."])
    assert plan.controls == ("auth.su-wheel",)


def test_rhel_plan_uses_rhel_packages_and_paths(tmp_path, shipped):
    plan = build(report({"auth.nis-disabled": "fail", "fs.rc-permissions": "fail"}), shipped,
                 family="rhel", source="r.json")
    args = [p.step.args for p in plan.steps]
    assert {"state": "absent", "names": ["ypbind", "yp-tools"]} in args
    assert {"path": "/etc/rc.d/init.d/*", "mode": "0700"} in args


def test_full_shell_plan_is_valid_posix_shell(tmp_path, shipped):
    for family in FAMILIES:
        everything = report({c.id: "fail" for c in shipped.controls})
        code, text = plan_cli(tmp_path, everything, "--family", family, out=f"plan-{family}.sh")
        assert code == 0
        checked = subprocess.run(["sh", "-n", str(tmp_path / f"plan-{family}.sh")],
                                 capture_output=True, text=True, timeout=30)
        assert checked.returncode == 0, checked.stderr
        assert text.startswith("#!/bin/sh\n") and "\nset -eu\n" in text


def test_plan_file_is_private_to_its_owner(tmp_path):
    plan_cli(tmp_path, report({"auth.su-wheel": "fail"}))
    assert (tmp_path / "plan.out").stat().st_mode & 0o077 == 0


def test_ansible_plan_names_each_task_by_its_control(tmp_path):
    _, text = plan_cli(tmp_path, report({"auth.su-wheel": "fail", "sysctl.net.ipv4.tcp_syncookies": "fail",
                                         "fs.rc-permissions": "fail"}), "--format", "ansible")
    play = yaml.safe_load(text)[0]
    names = [t["name"] for t in play["tasks"]]
    assert all(n.startswith("[") for n in names)
    modules = {k for t in play["tasks"] for k in t if k.startswith("ansible.")}
    assert modules <= {"ansible.builtin.lineinfile", "ansible.builtin.group", "ansible.builtin.find",
                       "ansible.builtin.file"}
    su = next(t for t in play["tasks"] if t["name"].startswith("[auth.su-wheel] /etc/pam.d/su"))
    # lineinfile reads Python regular expressions, the baseline writes POSIX ones
    assert "[:space:]" not in su["ansible.builtin.lineinfile"]["regexp"]


def test_ansible_shell_tasks_report_changed_only_when_they_changed_something(tmp_path):
    _, text = plan_cli(tmp_path, report({"auth.nis-disabled": "fail"}), "--format", "ansible")
    task = next(t for t in yaml.safe_load(text)[0]["tasks"] if "ansible.builtin.shell" in t)
    assert "HOSTAUDIT-CHANGED" in task["changed_when"]


@pytest.mark.skipif(shutil.which("ansible-playbook") is None and
                    not (shutil.which("ansible-playbook", path=str(__import__("pathlib").Path(sys.executable).parent))),
                    reason="ansible-core not installed (pip install -e '.[test]')")
def test_full_ansible_plan_passes_ansible_syntax_check(tmp_path, shipped):
    from pathlib import Path

    playbook_cmd = shutil.which("ansible-playbook", path=str(Path(sys.executable).parent)) or "ansible-playbook"
    for family in FAMILIES:
        everything = report({c.id: "fail" for c in shipped.controls})
        code, _ = plan_cli(tmp_path, everything, "--family", family, "--format", "ansible",
                           out=f"plan-{family}.yml")
        assert code == 0
        checked = subprocess.run([playbook_cmd, "--syntax-check", "-i", "localhost,",
                                  str(tmp_path / f"plan-{family}.yml")],
                                 capture_output=True, text=True, timeout=120,
                                 env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                                      "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp")})
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_control_id_unknown_to_the_baseline_cannot_break_out_of_its_comment(tmp_path):
    crafted = "x.y\ntouch /tmp/owned"
    for fmt in ("sh", "ansible"):
        _, text = plan_cli(tmp_path, report({crafted: "fail"}), "--format", fmt, out=f"plan.{fmt}")
        assert "\ntouch /tmp/owned" not in text
        assert "#   x.y touch /tmp/owned: not in baseline gcux-qmail" in text


def test_site_baseline_can_replace_a_fix(tmp_path):
    site = tmp_path / "site.yaml"
    site.write_text("name: site\nextends: gcux-qmail\noverrides:\n  maint.disk-monitor:\n"
                    "    fix: {manual: \"our monitoring system watches the disks\"}\n")
    data = report({"maint.disk-monitor": "fail"})
    _, text = plan_cli(tmp_path, data, "--baseline", str(site))
    assert "#   maint.disk-monitor: our monitoring system watches the disks" in text
    assert "ha_control=maint.disk-monitor" not in text


def test_plan_uses_the_baseline_file_the_report_was_scanned_with(tmp_path):
    site = tmp_path / "site.yaml"
    site.write_text("name: site\nextends: gcux-qmail\noverrides:\n  maint.disk-monitor:\n"
                    "    fix: {manual: \"watched elsewhere\"}\n")
    data = report({"maint.disk-monitor": "fail"}, baseline="site")
    data["baseline"]["files"] = [str(site)]
    code, text = plan_cli(tmp_path, data)
    assert code == 0
    assert "#   maint.disk-monitor: watched elsewhere" in text


def _site_named_by_report(tmp_path, directory="site"):
    folder = tmp_path / directory
    folder.mkdir()
    site = folder / "site.yaml"
    site.write_text("name: site\nextends: gcux-qmail\noverrides:\n  maint.disk-monitor:\n"
                    "    fix: {steps: [{shell: {name: who, check: \"false\", apply: id}}]}\n")
    data = report({"maint.disk-monitor": "fail"}, baseline="site")
    data["baseline"]["files"] = [str(site)]
    return site, data


def test_plan_refuses_a_baseline_file_the_report_names_that_another_user_owns(tmp_path, capsys):
    site, data = _site_named_by_report(tmp_path)
    os.chown(site, 65534, 65534)
    code, text = plan_cli(tmp_path, data)
    assert (code, text) == (2, None)
    assert f"the report names baseline file {site}, and {site} is owned by uid 65534" in capsys.readouterr().err


def test_plan_refuses_a_baseline_file_in_a_directory_others_can_write(tmp_path, capsys):
    site, data = _site_named_by_report(tmp_path)
    os.chmod(site.parent, 0o777)
    code, _ = plan_cli(tmp_path, data)
    assert code == 2
    assert f"{site.parent} is writable by group and others" in capsys.readouterr().err


def test_a_baseline_named_on_the_command_line_is_the_users_choice(tmp_path):
    site, data = _site_named_by_report(tmp_path)
    os.chmod(site.parent, 0o777)
    code, _ = plan_cli(tmp_path, data, "--baseline", str(site))
    assert code == 0


def test_shell_plan_header_runs_the_file_it_was_written_to(tmp_path):
    _, text = plan_cli(tmp_path, report({"mail.databytes": "fail"}), out="fix.sh")
    assert "# Review it, then run it as root on the host:   sh fix.sh\n" in text
    assert "# See what it would change, changing nothing:   DRY_RUN=1 sh fix.sh\n" in text


def test_playbook_header_runs_the_file_it_was_written_to(tmp_path):
    _, text = plan_cli(tmp_path, report({"mail.databytes": "fail"}), "--format", "ansible", out="fix.yml")
    assert "# Review it, then: ansible-playbook -i HOST, fix.yml   (--check --diff" in text


def test_plan_of_an_image_archive_names_the_archive(tmp_path):
    data = report({"mail.databytes": "fail"})
    data["target"] = {"kind": "image", "mode": "image", "root": None, "image": "/srv/ci/image.tar", "os": DEBIAN}
    _, text = plan_cli(tmp_path, data, out="fix.sh")
    assert text.splitlines()[1] == "# hostaudit remediation plan for /srv/ci/image.tar (debian family)"
