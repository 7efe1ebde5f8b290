from hostaudit.parsers.sysv_script import parse_sysv_script

SCRIPT = """#!/bin/sh
# chkconfig: 2345 08 92
# reads /etc/iptables/old-rules (a comment, not a reference)
/sbin/iptables-restore < /etc/iptables/rules
[ -f /etc/iptables/rules ] && echo loaded
"""


def test_chkconfig_header_gives_runlevels_and_order():
    header = parse_sysv_script(SCRIPT, "/etc/init.d/iptables")["chkconfig"]
    assert (header["line"], header["levels"], header["start"], header["stop"]) == (2, "2345", "08", "92")


def test_a_script_without_chkconfig_header_says_none():
    assert parse_sysv_script("#!/bin/sh\nexit 0\n", "/etc/init.d/x")["chkconfig"] is None


def test_rules_files_are_named_once_at_their_first_uncommented_line():
    refs = parse_sysv_script(SCRIPT, "/etc/init.d/iptables")["rules_refs"]
    assert [(r["path"], r["line"]) for r in refs] == [("/etc/iptables/rules", 4)]


def test_the_script_naming_itself_is_not_a_rules_file():
    text = "#!/bin/sh\n/etc/init.d/iptables-persistent restart\n"
    assert parse_sysv_script(text, "/etc/init.d/iptables-persistent")["rules_refs"] == []
