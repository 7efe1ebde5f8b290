"""hostaudit plan follows a baseline file a report names only where nobody but root or the
user could have put it there: not the file, and no directory on the way to it, links
included (another user who may rename a directory on the way may swap the file)."""

from __future__ import annotations

import json
import os

from test_plan import _site_named_by_report, plan_cli


def test_plan_refuses_a_baseline_file_below_a_directory_another_user_owns_further_up(tmp_path, capsys):
    (tmp_path / "team").mkdir()
    site, data = _site_named_by_report(tmp_path / "team", directory="baselines")
    os.chown(tmp_path / "team", 65534, 65534)  # may rename baselines/ and put its own there
    code, text = plan_cli(tmp_path, data)
    assert (code, text) == (2, None)
    assert f"{tmp_path / 'team'} is owned by uid 65534" in capsys.readouterr().err


def test_plan_refuses_a_baseline_file_reached_through_a_link_another_user_may_repoint(tmp_path, capsys):
    site, data = _site_named_by_report(tmp_path)
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    os.symlink(site.parent, theirs / "link")
    os.chown(theirs, 65534, 65534)
    data["baseline"]["files"] = [str(theirs / "link" / "site.yaml")]
    code, text = plan_cli(tmp_path, data)
    assert (code, text) == (2, None)
    assert f"{theirs} is owned by uid 65534" in capsys.readouterr().err


def test_plan_follows_a_baseline_file_in_a_sticky_directory_when_root_owns_its_directory(tmp_path):
    sticky = tmp_path / "shared"
    sticky.mkdir()
    os.chmod(sticky, 0o1777)  # as /tmp: others may not rename what root owns in it
    site, data = _site_named_by_report(sticky, directory="root-only")
    code, text = plan_cli(tmp_path, data)
    assert code == 0
    assert "ha_control=maint.disk-monitor" in text


def test_plan_refuses_a_baseline_path_the_report_gives_as_its_baseline_name_that_another_user_owns(
        tmp_path, capsys):
    site, data = _site_named_by_report(tmp_path)
    os.chown(site, 65534, 65534)
    data["baseline"] = {"name": str(site)}  # no files: the name alone names the file
    code, text = plan_cli(tmp_path, data)
    assert (code, text) == (2, None)
    assert f"{site} is owned by uid 65534" in capsys.readouterr().err


def test_plan_does_not_quote_a_file_the_report_names_that_is_no_baseline(tmp_path, capsys):
    secret = tmp_path / "secret.yaml"
    secret.write_text("root:SECRETHASH:19000:0:99999:7:::\nbin:*:19000:0:99999:7:::\n")
    _, data = _site_named_by_report(tmp_path)
    data["baseline"]["files"] = [str(secret)]
    code, text = plan_cli(tmp_path, data)
    assert (code, text) == (2, None)
    err = capsys.readouterr().err
    assert "SECRETHASH" not in err
    assert f"the report names baseline file {secret}, which does not load as a baseline" in err


def test_plan_follows_only_a_yaml_file_the_report_names(tmp_path, capsys):
    # /proc/kmsg is root's and nobody else may write it: read as a baseline, it blocked
    # (and a read takes the kernel's messages from whoever else reads them).
    notes = tmp_path / "notes.txt"
    notes.write_text("name: site\nextends: gcux-qmail\n")
    _, data = _site_named_by_report(tmp_path)
    data["baseline"]["files"] = [str(notes)]
    code, text = plan_cli(tmp_path, data)
    assert (code, text) == (2, None)
    assert f"the report names baseline file {notes}, which is not a .yaml or .yml file" in capsys.readouterr().err


def test_plan_of_a_report_whose_target_os_is_no_mapping_asks_for_the_family(tmp_path, capsys):
    _, data = _site_named_by_report(tmp_path)
    data["baseline"] = {"name": "gcux-qmail"}
    data["target"]["os"] = "debian"
    code, text = plan_cli(tmp_path, data)
    assert (code, text) == (2, None)
    assert "name the family with --family" in capsys.readouterr().err


def test_plans_show_terminal_escapes_of_the_report_as_text(tmp_path):
    _, data = _site_named_by_report(tmp_path)
    data["baseline"] = {"name": "gcux-qmail"}
    data["target"]["hostname"] = "mail1\x1b[8mhidden"  # conceal: a reviewer's cat would show nothing after it
    data["results"].append({"id": "zz.unknown\x1b]0;x\x07", "status": "fail", "severity": "high"})
    for fmt, out in (("sh", "plan.sh"), ("ansible", "plan.yml")):
        code, text = plan_cli(tmp_path, data, "--format", fmt, out=out)
        assert code == 0
        assert "\x1b" not in text and "\x07" not in text
        assert "mail1\\x1b[8mhidden" in text


def _mode_plan(tmp_path, path: str) -> str:
    site, data = _site_named_by_report(tmp_path)
    site.write_text("name: site\nextends: gcux-qmail\noverrides:\n  maint.disk-monitor:\n"
                    f"    fix: {{steps: [{{mode: {{path: {json.dumps(path)}, mode: \"0640\"}}}}]}}\n")
    code, text = plan_cli(tmp_path, data)
    assert code == 0
    return next(line for line in text.splitlines() if line.startswith("ha_mode "))


def test_shell_plan_quotes_all_of_a_glob_but_its_wildcards(tmp_path):
    assert _mode_plan(tmp_path, "/srv/my dir/a b*.conf") == "ha_mode 0640 '/srv/my dir'/'a b'*.conf"


def test_shell_plan_runs_nothing_a_glob_path_spells(tmp_path):
    import subprocess

    marker = tmp_path / "ran"
    line = _mode_plan(tmp_path, "/etc/cron.d/x*$(touch ran)[$(touch ran)]")  # run where the plan runs
    shown = subprocess.run(["sh", "-c", "ha_mode() { printf '%s\\n' \"$@\"; }; " + line],
                           capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert not marker.exists()
    assert shown.stdout.splitlines() == ["0640", "/etc/cron.d/x*$(touch ran)[$(touch ran)]"]
