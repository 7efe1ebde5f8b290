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
