from hostaudit.parsers.rules_file import parse_rules_file

SAVE = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n"


def test_a_file_with_tables_and_commit_is_iptables_save_whatever_its_name():
    fmt, ruleset = parse_rules_file("/etc/iptable/rules", SAVE)
    assert fmt == "iptables-save"
    assert [c["policy"] for c in ruleset["tables"][0]["chains"] if c["name"] == "INPUT"] == ["drop"]


def test_the_same_format_read_for_ipv6_is_ip6tables_save():
    fmt, ruleset = parse_rules_file("/etc/iptables/rules.v6", SAVE, "ipv6")
    assert (fmt, ruleset["tables"][0]["family"]) == ("ip6tables-save", "ip6")


def test_a_file_of_iptables_commands_is_a_script():
    fmt, ruleset = parse_rules_file("/etc/iptables/rules", "iptables -P INPUT DROP\n")
    assert fmt == "iptables script" and not ruleset["errors"]


def test_nftables_conf_is_read_as_nftables_by_its_name():
    fmt, _ = parse_rules_file("/etc/nftables.conf", "flush ruleset\n")
    assert fmt == "nftables.conf"
