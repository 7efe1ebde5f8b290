import os
import subprocess

import pytest
from support import collect_fact, evidence_lines, run_check

from hostaudit.model import Status

DPKG_EMPTY = "Package: qmail\nStatus: install ok installed\nVersion: 1.03\n\n"
DPKG_SENDMAIL = DPKG_EMPTY + "Package: sendmail-bin\nStatus: install ok installed\nVersion: 8.17.1\n\n"
GROUPS = "root:x:0:\nnofiles:x:81:\nqmail:x:82:\n"
QMAIL_PASSWD = """root:x:0:0:root:/root:/bin/bash
alias:x:7790:81::/var/qmail/alias:/bin/false
qmaild:x:7791:81::/var/qmail:/bin/false
qmaill:x:7792:81::/var/qmail:/bin/false
qmailp:x:7793:81::/var/qmail:/bin/false
qmailq:x:7794:82::/var/qmail:/bin/false
qmailr:x:7795:82::/var/qmail:/bin/false
qmails:x:7796:82::/var/qmail:/bin/false
"""



# mail.sendmail-removed

def test_qmail_wrapper_and_no_sendmail_package_passes(tmp_root):
    tmp_root.write("/var/lib/dpkg/status", DPKG_EMPTY)
    tmp_root.write("/var/qmail/bin/sendmail", "\x7fELF /var/qmail/bin/qmail-inject", mode=0o755)
    tmp_root.symlink("/usr/sbin/sendmail", "/var/qmail/bin/sendmail")
    result = run_check("mail.sendmail-removed", root=tmp_root)
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/usr/sbin/sendmail: /usr/sbin/sendmail -> /var/qmail/bin/sendmail; belongs to qmail"]


def test_sendmail_bin_package_fails(tmp_root):
    tmp_root.write("/var/lib/dpkg/status", DPKG_SENDMAIL)
    result = run_check("mail.sendmail-removed", root=tmp_root)
    assert result.status is Status.FAIL
    assert "/var/lib/dpkg/status:5: sendmail-bin 8.17.1 installed" in evidence_lines(result)


def test_sendmail_binary_left_behind_fails(tmp_root):
    tmp_root.write("/var/lib/dpkg/status", DPKG_EMPTY)
    tmp_root.write("/usr/sbin/sendmail.sendmail", "\x7fELF /etc/mail/sendmail.cf", mode=0o755)
    tmp_root.symlink("/etc/alternatives/mta", "/usr/sbin/sendmail.sendmail")
    tmp_root.symlink("/usr/sbin/sendmail", "/etc/alternatives/mta")
    result = run_check("mail.sendmail-removed", root=tmp_root)
    assert result.status is Status.FAIL
    assert "sendmail binary at /usr/sbin/sendmail.sendmail" in result.message


def test_exim_wrapper_passes_naming_exim(tmp_root):
    tmp_root.write("/var/lib/dpkg/status", DPKG_EMPTY)
    tmp_root.write("/usr/sbin/exim4", "\x7fELF", mode=0o755)
    tmp_root.symlink("/usr/sbin/sendmail", "exim4")
    result = run_check("mail.sendmail-removed", root=tmp_root)
    assert result.status is Status.PASS
    assert result.message == "no sendmail package; /usr/sbin/sendmail is exim's wrapper"


# mail.qmail-accounts

def test_qmail_accounts_as_install_ids_pass(tmp_root):
    tmp_root.write("/etc/passwd", QMAIL_PASSWD)
    tmp_root.write("/etc/group", GROUPS)
    result = run_check("mail.qmail-accounts", root=tmp_root)
    assert result.status is Status.PASS
    assert "/etc/passwd:2: alias: gid 81 (nofiles), home /var/qmail/alias" in evidence_lines(result)


def test_document_typo_home_var_qamil_is_flagged(tmp_root):
    tmp_root.write("/etc/passwd", QMAIL_PASSWD.replace("7793:81::/var/qmail:", "7793:81::/var/qamil:"))
    tmp_root.write("/etc/group", GROUPS)
    result = run_check("mail.qmail-accounts", root=tmp_root)
    assert result.status is Status.FAIL
    assert "/etc/passwd:5: qmailp: home /var/qamil: the document's typo for /var/qmail" in evidence_lines(result)


def test_missing_user_and_wrong_group_fail_with_lines(tmp_root):
    passwd = QMAIL_PASSWD.replace("qmails:x:7796:82::/var/qmail:/bin/false\n", "").replace("7794:82:", "7794:81:")
    tmp_root.write("/etc/passwd", passwd)
    tmp_root.write("/etc/group", GROUPS)
    result = run_check("mail.qmail-accounts", root=tmp_root)
    assert result.status is Status.FAIL
    assert "/etc/passwd:6: qmailq: gid 81, not qmail (82)" in evidence_lines(result)
    assert "/etc/passwd: no qmails user" in evidence_lines(result)


# mail.databytes

@pytest.mark.parametrize("value", ["5242880", "1048576"])
def test_databytes_within_limit_passes(tmp_root, value):
    tmp_root.write("/var/qmail/control/databytes", value + "\n")
    result = run_check("mail.databytes", root=tmp_root, params={"databytes_max": 5242880})
    assert result.status is Status.PASS
    assert evidence_lines(result) == [f"/var/qmail/control/databytes:1: databytes={value}"]


def test_databytes_over_limit_fails(tmp_root):
    tmp_root.write("/var/qmail/control/databytes", "52428800\n")
    result = run_check("mail.databytes", root=tmp_root, params={"databytes_max": 5242880})
    assert result.status is Status.FAIL
    assert result.message == "databytes 52428800 exceeds 5242880"


def test_databytes_zero_means_unlimited_and_fails(tmp_root):
    tmp_root.write("/var/qmail/control/databytes", "0\n")
    result = run_check("mail.databytes", root=tmp_root, params={"databytes_max": 5242880})
    assert result.status is Status.FAIL
    assert "unlimited" in result.message


def test_databytes_missing_fails(tmp_root):
    result = run_check("mail.databytes", root=tmp_root, params={"databytes_max": 5242880})
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/var/qmail/control/databytes: absent"]


def test_databytes_not_a_number_fails(tmp_root):
    tmp_root.write("/var/qmail/control/databytes", "5MB\n")
    result = run_check("mail.databytes", root=tmp_root, params={"databytes_max": 5242880})
    assert result.status is Status.FAIL
    assert "'5MB' is not a positive integer" in result.message


def test_databytes_after_leading_blanks_is_no_limit_and_fails(tmp_root):
    # qmail's control_readint: scan_ulong from the line's first byte; a blank there reads no number.
    tmp_root.write("/var/qmail/control/databytes", " 5242880\n")
    result = run_check("mail.databytes", root=tmp_root, params={"databytes_max": 5242880})
    assert result.status is Status.FAIL
    assert result.message == ("databytes ' 5242880' is not a positive integer: qmail reads no number "
                              "after a leading blank and sets no limit")


# mail.badmailfrom

def test_badmailfrom_present_passes(tmp_root):
    tmp_root.write("/var/qmail/control/badmailfrom", "@spam.example\n# note\nbad@example.com\n")
    result = run_check("mail.badmailfrom", root=tmp_root)
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/var/qmail/control/badmailfrom: 2 entries"]


def test_badmailfrom_missing_fails(tmp_root):
    result = run_check("mail.badmailfrom", root=tmp_root)
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/var/qmail/control/badmailfrom: absent"]


# mail.aliases

def _aliases(root, root_text="&tony\n", mode=0o644):
    root.write("/etc/passwd", QMAIL_PASSWD)
    root.write("/var/qmail/alias/.qmail-root", root_text, mode=mode)
    root.write("/var/qmail/alias/.qmail-postmaster", "&tony\n", mode=0o644)
    root.write("/var/qmail/alias/.qmail-mailer-daemon", "&tony\n", mode=0o644)


def test_aliases_redirected_to_a_user_pass(tmp_root):
    _aliases(tmp_root)
    result = run_check("mail.aliases", root=tmp_root)
    assert result.status is Status.PASS
    assert "/var/qmail/alias/.qmail-root:1: mode 0644, delivers to '&tony'" in evidence_lines(result)
    assert "/etc/passwd:2: alias home /var/qmail/alias" in evidence_lines(result)


def test_empty_alias_file_as_the_document_touches_it_fails(tmp_root):
    _aliases(tmp_root, root_text="")
    result = run_check("mail.aliases", root=tmp_root)
    assert result.status is Status.FAIL
    assert "/var/qmail/alias/.qmail-root:1: empty: mail piles up in the alias Maildir unread" in evidence_lines(result)


def test_alias_file_mode_600_fails(tmp_root):
    _aliases(tmp_root, mode=0o600)
    result = run_check("mail.aliases", root=tmp_root)
    assert result.status is Status.FAIL
    assert ".qmail-root mode 0600, not 0644" in result.message


def test_alias_file_of_comments_only_discards_the_mail_and_fails(tmp_root):
    # dot-qmail(5): a .qmail file with a single # line throws every message away.
    _aliases(tmp_root, root_text="# root's mail: see tony\n")
    result = run_check("mail.aliases", root=tmp_root)
    assert result.status is Status.FAIL
    assert ".qmail-root has only comments: qmail-local throws the mail away" in result.message


def test_alias_file_whose_first_line_is_blank_fails(tmp_root):
    # qmail-local defers every message: "Uh-oh: first line of .qmail file is blank. (#4.2.1)"
    _aliases(tmp_root, root_text="\n&tony\n")
    result = run_check("mail.aliases", root=tmp_root)
    assert result.status is Status.FAIL
    assert ".qmail-root first line is blank: qmail-local defers every message" in result.message


def test_alias_file_delivering_into_the_alias_maildir_fails(tmp_root):
    _aliases(tmp_root, root_text="./Maildir/\n")
    result = run_check("mail.aliases", root=tmp_root)
    assert result.status is Status.FAIL
    assert ".qmail-root delivers only to ./Maildir/ in the alias home, which no user reads" in result.message


def test_alias_file_forwarding_by_bare_address_below_a_comment_passes(tmp_root):
    _aliases(tmp_root, root_text="# the admins\ntony@example.org\n")
    assert run_check("mail.aliases", root=tmp_root).status is Status.PASS


# mail.maildir

def test_rc_with_maildir_slash_passes(tmp_root):
    tmp_root.write("/var/qmail/rc", '#!/bin/sh\nexec env - PATH="/var/qmail/bin:$PATH" \\\nqmail-start ./Maildir/ splogger qmail\n')
    result = run_check("mail.maildir", root=tmp_root)
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/var/qmail/rc:3: qmail-start ./Maildir/ splogger qmail"]


def test_rc_as_the_document_writes_it_without_slash_fails(tmp_root):
    tmp_root.write("/var/qmail/rc", "qmail-start ./Maildir splogger qmail\n")
    result = run_check("mail.maildir", root=tmp_root)
    assert result.status is Status.FAIL
    assert "trailing slash" in result.message


def test_rc_still_delivering_to_mailbox_fails(tmp_root):
    tmp_root.write("/var/qmail/rc", "qmail-start ./Mailbox splogger qmail\n")
    result = run_check("mail.maildir", root=tmp_root)
    assert result.status is Status.FAIL
    assert result.message == "qmail delivers to ./Mailbox, not ./Maildir/"


def test_rc_reading_defaultdelivery_uses_that_file(tmp_root):
    tmp_root.write("/var/qmail/rc", 'qmail-start "`cat /var/qmail/control/defaultdelivery`"\n')
    tmp_root.write("/var/qmail/control/defaultdelivery", "./Maildir/\n")
    result = run_check("mail.maildir", root=tmp_root)
    assert result.status is Status.PASS
    assert "/var/qmail/control/defaultdelivery:1: ./Maildir/" in evidence_lines(result)


# mail.skel-maildir

def test_skel_maildir_and_qmail_file_pass(tmp_root):
    for sub in ("cur", "new", "tmp"):
        tmp_root.mkdir(f"/etc/skel/Maildir/{sub}")
    tmp_root.write("/etc/skel/.qmail", "./Maildir/\n")
    result = run_check("mail.skel-maildir", root=tmp_root)
    assert result.status is Status.PASS
    assert "/etc/skel/.qmail:1: ./Maildir/" in evidence_lines(result)


def test_skel_without_tmp_and_qmail_fails(tmp_root):
    tmp_root.mkdir("/etc/skel/Maildir/cur")
    tmp_root.mkdir("/etc/skel/Maildir/new")
    result = run_check("mail.skel-maildir", root=tmp_root)
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/etc/skel/Maildir/tmp: missing", "/etc/skel/.qmail: absent"]


# mail.pop3-tcprules (cdb compiled by the real tcprules)

def _compile_rules(root, text):
    source = root.write("/etc/tcprules/pop.tcp", text)
    with open(source, "rb") as stdin:
        subprocess.run(["tcprules", "pop.tcp.cdb", "pop.tcp.tmp"], stdin=stdin, cwd=source.parent,
                       check=True, timeout=10, capture_output=True)
    return source


def test_document_pop_rules_compiled_pass(tmp_root):
    _compile_rules(tmp_root, "127.:allow\n:deny\n")
    result = run_check("mail.pop3-tcprules", root=tmp_root)
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/etc/tcprules/pop.tcp:1: 127.:allow", "/etc/tcprules/pop.tcp:2: :deny",
                              "/etc/tcprules/pop.tcp.cdb: compiled after pop.tcp"]


def test_lan_allow_rule_fails(tmp_root):
    _compile_rules(tmp_root, "127.:allow\n192.168.1.:allow\n:deny\n")
    result = run_check("mail.pop3-tcprules", root=tmp_root)
    assert result.status is Status.FAIL
    assert "allows 192.168.1." in result.message


def test_catch_all_allow_fails(tmp_root):
    _compile_rules(tmp_root, "127.:allow\n:allow\n")
    result = run_check("mail.pop3-tcprules", root=tmp_root)
    assert result.status is Status.FAIL
    assert "allows everyone" in result.message


def test_rules_without_catch_all_deny_fail(tmp_root):
    _compile_rules(tmp_root, "127.:allow\n")
    result = run_check("mail.pop3-tcprules", root=tmp_root)
    assert result.status is Status.FAIL
    assert "no catch-all :deny" in result.message


def test_indented_deny_is_no_catch_all_and_fails(tmp_root):
    # tcprules keeps leading blanks in the address: "  :deny" denies the address "  ", and
    # every other client meets tcpserver's default, allow.
    _compile_rules(tmp_root, "127.:allow\n  :deny\n")
    result = run_check("mail.pop3-tcprules", root=tmp_root)
    assert result.status is Status.FAIL
    assert "no catch-all :deny" in result.message


def test_rules_edited_after_compiling_fail(tmp_root):
    source = _compile_rules(tmp_root, "127.:allow\n:deny\n")
    cdb = source.parent / "pop.tcp.cdb"
    os.utime(cdb, (1_000_000_000, 1_000_000_000))
    result = run_check("mail.pop3-tcprules", root=tmp_root)
    assert result.status is Status.FAIL
    assert "/etc/tcprules/pop.tcp.cdb: older than pop.tcp" in evidence_lines(result)


def test_rules_never_compiled_fail(tmp_root):
    tmp_root.write("/etc/tcprules/pop.tcp", "127.:allow\n:deny\n")
    result = run_check("mail.pop3-tcprules", root=tmp_root)
    assert result.status is Status.FAIL
    assert "/etc/tcprules/pop.tcp.cdb: absent" in evidence_lines(result)


# mail.stunnel-cert

@pytest.fixture
def immutable(require_root):
    """chattr +i the given files; cleared afterwards so pytest can delete tmp_path."""
    made = []

    def make(path):
        subprocess.run(["chattr", "+i", str(path)], check=True, timeout=10)
        made.append(path)

    yield make
    for path in made:
        subprocess.run(["chattr", "-i", str(path)], check=False, timeout=10)


def test_2002_stunnel_pem_root_0400_immutable_passes(tmp_root, immutable):
    pem = tmp_root.write("/usr/share/ssl/certs/stunnel.pem", "not a real key", mode=0o400, uid=0, gid=0)
    immutable(pem)
    result = run_check("mail.stunnel-cert", root=tmp_root)
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/usr/share/ssl/certs/stunnel.pem: uid 0 gid 0 mode 0400, immutable (default location)"]


def test_stunnel_pem_without_immutable_bit_fails(tmp_root, require_root):
    tmp_root.write("/etc/stunnel/stunnel.pem", "not a real key", mode=0o600, uid=0, gid=0)
    result = run_check("mail.stunnel-cert", root=tmp_root)
    assert result.status is Status.FAIL
    assert result.message == "/etc/stunnel/stunnel.pem not immutable"


def test_cert_named_in_stunnel_conf_readable_by_others_fails(tmp_root, immutable):
    tmp_root.write("/etc/stunnel/pop3s.conf", "[pop3s]\naccept = 995\nconnect = 110\ncert = /etc/ssl/private/mail.pem\n")
    pem = tmp_root.write("/etc/ssl/private/mail.pem", "not a real key", mode=0o644, uid=0, gid=0)
    immutable(pem)
    result = run_check("mail.stunnel-cert", root=tmp_root)
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/etc/ssl/private/mail.pem: uid 0 gid 0 mode 0644, immutable (/etc/stunnel/pop3s.conf:4 cert =)"]


def test_cert_named_in_a_file_stunnel_conf_includes_counts(tmp_root, immutable):
    # stunnel 5: "include = DIR" reads every file part in DIR, in name order.
    tmp_root.write("/etc/stunnel/stunnel.conf", "include = /etc/stunnel/conf.d\n")
    tmp_root.write("/etc/stunnel/conf.d/10-pop3s.conf", "[pop3s]\naccept = 995\nconnect = 110\n"
                                                         "cert = /etc/ssl/private/mail.pem\n")
    pem = tmp_root.write("/etc/ssl/private/mail.pem", "not a real key", mode=0o644, uid=0, gid=0)
    immutable(pem)
    result = run_check("mail.stunnel-cert", root=tmp_root)
    assert result.status is Status.FAIL
    assert evidence_lines(result) == [
        "/etc/ssl/private/mail.pem: uid 0 gid 0 mode 0644, immutable (/etc/stunnel/conf.d/10-pop3s.conf:4 cert =)"]


def test_no_stunnel_cert_fails_naming_where_it_looked(tmp_root):
    result = run_check("mail.stunnel-cert", root=tmp_root)
    assert result.status is Status.FAIL
    assert "/usr/share/ssl/certs/stunnel.pem: absent" in evidence_lines(result)


# mail.checkpassword

def test_checkpassword_root_owned_passes(tmp_root, require_root):
    tmp_root.write("/bin/checkpassword", "\x7fELF", mode=0o711, uid=0, gid=0)
    result = run_check("mail.checkpassword", root=tmp_root)
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/bin/checkpassword: uid 0 gid 0 mode 0711"]


def test_checkpassword_world_writable_fails(tmp_root):
    tmp_root.write("/bin/checkpassword", "\x7fELF", mode=0o757)
    result = run_check("mail.checkpassword", root=tmp_root)
    assert result.status is Status.FAIL
    assert "/bin/checkpassword" in result.message


def test_checkpassword_missing_fails(tmp_root):
    result = run_check("mail.checkpassword", root=tmp_root)
    assert result.status is Status.FAIL
    assert "/usr/local/bin/checkpassword: absent" in evidence_lines(result)


# mail.ucspi-tcp

def test_ucspi_tcp_in_usr_local_bin_passes(tmp_root):
    tmp_root.write("/usr/local/bin/tcpserver", "\x7fELF", mode=0o755)
    tmp_root.write("/usr/local/bin/tcprules", "\x7fELF", mode=0o755)
    result = run_check("mail.ucspi-tcp", root=tmp_root)
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/usr/local/bin/tcpserver: present", "/usr/local/bin/tcprules: present"]


def _pop3_processes(cmdline):
    return {"source": "process table (psutil)", "as_uid": 0, "processes": [
        {"pid": 4242, "ppid": 1, "name": "tcpserver", "user": "root", "uid_real": 0, "uid_effective": 0,
         "gid_real": 0, "gid_effective": 0, "cmdline": cmdline}]}


def test_live_pop3_tcpserver_without_the_cdb_fails_pop3_tcprules(tmp_root):
    _compile_rules(tmp_root, "127.:allow\n:deny\n")
    facts = {"pop_tcprules": collect_fact("pop_tcprules", tmp_root),
             "processes": _pop3_processes("tcpserver -v -R -H -l 0 0 110 /var/qmail/bin/qmail-popup "
                                          "mail /bin/checkpassword /var/qmail/bin/qmail-pop3d Maildir")}
    result = run_check("mail.pop3-tcprules", facts=facts, mode="live")
    assert result.status is Status.FAIL
    assert "does not run with -x /etc/tcprules/pop.tcp.cdb" in result.message


def test_live_pop3_tcpserver_with_the_cdb_passes_pop3_tcprules(tmp_root):
    _compile_rules(tmp_root, "127.:allow\n:deny\n")
    facts = {"pop_tcprules": collect_fact("pop_tcprules", tmp_root),
             "processes": _pop3_processes("tcpserver -x /etc/tcprules/pop.tcp.cdb -v -R -H -l 0 0 110 "
                                          "/var/qmail/bin/qmail-popup mail /bin/checkpassword")}
    result = run_check("mail.pop3-tcprules", facts=facts, mode="live")
    assert result.status is Status.PASS
    assert "pid 4242" in [e.where for e in result.evidence]


def test_tcprules_missing_fails(tmp_root):
    tmp_root.write("/usr/bin/tcpserver", "\x7fELF", mode=0o755)
    result = run_check("mail.ucspi-tcp", root=tmp_root)
    assert result.status is Status.FAIL
    assert result.message == "tcprules not installed"


def test_stunnel_attributes_unreadable_is_error_not_pass():
    facts = {"stunnel_cert": {"looked": ["/etc/stunnel/stunnel.pem"], "files": [
        {"path": "/etc/stunnel/stunnel.pem", "named_by": "default location", "present": True, "uid": 0, "gid": 0,
         "mode": 0o400, "attr_error": "cannot read attributes: Inappropriate ioctl for device"}]}}
    result = run_check("mail.stunnel-cert", facts=facts)
    assert result.status is Status.ERROR
    assert "Inappropriate ioctl" in result.message
