"""Checks of the fw controls: default-deny policies, what new traffic gets in, loopback, boot."""

from __future__ import annotations

from hostaudit import firewall as fw
from hostaudit.model import Result, ev
from hostaudit.registry import check

HOOKS = ("input", "output", "forward")
NEW_INBOUND = fw.region(state={"new"}, iif={"other"})
LOOPBACK = fw.region(state={"new", "established", "related"}, iif={"lo"})
# The document's stunnel forwards pop3s and smtps to these localhost services.
STUNNEL_BACKENDS = (("localhost:pop3", 110), ("localhost:smtp", 25))
_SHOWN = 3


def _rules(facts) -> tuple[dict | None, Result | None]:
    """The ruleset to judge, or the result that ends the check (error, or no saved rules)."""
    fact = facts["firewall_rules"]
    failed = [s for s in fact["sources"] if s["status"] == "error"]
    if failed:
        return None, Result.error("cannot read the firewall rules: " + "; ".join(f"{s['name']}: {s['reason']}" for s in failed))
    ruleset = fact["ruleset"]
    if ruleset is not None and ruleset["errors"]:
        bad = ruleset["errors"]
        return None, Result.error(f"{len(bad)} rule line(s) cannot be read, so the rule set cannot be evaluated"
                                  " (iptables-restore/nft -f may refuse the whole file)",
                                  evidence=[ev(e["where"], f"{e['text']}: {e['error']}", e["line"]) for e in bad[:10]])
    return ruleset, None


def _no_saved_rules(fact: dict) -> list:
    return [ev(path, "absent") for path in fact["looked"]]


def _sure(result: Result, ruleset: dict) -> Result:
    """A pass that depends on lines we did not replay (shell loops, includes) is not a pass."""
    if result.status.value != "pass" or not ruleset["notes"]:
        return result
    notes = [ev(n["where"], f"{n['text']}: {n['note']}", n["line"]) for n in ruleset["notes"]]
    return Result.error("the rules would pass, but some lines could not be interpreted", evidence=notes + list(result.evidence))


def _deciding(accepted: fw.Accepted) -> dict:
    """The rule that let packets in: the last accepting rule on their path, else a policy."""
    rules = [ref for ref in accepted.by if ref.get("verdict") in ("accept", "unknown")]
    path = rules or list(accepted.by)
    if not path:  # no table hooks input at all: the kernel accepts everything
        return {"where": "ruleset", "line": None, "text": "no input chain"}
    return path[-1]


@check("fw.default-policy", needs=["firewall_rules"])
def default_policy(facts, params) -> Result:
    """Traffic no rule accepts is dropped on input, output and forward."""
    ruleset, stop = _rules(facts)
    if stop:
        return stop
    expected = "INPUT, OUTPUT and FORWARD policy DROP"
    if ruleset is None:
        return Result.failed("no saved rule set: the boot loads no rules, so every policy is ACCEPT",
                             evidence=_no_saved_rules(facts["firewall_rules"]), expected=expected)
    evidence, open_hooks = [], []
    for hook in HOOKS:
        chains = fw.base_chains(ruleset, hook)
        if not chains:
            evidence.append(ev(facts["firewall_rules"]["path"] or "ruleset", f"no {hook} chain: {hook} traffic is accepted"))
        verdicts = []
        for _, chain in chains:
            policy, ref = fw.effective_policy(chain)
            verdicts.append(policy)
            how = "" if "policy" in ref else " (ends in an unconditional drop)"
            evidence.append(ev(ref["where"], f"{ref['text']}{how} -> {hook} default {policy.upper()}", ref.get("line")))
        if "drop" not in verdicts:
            open_hooks.append(hook.upper())
    if open_hooks:
        return Result.failed(f"default policy is ACCEPT for {', '.join(open_hooks)}", evidence=evidence, expected=expected)
    return _sure(Result.passed("input, output and forward default to DROP", evidence=evidence, expected=expected), ruleset)


def _allowed_regions(params) -> tuple[list, list[str]]:
    """The baseline's allowed list as regions, and its description. Raises ValueError."""
    inside = fw.cidrs([params["internal_net"]])
    sources = {"any": fw.ALL_ADDRS, "internal": inside, "external": fw.cidrs([params["internal_net"]], negate=True)}
    regions, words = [], []
    for entry in params["allowed"]:
        port = str(entry["port"]).replace("{ssh_port}", str(params["ssh_port"])).replace("-", ":")
        origin = str(entry.get("from", "any"))
        spans = sources.get(origin) or fw.cidrs([origin])
        if entry["proto"] not in ("tcp", "udp"):
            raise ValueError(f"allowed entry {entry}: proto must be tcp or udp")
        regions.append(fw.region(state={"new"}, iif={"other"}, proto={entry["proto"]},
                                 ports=[tuple(fw.port_range(port))], sources=spans))
        words.append(f"{entry['proto']} {port} from {origin}")
    return regions, words


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
    """New inbound traffic is accepted only for the services and sources the site allows."""
    try:
        allowed, words = _allowed_regions(params)
    except (ValueError, KeyError, TypeError) as exc:
        return Result.error(f"parameter allowed is malformed: {exc}")
    expected = "new inbound only: " + "; ".join(words) + f" (internal = {params['internal_net']})"
    ruleset, stop = _rules(facts)
    if stop:
        return stop
    if ruleset is None:
        return Result.failed("no saved rule set: the boot loads no rules, so all inbound traffic is accepted",
                             evidence=_no_saved_rules(facts["firewall_rules"]), expected=expected)
    try:
        accepted_flows = fw.accepted_by(ruleset, NEW_INBOUND, "may")
    except ValueError as exc:
        return Result.error(f"cannot evaluate the rule set: {exc}")
    broader, fitting = {}, []
    for accepted in accepted_flows:
        ref = _deciding(accepted)
        extra = fw.subtract_all([accepted.region], allowed)
        if extra:
            key = (ref["where"], ref.get("line"), ref["text"])
            broader.setdefault(key, []).append((accepted, extra))
        else:
            fitting.append(ev(ref["where"], f"{ref['text']}: accepts new {fw.describe(accepted.region)} (allowed)", ref.get("line")))
    if not broader:
        return _sure(Result.passed("new inbound traffic is accepted only as allowed",
                                   evidence=fitting or [ev("ruleset", "no new inbound traffic is accepted")],
                                   expected=expected), ruleset)
    evidence = []
    for (where, line, text), found in broader.items():
        extra = [p for _, pieces in found for p in pieces]
        verb = "accepts" if all(a.certain for a, _ in found) else "may accept (conditions the audit cannot evaluate)"
        shown = "; ".join(fw.describe(p) for p in extra[:_SHOWN]) + (f"; +{len(extra) - _SHOWN} more" if len(extra) > _SHOWN else "")
        evidence.append(ev(where, f"{text}: {verb} new {shown}", line))
    return Result.failed(f"{len(evidence)} rule(s) accept new inbound traffic beyond the allowed list",
                         evidence=evidence, expected=expected)


@check("fw.loopback", needs=["firewall_rules"])
def loopback(facts, params) -> Result:
    """Traffic on the loopback interface is accepted, so local services can talk to each other."""
    ruleset, stop = _rules(facts)
    if stop:
        return stop
    expected = "loopback accepted before any drop (-A INPUT -i lo -j ACCEPT / iif lo accept)"
    if ruleset is None:
        return Result.passed("no saved rule set, so nothing drops loopback traffic",
                             evidence=_no_saved_rules(facts["firewall_rules"]), expected=expected)
    try:
        cover = fw.coverage(ruleset, LOOPBACK)
    except ValueError as exc:
        return Result.error(f"cannot evaluate the rule set: {exc}")
    if cover.complete:
        refs = {(r["where"], r.get("line"), r["text"]) for a in cover.accepted for r in a.by}
        return _sure(Result.passed("loopback traffic is accepted", expected=expected,
                                   evidence=[ev(w, f"{t}: accepts loopback", n) for w, n, t in sorted(refs, key=str)][:5]), ruleset)
    sure = [a.region for a in cover.accepted]
    blocked = [name + f" (tcp {port})" for name, port in STUNNEL_BACKENDS
               if fw.subtract_all([fw.region(state={"new"}, iif={"lo"}, proto={"tcp"}, ports=[(port, port)],
                                             sources=fw.cidrs(["127.0.0.1/32"]))], sure)]
    evidence = [ev("loopback", "not accepted: " + fw.describe(m) + f" ({'/'.join(sorted(m.state))})")
                for m in cover.missing[:_SHOWN]]
    for _, chain in fw.base_chains(ruleset, "input"):
        policy, ref = fw.effective_policy(chain)
        evidence.append(ev(ref["where"], f"{ref['text']} -> input default {policy.upper()}; no rule accepts all of lo first", ref.get("line")))
    consequence = (f"this breaks the stunnel wrapping, whose connections to {' and '.join(blocked)} are dropped"
                   if blocked else "local services talking over lo (such as stunnel's back ends) may be cut off")
    return Result.failed(f"loopback traffic is dropped on INPUT: {consequence}", evidence=evidence, expected=expected)


@check("fw.enabled", needs=["firewall_boot"])
def enabled(facts, params) -> Result:
    """The firewall rules are applied at every boot."""
    boot = facts["firewall_boot"]
    expected = "an enabled boot mechanism (init script with rc links, netfilter-persistent, nftables, iptables or firewalld) whose rules file exists"
    working, broken, idle = [], [], []
    for script in boot["sysv"]:
        where, links = script["script"], script["start_links"]
        chk = script["chkconfig"]
        if chk:
            idle.append(ev(where, chk["text"], chk["line"]))
        missing = [r for r in script["rules_files"] if not r["exists"]]
        if not links:
            idle.append(ev(where, "init script present but no S links in /etc/rc.d/rc[2345].d or /etc/rc[2345].d (not enabled)"))
        elif missing:
            present = ", ".join(boot["rule_files_present"]) or "none"
            broken += [ev(where, f"runs {r['path']}, which does not exist (rules files present: {present})", r["line"])
                       for r in missing]
        else:
            working.append(ev(where, f"enabled by {', '.join(links[:4])}"))
    for unit in boot["units"]:
        if not unit["enabled_by"]:
            continue
        link = unit["enabled_by"][0]
        if unit["masked"]:
            idle.append(ev(f"/etc/systemd/system/{unit['unit']}", "masked (-> /dev/null): does not start"))
        elif not unit["config"]:
            working.append(ev(link, f"{unit['unit']} enabled (its zone rules are out of scope of the fw checks)"))
        elif not unit["config_exists"]:
            broken.append(ev(link, f"{unit['unit']} enabled but {unit['config']} does not exist"))
        else:
            working.append(ev(link, f"{unit['unit']} enabled, loads {unit['config']}"))
    loaded = boot.get("loaded")
    if loaded is not None:
        now = (f"cannot tell what is loaded now: {loaded['error']}" if "error" in loaded else
               f"loaded now: {loaded['rules']} rule(s), DROP policies: {', '.join(loaded['drop_policies']) or 'none'}")
        idle.append(ev("running kernel", now))
    if broken:
        return Result.failed("a boot mechanism runs a rules file that does not exist, so no rules are applied by it",
                             evidence=broken + working + idle, expected=expected)
    if working:
        return Result.passed("firewall rules are applied at boot", evidence=working + idle, expected=expected)
    looked = ev("boot", "looked for /etc/rc.d/init.d/iptables, /etc/init.d/{iptables,netfilter-persistent} with rc links, "
                "and *.wants links of " + ", ".join(u["unit"] for u in boot["units"]))
    return Result.failed("nothing applies firewall rules at boot" + (" (rules loaded now are lost at reboot)" if loaded and loaded.get("rules") else ""),
                         evidence=[looked] + idle, expected=expected)
