from hostaudit.parsers.tcprules import effective_rule, parse_tcprules


def test_document_rules_parse_to_allow_then_catch_all_deny():
    rules = parse_tcprules("127.:allow\n:deny\n")
    assert rules == [{"address": "127.", "action": "allow", "env": "", "line": 1},
                     {"address": "", "action": "deny", "env": "", "line": 2}]


def test_environment_settings_are_kept_apart_from_the_action():
    rule = parse_tcprules('# relay\n127.0.0.1:allow,RELAYCLIENT=""\n')[0]
    assert (rule["action"], rule["env"], rule["line"]) == ("allow", 'RELAYCLIENT=""', 2)


def test_line_without_colon_or_with_unknown_instruction_is_malformed():
    rules = parse_tcprules("127.allow\n10.:permit\n")
    assert rules == [{"line": 1, "malformed": True, "text": "127.allow"},
                     {"line": 2, "malformed": True, "text": "10.:permit"}]


def test_first_rule_for_an_address_is_the_one_applied():
    rules = parse_tcprules(":deny\n127.:allow\n:allow\n")
    assert effective_rule(rules, "")["line"] == 1
    assert effective_rule(rules, "10.") is None


def test_leading_blanks_belong_to_the_address_and_trailing_ones_do_not():
    # tcprules strips trailing blanks only, and takes "#" as a comment only in the first column.
    assert parse_tcprules("  :deny  \n") == [{"address": "  ", "action": "deny", "env": "", "line": 1}]
