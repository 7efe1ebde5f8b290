import pytest

from hostaudit.errors import LineTooLong
from hostaudit.parsers.lines import JUDGED_CHARS
from hostaudit.parsers.qmail import delivery_template, entry_count, first_line, qmail_start_lines


def test_first_line_is_the_setting_of_a_control_file():
    assert first_line("5000000\nignored\n", "/var/qmail/control/databytes") == "5000000"


def test_an_empty_control_file_has_no_first_line():
    assert first_line("", "/var/qmail/control/databytes") is None


def test_a_judged_first_line_past_the_limit_is_refused_naming_file_and_line():
    with pytest.raises(LineTooLong, match=r"^/q/databytes:1: a line of 4097 characters"):
        first_line("0" * (JUDGED_CHARS + 1), "/q/databytes")


def test_a_displayed_first_line_is_cut_not_refused():
    assert first_line("x" * 5000, "/var/qmail/alias/.qmail-root", judged_whole=False) == "x" * 120


def test_badmailfrom_entries_skip_comments_and_blank_lines():
    assert entry_count("# spammers\n\n@spam.example\nbad@example.org\n") == 2


def test_qmail_start_lines_skip_comments_and_keep_line_numbers():
    text = "#!/bin/sh\n# exec qmail-start ./Mailbox\nexec env - PATH=$PATH qmail-start ./Maildir/\n"
    assert qmail_start_lines(text, "/var/qmail/rc") == [
        {"line": 3, "text": "exec env - PATH=$PATH qmail-start ./Maildir/"}]


def test_a_qmail_start_line_past_the_limit_is_refused_not_cut():
    text = "qmail-start ./Maildir/" + "m" * JUDGED_CHARS + "\n"
    with pytest.raises(LineTooLong, match=r"^/var/qmail/rc:1: "):
        qmail_start_lines(text, "/var/qmail/rc")


def test_delivery_template_finds_maildir_below_the_lines_shown():
    template = delivery_template("# comment\n" * 12 + "./Maildir/\n")
    assert (len(template["lines"]), template["maildir_line"]) == (10, 13)


def test_delivery_template_without_maildir_line_says_none():
    assert delivery_template("./Mailbox\n")["maildir_line"] is None
