from hostaudit.parsers.sshd_config import effective_settings, listen_port, parse_sshd_config


def test_keywords_are_lower_cased_with_their_lines():
    directives = parse_sshd_config("# comment\n\nProtocol 2\nPORT 2112\n")
    assert [(d["keyword"], d["args"], d["line"]) for d in directives] == [("protocol", ["2"], 3), ("port", ["2112"], 4)]


def test_equals_sign_separates_keyword_and_value():
    assert parse_sshd_config("Port=2112\nProtocol = 2\n")[0]["args"] == ["2112"]
    assert parse_sshd_config("Protocol = 2\n")[0]["args"] == ["2"]


def test_first_value_wins_for_ordinary_keywords():
    settings = effective_settings(parse_sshd_config("Protocol 2\nProtocol 2,1\n"))
    assert [d["line"] for d in settings["protocol"]] == [1]


def test_every_port_line_counts():
    settings = effective_settings(parse_sshd_config("Port 22\nPort 2112\n"))
    assert [d["args"] for d in settings["port"]] == [["22"], ["2112"]]


def test_settings_inside_match_blocks_are_not_global():
    settings = effective_settings(parse_sshd_config("Match User tony\n  Protocol 1\nMatch all\nProtocol 2\n"))
    assert settings["protocol"][0]["line"] == 4


def test_keyword_without_argument_is_marked_malformed():
    directives = parse_sshd_config("Protocol\n")
    assert directives == [{"keyword": "protocol", "args": [], "line": 1, "in_match": False, "malformed": True}]


def test_unbalanced_quote_and_missing_keyword_are_malformed_not_crashes():
    directives = parse_sshd_config('Banner "/etc/issue\n= 2\n')
    assert [d["malformed"] for d in directives] == [True, True]
    assert "banner" not in effective_settings(directives)


def test_listen_port_reads_ipv4_and_bracketed_ipv6_ports_only():
    assert listen_port("0.0.0.0:2112") == 2112
    assert listen_port("[::1]:22") == 22
    assert listen_port("::1") is None
    assert listen_port("192.168.1.5") is None
