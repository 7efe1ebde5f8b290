"""A hostile user against hostaudit's promises: no false verdicts, no leaks, no hangs.

Each test is one way an attacker-written target (or a careless admin's file) tried to get
a secret into a report, a wrong verdict past the checks, or control of the terminal.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout

import pytest
from support import run_check

from hostaudit.cli import main
from hostaudit.model import Status
from hostaudit.redact import redact_text

SECRET = "S3CRETMARK"


def _run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("line, shown", [
    # a quote inside the value does not end the redaction
    (f'mysqldump --password=ab"{SECRET} db', "mysqldump --password=<redacted> db"),
    (f"mysqldump --password=a'b{SECRET}' db", "mysqldump --password=<redacted> db"),
    # OpenSSL pass phrase arguments
    (f"openssl enc -aes256 -passin pass:{SECRET} -in x", "openssl enc -aes256 -passin pass:<redacted> -in x"),
    (f"openssl rsa -passout 'pass:{SECRET}' -in k", "openssl rsa -passout 'pass:<redacted>' -in k"),
    # curl's user flag with the value attached, and its proxy user
    (f"curl -uadmin:{SECRET} http://example.org/", "curl -uadmin:<redacted> http://example.org/"),
    (f"curl -U proxy:{SECRET} http://example.org/", "curl -U proxy:<redacted> http://example.org/"),
    # the password before the program that takes it
    (f"echo 'root:{SECRET}' | chpasswd", "echo 'root:<redacted>' | chpasswd"),
    # htpasswd's batch mode takes the password as its last argument
    (f"htpasswd -b /etc/htpasswd alice {SECRET}", "htpasswd -b /etc/htpasswd alice <redacted>"),
    (f"htpasswd -nbB alice {SECRET}", "htpasswd -nbB alice <redacted>"),
    # LDAP bind passwords in PAM arguments and ldap.conf, a bare pw=
    (f"auth sufficient pam_ldap.so bindpw={SECRET}", "auth sufficient pam_ldap.so bindpw=<redacted>"),
    (f"bindpw {SECRET}", "bindpw <redacted>"),
    (f"rootpw {SECRET}", "rootpw <redacted>"),
    # OpenLDAP clients' simple bind password
    (f"ldapsearch -x -D cn=admin,dc=example -w {SECRET} -b dc=example",
     "ldapsearch -x -D cn=admin,dc=example -w <redacted> -b dc=example"),
    (f'-A INPUT -m comment --comment "pw={SECRET}" -j ACCEPT',
     '-A INPUT -m comment --comment "pw=<redacted>" -j ACCEPT'),
])
def test_credentials_in_common_shell_idioms_are_redacted(line, shown):
    assert redact_text(line) == shown


@pytest.mark.parametrize("line", [
    "password required pam_unix.so obscure sha512",
    "PASS_MAX_DAYS 99999",
    "cd $OLDPWD",
    "127.0.0.1:allow",
])
def test_redaction_of_shell_idioms_leaves_ordinary_configuration_alone(line):
    assert redact_text(line) == line


def test_no_report_carries_a_credential_from_a_cron_line_in_a_shell_idiom(tmp_root, tmp_path):
    tmp_root.write("/etc/crontab", "".join(f"{n} * * * * root {command}\n" for n, command in enumerate([
        f'mysqldump --password=ab"{SECRET} db',
        f"openssl enc -aes256 -passin pass:{SECRET} -in x",
        f"curl -uadmin:{SECRET} http://example.org/",
        f"echo 'root:{SECRET}' | chpasswd",
        f"htpasswd -b /etc/htpasswd alice {SECRET}",
    ])))
    tmp_root.write("/etc/pam.d/su", f"auth required pam_wheel.so use_uid\nauth sufficient pam_ldap.so bindpw={SECRET}\n")
    code, out, err = _run("scan", "--root", str(tmp_root.path), "-o", str(tmp_path), "--no-color")
    assert code == 0, err
    report = (tmp_path / "report.json").read_text()
    assert json.loads(report)["facts"]["schedules"]["cron"], "the cron lines reached the report's facts"
    for where, text in {"report.json": report, "report.html": (tmp_path / "report.html").read_text(),
                        "stdout": out, "stderr": err}.items():
        assert SECRET not in text, where


# Unreadable is never absent: a package database that is there but cannot be read (here a
# directory where dpkg's status file belongs; as a user, a 0600 file) may hide the package.

def test_tripwire_coverage_is_an_error_when_an_unreadable_package_database_may_hide_tripwire(tmp_root):
    tmp_root.mkdir("/var/lib/dpkg/status")
    result = run_check("integrity.tripwire-covers-qmail", root=tmp_root)
    assert result.status is Status.ERROR
    assert "whether tripwire is installed cannot be told" in result.message
    assert "/var/lib/dpkg/status" in result.message


def test_tripwire_plaintext_check_is_an_error_when_an_unreadable_package_database_may_hide_tripwire(tmp_root):
    tmp_root.mkdir("/var/lib/dpkg/status")
    result = run_check("integrity.tripwire-plaintext-removed", root=tmp_root)
    assert result.status is Status.ERROR
    assert "whether tripwire is installed cannot be told" in result.message


def test_aliases_are_an_error_not_a_failure_when_passwd_cannot_tell_the_alias_home(tmp_root):
    tmp_root.mkdir("/etc/passwd")  # unreadable: an alias user there may live anywhere
    result = run_check("mail.aliases", root=tmp_root)
    assert result.status is Status.ERROR
    assert result.message.startswith("cannot tell the alias user's home: ")
    assert "/etc/passwd" in result.message


# Read-only: the audited tree keeps its access times, directories included (a forensic
# timeline reads them; relatime would stamp a directory listed once a day).

def test_listing_a_directory_leaves_its_access_time_alone(tmp_root):
    import os

    directory = tmp_root.mkdir("/etc/cron.d")
    tmp_root.write("/etc/cron.d/job", "0 * * * * root true\n")
    os.utime(directory, ns=(10**9, os.stat(directory).st_mtime_ns))
    assert tmp_root.host.listdir("/etc/cron.d") == ["job"]
    assert os.stat(directory).st_atime_ns == 10**9


# Baseline input: a few lines of YAML aliases must not become 10**9 values to validate.

BILLION_LAUGHS = """\
name: laughs
extends: gcux-qmail
overrides:
  mail.databytes:
    parameters:
      databytes_max: &i [&h [&g [&f [&e [&d [&c [&b [&a [x, x, x, x, x, x, x, x, x, x], *a, *a, *a, *a, *a, *a, \
*a, *a, *a], *b, *b, *b, *b, *b, *b, *b, *b, *b], *c, *c, *c, *c, *c, *c, *c, *c, *c], *d, *d, *d, *d, *d, *d, *d, \
*d, *d], *e, *e, *e, *e, *e, *e, *e, *e, *e], *f, *f, *f, *f, *f, *f, *f, *f, *f], *g, *g, *g, *g, *g, *g, *g, *g, \
*g], *h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


def test_a_baseline_of_billion_laughs_aliases_is_bad_input_naming_its_line(tmp_path):
    path = tmp_path / "laughs.yaml"
    path.write_text(BILLION_LAUGHS)
    # In a child with a deadline: without the limit this validation runs for hours.
    done = subprocess.run([sys.executable, "-m", "hostaudit", "baseline", "validate", str(path)],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {path}:6: the document expands to more than 100000 values")


# Terminal injection: a site baseline handed to the auditor is text, never terminal control.

HOSTILE_WORDS = "\x1b]0;pwned\x07\x1b[2J \u202eevil \x9b31m [bold]x[/bold]"


def test_explain_prints_a_site_baselines_control_characters_as_escapes(tmp_path):
    site = tmp_path / "site.yaml"
    site.write_text(json.dumps({
        "name": "site", "extends": "gcux-qmail",
        "overrides": {"mail.databytes": {"title": f"T {HOSTILE_WORDS}", "remediation": f"R {HOSTILE_WORDS}"}},
    }))
    code, out, err = _run("explain", "--baseline", str(site), "mail.databytes")
    assert code == 0, err
    for raw in ("\x1b", "\x07", "\u202e", "\x9b"):
        assert raw not in out
    assert "R \\x1b]0;pwned\\x07\\x1b[2J \\u202eevil \\x9b31m [bold]x[/bold]" in out


# Image tarballs: whatever an image holds, its temporary copy is removed afterwards.

@pytest.mark.slow
def test_an_image_a_thousand_directories_deep_is_removed_after_the_audit(tmp_path, monkeypatch):
    import tarfile
    import tempfile

    from hostaudit.image import open_image

    image = tmp_path / "deep.tar"
    with tarfile.open(image, "w") as archive:
        member = tarfile.TarInfo("a/" * 1000 + "f")
        archive.addfile(member, io.BytesIO(b""))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    try:
        with open_image(str(image)) as (host, _):
            assert host.exists("/" + "a/" * 1000 + "f")
        assert list(scratch.iterdir()) == []
    finally:
        # rm(1) removes any depth; pytest's own cleanup would hit the same recursion limit.
        subprocess.run(["rm", "-rf", "--one-file-system", str(scratch)], check=True, timeout=60)


# No silent truncation: a verdict is never read from the first 120 characters of a line.

def test_databytes_padded_with_leading_zeros_is_judged_on_the_whole_number(tmp_root):
    tmp_root.write("/var/qmail/control/databytes", "0" * 115 + "999999999\n")
    result = run_check("mail.databytes", root=tmp_root)
    assert result.status is Status.FAIL
    assert result.message == "databytes 999999999 exceeds 5242880"


def test_qmail_start_argument_past_120_characters_is_judged_whole(tmp_root):
    prefix = 'exec env - PATH="/var/qmail/bin:'
    padding = "x" * (120 - len(prefix) - len('" qmail-start ./Maildir/'))
    tmp_root.write("/var/qmail/rc", f'#!/bin/sh\n{prefix}{padding}" qmail-start ./Maildir/mbox splogger qmail\n')
    result = run_check("mail.maildir", root=tmp_root)
    assert result.status is Status.FAIL
    assert result.message == "qmail delivers to ./Maildir/mbox, not ./Maildir/"


def test_a_line_too_long_to_judge_is_an_error_not_a_cut(tmp_root):
    tmp_root.write("/var/qmail/control/databytes", "0" * 5000 + "1\n")
    result = run_check("mail.databytes", root=tmp_root)
    assert result.status is Status.ERROR
    assert "/var/qmail/control/databytes:1: a line of 5001 characters; not judged from part of it" in result.message


def test_skeleton_qmail_delivering_below_ten_comment_lines_passes(tmp_root):
    for sub in ("cur", "new", "tmp"):
        tmp_root.mkdir(f"/etc/skel/Maildir/{sub}")
    tmp_root.write("/etc/skel/.qmail", "# comment\n" * 12 + "./Maildir/\n")
    result = run_check("mail.skel-maildir", root=tmp_root)
    assert result.status is Status.PASS
    assert "/etc/skel/.qmail:13: ./Maildir/" in [str(e) for e in result.evidence]


def test_a_tripwire_check_past_the_first_200_characters_of_a_cron_line_is_seen(tmp_root):
    from schedulers import cron_enabled

    cron_enabled(tmp_root, "tripwire")
    tmp_root.write("/usr/sbin/tripwire", "\x7fELF", mode=0o755)
    tmp_root.write("/var/lib/tripwire/mail.twd", "db")
    padding = "RUN_BY=" + "x" * 200
    tmp_root.write("/etc/cron.d/integrity", f"0 3 * * * root env {padding} /usr/sbin/tripwire --check --quiet\n")
    result = run_check("integrity.tripwire-scheduled", root=tmp_root)
    assert result.status is Status.PASS
    assert result.evidence[0].text.endswith("/usr/sbin/tripwire --check --quiet [run by cron]")


def test_a_cron_command_too_long_to_judge_is_an_error_not_a_cut(tmp_root):
    tmp_root.write("/etc/crontab", "0 3 * * * root true " + "x" * 5000 + " tripwire --check\n")
    result = run_check("integrity.tripwire-scheduled", root=tmp_root)
    assert result.status is Status.ERROR
    assert "/etc/crontab:1: a command of " in result.message


def test_an_error_message_quoting_an_image_member_redacts_the_credential_in_its_name(tmp_path):
    import tarfile

    image = tmp_path / "image.tar"
    with tarfile.open(image, "w") as archive:
        member = tarfile.TarInfo(f"/etc/backup --password={SECRET}")
        member.size = 1
        archive.addfile(member, io.BytesIO(b"x"))
    code, out, err = _run("scan", "--image", str(image), "-o", str(tmp_path))
    assert code == 2
    assert "unsafe member '/etc/backup --password=<redacted>'" in err
    assert SECRET not in out + err


def test_quiet_unless_changed_names_the_previous_runs_coverage(tmp_root, tmp_path):
    tmp_root.write("/var/qmail/control/databytes", "1000000\n")
    state, out = tmp_path / "state", tmp_path / "out"
    out.mkdir()
    args = ("scan", "--root", str(tmp_root.path), "-o", str(out), "--state-dir", str(state),
            "--quiet-unless-changed", "--only", "mail.")
    assert _run(*args)[0] == 0
    tmp_root.write("/var/qmail/control/databytes", "99999999\n")
    code, printed, err = _run(*args)
    assert code == 0, err
    assert "coverage n/a%" not in printed


# Unreadable is never absent: a boot rules script that cannot be read may load IPv6 rules.

def test_a_boot_rules_script_too_large_to_read_is_an_error_not_a_script_without_ipv6(tmp_root):
    from test_fw import doc_boot
    from test_parsers_iptables import DOC_SCRIPT

    doc_boot(tmp_root, "/etc/iptables/rules")
    padding = "# " + "x" * 78 + "\n"
    tmp_root.write("/etc/iptables/rules", DOC_SCRIPT + padding * 14000 + "/sbin/ip6tables -P INPUT DROP\n", mode=0o744)
    result = run_check("fw.enabled", root=tmp_root)
    assert result.status is Status.ERROR
    assert "/etc/iptables/rules" in result.message and "too large" in result.message


@pytest.mark.slow
def test_an_image_with_a_huge_malformed_pax_header_is_refused_quickly(tmp_path):
    import tarfile

    size = 300 * 1024
    header = tarfile.TarInfo("././@PaxHeader")
    header.type, header.size = tarfile.XHDTYPE, size
    image = tmp_path / "pax.tar"
    image.write_bytes(header.tobuf(format=tarfile.USTAR_FORMAT) + b"0" * size
                      + b"\0" * (-size % 512) + b"\0" * 1024)
    # TMPDIR in tmp_path: a killed child leaves its half-unpacked root there, not in /tmp.
    done = subprocess.run([sys.executable, "-m", "hostaudit", "scan", "--image", str(image), "-o", str(tmp_path)],
                          capture_output=True, text=True, timeout=15,
                          env={"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp_path)})
    assert done.returncode == 2
    assert "pax" in done.stderr.lower()


def test_a_pasted_private_keys_body_quoted_without_its_begin_line_is_redacted(tmp_root, tmp_path):
    body = "MIIEowIBAAKCAQEA" + SECRET + "abcdefghijklmnopqrstuvwxyz0123456789"
    tmp_root.write("/etc/iptables/rules.v4", f"*filter\n:INPUT DROP [0:0]\n{body}\nCOMMIT\n")
    code, out, err = _run("scan", "--root", str(tmp_root.path), "-o", str(tmp_path), "--no-color",
                          "--only", "fw.default-policy")
    assert code == 0, err
    report = (tmp_path / "report.json").read_text()
    assert '"text": "<redacted>"' in report
    assert SECRET not in report + out


def test_a_baseline_that_is_not_utf8_is_bad_input_naming_the_line(tmp_path):
    site = tmp_path / "site.yaml"
    site.write_bytes(b"name: site\nextends: gcux-qmail\noverrides:\n  ssh.port:\n    title: \"caf\xe9\"\n")
    code, _, err = _run("baseline", "validate", str(site))
    assert code == 2
    assert err == f"error: {site}:5: not UTF-8: byte 0xe9 cannot be decoded (save the file as UTF-8)\n"


def test_a_baseline_larger_than_64_mib_is_bad_input_without_being_read_whole(tmp_path):
    site = tmp_path / "site.yaml"
    with open(site, "wb") as handle:
        handle.write(b"name: site\nextends: gcux-qmail\n")
        handle.truncate(64 * 1024 * 1024 + 1)  # sparse: the test costs no disk
    code, _, err = _run("baseline", "validate", str(site))
    assert code == 2
    assert err == f"error: {site}: larger than 67108864 bytes; not a baseline\n"


def test_a_baseline_extending_itself_is_bad_input_naming_its_extends_line(tmp_path):
    site = tmp_path / "site.yaml"
    site.write_text("name: site\n\nextends: ./site.yaml\n")
    code, _, err = _run("baseline", "validate", str(site))
    assert code == 2
    assert err == f"error: {site}:3: extends cycle: {site} -> {site}\n"


def test_a_hard_link_to_itself_is_the_file_it_names(tmp_path):
    import tarfile

    image = tmp_path / "image.tar"
    with tarfile.open(image, "w") as archive:
        member = tarfile.TarInfo("f")
        member.size = 1
        archive.addfile(member, io.BytesIO(b"x"))
        link = tarfile.TarInfo("f")
        link.type, link.linkname = tarfile.LNKTYPE, "f"
        archive.addfile(link)
    code, _, err = _run("scan", "--image", str(image), "-o", str(tmp_path), "--only", "mail.databytes")
    # The image's tree records the link as the same inode: harmless, audited, nothing leaks.
    assert code in (0, 1), err
    assert "hostaudit-image-" not in err


# Read-only: printing an image's signed tripwire policy leaves the image's access times alone
# (the auditor's twadmin reads private copies).

def test_printing_an_images_tripwire_policy_leaves_its_access_times_alone(tmp_root, tmp_path_factory):
    import os
    import shutil

    from test_integrity import COVERING_POLICY, _Signer

    if not shutil.which("twadmin"):
        pytest.skip("twadmin (tripwire) is not installed")
    _Signer(tmp_path_factory.mktemp("twkeys")).image(tmp_root, COVERING_POLICY)
    files = [tmp_root.path / "etc/tripwire" / name for name in ("tw.cfg", "tw.pol", "site.key")]
    for path in files:
        os.utime(path, ns=(10**9, os.stat(path).st_mtime_ns))
    result = run_check("integrity.tripwire-covers-qmail", root=tmp_root)
    assert result.status is Status.PASS, result.message
    assert [os.stat(path).st_atime_ns for path in files] == [10**9] * 3


# Per-probe deadlines are the last resort: a few sshd_config files including each other
# (within sshd's depth limit) are refused at once rather than read 8**16 times.

def test_sshd_include_fan_out_is_an_error_at_once(tmp_root):
    import time

    tmp_root.write("/etc/ssh/sshd_config", "Port 22\nInclude /etc/ssh/sshd_config.d/*.conf\n")
    for name in ("a", "b"):
        tmp_root.write(f"/etc/ssh/sshd_config.d/{name}.conf", "Include /etc/ssh/sshd_config.d/*.conf\n" * 4)
    started = time.monotonic()
    result = run_check("ssh.port", root=tmp_root)
    assert result.status is Status.ERROR
    assert "Include expands to more than 1000 files" in result.message
    assert time.monotonic() - started < 20


# diff's inputs: a report file that is not one is bad input (exit 2), never a hang or a crash.

def test_diff_of_deeply_nested_json_is_bad_input(tmp_path):
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text("[" * 100000 + "]" * 100000)
    new.write_text('{"schema_version": 1}')
    code, _, err = _run("diff", str(old), str(new), "-o", str(tmp_path))
    assert code == 2
    assert err == f"error: {old}: not a hostaudit report (JSON nested too deeply to read)\n"


def test_diff_of_a_fifo_is_bad_input_without_waiting_for_a_writer(tmp_path):
    import os

    old, new = tmp_path / "old.json", tmp_path / "new.json"
    os.mkfifo(old)
    new.write_text('{"schema_version": 1}')
    # In a child with a deadline: opening a FIFO for reading blocks until a writer comes.
    done = subprocess.run([sys.executable, "-m", "hostaudit", "diff", str(old), str(new), "-o", str(tmp_path)],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert done.stderr == f"error: {old}: not a regular file\n"
