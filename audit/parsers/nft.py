"""nftables rules -> the normalised rule model of ``hostaudit.firewall``.

Two inputs: ``nft -j list ruleset`` (the kernel's view, live) and the common subset of
``/etc/nftables.conf`` text (tables, chains with ``type filter hook input priority 0; policy
drop;``, rules matching ip saddr, tcp/udp/th dport with single ports, sets and ranges,
ip protocol / meta l4proto, ct state, iif/iifname, with accept, drop, reject, return, jump,
goto; and their IPv6 forms: ip6 saddr, ip6 nexthdr, icmpv6). Both meet in one function,
``_match``, so they read the same rule the same way. Every table keeps its family (an
``inet`` table sees both IPv4 and IPv6); a rule whose matches belong to one family (``ip
saddr``, ``ip6 saddr``, ``meta nfproto ipv6``) is marked ``only`` that family. Expressions
outside that subset are kept as ``unmodelled`` (the rule becomes partial), and bad input
raises ValueError (JSON) or lands in ``ruleset["errors"]`` with its line (text).
"""

from __future__ import annotations

import ipaddress
import json
import re

from hostaudit.firewall import cidr, empty_ruleset, family_of, new_chain, new_rule, port_range
from hostaudit.parsers.iptables import SERVICES

PRIORITIES = {"raw": -300, "mangle": -150, "dstnat": -100, "filter": 0, "security": 50, "srcnat": 100}
VERDICTS = {"accept": "accept", "drop": "drop", "reject": "reject", "return": "return",
            "continue": "continue", "queue": "unknown"}
# Statements that count, log or tag a packet without deciding its fate.
NEUTRAL = {"counter", "log", "comment", "mangle", "notrack", "set", "meta", "ct"}
# The family a match's protocol word ties a rule to (``ip saddr``: IPv4 packets only).
FAMILY_OF_PROTOCOL = {"ip": "ipv4", "ip6": "ipv6", "icmpv6": "ipv6"}
NFPROTO = {"ipv4": "ipv4", "ipv6": "ipv6", "2": "ipv4", "10": "ipv6"}
_TOKEN = re.compile(r'"[^"\n]*"|#[^\n]*|\n|[{};,]|[^\s{};,"#]+')


# -- one reading of a match, shared by both inputs --------------------------------------------
def _match(rule: dict, left: str, negate: bool, items: list, text: str) -> None:
    """Apply ``left`` (``ip saddr``, ``tcp dport``, ``ct state``...) compared with ``items``."""
    if any(isinstance(i, str) and i.startswith("@") for i in items):
        rule["unmodelled"].append(text)  # a named set: its members live elsewhere
        return
    proto, _, field = left.partition(" ")
    if proto in FAMILY_OF_PROTOCOL:
        _restrict_family(rule, FAMILY_OF_PROTOCOL[proto])
    if left == "meta nfproto":
        families = {NFPROTO.get(str(i).lower()) for i in items}
        if None in families:
            rule["unmodelled"].append(text)
        elif len(families) == 1:
            family = str(families.pop())  # not None: checked above
            _restrict_family(rule, family if not negate else ("ipv4" if family == "ipv6" else "ipv6"))
        elif negate:
            rule["never"] = "matches neither IPv4 nor IPv6"
    elif left in ("ip saddr", "ip6 saddr"):
        family = FAMILY_OF_PROTOCOL[proto]
        networks = [c for i in items for c in _networks(i)]
        if any(family_of(n) != family for n in networks):
            raise ValueError(f"{text}: address of the wrong family")
        rule["saddr"] = {"cidrs": networks, "negate": negate}
    elif left in ("ip protocol", "ip6 nexthdr", "meta l4proto"):
        rule["proto"] = {"values": [str(i).lower() for i in items], "negate": negate}
    elif field == "dport" and proto in ("tcp", "udp", "th"):
        _restrict_proto(rule, ["tcp", "udp"] if proto == "th" else [proto])
        rule["dport"] = {"ranges": [_ports(i) for i in items], "negate": negate}
    elif left in ("meta iif", "meta iifname"):
        rule["iif"] = {"names": [str(i) for i in items], "negate": negate}
    elif left == "ct state":
        rule["state"] = {"values": [str(i).lower() for i in items], "negate": negate}
    else:
        if proto in ("tcp", "udp", "icmp", "icmpv6"):
            _restrict_proto(rule, [proto])
        rule["unmodelled"].append(text)


def _restrict_family(rule: dict, family: str) -> None:
    if rule.get("only") not in (None, family):
        rule["never"] = "matches both IPv4-only and IPv6-only fields"
    rule["only"] = family


def _restrict_proto(rule: dict, names: list[str]) -> None:
    current = rule.get("proto")
    if current is None or current["negate"]:
        rule["proto"] = {"values": names, "negate": False}
        return
    both = [n for n in current["values"] if n in names]
    if not both:
        rule["never"] = "contradicting protocols"
    rule["proto"] = {"values": both or names, "negate": False}


def _ports(item) -> list[int]:
    if isinstance(item, dict) and "range" in item:
        return [_port(item["range"][0]), _port(item["range"][1])]
    text = str(item)
    if "-" in text:
        low, high = text.split("-", 1)
        return port_range(f"{_port(low)}:{_port(high)}")
    return [_port(text)] * 2


def _port(item) -> int:
    text = str(item)
    if text.isdigit():
        return port_range(text)[0]
    if text in SERVICES:
        return SERVICES[text]
    raise ValueError(f"unknown port {text!r}")


def _networks(item) -> list[str]:
    """One address, prefix or address range (IPv4 or IPv6) as networks. Raises ValueError."""
    if isinstance(item, dict) and "prefix" in item:
        text = f"{item['prefix']['addr']}/{item['prefix']['len']}"
        return [cidr(text, "ipv6" if ":" in text else "ipv4")]
    if isinstance(item, dict) and "range" in item:
        low, high = item["range"]
    elif "-" in str(item):
        low, high = str(item).split("-", 1)
    else:
        return [cidr(str(item), "ipv6" if ":" in str(item) else "ipv4")]
    first, last = ipaddress.ip_address(str(low).strip()), ipaddress.ip_address(str(high).strip())
    return [str(n) for n in ipaddress.summarize_address_range(first, last)]


# -- nft -j list ruleset ----------------------------------------------------------------------
def parse_nft_json(text: str, where: str = "nft -j list ruleset", skip_tables=frozenset()) -> dict:
    """``nft -j list ruleset`` output as a ruleset.

    ``skip_tables`` holds ``(family, name)`` of tables read from another source (iptables-nft's
    tables, whose ``xt`` matches nft cannot show). Raises ValueError when the text is not
    nft's JSON; a rule it cannot read becomes an entry in ``errors``.
    """
    try:
        items = json.loads(text)["nftables"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{where}: not nft JSON output ({exc})") from exc
    if not isinstance(items, list):
        raise ValueError(f"{where}: 'nftables' is not a list")
    ruleset = empty_ruleset()
    tables: dict[tuple, dict] = {}
    for item in items:
        kind, body = next(iter(item.items())) if isinstance(item, dict) and item else (None, None)
        if not isinstance(body, dict) or kind not in ("table", "chain", "rule"):
            continue  # metainfo, sets, maps: nothing the input path reads
        key = (body.get("family"), body.get("table", body.get("name")))
        if not all(isinstance(k, str) for k in key):
            ruleset["errors"].append({"where": where, "line": None, "text": json.dumps(item)[:200],
                                      "error": f"{kind} without a family and table name"})
            continue
        if key in skip_tables:
            continue
        if kind == "table":
            tables[key] = {"family": key[0], "name": key[1], "source": "nft", "chains": []}
            ruleset["tables"].append(tables[key])
        elif kind == "chain" and key in tables:
            try:
                tables[key]["chains"].append(_json_chain(key, body))
            except (ValueError, TypeError) as exc:
                ruleset["errors"].append({"where": where, "line": None, "text": json.dumps(item)[:200],
                                          "error": f"cannot read chain: {exc}"})
        elif kind == "rule" and key in tables:
            _json_rule(ruleset, tables[key], body)
    return ruleset


def _json_chain(key: tuple, body: dict) -> dict:
    name, hook, policy = body.get("name"), body.get("hook"), body.get("policy")
    if not isinstance(name, str) or not isinstance(hook, (str, type(None))) or policy not in ("accept", "drop", None):
        raise ValueError("chain name, hook or policy of the wrong kind")
    label = f"{key[0]} {key[1]} {name}"
    text = f"table {key[0]} {key[1]} chain {name}: hook {hook}, policy {policy or 'accept'}"
    return new_chain(name, hook=hook if body.get("type") == "filter" else None, priority=int(body.get("prio", 0)),
                     policy=policy, where=f"nft {label}" if hook else "", text=text if hook else "")


def _json_rule(ruleset: dict, table: dict, body: dict) -> None:
    where = f"nft {table['family']} {table['name']} {body.get('chain')}"
    listed = body.get("expr")
    exprs = listed if isinstance(listed, list) else []
    try:
        text = " ".join(_expr_text(e) for e in exprs)
    except (TypeError, KeyError, AttributeError):  # malformed: show it raw
        text = json.dumps(exprs)[:200]
    rule = new_rule(where, None, f"{text} (handle {body.get('handle')})")
    try:
        for expr in exprs:
            _json_expr(rule, expr)
        chain = next(c for c in table["chains"] if c["name"] == body.get("chain"))
    except (ValueError, TypeError, KeyError, AttributeError, StopIteration) as exc:
        ruleset["errors"].append({"where": where, "line": None, "text": rule["text"],
                                  "error": f"cannot read rule: {exc or type(exc).__name__}"})
        return
    chain["rules"].append(rule)


def _json_expr(rule: dict, expr: dict) -> None:
    (kind, value), = expr.items()
    if kind == "match":
        left, right = value["left"], value["right"]
        name = _left_name(left)
        items = right["set"] if isinstance(right, dict) and "set" in right else right
        items = items if isinstance(items, list) else [items]
        if value["op"] in ("==", "in", "!="):
            _match(rule, name, value["op"] == "!=", items, _expr_text(expr))
        else:
            rule["unmodelled"].append(_expr_text(expr))
    elif kind in VERDICTS:
        rule["verdict"] = VERDICTS[kind]
    elif kind in ("jump", "goto"):
        if not isinstance(value["target"], str):
            raise ValueError(f"{kind} target is not a chain name")
        rule["verdict"], rule["target"] = kind, value["target"]
    elif kind not in NEUTRAL:
        rule["unmodelled"].append(_expr_text(expr))


def _left_name(left) -> str:
    if isinstance(left, dict) and "payload" in left:
        return f"{left['payload'].get('protocol')} {left['payload'].get('field')}"
    if isinstance(left, dict) and "meta" in left:
        return f"meta {left['meta'].get('key')}"
    if isinstance(left, dict) and "ct" in left:
        return f"ct {left['ct'].get('key')}"
    return json.dumps(left, sort_keys=True)


def _expr_text(expr) -> str:
    """A compact nft-like rendering of one JSON expression, for evidence."""
    if not isinstance(expr, dict) or len(expr) != 1:
        return json.dumps(expr)
    (kind, value), = expr.items()
    if kind == "match" and isinstance(value, dict):
        op = "" if value.get("op") in ("==", "in") else f"{value.get('op')} "
        return f"{_left_name(value.get('left'))} {op}{_value_text(value.get('right'))}"
    if kind in ("jump", "goto") and isinstance(value, dict):
        return f"{kind} {value.get('target')}"
    return kind


def _value_text(value) -> str:
    if isinstance(value, dict) and "set" in value:
        return "{ " + ", ".join(_value_text(v) for v in value["set"]) + " }"
    if isinstance(value, dict) and "prefix" in value:
        return f"{value['prefix'].get('addr')}/{value['prefix'].get('len')}"
    if isinstance(value, dict) and "range" in value:
        return "-".join(str(v) for v in value["range"])
    if isinstance(value, list):
        return ",".join(_value_text(v) for v in value)
    return str(value)


# -- /etc/nftables.conf -----------------------------------------------------------------------
class _Tokens:
    """nft text as (line, word) tokens, comments dropped."""

    def __init__(self, text: str):
        self.items = [(text.count("\n", 0, m.start()) + 1, m.group())
                      for m in _TOKEN.finditer(text) if not m.group().startswith("#")]
        self.pos = 0

    def peek(self):
        """The next word after any separators (newline, ``;``), or None at the end."""
        while self.pos < len(self.items) and self.items[self.pos][1] in ("\n", ";"):
            self.pos += 1
        return self.items[self.pos][1] if self.pos < len(self.items) else None

    def line(self) -> int:
        return self.items[min(self.pos, len(self.items) - 1)][0] if self.items else 1

    def take(self) -> str:
        if self.peek() is None:
            raise ValueError("unexpected end of file")
        self.pos += 1
        return self.items[self.pos - 1][1]

    def statement(self) -> list[tuple[int, str]]:
        """Tokens up to a newline or ``;`` outside braces, or up to a closing brace (left unread)."""
        out, depth = [], 0
        self.peek()
        while self.pos < len(self.items):
            word = self.items[self.pos][1]
            if depth == 0 and (word in ("\n", ";", "}")):
                self.pos += word != "}"
                break
            depth += (word == "{") - (word == "}")
            out.append(self.items[self.pos])
            self.pos += 1
        return out

    def header(self) -> list[str]:
        """Words up to ``{`` (consumed) on the same logical line: ``table inet filter {``."""
        words = []
        while self.pos < len(self.items) and self.items[self.pos][1] not in ("{", "\n", ";", "}"):
            words.append(self.items[self.pos][1])
            self.pos += 1
        if self.pos >= len(self.items) or self.items[self.pos][1] != "{":
            raise ValueError(f"{' '.join(words)}: expected '{{'")
        self.pos += 1
        return words

    def skip_block(self) -> None:
        """Skip to after the ``}`` closing a block whose ``{`` was just read."""
        depth = 1
        while depth:
            word = self.take()
            depth += (word == "{") - (word == "}")

    def close(self, what: str) -> None:
        if self.peek() != "}":
            raise ValueError(f"{what}: missing closing brace")
        self.pos += 1


BLOCKS = ("set", "map", "flowtable", "counter", "quota", "ct")


def parse_nftables_conf(text: str, where: str = "/etc/nftables.conf", variables: dict | None = None) -> dict:
    """``/etc/nftables.conf`` (the common subset) as a ruleset; bad statements become errors.

    ``variables`` are the ``define``s already in scope (an included file sees its includer's);
    the file's own are added to it. An ``include`` becomes a note carrying its ``include`` path,
    for the caller to read (the reader does no I/O)."""
    ruleset = empty_ruleset()
    tokens = _Tokens(text)
    variables = {} if variables is None else variables
    while (word := tokens.peek()) is not None:
        line = tokens.line()
        try:
            if word == "table":
                _table(ruleset, tokens, variables, where)
                continue
            words = [w for _, w in tokens.statement() if w != "\n"] or [tokens.take()]
            if words[0] == "define" and len(words) >= 4 and words[2] == "=":
                variables[words[1]] = words[3:]
            elif words[0] == "include":
                ruleset["notes"].append({"where": where, "line": line, "text": " ".join(words),
                                         "note": "included file not read",
                                         "include": words[1].strip('"') if len(words) == 2 else None})
            elif words[0] != "flush":
                raise ValueError(f"unsupported statement {' '.join(words)[:60]!r}")
        except ValueError as exc:
            _error(ruleset, where, line, word, str(exc))
            if tokens.pos < len(tokens.items):
                tokens.statement()
                tokens.pos += tokens.peek() == "}"
    return ruleset


def _error(ruleset: dict, where: str, line: int, text: str, message: str) -> None:
    ruleset["errors"].append({"where": where, "line": line, "text": text[:200], "error": message})


def _table(ruleset, tokens: _Tokens, variables, where) -> None:
    words = tokens.header()[1:]
    if len(words) not in (1, 2):
        raise ValueError("table needs [family] name")
    family, name = words if len(words) == 2 else ["ip", words[0]]
    table = {"family": family, "name": name, "source": "nft", "chains": []}
    ruleset["tables"].append(table)
    while (word := tokens.peek()) not in ("}", None):
        line = tokens.line()
        try:
            if word == "chain":
                _chain(ruleset, table, tokens, variables, where)
            elif word in BLOCKS:
                tokens.header()
                tokens.skip_block()
            else:
                statement = [w for _, w in tokens.statement()]
                if statement[0] not in ("flags", "comment"):
                    raise ValueError(f"unsupported table statement {statement[0]!r}")
        except ValueError as exc:
            _error(ruleset, where, line, word, str(exc))
            tokens.statement()
    tokens.close(f"table {family} {name}")


def _chain(ruleset, table, tokens, variables, where) -> None:
    header = tokens.header()
    if len(header) != 2:
        raise ValueError("chain needs a name")
    chain = new_chain(header[1])
    table["chains"].append(chain)
    label = f"table {table['family']} {table['name']} chain {chain['name']}"
    while tokens.peek() not in ("}", None):
        statement = tokens.statement()
        line = statement[0][0]
        text = " ".join(w for _, w in statement if w != "\n").replace(" ,", ",")
        try:
            words = _expand([w for _, w in statement if w != "\n"], variables)
            text = " ".join(words).replace(" ,", ",")
            if words[0] == "type":
                _base(chain, words, line, where, label)
            elif words[0] == "policy":
                chain.update(policy=words[1].rstrip(";"), policy_where=where, policy_line=line,
                             policy_text=f"{label}: policy {words[1]}")
                if chain["policy"] not in ("accept", "drop"):
                    raise ValueError(f"policy {chain['policy']} is neither accept nor drop")
            elif words[0] not in ("comment", "devices"):
                rule = new_rule(where, line, text)
                _text_rule(rule, words)
                chain["rules"].append(rule)
        except (ValueError, IndexError) as exc:
            _error(ruleset, where, line, text, str(exc) or "incomplete statement")
    tokens.close(label)


def _base(chain: dict, words: list[str], line: int, where: str, label: str) -> None:
    """``type filter hook input priority filter + 10``."""
    if len(words) < 6 or words[2] != "hook" or words[4] != "priority":
        raise ValueError("expected: type TYPE hook HOOK priority PRIORITY")
    prio = words[5]
    value = PRIORITIES[prio] if prio in PRIORITIES else int(prio)
    if len(words) >= 8 and words[6] in ("+", "-"):
        value += int(words[7]) * (1 if words[6] == "+" else -1)
    chain.update(hook=words[3] if words[1] == "filter" else None, priority=value)
    if not chain["policy_where"]:
        chain.update(policy_where=where, policy_line=line, policy_text=f"{label}: hook {words[3]}, no policy (accept)")


def _expand(words: list[str], variables: dict) -> list[str]:
    out = []
    for word in words:
        if word.startswith("$"):
            if word[1:] not in variables:
                raise ValueError(f"undefined variable {word}")
            out.extend(variables[word[1:]])
        else:
            out.append(word)
    return out


# Words that start a "<protocol> <field>" match: ``ip saddr``, ``tcp dport``, ``ct state``.
_LEFT_WORDS = {"ip", "ip6", "tcp", "udp", "th", "icmp", "icmpv6", "ct", "meta"}
_SHORT_META = {"iif": "meta iif", "iifname": "meta iifname", "l4proto": "meta l4proto", "nfproto": "meta nfproto",
               "oif": "meta oif", "oifname": "meta oifname", "mark": "meta mark"}


def _text_rule(rule: dict, words: list[str]) -> None:
    """Fill ``rule`` from one nft rule's words (``tcp dport { 25, 465 } accept``)."""
    i = 0
    while i < len(words):
        word, start = words[i], i
        if word in _LEFT_WORDS or word in _SHORT_META:
            left = _SHORT_META.get(word) or f"{word} {words[i + 1]}"
            i += 1 if word in _SHORT_META else 2
            negate = words[i] in ("!=", "ne")
            i += words[i] in ("!=", "ne", "==", "eq")
            items, i = _items(words, i)
            _match(rule, left, negate, [item.strip('"') for item in items], " ".join(words[start:i]))
        elif word in VERDICTS:
            rule["verdict"] = VERDICTS[word]
            return  # what follows (``with tcp reset``, a comment) changes no verdict
        elif word in ("jump", "goto"):
            rule["verdict"], rule["target"] = word, words[i + 1]
            return
        elif word == "counter":
            i += 5 if words[i + 1:i + 2] == ["packets"] else 1
        elif word in ("log", "comment"):
            i += 1
            while i < len(words) and (words[i] in _LOG_OPTIONS or words[i].startswith('"')):
                i += 1 if words[i].startswith('"') else 2
        else:
            rule["unmodelled"].append(word)
            i += 1


_LOG_OPTIONS = {"prefix", "level", "group", "flags", "snaplen", "queue-threshold"}


def _items(words: list[str], i: int) -> tuple[list[str], int]:
    """A value, a comma list or a ``{ set }`` starting at ``words[i]``; returns items and the next index."""
    if words[i] == "{":
        end = words.index("}", i)
        return [w for w in words[i + 1:end] if w != ","], end + 1
    items = [words[i]]
    i += 1
    while i + 1 < len(words) and words[i] == ",":
        items.append(words[i + 1])
        i += 2
    return items, i


def merge_tables(ruleset: dict) -> dict:
    """One table per family and name, one chain per name, as nft builds them however many
    ``table`` blocks (in one file or in included ones) add to them: rules in file order; a
    chain's hook and policy from the block that declares them."""
    merged: dict[tuple, dict] = {}
    for table in ruleset["tables"]:
        key = (table["family"], table["name"], table.get("source"))
        if key not in merged:
            merged[key] = {**table, "chains": []}
        chains = {c["name"]: c for c in merged[key]["chains"]}
        for chain in table["chains"]:
            have = chains.get(chain["name"])
            if have is None:
                chains[chain["name"]] = {**chain, "rules": list(chain["rules"])}
                merged[key]["chains"].append(chains[chain["name"]])
                continue
            have["rules"] += chain["rules"]
            if chain["hook"] is not None:
                have.update(hook=chain["hook"], priority=chain["priority"])
            if chain["policy"] is not None or (chain["hook"] is not None and not have["policy_where"]):
                have.update({k: chain[k] for k in ("policy", "policy_where", "policy_line", "policy_text")})
    return {**ruleset, "tables": list(merged.values())}
