"""What hostaudit writes as root is for the user who ran it: a report names the accounts
whose /etc/shadow entry is empty (a root-only fact), so no other local user may read it,
whatever directory it is written to (the default is the current one)."""

from __future__ import annotations

import json
import os
import stat

from test_adversary_redact import _scan
from test_diff_cli import _run


def _private(path) -> bool:
    return stat.S_IMODE(os.stat(path).st_mode) & 0o077 == 0


def _root_with_an_empty_password(tmp_root):
    tmp_root.write("/etc/passwd", "root:x:0:0::/root:/bin/bash\ngames:x:5:60::/usr/games:/bin/sh\n")
    tmp_root.write("/etc/shadow", "root:*:19000::::::\ngames::19000:0:99999:7:::\n", mode=0o640)
    return tmp_root


def test_the_reports_of_a_scan_are_readable_by_their_owner_only(tmp_root, tmp_path):
    out = tmp_path / "shared"
    out.mkdir(mode=0o755)
    os.chmod(out, 0o755)
    code, _, err = _scan(_root_with_an_empty_password(tmp_root).path, out, "--prometheus", str(out / "m.prom"))
    assert code == 0, err
    report = json.loads((out / "report.json").read_text())
    assert {"name": "games", "scheme": "empty", "line": 2} in report["facts"]["shadow"]["entries"]
    for name in ("report.json", "report.html", "report.sarif", "report.junit.xml"):
        assert _private(out / name), name
    # node_exporter's textfile collector reads the metrics as another user: counts only.
    assert stat.S_IMODE(os.stat(out / "m.prom").st_mode) == 0o644
    assert "games" not in (out / "m.prom").read_text()


def test_the_diff_of_two_reports_is_readable_by_its_owner_only(tmp_root, tmp_path):
    out = tmp_path / "shared"
    out.mkdir()
    os.chmod(out, 0o755)
    code, _, err = _scan(_root_with_an_empty_password(tmp_root).path, out)
    assert code == 0, err
    code, _, err = _run("diff", out / "report.json", out / "report.json", "-o", out, "--format", "json,html")
    assert code == 0, err
    assert _private(out / "diff.json") and _private(out / "diff.html")


def test_a_metrics_file_in_a_missing_directory_is_bad_input_before_the_audit(tmp_root, tmp_path):
    out = tmp_path / "reports"
    code, _, err = _scan(_root_with_an_empty_password(tmp_root).path, out,
                         "--prometheus", str(tmp_path / "missing" / "m.prom"))
    assert code == 2, err
    assert "--prometheus" in err and "missing" in err
    assert not out.exists()


def test_a_metrics_file_that_is_a_directory_is_bad_input_before_the_audit(tmp_root, tmp_path):
    out = tmp_path / "reports"
    code, _, err = _scan(_root_with_an_empty_password(tmp_root).path, out, "--prometheus", str(tmp_path))
    assert code == 2, err
    assert "--prometheus" in err
    assert not out.exists()


def test_a_shared_directory_given_as_state_dir_is_refused_and_left_as_it_was(tmp_root, tmp_path):
    shared = tmp_path / "var-tmp"   # what `--state-dir /var/tmp` (or /var/lib) would hit
    shared.mkdir()
    os.chmod(shared, 0o1777)
    (shared / "someone-elses-file").write_text("x")
    code, _, err = _scan(_root_with_an_empty_password(tmp_root).path, tmp_path / "out",
                         "--state-dir", str(shared))
    assert code == 2, err
    assert str(shared) in err and "mode" in err
    assert stat.S_IMODE(os.stat(shared).st_mode) == 0o1777
    assert sorted(os.listdir(shared)) == ["someone-elses-file"]
    assert not (tmp_path / "out").exists()


def test_an_empty_state_dir_made_for_hostaudit_is_made_private(tmp_root, tmp_path):
    made = tmp_path / "hostaudit-state"   # `mkdir /var/lib/hostaudit` under umask 022
    made.mkdir()
    os.chmod(made, 0o755)
    code, _, err = _scan(_root_with_an_empty_password(tmp_root).path, tmp_path / "out",
                         "--state-dir", str(made))
    assert code == 0, err
    assert stat.S_IMODE(os.stat(made).st_mode) == 0o700
