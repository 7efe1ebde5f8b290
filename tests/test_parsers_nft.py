"""nft -j list ruleset and /etc/nftables.conf -> the normalised rule model."""

import json

import pytest

from hostaudit.parsers.nft import parse_nft_json, parse_nftables_conf

# Captured from `ip netns exec NS nft -j list ruleset` (nftables 1.0.6) after loading one
# iptables-nft rule and a native inet table; trimmed to the objects the parser reads.
CAPTURED = {"nftables": [
    {"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}},
    {"table": {"family": "ip", "name": "filter", "handle": 1}},
    {"chain": {"family": "ip", "table": "filter", "name": "INPUT", "handle": 1, "type": "filter",
               "hook": "input", "prio": 0, "policy": "drop"}},
    {"rule": {"family": "ip", "table": "filter", "chain": "INPUT", "handle": 7,
              "expr": [{"xt": {"type": "match", "name": "conntrack"}}, {"counter": {"packets": 0, "bytes": 0}},
                       {"accept": None}]}},
    {"table": {"family": "inet", "name": "filter", "handle": 2}},
    {"chain": {"family": "inet", "table": "filter", "name": "input", "handle": 1, "type": "filter",
               "hook": "input", "prio": 0, "policy": "drop"}},
    {"chain": {"family": "inet", "table": "filter", "name": "foo", "handle": 2}},
    {"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 4,
              "expr": [{"match": {"op": "==", "left": {"meta": {"key": "iif"}}, "right": "lo"}}, {"accept": None}]}},
    {"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 6,
              "expr": [{"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}},
                       {"accept": None}]}},
    {"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 10,
              "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}},
                                  "right": {"set": [53, 2112, {"range": [1000, 2000]}]}}},
                       {"match": {"op": "!=", "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                                  "right": {"prefix": {"addr": "192.168.1.0", "len": 24}}}},
                       {"accept": None}]}},
    {"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 15,
              "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "protocol"}}, "right": "icmp"}},
                       {"limit": {"rate": 5, "burst": 5, "per": "second"}}, {"accept": None}]}},
    {"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 16,
              "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip6", "field": "saddr"}}, "right": "::1"}},
                       {"accept": None}]}},
    {"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 18, "expr": [{"jump": {"target": "foo"}}]}},
]}

DOC_CONF = """\
#!/usr/sbin/nft -f
# the document's rules, in nftables
flush ruleset
define INTERNAL = 192.168.1.0/24
table inet filter {
	set blocked { type ipv4_addr; elements = { 10.9.9.9 } }
	chain input {
		type filter hook input priority filter; policy drop;
		ct state { established, related } accept
		tcp dport 2112 ip saddr $INTERNAL accept
		ip saddr != $INTERNAL tcp dport smtp counter packets 0 bytes 0 accept
		ip saddr $INTERNAL tcp dport { 465, 995 } log prefix "mail " accept
		meta l4proto { tcp, udp } th dport 53 accept
		tcp dport 1000-2000 reject with tcp reset
		ip6 saddr ::1 accept
	}
	chain forward { type filter hook forward priority filter + 10; policy drop; }
	chain output {
		type filter hook output priority 0; policy drop;
		ct state new,established,related accept
	}
}
"""


def rules_of(ruleset, table, chain):
    t = next(t for t in ruleset["tables"] if (t["family"], t["name"]) == table)
    return next(c for c in t["chains"] if c["name"] == chain)["rules"]


def test_json_base_chain_hook_priority_policy():
    ruleset = parse_nft_json(json.dumps(CAPTURED))
    chain = ruleset["tables"][1]["chains"][0]
    assert (chain["hook"], chain["priority"], chain["policy"]) == ("input", 0, "drop")
    assert chain["policy_where"] == "nft inet filter input"


def test_json_skips_tables_read_from_iptables_save():
    ruleset = parse_nft_json(json.dumps(CAPTURED), skip_tables={("ip", "filter")})
    assert [(t["family"], t["name"]) for t in ruleset["tables"]] == [("inet", "filter")]


def test_json_xt_match_is_unmodelled():
    rule = rules_of(parse_nft_json(json.dumps(CAPTURED)), ("ip", "filter"), "INPUT")[0]
    assert rule["unmodelled"] == ["xt"] and rule["verdict"] == "accept"


def test_json_set_range_and_negated_prefix():
    rule = rules_of(parse_nft_json(json.dumps(CAPTURED)), ("inet", "filter"), "input")[2]
    assert rule["dport"]["ranges"] == [[53, 53], [2112, 2112], [1000, 2000]]
    assert rule["saddr"] == {"cidrs": ["192.168.1.0/24"], "negate": True}
    assert rule["proto"]["values"] == ["tcp"]
    assert rule["text"] == "tcp dport { 53, 2112, 1000-2000 } ip saddr != 192.168.1.0/24 accept (handle 10)"


def test_json_iif_ct_state_limit_ipv6_and_jump():
    rules = rules_of(parse_nft_json(json.dumps(CAPTURED)), ("inet", "filter"), "input")
    assert rules[0]["iif"] == {"names": ["lo"], "negate": False}
    assert rules[1]["state"]["values"] == ["established", "related"]
    assert rules[3]["unmodelled"] == ["limit"] and rules[3]["only"] == "ipv4"
    assert (rules[4]["only"], rules[4]["saddr"]["cidrs"], rules[4]["never"]) == ("ipv6", ["::1/128"], None)
    assert (rules[5]["verdict"], rules[5]["target"]) == ("jump", "foo")


def test_json_not_json_raises_valueerror():
    with pytest.raises(ValueError, match="not nft JSON"):
        parse_nft_json("table inet filter {")


def test_json_unreadable_rule_is_marked():
    bad = {"nftables": [CAPTURED["nftables"][4], CAPTURED["nftables"][5],
                        {"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 9,
                                  "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}},
                                                      "right": "nosuchservice"}}, {"accept": None}]}}]}
    ruleset = parse_nft_json(json.dumps(bad))
    assert "nosuchservice" in ruleset["errors"][0]["error"]
    assert rules_of(ruleset, ("inet", "filter"), "input") == []


def test_conf_reads_the_document_equivalent():
    ruleset = parse_nftables_conf(DOC_CONF)
    assert ruleset["errors"] == []
    rules = rules_of(ruleset, ("inet", "filter"), "input")
    assert [r["line"] for r in rules] == [9, 10, 11, 12, 13, 14, 15]
    assert rules[1]["saddr"]["cidrs"] == ["192.168.1.0/24"]
    assert rules[2]["dport"]["ranges"] == [[25, 25]] and rules[2]["saddr"]["negate"] is True
    assert rules[3]["dport"]["ranges"] == [[465, 465], [995, 995]] and rules[3]["unmodelled"] == []
    assert rules[4]["proto"]["values"] == ["tcp", "udp"]
    assert (rules[5]["verdict"], rules[5]["dport"]["ranges"]) == ("reject", [[1000, 2000]])
    assert (rules[6]["only"], rules[6]["saddr"]["cidrs"]) == ("ipv6", ["::1/128"])
    assert [r.get("only") for r in rules[:6]] == [None, "ipv4", "ipv4", "ipv4", None, None]


def test_conf_base_chains_with_named_priority_offset():
    chains = parse_nftables_conf(DOC_CONF)["tables"][0]["chains"]
    assert [(c["name"], c["hook"], c["priority"], c["policy"], c["policy_line"]) for c in chains] == [
        ("input", "input", 0, "drop", 8), ("forward", "forward", 10, "drop", 17), ("output", "output", 0, "drop", 19)]


def test_conf_iif_lo_and_quoted_iifname():
    ruleset = parse_nftables_conf('table ip t {\n chain c {\n  iif lo accept\n  iifname != "lo" drop\n }\n}\n')
    rules = rules_of(ruleset, ("ip", "t"), "c")
    assert rules[0]["iif"] == {"names": ["lo"], "negate": False}
    assert rules[1]["iif"] == {"names": ["lo"], "negate": True}


def test_conf_unknown_expression_is_unmodelled():
    ruleset = parse_nftables_conf("table inet f {\n chain i {\n  tcp dport 22 ct count over 3 accept\n }\n}\n")
    rule = rules_of(ruleset, ("inet", "f"), "i")[0]
    assert "ct count over" in rule["unmodelled"] and rule["verdict"] == "accept"


def test_conf_missing_brace_is_an_error():
    ruleset = parse_nftables_conf("table inet f {\n chain i {\n  accept\n }\n")
    assert "missing closing brace" in ruleset["errors"][0]["error"]


def test_conf_undefined_variable_is_an_error_with_line():
    ruleset = parse_nftables_conf("table inet f {\n chain i {\n  ip saddr $NOPE accept\n }\n}\n")
    assert (ruleset["errors"][0]["line"], "$NOPE" in ruleset["errors"][0]["error"]) == (3, True)


def test_conf_bad_address_and_bad_policy_are_errors():
    text = "table inet f {\n chain i {\n  type filter hook input priority 0; policy maybe;\n  ip saddr 300.1.1.1 accept\n }\n}\n"
    assert [e["line"] for e in parse_nftables_conf(text)["errors"]] == [3, 4]


def test_conf_include_is_noted():
    ruleset = parse_nftables_conf('include "/etc/nftables.d/*.nft"\n')
    assert ruleset["notes"][0]["note"] == "included file not read"


def test_conf_garbage_is_marked_not_raised():
    ruleset = parse_nftables_conf("}}} {{ table\x00 ; chain {\n")
    assert ruleset["errors"]
