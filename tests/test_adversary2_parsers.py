"""Target files are read line by line as the programs that use them read them: a line ends at
a newline only, blanks are C blanks, numbers are ASCII. A form feed or a fullwidth digit in
an attacker-written file must not make a setting the program never sees."""

from __future__ import annotations

from hostaudit.parsers.passwd import parse_login_defs


def test_login_defs_a_comment_holding_a_form_feed_sets_nothing():
    # shadow-utils reads "#\fUID_MIN 60000" as one comment line.
    assert parse_login_defs("#\x0cUID_MIN 60000\nUID_MIN 1000\n") == {"UID_MIN": {"value": "1000", "line": 2}}


def test_login_defs_a_value_keeps_a_no_break_space_the_reader_does_not_trim():
    assert parse_login_defs("UID_MIN 1000\u00a0\n")["UID_MIN"]["value"] == "1000\u00a0"


def test_uid_min_in_fullwidth_digits_is_not_a_number():
    import pytest

    from hostaudit.checks.accounts import _uid_min

    defs = {"path": "/etc/login.defs", "present": True, "settings": {"UID_MIN": {"value": "\uff11\uff10", "line": 3}}}
    with pytest.raises(ValueError, match="is not a number"):
        _uid_min({"login_defs": defs})


def test_fstab_a_comment_holding_a_form_feed_mounts_nothing():
    from hostaudit.parsers.fstab import parse_fstab

    assert parse_fstab("#\x0c/dev/sda2 /tmp ext4 noexec 0 0\n") == []


def test_pam_a_comment_holding_a_form_feed_is_a_commented_rule():
    from hostaudit.parsers.pam import parse_pam

    assert [r["commented"] for r in parse_pam("#\x0cauth required pam_wheel.so\n")] == [True]


def test_sshd_config_a_comment_holding_a_form_feed_sets_nothing():
    from hostaudit.parsers.sshd_config import parse_sshd_config

    assert parse_sshd_config("#\x0cPort 2112\nPort 22\n") == [
        {"keyword": "port", "args": ["22"], "line": 2, "in_match": False}]


def test_tcprules_a_comment_holding_a_form_feed_is_no_rule():
    from hostaudit.parsers.tcprules import parse_tcprules

    assert parse_tcprules("#\x0c:deny\n") == []


def test_qmail_template_delivery_in_a_comment_holding_a_form_feed_is_no_delivery():
    from hostaudit.parsers.qmail import delivery_template

    assert delivery_template("#\x0c./Maildir/\n")["maildir_line"] is None


def test_grub2_a_password_in_a_comment_holding_a_form_feed_is_no_password():
    from hostaudit.parsers.grub import parse_grub2

    assert parse_grub2("#\x0cpassword_pbkdf2 root grub.pbkdf2.sha512.10000.AA.BB\n") == []


def test_grub_legacy_a_password_in_a_comment_holding_a_form_feed_is_no_password():
    from hostaudit.parsers.grub import parse_grub_legacy

    assert parse_grub_legacy("#\x0cpassword --md5 $1$abc$def\n") == []


def test_crontab_a_job_in_a_comment_holding_a_form_feed_is_no_job():
    from hostaudit.parsers.crontab import parse_crontab

    assert parse_crontab("#\x0c0 3 * * * root /usr/sbin/tripwire --check\n", system=True)["entries"] == []


def test_shell_profile_a_umask_in_a_comment_holding_a_form_feed_sets_nothing():
    from hostaudit.parsers.shell_profile import parse_shell_settings

    assert parse_shell_settings("#\x0cumask 027\n", ("umask",)) == []


def test_inittab_an_entry_in_a_comment_holding_a_form_feed_is_commented():
    from hostaudit.parsers.inittab import parse_inittab

    assert [e["commented"] for e in parse_inittab("#\x0c~~:S:wait:/sbin/sulogin\n")] == [True]
