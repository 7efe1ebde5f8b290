"""The command line, end to end: exit codes, reports, bad input, read-only, no secrets."""

import hashlib
import io
import json
import os
import tarfile
from contextlib import redirect_stderr, redirect_stdout

import pytest

from hostaudit.cli import main
from hostaudit.reports.json_report import validate

SHADOW_HASHES = {
    "root": "$6$Wq9hT0nL3xYb$Gm5x0qQF0b6H1vJ2V1o3Qd9sHn2yXcJ7tq7N4rTq8b4K0z1mR2cS3dF4gH5jK6lM7nB8vC9xZ0aS1dF2gH3jK4",
    "tony": "$1$sAlTy123$Zr0Kp2Xo9yQ1bV3cN5mL7.",
    "old": "abJnggxhB/yW.",
}


def _run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def _small_root(tmp_root):
    tmp_root.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"
                   "tony:x:1000:1000::/home/tony:/bin/bash\nold:x:1001:1001::/home/old:/bin/sh\n")
    tmp_root.write("/etc/group", "root:x:0:\nwheel:x:10:tony\n")
    tmp_root.write("/etc/shadow", "".join(f"{u}:{h}:19000:0:99999:7:::\n" for u, h in SHADOW_HASHES.items()),
                   mode=0o400)
    tmp_root.write("/var/qmail/control/databytes", "5242880\n")
    tmp_root.write("/var/lib/dpkg/status", "Package: tripwire\nStatus: install ok installed\nVersion: 2.4.3.7\n\n")
    return tmp_root


def _tree_state(root):
    """Everything an audit must not change: content, mode, owner, times (not atime)."""
    state = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            digest = None
            if os.path.isfile(path) and not os.path.islink(path):
                digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
            state[path] = (st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns, st.st_ctime_ns, digest)
    return state


def test_help_lists_the_commands():
    with pytest.raises(SystemExit) as done, redirect_stdout(io.StringIO()) as out:
        main(["--help"])
    assert done.value.code == 0
    assert "scan" in out.getvalue() and "baseline" in out.getvalue()


def test_image_scan_writes_valid_json_and_html(tmp_root, tmp_path):
    _small_root(tmp_root)
    out = tmp_path / "out"
    out.mkdir()
    code, _, _ = _run("scan", "--root", str(tmp_root.path), "-o", str(out), "--quiet")
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    validate(report)
    assert report["target"]["mode"] == "image"
    assert {r["id"] for r in report["results"]} >= {"mail.databytes", "auth.password-hashes"}
    assert (out / "report.html").read_text().lstrip().lower().startswith("<!doctype html")


def test_image_scan_does_not_change_the_tree(tmp_root, tmp_path):
    _small_root(tmp_root)
    tmp_root.symlink("/etc/grub.conf", "../boot/grub/grub.conf")
    tmp_root.write("/boot/grub/grub.conf", "password --md5 $1$abc$def\n")
    before = _tree_state(tmp_root.path)
    code, _, _ = _run("scan", "--root", str(tmp_root.path), "-o", str(tmp_path), "--quiet")
    assert code == 0
    assert _tree_state(tmp_root.path) == before


def test_no_report_contains_a_password_hash_or_salt(tmp_root, tmp_path):
    _small_root(tmp_root)
    code, terminal, _ = _run("scan", "--root", str(tmp_root.path), "-o", str(tmp_path), "--no-color")
    assert code == 0
    outputs = [terminal, (tmp_path / "report.json").read_text(), (tmp_path / "report.html").read_text()]
    secrets = [h for h in SHADOW_HASHES.values()] + ["Wq9hT0nL3xYb", "sAlTy123", "abJnggxhB"]
    for text in outputs:
        for secret in secrets:
            assert secret not in text


def test_fail_on_high_exits_1_when_a_high_control_fails(tmp_root, tmp_path):
    _small_root(tmp_root)
    code, _, err = _run("scan", "--root", str(tmp_root.path), "-o", str(tmp_path), "--quiet",
                        "--only", "auth.password-hashes", "--fail-on", "high")
    assert code == 1
    assert "auth.password-hashes" in err


def test_fail_under_zero_always_passes_the_gate(tmp_root, tmp_path):
    _small_root(tmp_root)
    code, _, _ = _run("scan", "--root", str(tmp_root.path), "-o", str(tmp_path), "--quiet", "--fail-under", "0")
    assert code == 0


def test_missing_root_is_bad_input_and_writes_nothing(tmp_path):
    code, _, err = _run("scan", "--root", str(tmp_path / "nope"), "-o", str(tmp_path), "--quiet")
    assert code == 2
    assert "root directory does not exist" in err
    assert os.listdir(tmp_path) == []


def test_unknown_only_id_is_bad_input_with_a_suggestion(tmp_path):
    code, _, err = _run("scan", "--root", str(tmp_path), "-o", str(tmp_path), "--only", "mail.databyte")
    assert code == 2
    assert "did you mean 'mail.databytes'" in err
    assert os.listdir(tmp_path) == []


def test_malformed_baseline_is_bad_input_naming_file_and_line(tmp_path):
    bad = tmp_path / "site.yaml"
    bad.write_text("name: site\nextends: gcux-qmail\noverrides:\n  mail.databytes: {severity: huge}\n")
    out = tmp_path / "out"
    out.mkdir()
    code, _, err = _run("scan", "--root", str(tmp_path), "-o", str(out), "--baseline", str(bad))
    assert code == 2
    assert f"{bad}:4:" in err
    assert os.listdir(out) == []


def test_baseline_validate_accepts_a_site_baseline(tmp_path):
    site = tmp_path / "site.yaml"
    site.write_text("name: site\nextends: gcux-qmail\noverrides:\n  mail.databytes:\n"
                    "    parameters: {databytes_max: 10485760}\ndrop: [os.no-gui]\n")
    code, out, _ = _run("baseline", "validate", str(site))
    assert code == 0
    assert out.startswith("ok: site:")


def test_baseline_validate_rejects_a_control_without_a_check(tmp_path):
    site = tmp_path / "site.yaml"
    site.write_text("name: site\ncontrols:\n  - id: mail.databyts\n    title: t\n    section: mail\n"
                    "    severity: high\n    modes: [live]\n    rationale: r\n")
    code, _, err = _run("baseline", "validate", str(site))
    assert code == 2
    assert "has no check" in err and "did you mean 'mail.databytes'" in err


def _tarball(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize("member", ["../escape", "/etc/passwd"])
def test_image_with_unsafe_member_is_bad_input_and_writes_nothing(tmp_path, member):
    image = tmp_path / "image.tar.gz"
    _tarball(image, [("etc/hostname", b"mail\n"), (member, b"x\n")])
    out = tmp_path / "out"
    out.mkdir()
    code, _, err = _run("scan", "--image", str(image), "-o", str(out), "--quiet")
    assert code == 2
    assert "unsafe member" in err
    assert os.listdir(out) == []
    assert not (tmp_path / "escape").exists()


@pytest.mark.parametrize("member,why", [("etc/" + "n" * 300, "NAME_MAX"),
                                        ("/".join(["d" * 250] * 20), "PATH_MAX")],
                         ids=["component-over-NAME_MAX", "path-over-PATH_MAX"])
def test_image_member_name_too_long_is_bad_input_naming_it(tmp_path, member, why):
    image = tmp_path / "image.tar.gz"
    _tarball(image, [("etc/hostname", b"mail\n"), (member, b"x\n")])
    out = tmp_path / "out"
    out.mkdir()
    code, _, err = _run("scan", "--image", str(image), "-o", str(out), "--quiet")
    assert code == 2
    assert f"member '{member[:20]}" in err and why in err
    assert os.listdir(out) == []


def test_image_tarball_is_audited(tmp_path):
    image = tmp_path / "image.tar.gz"
    _tarball(image, [("etc/passwd", b"root:x:0:0::/root:/bin/bash\n"),
                     ("var/qmail/control/databytes", b"52428800\n")])
    code, _, _ = _run("scan", "--image", str(image), "-o", str(tmp_path), "--quiet", "--only", "mail.databytes")
    assert code == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["target"]["image"] == str(image)
    [result] = report["results"]
    assert result["status"] == "fail"
    assert "52428800" in json.dumps(result["evidence"])


def test_live_scan_as_root_finishes_with_valid_statuses(tmp_path, require_root):
    code, _, _ = _run("scan", "-o", str(tmp_path), "--quiet")
    assert code == 0
    report = json.loads((tmp_path / "report.json").read_text())
    validate(report)
    assert report["target"]["mode"] == "live"
    assert all(r["status"] in {"pass", "fail", "error", "not_applicable", "manual"} for r in report["results"])
    assert report["coverage"]["selected"] == len(report["results"])
    crashed = [r["id"] for r in report["results"] if r["message"].startswith("check crashed")]
    assert crashed == []


def test_html_escapes_markup_found_in_evidence(tmp_root, tmp_path):
    _small_root(tmp_root)
    evil = "<script>alert(1)</script>"
    tmp_root.write("/etc/passwd", f"root:x:0:0::/root:/bin/bash\n{evil}:x:1002:1002::/tmp:/bin/sh\n")
    site = tmp_path / "site.yaml"
    site.write_text(f"name: site\nextends: gcux-qmail\noverrides:\n  accounts.removed-users:\n"
                    f"    parameters: {{removed_users: ['{evil}']}}\n")
    code, _, _ = _run("scan", "--root", str(tmp_root.path), "-o", str(tmp_path), "--quiet",
                      "--baseline", str(site), "--only", "accounts.removed-users", "--format", "html,json")
    assert code == 0
    html = (tmp_path / "report.html").read_text()
    assert evil not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_baseline_validate_rejects_a_control_lacking_a_parameter_its_check_reads(tmp_path):
    site = tmp_path / "site.yaml"
    site.write_text("name: site\ncontrols:\n  - id: mail.databytes\n    title: t\n    section: mail\n"
                    "    severity: high\n    modes: [live]\n    rationale: r\n")
    code, _, err = _run("baseline", "validate", str(site))
    assert code == 2
    assert f"{site}:3: $.controls[0].parameters: control 'mail.databytes' needs parameter 'databytes_max'" in err


def test_unwritable_output_directory_is_bad_input_before_the_audit_runs(tmp_path, monkeypatch):
    out = tmp_path / "ro"
    out.mkdir(mode=0o500)
    # As root every directory is writable, so ask os.access what a normal user would get.
    monkeypatch.setattr(os, "access", lambda path, mode: os.fspath(path) != str(out))
    code, _, err = _run("scan", "--root", str(tmp_path), "-o", str(out), "--quiet")
    assert code == 2
    assert "not writable" in err
    assert os.listdir(out) == []


SECRET = "S3CRETMARK"


def _root_with_secrets(tmp_root):
    """Credentials where admins leave them: cron, fstab, tripwire's cron line, a key, shadow."""
    _small_root(tmp_root)
    tmp_root.write("/etc/shadow", f"root:$6$Wq9hT0nL3xYb${SECRET}Gm5x0qQF0b6H1vJ2V1o3Qd9sHn2yXcJ7:19000:0:99999:7:::\n",
                   mode=0o400)
    tmp_root.write("/etc/cron.d/backup", f"MYSQL_PWD={SECRET}\n"
                   f"0 3 * * * root mysqldump --password={SECRET} --all-databases > /srv/db.sql\n"
                   f"30 3 * * * root mysqldump -uroot -p{SECRET} mail > /srv/mail.sql\n")
    tmp_root.write("/etc/cron.d/tripwire", f"0 4 * * * root /usr/sbin/tripwire --check --local-passphrase {SECRET}\n")
    tmp_root.write("/etc/crontab", f"0 5 * * * root curl -s https://backup:{SECRET}@example.org/ping\n")
    tmp_root.write("/etc/fstab", "/dev/sda1 / ext4 defaults 0 1\n"
                   f"//files/share /mnt/share cifs username=svc,password={SECRET},uid=0 0 0\n")
    tmp_root.write("/etc/stunnel/stunnel.pem",
                   f"-----BEGIN PRIVATE KEY-----\n{SECRET}\n-----END PRIVATE KEY-----\n")
    return tmp_root


def test_no_output_carries_a_planted_secret(tmp_root, tmp_path):
    _root_with_secrets(tmp_root)
    reports = tmp_path / "out"
    reports.mkdir()
    code, out, err = _run("scan", "--root", str(tmp_root.path), "-o", str(reports), "--no-color")
    assert code == 0, err
    written = {name: (reports / name).read_text() for name in os.listdir(reports)}
    assert sorted(written) == ["report.html", "report.json"]
    for where, text in {**written, "stdout": out, "stderr": err}.items():
        assert SECRET not in text, where
    # What named the secret is still reported, so the finding stays readable.
    assert "--local-passphrase <redacted>" in written["report.json"]
    assert "password=<redacted>" in written["report.json"]


def test_hostile_names_print_as_escapes_on_the_terminal(tmp_root, tmp_path):
    tmp_root.write("/etc/fstab", "/dev/sdb1\x1b]0;pwned\x07\x1b[2J\u202e[bold]x[/bold] /home ext4 defaults 0 0\n")
    code, out, err = _run("scan", "--root", str(tmp_root.path), "-o", str(tmp_path), "--no-color",
                          "--only", "fs.mount-options.home")
    assert code == 0, err
    for raw in ("\x1b", "\x07", "\u202e"):
        assert raw not in out
    assert "/dev/sdb1\\x1b]0;pwned\\x07\\x1b[2J\\u202e[bold]x[/bold] /home" in out


def test_undecodable_file_names_do_not_stop_the_audit(tmp_root, tmp_path):
    _small_root(tmp_root)
    tmp_root.write("/etc/profile", "TMOUT=600\n")
    profile_d = tmp_root.mkdir("/etc/profile.d")
    open(os.path.join(os.fsencode(profile_d), b"bad\xff\x1b[2J.sh"), "wb").close()
    wants = tmp_root.mkdir("/etc/systemd/system/multi-user.target.wants")
    os.symlink(b"/dev/null", os.path.join(os.fsencode(wants), b"x\xfe.service"))
    code, out, err = _run("scan", "--root", str(tmp_root.path), "-o", str(tmp_path))
    assert code == 0, err
    text = (tmp_path / "report.json").read_text(encoding="utf-8")
    assert "bad\\udcff\\u001b[2J.sh" in text
    validate(json.loads(text))
    (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "\x1b[2J" not in out


@pytest.mark.parametrize("formats", ["", ",", " , "])
def test_empty_format_list_is_bad_input(tmp_path, formats):
    code, _, err = _run("scan", "--root", str(tmp_path), "-o", str(tmp_path), "--format", formats)
    assert code == 2
    assert "--format: no format given" in err
    assert os.listdir(tmp_path) == []


def test_baseline_without_an_action_is_bad_input_with_usage():
    err = io.StringIO()
    with pytest.raises(SystemExit) as done, redirect_stderr(err), redirect_stdout(io.StringIO()):
        main(["baseline"])
    assert done.value.code == 2
    assert err.getvalue().startswith("usage: hostaudit baseline")


def test_error_messages_quote_hostile_paths_as_escapes(tmp_path):
    code, _, err = _run("scan", "--root", str(tmp_path / "x\x1b[2J\udcff"), "-o", str(tmp_path))
    assert code == 2
    assert f"root directory does not exist: {tmp_path}/x\\x1b[2J\\xff" in err
    assert "\x1b" not in err
