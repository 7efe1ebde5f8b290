"""iptables rules as text -> the normalised rule model of ``hostaudit.firewall``.

Two inputs: ``iptables-save`` / ``ip6tables-save`` output (what ``/etc/iptables/rules.v4``,
``rules.v6``, ``/etc/sysconfig/iptables`` and ``ip6tables`` hold) and a shell script of
``/sbin/iptables ...`` (and ``ip6tables ...``) commands, as the 2002 document keeps in
``/etc/iptable/rules``. The script is replayed in order, so ``-I`` inserts at the top as it
does on a real host: the document's script ends up in the reverse of its text order. Only the
filter table is kept: it is where INPUT/OUTPUT/FORWARD verdicts are decided. iptables tables
have family ``ip``, ip6tables tables ``ip6``. Bad lines never raise: they land in
``ruleset["errors"]`` with their line number.
"""

from __future__ import annotations

import re
import shlex

from hostaudit.firewall import cidr, empty_ruleset, new_chain, new_rule, port_range
from hostaudit.parsers.lines import newline_lines

BUILTIN_HOOKS = {"INPUT": "input", "FORWARD": "forward", "OUTPUT": "output"}
VERDICTS = {"ACCEPT": "accept", "DROP": "drop", "REJECT": "reject", "RETURN": "return",
            "QUEUE": "unknown", "NFQUEUE": "unknown"}
# Targets that log or mark a packet and let it go on down the chain.
NON_TERMINATING = {"LOG", "NFLOG", "ULOG", "MARK", "CONNMARK", "CT", "TRACE", "AUDIT", "CLASSIFY",
                   "TCPMSS", "SET", "NOTRACK", "DSCP", "TOS", "TTL", "CHECKSUM", "CONNSECMARK", "SECMARK"}
# Service names iptables accepts for ports, limited to those a mail server's rules use.
SERVICES = {"ssh": 22, "smtp": 25, "domain": 53, "http": 80, "pop3": 110, "ntp": 123, "imap": 143,
            "imap2": 143, "https": 443, "smtps": 465, "submissions": 465, "submission": 587,
            "imaps": 993, "pop3s": 995}
IPTABLES_COMMANDS = {"iptables": "ipv4", "iptables-legacy": "ipv4", "iptables-nft": "ipv4",
                     "ip6tables": "ipv6", "ip6tables-legacy": "ipv6", "ip6tables-nft": "ipv6"}
TABLE_FAMILY = {"ipv4": "ip", "ipv6": "ip6"}
ANY_ADDRESS = {"0.0.0.0/0", "0/0", "::/0"}
_ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(\S*)$")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_COUNTERS = re.compile(r"^\[\d+:\d+\]\s*")
_MAX_NOTES = 20


def _port(text: str) -> list[int]:
    text = text.strip()
    low, sep, high = text.partition(":")
    if not all(p.isdigit() or p == "" for p in (low, high)):
        names = [SERVICES.get(p) for p in (low, high) if p]
        if None in names:
            raise ValueError(f"unknown service name in port {text!r}")
        low, high = (str(SERVICES[low]) if low else ""), (str(SERVICES[high]) if high else "")
    return port_range(f"{low}{sep}{high}")


def apply_rule_spec(rule: dict, tokens: list[str], family: str = "ipv4") -> dict:
    """Fill ``rule`` from iptables (``family`` ipv4) or ip6tables (ipv6) match/target options
    (``-p tcp --dport 25 -j ACCEPT``).

    Raises ValueError naming the bad option. Options the model cannot represent are kept in
    ``rule["unmodelled"]`` so the evaluator treats the rule as partial.
    """
    negate, i, after_target = False, 0, False

    def value() -> str:
        nonlocal i, negate
        i += 1
        if i < len(tokens) and tokens[i] == "!":  # old syntax: ``-s ! 10.0.0.0/8``
            negate, i = True, i + 1
        if i >= len(tokens):
            raise ValueError(f"option {tokens[i - 1]} needs a value")
        return tokens[i]

    while i < len(tokens):
        opt = tokens[i]
        if opt == "!":
            negate, i = True, i + 1
            continue
        if opt in ("-p", "--protocol"):
            rule["proto"] = {"values": [value().lower()], "negate": negate}
        elif opt in ("-s", "--source", "--src"):
            _source(rule, value(), negate, family)
        elif opt in ("-d", "--destination", "--dst"):
            if value() not in ANY_ADDRESS:
                rule["unmodelled"].append(f"{'! ' if negate else ''}-d {tokens[i]}")
        elif opt in ("-i", "--in-interface"):
            rule["iif"] = {"names": [value()], "negate": negate}
        elif opt in ("-m", "--match"):
            value()
        elif opt in ("--dport", "--destination-port"):
            rule["dport"] = {"ranges": [_port(value())], "negate": negate}
        elif opt in ("--dports", "--destination-ports"):
            rule["dport"] = {"ranges": [_port(p) for p in value().split(",")], "negate": negate}
        elif opt in ("--state", "--ctstate"):
            rule["state"] = {"values": value().lower().split(","), "negate": negate}
        elif opt == "--comment":
            value()
        elif opt in ("-c", "--set-counters"):
            i += 2
        elif opt in ("-j", "--jump", "-g", "--goto"):
            _target(rule, value(), goto=opt in ("-g", "--goto"))
            after_target = True
        elif opt.startswith("-"):
            words = [opt]
            while i + 1 < len(tokens) and not tokens[i + 1].startswith("-") and tokens[i + 1] != "!":
                i += 1
                words.append(tokens[i])
            if not after_target:  # target options (--reject-with, --log-prefix) change no verdict
                rule["unmodelled"].append(("! " if negate else "") + " ".join(words))
        else:
            raise ValueError(f"unexpected word {opt!r}")
        negate = False
        i += 1
    if "dport" in rule and rule.get("proto", {}).get("values", [""])[0] not in ("tcp", "udp", "6", "17"):
        raise ValueError("--dport needs -p tcp or -p udp")
    return rule


def _source(rule: dict, text: str, negate: bool, family: str) -> None:
    parts = text.split(",")
    if negate and len(parts) > 1:
        raise ValueError("! is not allowed with several source addresses")
    try:
        rule["saddr"] = {"cidrs": [cidr(p, family) for p in parts], "negate": negate}
    except ValueError:  # a host name: resolved when loaded, unknown to an offline audit
        rule["unmodelled"].append(f"{'! ' if negate else ''}-s {text}")


def _target(rule: dict, target: str, *, goto: bool) -> None:
    if target in VERDICTS and not goto:
        rule["verdict"] = VERDICTS[target]
    elif target in NON_TERMINATING and not goto:
        rule["verdict"] = "continue"
    else:
        rule["verdict"], rule["target"] = ("goto" if goto else "jump"), target


def _filter_table(where: str, family: str = "ipv4") -> dict:
    """The filter table as the kernel starts it: built-in chains, policy ACCEPT."""
    chains = [new_chain(name, hook=hook, where=where, text=f"no policy set for {name} (ACCEPT)")
              for name, hook in BUILTIN_HOOKS.items()]
    return {"family": TABLE_FAMILY[family], "name": "filter",
            "source": "iptables" if family == "ipv4" else "ip6tables", "chains": chains}


def _chain(table: dict, name: str) -> dict:
    for chain in table["chains"]:
        if chain["name"] == name:
            return chain
    raise ValueError(f"no chain {name!r}")


def _check_targets(ruleset: dict) -> None:
    """A jump to a chain that does not exist would make iptables refuse the rule."""
    for table in ruleset["tables"]:
        names = {c["name"] for c in table["chains"]}
        for chain in table["chains"]:
            for rule in list(chain["rules"]):
                if rule["verdict"] in ("jump", "goto") and rule["target"] not in names:
                    chain["rules"].remove(rule)
                    ruleset["errors"].append({"where": rule["where"], "line": rule["line"], "text": rule["text"],
                                              "error": f"target {rule['target']} is neither a verdict nor a chain"})


def _error(ruleset: dict, where: str, number: int, text: str, message: str) -> None:
    ruleset["errors"].append({"where": where, "line": number, "text": text.strip(), "error": message})


def parse_iptables_save(text: str, where: str = "iptables-save", family: str = "ipv4") -> dict:
    """``iptables-save`` (``family`` ipv4) or ``ip6tables-save`` (ipv6) output as a ruleset
    (filter table only); bad lines become errors."""
    ruleset = empty_ruleset()
    table_name, filter_table = None, None
    for number, raw in enumerate(newline_lines(text), 1):
        line = _COUNTERS.sub("", raw.strip())
        if not line or line.startswith("#"):
            continue
        try:
            if line.startswith("*"):
                if table_name:
                    raise ValueError(f"table {table_name} not COMMITted before a new table")
                table_name = line[1:].strip()
                if table_name == "filter":
                    filter_table = _filter_table(where, family)
            elif line == "COMMIT":
                if table_name is None:
                    raise ValueError("COMMIT outside a table")
                if table_name == "filter":
                    ruleset["tables"].append(filter_table)
                table_name = None
            elif table_name is None:
                raise ValueError("line outside a *table ... COMMIT block")
            elif table_name != "filter":
                continue
            elif filter_table is None:  # unreachable: a *filter line set it
                continue
            elif line.startswith(":"):
                _declare_chain(filter_table, line, where, number)
            elif line.startswith(("-A ", "-I ")):
                tokens = shlex.split(line)
                chain = _chain(filter_table, tokens[1])
                position = 0 if tokens[0] == "-I" else len(chain["rules"])
                chain["rules"].insert(position, apply_rule_spec(new_rule(where, number, line), tokens[2:], family))
            else:
                raise ValueError("not a table, chain, rule or COMMIT line")
        except (ValueError, IndexError) as exc:
            _error(ruleset, where, number, raw, str(exc) or "incomplete line")
    if table_name is not None:
        _error(ruleset, where, len(newline_lines(text)), "",
               f"table {table_name} has no COMMIT: iptables-restore would load nothing")
    _check_targets(ruleset)
    return ruleset


def _declare_chain(table: dict, line: str, where: str, number: int) -> None:
    parts = line[1:].split()
    if len(parts) < 2:
        raise ValueError("chain line needs a name and a policy")
    name, policy = parts[0], parts[1]
    if name in BUILTIN_HOOKS:
        if policy not in ("ACCEPT", "DROP"):
            raise ValueError(f"policy {policy} of {name} is neither ACCEPT nor DROP")
        chain = _chain(table, name)
        chain.update(policy=policy.lower(), policy_where=where, policy_line=number, policy_text=line)
    elif policy != "-":
        raise ValueError(f"user chain {name} cannot have policy {policy}")
    else:
        table["chains"].append(new_chain(name))


def parse_iptables_script(text: str, where: str) -> dict:
    """A shell script of ``iptables`` (and ``ip6tables``) commands, replayed on empty tables,
    as a ruleset.

    Understands ``-P -A -I -N -F -X -D`` on the filter table, ``NAME=value`` assignments used
    as ``$NAME``, and backslash continuations. Other shell lines are listed in ``notes``: a
    loop or a condition around iptables commands cannot be replayed faithfully. The IPv6
    filter table exists only when the script runs ip6tables: a script that never does leaves
    IPv6 with no rules at all.
    """
    ruleset = empty_ruleset()
    tables = {"ipv4": _filter_table(where)}
    ruleset["tables"].append(tables["ipv4"])
    variables: dict[str, str] = {}
    for number, line in _logical_lines(text):
        expanded = _VARIABLE.sub(lambda m: variables.get(m.group(1) or m.group(2), m.group(0)), line)
        try:
            tokens = shlex.split(expanded, comments=True)
        except ValueError as exc:
            _error(ruleset, where, number, line, f"shell quoting: {exc}")
            continue
        if not tokens:
            continue
        command = tokens[0].rsplit("/", 1)[-1]
        if (assignment := _ASSIGNMENT.match(" ".join(tokens))) and len(tokens) == 1:
            variables[assignment.group(1)] = assignment.group(2)
        elif command in IPTABLES_COMMANDS:
            family = IPTABLES_COMMANDS[command]
            if family not in tables:
                tables[family] = _filter_table(where, family)
                ruleset["tables"].append(tables[family])
            try:
                _replay(tables[family], tokens[1:], new_rule(where, number, line.strip()), family)
            except (ValueError, IndexError) as exc:
                _error(ruleset, where, number, line, str(exc) or "incomplete command")
        elif len(ruleset["notes"]) < _MAX_NOTES:
            ruleset["notes"].append({"where": where, "line": number, "text": line.strip(),
                                     "note": "not an iptables command; not replayed"})
    _check_targets(ruleset)
    return ruleset


def _logical_lines(text: str):
    """(first line number, text) with backslash-continued lines joined."""
    pending, start = "", 0
    for number, line in enumerate(newline_lines(text), 1):
        if not pending:
            start = number
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        yield start, pending + line
        pending = ""
    if pending:
        yield start, pending


def _replay(table: dict, args: list[str], rule: dict, family: str = "ipv4") -> None:
    """Apply one ``iptables``/``ip6tables`` command line (without the program name) to the filter table."""
    if "-t" in args or "--table" in args:
        flag = "-t" if "-t" in args else "--table"
        position = args.index(flag)
        name = args[position + 1]
        args = args[:position] + args[position + 2:]
        if name != "filter":
            return
    command, rest = args[0], args[1:]
    if command in ("-P", "--policy"):
        if rest[1] not in ("ACCEPT", "DROP") or rest[0] not in BUILTIN_HOOKS:
            raise ValueError(f"bad policy command: {' '.join(rest)}")
        _chain(table, rest[0]).update(policy=rest[1].lower(), policy_where=rule["where"],
                                      policy_line=rule["line"], policy_text=rule["text"])
    elif command in ("-A", "--append"):
        _chain(table, rest[0])["rules"].append(apply_rule_spec(rule, rest[1:], family))
    elif command in ("-I", "--insert", "-R", "--replace"):
        chain = _chain(table, rest[0])
        numbered = len(rest) > 1 and rest[1].isdigit()
        position = int(rest[1]) - 1 if numbered else 0
        if not 0 <= position <= len(chain["rules"]) - (command in ("-R", "--replace")):
            raise ValueError(f"rule number {position + 1} out of range in {rest[0]}")
        if command in ("-R", "--replace"):
            del chain["rules"][position]
        chain["rules"].insert(position, apply_rule_spec(rule, rest[2 if numbered else 1:], family))
    elif command in ("-N", "--new-chain"):
        if any(c["name"] == rest[0] for c in table["chains"]):
            raise ValueError(f"chain {rest[0]} already exists")
        table["chains"].append(new_chain(rest[0]))
    elif command in ("-F", "--flush"):
        for chain in table["chains"]:
            if not rest or chain["name"] == rest[0]:
                chain["rules"].clear()
    elif command in ("-X", "--delete-chain"):
        table["chains"] = [c for c in table["chains"] if c["hook"] or (rest and c["name"] != rest[0])]
    elif command in ("-D", "--delete"):
        _delete(_chain(table, rest[0]), rest[1:], rule, family)
    elif command not in ("-Z", "--zero", "-L", "--list", "-S", "--list-rules", "-n", "-v"):
        raise ValueError(f"unsupported iptables command {command}")


def _delete(chain: dict, spec: list[str], rule: dict, family: str) -> None:
    if len(spec) == 1 and spec[0].isdigit():
        del chain["rules"][int(spec[0]) - 1]
        return
    wanted = {k: v for k, v in apply_rule_spec(rule, spec, family).items() if k not in ("where", "line", "text")}
    for existing in chain["rules"]:
        if {k: v for k, v in existing.items() if k not in ("where", "line", "text")} == wanted:
            chain["rules"].remove(existing)
            return
    raise ValueError(f"no rule in {chain['name']} matches the one to delete")


_SAVE_BACKEND = re.compile(r"^# Generated by ip6?tables-save v\S+ \((\w+)\)", re.M)
_SAVE_TABLE = re.compile(r"^\*(\S+)", re.M)
_IP6TABLES_COMMAND = re.compile(r"^\s*(?:\S*/)?ip6tables(?:-legacy|-nft)?(?:-restore)?\s")


def save_backend(text: str) -> str | None:
    """The backend iptables-save output says it came from (``nf_tables`` or ``legacy``), or
    None when its header does not say."""
    found = _SAVE_BACKEND.search(text)
    return found.group(1) if found else None


def save_table_names(text: str) -> list[str]:
    """The tables (``*filter``...) in iptables-save output, in order."""
    return _SAVE_TABLE.findall(text)


def runs_ip6tables(text: str) -> bool:
    """Whether a shell script's lines run ip6tables (any backend, or its -restore)."""
    return any(_IP6TABLES_COMMAND.match(line) for line in newline_lines(text))
