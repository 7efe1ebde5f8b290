"""Credentials a hostile or careless target writes in idioms the redactor did not know.

Each case was found by planting it in an image and reading the reports: the text reached
report.json (facts and evidence) whole. Every case is a documented way to pass a password
(mount.cifs(8) ``user=name%pass``, curlftpfs' ``#user:pass@host`` fstab source, RHEL's
``passwd --stdin``, kickstart's ``rootpw --plaintext``...).
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout

import pytest

from hostaudit.cli import main
from hostaudit.redact import redact_text

SECRET = "S3CRETMARK"


def _scan(root, out_dir, *extra):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["scan", "--root", str(root), "-o", str(out_dir), "--no-color", "--verbose",
                     "--format", "json,html,sarif,junit,terminal", *extra])
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("line, shown", [
    # a password piped into a program that reads it from standard input
    (f"echo {SECRET} | passwd --stdin root", "echo <redacted> | passwd --stdin root"),
    (f"echo -e '{SECRET}\\n{SECRET}' | passwd alice", "echo <redacted> | passwd alice"),
    (f"printf '%s\\n' '{SECRET}' | sudo -S apt-get update", "printf <redacted> | sudo -S apt-get update"),
    (f"echo '{SECRET}' | kinit admin@EXAMPLE.ORG", "echo <redacted> | kinit admin@EXAMPLE.ORG"),
    (f"echo 'root:{SECRET}' | /usr/sbin/chpasswd", "echo 'root:<redacted>' | /usr/sbin/chpasswd"),
    (f"chpasswd <<< 'root:{SECRET}'", "chpasswd <<< <redacted>"),
    # kickstart's root password, whatever flag comes before it
    (f"rootpw --plaintext {SECRET}", "rootpw --plaintext <redacted>"),
    (f"rootpw --iscrypted abJnggxhB/yW.{SECRET}", "rootpw --iscrypted <redacted>"),
])
def test_a_password_given_to_a_program_on_its_standard_input_is_redacted(line, shown):
    assert redact_text(line) == shown


@pytest.mark.parametrize("line, shown", [
    (f"docker login -u ci -p {SECRET} registry.example.org", "docker login -u ci -p <redacted> registry.example.org"),
    (f"mongodump -u admin -p {SECRET} --out /srv", "mongodump -u admin -p <redacted> --out /srv"),
    (f"zip -P {SECRET} -r /srv/backup.zip /etc", "zip -P <redacted> -r /srv/backup.zip /etc"),
    (f"7z a -p{SECRET} /srv/backup.7z /etc", "7z a -p<redacted> /srv/backup.7z /etc"),
    (f"useradd -m -p {SECRET} alice", "useradd -m -p <redacted> alice"),
    (f"lftp -u backup,{SECRET} ftp.example.org", "lftp -u backup,<redacted> ftp.example.org"),
    (f"openssl enc -aes-256-cbc -k {SECRET} -in x", "openssl enc -aes-256-cbc -k <redacted> -in x"),
    # smbclient(1): smbclient {//server/service} [password] [options]
    (f"smbclient //nas/backup {SECRET} -U bob -c 'put x'", "smbclient //nas/backup <redacted> -U bob -c 'put x'"),
    # sshpass(1) -e reads the password from SSHPASS
    (f"SSHPASS='{SECRET}' sshpass -e rsync -a /srv backup@h:", "SSHPASS=<redacted> sshpass -e rsync -a /srv backup@h:"),
])
def test_a_password_in_a_tools_short_flag_is_redacted(line, shown):
    assert redact_text(line) == shown


@pytest.mark.parametrize("line, shown", [
    # mount.cifs(8): "username=arg ... may also include the password in the form user%password"
    (f"//srv/share /mnt cifs user=backup%{SECRET},uid=0 0 0", "//srv/share /mnt cifs user=backup%<redacted>,uid=0 0 0"),
    (f"//srv/share /mnt cifs username=backup%{SECRET} 0 0", "//srv/share /mnt cifs username=backup%<redacted> 0 0"),
    # curlftpfs and other FUSE sources in fstab: TYPE#user:password@host
    (f"curlftpfs#backup:{SECRET}@ftp.example.org /mnt/ftp fuse rw 0 0",
     "curlftpfs#backup:<redacted>@ftp.example.org /mnt/ftp fuse rw 0 0"),
])
def test_a_password_in_a_mount_source_or_option_is_redacted(line, shown):
    assert redact_text(line) == shown


@pytest.mark.parametrize("line, shown", [
    # YAML and JSON configuration (netplan, cloud-init, compose files, daemon.json)
    (f"      password: {SECRET}", "      password: <redacted>"),
    (f'  "db_password": "{SECRET}",', '  "db_password": <redacted>'),  # the comma goes too
    (f"client_secret:   '{SECRET}'", "client_secret:   <redacted>"),
    (f"api-token: {SECRET}", "api-token: <redacted>"),
])
def test_a_secret_named_before_a_colon_is_redacted(line, shown):
    assert redact_text(line) == shown


@pytest.mark.parametrize("line, shown", [
    (f"git clone https://ghp_{SECRET}0123456789abcdefABCDEF01@github.com/o/r /srv/r",
     "git clone https://<redacted>@github.com/o/r /srv/r"),
    (f"curl -H 'PRIVATE-TOKEN: glpat-{SECRET}xyz' https://gitlab.example.org/api",
     "curl -H 'PRIVATE-TOKEN: <redacted>' https://gitlab.example.org/api"),
    (f"notify xoxb-1234-{SECRET}", "notify <redacted>"),
    # signed URLs: an Azure SAS, an S3 or GCS presigned URL, a Google API key
    (f"azcopy copy /srv 'https://a.blob.core.windows.net/c?sv=2022-11-02&sig={SECRET}%2Bx&se=2030'",
     "azcopy copy /srv 'https://a.blob.core.windows.net/c?sv=2022-11-02&sig=<redacted>&se=2030'"),
    (f"curl 'https://b.s3.amazonaws.com/k?X-Amz-Date=1&X-Amz-Signature={SECRET}'",
     "curl 'https://b.s3.amazonaws.com/k?X-Amz-Date=1&X-Amz-Signature=<redacted>'"),
    (f"curl https://maps.googleapis.com/x?key=AIzaSy{SECRET}0123456789abcdefghijklm",
     "curl https://maps.googleapis.com/x?key=<redacted>"),
])
def test_a_token_recognisable_by_its_prefix_or_place_in_a_url_is_redacted(line, shown):
    assert redact_text(line) == shown


@pytest.mark.parametrize("line", [
    "passwd: files systemd",              # nsswitch.conf
    "password:\n  next: value",            # a key with nothing after it on its line
    "control 'boot.loader-password': references without CIS numbers",  # a control ID in a message
    "$.overrides['auth.password']: unknown parameter",
    "ssh://git@github.com/o/r",           # a user name, not a credential
    "echo done | logger -t backup",       # piped into a program that reads no password
    "sshfs#backup@host:/srv /mnt fuse defaults 0 0",
    "//srv/share /mnt cifs user=backup,uid=0 0 0",
    "rootpw --lock",
    "zip -r /srv/backup.zip /etc",
    "git clone https://github.com/o/r",
    "smbclient //nas/backup -U bob -c 'ls'",
    "smbclient -L //nas",
])
def test_the_new_rules_leave_ordinary_configuration_alone(line):
    assert redact_text(line) == line


def test_no_report_carries_a_password_from_an_fstab_mount_source_or_option(tmp_root, tmp_path):
    tmp_root.write("/etc/fstab", "/dev/sda1 / ext4 defaults 0 1\n"
                   f"curlftpfs#backup:{SECRET}@ftp.example.org /mnt/ftp fuse rw,nosuid 0 0\n"
                   f"//srv/share /mnt/share cifs user=backup%{SECRET},nosuid 0 0\n")
    code, out, err = _scan(tmp_root.path, tmp_path, "--only", "fs.")
    assert code == 0, err
    report = (tmp_path / "report.json").read_text()
    assert any("curlftpfs#backup:" in e["spec"] for e in json.loads(report)["facts"]["fstab"]["entries"])
    for name in ("report.json", "report.html", "report.sarif", "report.junit.xml"):
        assert SECRET not in (tmp_path / name).read_text(), name
    assert SECRET not in out + err


def test_no_report_carries_a_password_piped_to_passwd_in_a_cron_line(tmp_root, tmp_path):
    tmp_root.write("/etc/crontab", f"0 0 * * * root echo '{SECRET}' | passwd --stdin root\n"
                   f"0 1 * * * root rootpw --plaintext {SECRET}\n"
                   f"0 2 * * * root docker login -u ci -p {SECRET} registry.example.org\n")
    code, out, err = _scan(tmp_root.path, tmp_path)
    assert code == 0, err
    report = (tmp_path / "report.json").read_text()
    assert "passwd --stdin root" in report, "the cron line reached the report's facts"
    for name in ("report.json", "report.html", "report.sarif", "report.junit.xml"):
        assert SECRET not in (tmp_path / name).read_text(), name
    assert SECRET not in out + err
