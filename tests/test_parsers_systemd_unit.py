from hostaudit.parsers.systemd_unit import list_setting, parse_unit


def test_assignments_carry_section_and_line():
    entries = parse_unit("[Unit]\nDescription=x\n\n[Service]\n# c\nExecStart=/usr/sbin/tripwire --check\n")
    assert entries[-1] == {"section": "Service", "key": "ExecStart", "value": "/usr/sbin/tripwire --check", "line": 6}


def test_continuation_lines_are_joined_at_the_first_line():
    entries = parse_unit("[Service]\nExecStart=/bin/sh -c \\\n  'df -h'\n")
    assert (entries[0]["value"], entries[0]["line"]) == ("/bin/sh -c  'df -h'", 2)


def test_empty_assignment_resets_a_list_setting():
    base = parse_unit("[Socket]\nListenStream=22\n")
    drop_in = parse_unit("[Socket]\nListenStream=\nListenStream=2112\n")
    assert [e["value"] for e in list_setting(base + drop_in, "Socket", "ListenStream")] == ["2112"]


def test_line_without_equals_is_malformed():
    assert parse_unit("[Timer]\nOnCalendar daily\n") == [
        {"section": "Timer", "line": 2, "malformed": True, "text": "OnCalendar daily"}]
