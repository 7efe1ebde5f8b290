from hostaudit.parsers.shell_profile import history_removals, parse_shell_settings

NAMES = ("TMOUT", "HISTSIZE")


def _one(text):
    (found,) = parse_shell_settings(text, NAMES)
    return found


def test_plain_assignment_is_not_exported():
    found = _one("HISTSIZE=1000\n")
    assert (found["var"], found["value"], found["exported"], found["kind"], found["line"]) == \
        ("HISTSIZE", "1000", False, "assign", 1)


def test_export_list_exports_without_value():
    found = _one("export PATH USER LOGNAME MAIL HOSTNAME HISTSIZE INPUTRC\n")
    assert (found["var"], found["value"], found["exported"]) == ("HISTSIZE", None, True)


def test_export_with_quoted_value():
    found = _one('export TMOUT="900"\n')
    assert (found["value"], found["exported"], found["kind"]) == ("900", True, "export")


def test_declare_and_typeset_flags():
    assert _one("declare -x TMOUT=600\n")["exported"] is True
    found = _one("typeset -rx TMOUT=600\n")
    assert (found["exported"], found["readonly"]) == (True, True)
    assert _one("declare -r TMOUT=600\n")["exported"] is False


def test_statements_joined_by_semicolons_are_each_read():
    found = parse_shell_settings("TMOUT=900; readonly TMOUT; export TMOUT\n", NAMES)
    assert [(f["kind"], f["value"], f["exported"]) for f in found] == [
        ("assign", "900", False), ("readonly", None, False), ("export", None, True)]


def test_assignment_after_test_is_read():
    assert _one('[ -z "$TMOUT" ] && TMOUT=300\n')["value"] == "300"


def test_name_space_value_is_flagged_as_setting_nothing():
    found = _one("TMOUT 1800\n")
    assert (found["kind"], found["value"]) == ("not-an-assignment", "1800")


def test_comments_and_other_variables_are_ignored():
    assert parse_shell_settings("# TMOUT=5\nFOO=TMOUT\necho $HISTSIZE\n", NAMES) == []


def test_history_removal_forms():
    found = history_removals("rm -r $HOME/.bash_history\n#rm -f ~/.bash_history\necho .bash_history\n"
                             'rm -f "${HOME}/.bash_history"\nrm /tmp/.bash_history\n')
    assert [(f["line"], f["commented"], f["removes"]) for f in found] == [
        (1, False, True), (2, True, True), (3, False, False), (4, False, True), (5, False, False)]
