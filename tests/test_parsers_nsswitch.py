from hostaudit.parsers.nsswitch import parse_nsswitch


def test_services_with_actions_dropped():
    entries = parse_nsswitch("# comment\npasswd:     files nis [NOTFOUND=return] ldap\nhosts: files dns # x\n")
    assert entries == [
        {"database": "passwd", "services": ["files", "nis", "ldap"], "line": 2},
        {"database": "hosts", "services": ["files", "dns"], "line": 3},
    ]


def test_line_without_colon_is_malformed():
    assert parse_nsswitch("passwd files\n") == [{"line": 1, "malformed": True}]
