"""Checks of the fw controls: default-deny policies, what new traffic gets in, loopback, boot.

IPv4 and IPv6 are judged apart wherever IPv6 is on (the ``ipv6`` part of the firewall_rules
fact says where), and every finding names its family: a host whose iptables drop and whose
ip6tables accept is open over IPv6.
"""

from __future__ import annotations

from hostaudit import firewall as fw
from hostaudit.model import Result, Status, ev
from hostaudit.registry import check

HOOKS = ("input", "output", "forward")
# The kernel drops IPv6 packets from ::1 that arrive on any other interface than lo (RFC 4291),
# so a rule accepting source ::1 opens nothing from outside.
NEW_INBOUND = {
    "ipv4": fw.region(state={"new"}, iif={"other"}),
    "ipv6": fw.region(state={"new"}, iif={"other"}, family="ipv6",
                      sources=fw.cidrs(["::1/128"], negate=True, family="ipv6")),
}
LOOPBACK = {family: fw.region(state={"new", "established", "related"}, iif={"lo"}, family=family)
            for family in fw.FAMILIES}
LOCALHOST = {"ipv4": "127.0.0.1/32", "ipv6": "::1/128"}
# The document's stunnel forwards pop3s and smtps to these localhost services.
STUNNEL_BACKENDS = (("localhost:pop3", 110), ("localhost:smtp", 25))
_SHOWN = 3
_RANK = {Status.FAIL: 0, Status.ERROR: 1, Status.PASS: 2}


def _rules(facts) -> tuple[dict | None, Result | None]:
    """The ruleset to judge, or the result that ends the check (error, or no saved rules)."""
    fact = facts["firewall_rules"]
    ruleset = fact["ruleset"]
    if ruleset is not None and ruleset["errors"]:
        bad = ruleset["errors"]
        return None, Result.error(f"{len(bad)} rule line(s) cannot be read, so the rule set cannot be evaluated"
                                  " (iptables-restore/nft -f may refuse the whole file)",
                                  evidence=[ev(e["where"], f"{e['text']}: {e['error']}", e["line"]) for e in bad[:10]])
    return ruleset, None


def _families(fact: dict) -> tuple[list[str], list, str | None]:
    """The families to judge, evidence saying why IPv6 is (not) among them, and the reason
    IPv6's state is unknown (None when known)."""
    state = fact.get("ipv6") or {"enabled": None, "reason": "not collected", "evidence": []}
    first = (state.get("evidence") or [{"where": "ipv6", "line": None, "text": ""}])[0]
    where, line = first["where"], first.get("line")
    if state["enabled"] is False:
        return ["ipv4"], [ev(where, f"IPv6: {state['reason']}: IPv6 rules are not required", line)], None
    if state["enabled"] is True:
        return list(fw.FAMILIES), [ev(where, f"IPv6: {state['reason']}: IPv6 rules are judged too", line)], None
    unsure = ev(where, f"IPv6: cannot tell whether it is on ({state['reason']}): judged as on")
    return list(fw.FAMILIES), [unsure], state["reason"]


def _source_error(fact: dict, family: str) -> Result | None:
    """An error when a source of ``family``'s rules could not be read (unread is never empty)."""
    mine = [s for s in fact["sources"] if family in s.get("families", fw.FAMILIES)]
    failed = [s for s in mine if s["status"] == "error"]
    if failed:
        return Result.error("cannot read the firewall rules: "
                            + "; ".join(f"{s['name']}: {s['reason']}" for s in failed))
    if mine and not any(s["status"] == "ok" for s in mine):
        return Result.error("no source of these rules could be read: "
                            + "; ".join(f"{s['name']}: {s['reason']}" for s in mine))
    return None


def _labelled(result: Result, family: str) -> Result:
    label = fw.LABELS[family]
    return Result(result.status, f"{label}: {result.message}",
                  tuple(ev(e.where, f"{label}: {e.text}", e.line) for e in result.evidence), result.expected)


def _per_family(facts, judge, expected: str) -> Result:
    """``judge(ruleset, family, fact)`` for IPv4, and IPv6 where it is on, as one result.

    The worst family decides and leads the message. An IPv6 failure when IPv6's state is
    unknown is an error: the rules are wide open, but maybe to nothing.
    """
    fact = facts["firewall_rules"]
    ruleset, stop = _rules(facts)
    if stop:
        return Result(stop.status, stop.message, stop.evidence, expected)
    families, notes, unknown = _families(fact)
    parts = []
    for family in families:
        part = _source_error(fact, family) or judge(ruleset, family, fact)
        if family == "ipv6" and unknown and part.status is Status.FAIL:
            part = Result.error(f"{part.message}, but whether IPv6 is on cannot be told ({unknown})",
                                evidence=part.evidence)
        parts.append(_labelled(part, family))
    parts.sort(key=lambda p: _RANK.get(p.status, 3))
    combined = Result.combine(*parts)
    result = Result(combined.status, combined.message, combined.evidence + tuple(notes), expected)
    return _sure(result, ruleset) if ruleset is not None else result


def _no_saved_rules(fact: dict) -> list:
    return [ev(path, "absent") for path in fact["looked"]]


def _sure(result: Result, ruleset: dict) -> Result:
    """A pass that depends on lines we did not replay (shell loops, includes) is not a pass."""
    if result.status.value != "pass" or not ruleset["notes"]:
        return result
    notes = [ev(n["where"], f"{n['text']}: {n['note']}", n["line"]) for n in ruleset["notes"]]
    return Result.error("the rules would pass, but some lines could not be interpreted",
                        evidence=notes + list(result.evidence),
                        expected=result.expected)


def _deciding(accepted: fw.Accepted) -> dict:
    """The rule that let packets in: the last accepting rule on their path, else a policy."""
    rules = [ref for ref in accepted.by if ref.get("verdict") in ("accept", "unknown")]
    path = rules or list(accepted.by)
    if not path:  # no table hooks input at all: the kernel accepts everything
        return {"where": "ruleset", "line": None, "text": "no input chain"}
    return path[-1]


def _rules_where(fact: dict, family: str) -> str:
    """Where ``family``'s rules were looked for, for evidence about what is missing."""
    if family == "ipv6":
        return fact.get("v6_path") or next(iter(fact.get("v6_looked") or []), None) or fact["path"] or "ruleset"
    return fact["path"] or "ruleset"


def _missing_v6_file(fact: dict, family: str) -> list:
    if family == "ipv6" and fact.get("v6_looked") and not fact.get("v6_path"):
        return [ev(path, "absent") for path in fact["v6_looked"]]
    return []


@check("fw.default-policy", needs=["firewall_rules"])
def default_policy(facts, params) -> Result:
    """Traffic no rule accepts is dropped on input, output and forward, for IPv4 and IPv6."""
    expected = "INPUT, OUTPUT and FORWARD policy DROP (IPv4, and IPv6 where it is on)"
    fact = facts["firewall_rules"]
    if fact["ruleset"] is None and not fact["sources"]:
        return Result.failed("no saved rule set: the boot loads no rules, so every policy is ACCEPT",
                             evidence=_no_saved_rules(fact) + _families(fact)[1], expected=expected)
    return _per_family(facts, _default_policy, expected)


def _default_policy(ruleset: dict, family: str, fact: dict) -> Result:
    evidence, open_hooks = _missing_v6_file(fact, family), []
    none = not any(fw.base_chains(ruleset, hook, family) for hook in HOOKS)
    tables = " (no ip6tables rules, no nft inet or ip6 table)" if family == "ipv6" and none else ""
    for hook in HOOKS:
        chains = fw.base_chains(ruleset, hook, family)
        if not chains:
            evidence.append(ev(_rules_where(fact, family), f"no {hook} chain{tables}: {hook} traffic is accepted"))
        verdicts = []
        for _, chain in chains:
            policy, ref = fw.effective_policy(chain, family)
            verdicts.append(policy)
            how = "" if "policy" in ref else " (ends in an unconditional drop)"
            evidence.append(ev(ref["where"], f"{ref['text']}{how} -> {hook} default {policy.upper()}", ref.get("line")))
        if "drop" not in verdicts:
            open_hooks.append(hook.upper())
    if open_hooks:
        return Result.failed(f"default policy is ACCEPT for {', '.join(open_hooks)}", evidence=evidence)
    return Result.passed("input, output and forward default to DROP", evidence=evidence)


def _allowed_regions(params, family: str) -> tuple[list, list[str]]:
    """The baseline's allowed list as ``family``'s regions, and its description. Raises ValueError.

    ``internal`` is internal_net where it is of this family and nothing where it is not (an
    IPv4 network holds no IPv6 source); ``external`` is every other source of the family.
    IPv6 also gets ICMPv6: without neighbour discovery IPv6 does not work at all.
    """
    internal = params["internal_net"]
    sources = {"any": None, "internal": fw.cidrs([internal], family=family),
               "external": fw.cidrs([internal], negate=True, family=family)}
    regions, words = [], []
    for entry in params["allowed"]:
        port = str(entry["port"]).replace("{ssh_port}", str(params["ssh_port"])).replace("-", ":")
        origin = str(entry.get("from", "any"))
        spans = sources[origin] if origin in sources else fw.cidrs([origin], family=family)
        if entry["proto"] not in ("tcp", "udp"):
            raise ValueError(f"allowed entry {entry}: proto must be tcp or udp")
        wanted = fw.region(state={"new"}, iif={"other"}, proto={entry["proto"]},
                           ports=[tuple(fw.port_range(port))], sources=spans, family=family)
        words.append(f"{entry['proto']} {port} from {origin}")
        if not wanted.empty():
            regions.append(wanted)
    if family == "ipv6":
        regions.append(fw.region(state={"new"}, iif={"other"}, proto={"icmp"}, family=family))
    return regions, words


def _v6_internal_note(params) -> list:
    """How a baseline written for IPv4 reads for IPv6, when internal_net is IPv4."""
    internal = params["internal_net"]
    if fw.family_of(internal) == "ipv6":
        return []
    inside = [f"{e['proto']} {str(e['port']).replace('{ssh_port}', str(params['ssh_port']))}"
              for e in params["allowed"] if str(e.get("from", "any")) == "internal"]
    text = (f"internal_net {internal} is an IPv4 network, so no IPv6 source is internal: "
            + (f"{', '.join(inside)} (internal only) must accept no new IPv6 connection at all; " if inside else "")
            + "'external' means every IPv6 source; ICMPv6 is allowed (neighbour discovery needs it)")
    return [ev("baseline", text)]


@check("fw.inbound-allowed", needs=["firewall_rules"], params={
    "internal_net": {"$ref": "#/$defs/ipv4_network"},
    "ssh_port": {"$ref": "#/$defs/port"},
    "allowed": {"type": "array", "items": {
        "type": "object", "required": ["proto", "port"], "additionalProperties": False,
        "properties": {
            "proto": {"enum": ["tcp", "udp"]},
            "port": {"anyOf": [{"$ref": "#/$defs/port"},
                               {"type": "string", "pattern": r"^(\{ssh_port\}|[0-9]{1,5}([-:][0-9]{0,5})?)$"}],
                     "description": 'a port, a range "1024-65535", or "{ssh_port}"'},
            "from": {"anyOf": [{"enum": ["any", "internal", "external"]}, {"$ref": "#/$defs/ipv4_network"}],
                     "description": "any, internal, external, or an IPv4 network"}}}}})
def inbound_allowed(facts, params) -> Result:
    """New inbound traffic is accepted only for the services and sources the site allows,
    over IPv4 and, where it is on, IPv6."""
    try:
        allowed = {family: _allowed_regions(params, family)[0] for family in fw.FAMILIES}
        words = _allowed_regions(params, "ipv4")[1]
        v6_note = _v6_internal_note(params)
    except (ValueError, KeyError, TypeError) as exc:
        return Result.error(f"parameter allowed is malformed: {exc}")
    expected = ("new inbound only: " + "; ".join(words) + f" (internal = {params['internal_net']});"
                " IPv6: the entries from any (and external), plus ICMPv6")
    fact = facts["firewall_rules"]
    if fact["ruleset"] is None and not fact["sources"]:
        return Result.failed("no saved rule set: the boot loads no rules, so all inbound traffic is accepted",
                             evidence=_no_saved_rules(fact) + _families(fact)[1], expected=expected)

    def judge(ruleset, family, fact):
        result = _inbound(ruleset, family, allowed[family])
        if family == "ipv6" and v6_note:
            return Result(result.status, result.message, result.evidence + tuple(v6_note), result.expected)
        return result

    return _per_family(facts, judge, expected)


def _inbound(ruleset: dict, family: str, allowed: list) -> Result:
    try:
        accepted_flows = fw.accepted_by(ruleset, NEW_INBOUND[family], "may")
        broader: dict = {}
        fitting: list = []
        for accepted in accepted_flows:
            ref = _deciding(accepted)
            extra = fw.subtract_all([accepted.region], allowed)
            if extra:
                key = (ref["where"], ref.get("line"), ref["text"])
                broader.setdefault(key, []).append((accepted, extra))
            else:
                fitting.append(ev(ref["where"], f"{ref['text']}: accepts new {fw.describe(accepted.region)} (allowed)",
                                  ref.get("line")))
    except ValueError as exc:
        return Result.error(f"cannot evaluate the rule set: {exc}")
    if not broader:
        return Result.passed("new inbound traffic is accepted only as allowed",
                             evidence=fitting or [ev("ruleset", "no new inbound traffic is accepted")])
    evidence = []
    for (where, line, text), found in broader.items():
        extra = [p for _, pieces in found for p in pieces]
        verb = "accepts" if all(a.certain for a, _ in found) else "may accept (conditions the audit cannot evaluate)"
        shown = "; ".join(fw.describe(p) for p in extra[:_SHOWN])
        shown += f"; +{len(extra) - _SHOWN} more" if len(extra) > _SHOWN else ""
        evidence.append(ev(where, f"{text}: {verb} new {shown}", line))
    return Result.failed(f"{len(evidence)} rule(s) accept new inbound traffic beyond the allowed list",
                         evidence=evidence)


@check("fw.loopback", needs=["firewall_rules"])
def loopback(facts, params) -> Result:
    """Traffic on the loopback interface is accepted, so local services can talk to each other."""
    expected = ("loopback accepted before any drop (-A INPUT -i lo -j ACCEPT / iif lo accept), "
                "IPv4 and IPv6 where it is on")
    fact = facts["firewall_rules"]
    if fact["ruleset"] is None and not fact["sources"]:
        return Result.passed("no saved rule set, so nothing drops loopback traffic",
                             evidence=_no_saved_rules(fact), expected=expected)
    return _per_family(facts, _loopback, expected)


def _loopback(ruleset: dict, family: str, fact: dict) -> Result:
    try:
        cover = fw.coverage(ruleset, LOOPBACK[family])
    except ValueError as exc:
        return Result.error(f"cannot evaluate the rule set: {exc}")
    if cover.complete:
        refs = {(r["where"], r.get("line"), r["text"]) for a in cover.accepted for r in a.by}
        found = [ev(w, f"{t}: accepts loopback", n) for w, n, t in sorted(refs, key=str)][:5]
        return Result.passed("loopback traffic is accepted",
                             evidence=found or [ev(_rules_where(fact, family),
                                                   "no input chain: nothing drops loopback traffic")])
    sure = [a.region for a in cover.accepted]
    localhost = fw.cidrs([LOCALHOST[family]], family=family)
    blocked = [name + f" (tcp {port})" for name, port in STUNNEL_BACKENDS
               if fw.subtract_all([fw.region(state={"new"}, iif={"lo"}, proto={"tcp"}, ports=[(port, port)],
                                             sources=localhost, family=family)], sure)]
    evidence = [ev("loopback", "not accepted: " + fw.describe(m) + f" ({'/'.join(sorted(m.state))})")
                for m in cover.missing[:_SHOWN]]
    for _, chain in fw.base_chains(ruleset, "input", family):
        policy, ref = fw.effective_policy(chain, family)
        evidence.append(ev(ref["where"], f"{ref['text']} -> input default {policy.upper()}; "
                           "no rule accepts all of lo first", ref.get("line")))
    where = " where localhost resolves to ::1" if family == "ipv6" else ""
    consequence = (f"this breaks the stunnel wrapping{where}, whose connections to {' and '.join(blocked)} are dropped"
                   if blocked else "local services talking over lo (such as stunnel's back ends) may be cut off")
    return Result.failed(f"loopback traffic is dropped on INPUT: {consequence}", evidence=evidence)


@check("fw.enabled", needs=["firewall_boot"])
def enabled(facts, params) -> Result:
    """The firewall rules are applied at every boot, for IPv4 and, where it is on, IPv6."""
    boot = facts["firewall_boot"]
    boots_systemd = boot.get("boots_systemd", False)
    expected = ("an enabled boot mechanism (init script with rc links, netfilter-persistent, nftables, "
                "iptables/ip6tables"
                " or firewalld) whose rules file exists, loading IPv6 rules too where IPv6 is on")
    init = boot.get("init")
    systemd_runs = not init or init["kind"] != "sysvinit"
    working, broken, idle = [], [], []  # working: (evidence, families)
    for script in boot["sysv"]:
        where, links = script["script"], script["start_links"]
        chk = script["chkconfig"]
        if chk:
            idle.append(ev(where, chk["text"], chk["line"]))
        missing = [r for r in script["rules_files"] if not r["exists"]]
        if links and boots_systemd and script.get("native_unit"):
            idle.append(ev(where, f"S links {', '.join(links[:4])} start nothing: systemd runs "
                                  f"{script['native_unit']} instead, and no *.wants link enables it"))
        elif not links:
            idle.append(ev(where, "init script present but no S links in /etc/rc.d/rc[2345].d or "
                                  "/etc/rc[2345].d (not enabled)"))
        elif missing:
            present = ", ".join(boot["rule_files_present"]) or "none"
            broken += [ev(where, f"runs {r['path']}, which does not exist (rules files present: {present})", r["line"])
                       for r in missing]
        else:
            loads = _sysv_families(script, boot)
            working.append((ev(where, f"enabled by {', '.join(links[:4])} ({_family_words(loads)})"), loads))
    for unit in boot["units"]:
        if not unit["enabled_by"]:
            continue
        link = unit["enabled_by"][0]
        if not systemd_runs:
            idle.append(ev(link, f"{unit['unit']} enabled, but PID 1 is {init['name']} (a SysV init), "
                                 "which starts no systemd unit"))
        elif unit["masked"]:
            idle.append(ev(f"/etc/systemd/system/{unit['unit']}", "masked (-> /dev/null): does not start"))
        elif not unit["config"]:
            working.append((ev(link, f"{unit['unit']} enabled (its zone rules are out of scope of the fw checks; "
                                     "IPv4 and IPv6)"),
                            set(fw.FAMILIES)))
        elif not unit["config_exists"]:
            broken.append(ev(link, f"{unit['unit']} enabled but {unit['config']} does not exist"))
        else:
            loads = _unit_families(unit, boot)
            working.append((ev(link, f"{unit['unit']} enabled, loads {unit['config']} ({_family_words(loads)})"),
                            loads))
    loaded = boot.get("loaded")
    if loaded is not None:
        now = (f"cannot tell what is loaded now: {loaded['error']}" if "error" in loaded else
               f"loaded now: {loaded['rules']} rule(s), DROP policies: {', '.join(loaded['drop_policies']) or 'none'}")
        idle.append(ev("running kernel", now))
    idle += _init_note(init)
    families, notes, unknown = _families({"ipv6": boot.get("ipv6")})
    found = [e for e, _ in working]
    if init and init["kind"] == "other":
        return Result.not_applicable(
            f"PID 1 is {init['name']}, neither systemd nor a SysV init: this system was not started by an init that"
            " applies the boot settings on its disk (a container?), so what loads its firewall is up to"
            " whatever starts it",
            evidence=broken + found + idle + notes)
    if broken:
        return Result.failed("a boot mechanism runs a rules file that does not exist, so no rules are applied by it",
                             evidence=broken + found + idle + notes, expected=expected)
    if not working:
        looked = ev("boot", "looked for /etc/rc.d/init.d/{iptables,ip6tables}, "
                    "/etc/init.d/{iptables,ip6tables,netfilter-persistent}"
                    " with rc links, and *.wants links of " + ", ".join(u["unit"] for u in boot["units"]))
        lost = " (rules loaded now are lost at reboot)" if loaded and loaded.get("rules") else ""
        return Result.failed("nothing applies firewall rules at boot" + lost,
                             evidence=[looked] + idle + notes, expected=expected)
    covered = set().union(*(f for _, f in working))
    uncovered = [f for f in families if f not in covered]
    if not uncovered:
        return Result.passed("firewall rules are applied at boot (" + _family_words(set(families)) + ")",
                             evidence=found + idle + notes, expected=expected)
    message = "; ".join(f"{fw.LABELS[f]}: no boot mechanism loads {fw.LABELS[f]} rules" for f in uncovered)
    missing_v6 = [ev(p, "absent") for p in V6_FILES if "ipv6" in uncovered and p not in boot["rule_files_present"]]
    if uncovered == ["ipv6"] and unknown:
        return Result.error(f"{message}, and whether IPv6 is on cannot be told ({unknown})",
                            evidence=found + missing_v6 + idle + notes, expected=expected)
    return Result.failed(message, evidence=found + missing_v6 + idle + notes, expected=expected)


# The IPv6 files the boot mechanisms read (netfilter-persistent, ip6tables.service).
V6_FILES = ("/etc/iptables/rules.v6", "/etc/sysconfig/ip6tables")
_PERSISTENT = ("netfilter-persistent", "iptables-persistent")


def _family_words(families: set) -> str:
    return " and ".join(fw.LABELS[f] for f in fw.FAMILIES if f in families) or "no family"


def _sysv_families(script: dict, boot: dict) -> set:
    """The families an enabled init script loads rules for."""
    name = script["script"].rsplit("/", 1)[-1]
    if name in _PERSISTENT:  # its plugins load rules.v4 and, when it exists, rules.v6
        return {"ipv4"} | ({"ipv6"} if V6_FILES[0] in boot["rule_files_present"] else set())
    if name == "ip6tables":
        return {"ipv6"}
    return {"ipv4"} | ({"ipv6"} if any(r.get("ipv6") for r in script["rules_files"]) else set())


def _unit_families(unit: dict, boot: dict) -> set:
    """The families an enabled systemd unit loads rules for."""
    if unit["unit"] == "netfilter-persistent.service":
        return {"ipv4"} | ({"ipv6"} if V6_FILES[0] in boot["rule_files_present"] else set())
    if unit["unit"] == "iptables.service":
        return {"ipv4"}
    if unit["unit"] == "ip6tables.service":
        return {"ipv6"}
    return set(fw.FAMILIES)  # nftables.conf: one ruleset, whatever families its tables name


def _init_note(init: dict | None) -> list:
    """Which init runs (live), since only it decides which boot settings apply."""
    if init is None:
        return []
    if init["kind"] is None:
        return [ev(init["where"], f"cannot tell which init runs ({init['error']}): "
                                  "boot settings judged as systemd or SysV init would apply them")]
    words = {"systemd": "systemd: its units (and SysV scripts with rc links) apply",
             "sysvinit": "a SysV init: only init scripts with rc links apply, systemd units do not",
             "other": "neither systemd nor a SysV init: no boot setting on disk applies"}
    return [ev(init["where"], f"PID 1 is {init['name']}, {words[init['kind']]}")]
