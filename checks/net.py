"""Checks of the net controls: which ports and protocols the host offers, seen from its own
socket table (live) and from the wire (net), and whether the two agree.
"""

from __future__ import annotations

import ipaddress

from hostaudit.model import Result, ev
from hostaudit.parsers.nmap_xml import port_in_ranges
from hostaudit.registry import check


def socket_table(facts) -> str:
    """Which reader gave the live socket table (psutil, or /proc where psutil is missing),
    as evidence from it names its source."""
    return facts["listeners"].get("source", "socket table")


def listener_text(entry: dict) -> str:
    """``9999/tcp open on 0.0.0.0, python3 (pid 4242, user nobody)``, or why the owner is unknown."""
    where = f"{entry['port']}/{entry['proto']} open on {entry['address']}"
    if entry.get("owner_known"):
        return f"{where}, {entry['process']} (pid {entry['pid']}, user {entry['user']})"
    pid = f"pid {entry['pid']}, " if entry.get("pid") else ""
    return f"{where}, owner unknown ({pid}{entry.get('owner_note', 'not visible')})"


def port_text(port: dict) -> str:
    """``9999/tcp open (syn-ack), service abyss`` as nmap reported it."""
    service = f", service {port['service']}" if port.get("service") else ""
    return f"{port['port']}/{port['proto']} {port['state']} ({port['reason']}){service}"


def other_states(sweep: dict) -> str:
    """``65529 closed (reset), 1 filtered (no-response)``: what the sweep saw besides open."""
    parts = []
    for state, summary in sorted(sweep.get("states", {}).items()):
        reasons = ", ".join(sorted(summary.get("reasons", {}))) or "no reason given"
        parts.append(f"{summary['count']} {state} ({reasons})")
    return "; ".join(parts) or "nothing else reported"


def state_of(sweep: dict, port: int) -> str:
    """What the sweep saw on ``port``: open, or the state whose port ranges hold it."""
    if any(p["port"] == port for p in sweep["open"]):
        return "open"
    for state, summary in sweep.get("states", {}).items():
        if summary.get("ports") and port_in_ranges(port, summary["ports"]):
            return state
    return "not open"


def _sweep_summary(sweep: dict) -> str:
    return f"swept {sweep['covered']} of {sweep['target']} in {sweep['duration_s']:g}s"


def _live_ports(facts, proto: str, allowed: set) -> tuple[list, list]:
    """Listeners of ``proto`` outside ``allowed`` as evidence, and the allowed ones seen."""
    entries = [e for e in facts["listeners"]["listeners"] if e["proto"] == proto]
    bad = [ev(socket_table(facts), listener_text(e)) for e in entries if e["port"] not in allowed]
    good = sorted({e["port"] for e in entries if e["port"] in allowed})
    return bad, good


def _net_ports(sweep: dict, allowed: set) -> tuple[list, list]:
    bad = [ev(sweep["command"], port_text(p)) for p in sweep["open"] if p["port"] not in allowed]
    good = sorted({p["port"] for p in sweep["open"] if p["port"] in allowed})
    return bad, good


def _ports_control(facts, params, *, proto: str, param: str, sweep_fact: str) -> Result:
    """Shared logic of net.tcp-ports and net.udp-ports over whichever modes the audit has."""
    allowed = {int(p) for p in params[param]}
    expected = f"only {proto.upper()} ports {sorted(allowed) or 'none'} open"
    bad, seen = [], []
    if "live" in facts.modes:
        live_bad, live_good = _live_ports(facts, proto, allowed)
        bad += live_bad
        seen.append(ev(socket_table(facts), f"allowed {proto.upper()} ports listening: "
                                            f"{', '.join(map(str, live_good)) or 'none'}"))
    if "net" in facts.modes:
        sweep = facts[sweep_fact]
        net_bad, net_good = _net_ports(sweep, allowed)
        bad += net_bad
        # A silent UDP port and a filtered one look alike: say how many there were.
        seen.append(ev(sweep["command"], f"{_sweep_summary(sweep)}; allowed ports open: "
                                         f"{', '.join(map(str, net_good)) or 'none'}; "
                                         f"{other_states(sweep)}"))
    if not seen:
        return Result.error("needs the socket table (live) or a sweep (--network)")
    if bad:
        ports = sorted({e.text.split("/")[0] for e in bad}, key=int)
        return Result.failed(f"{proto.upper()} ports open outside the allowed set: {', '.join(ports)}",
                             evidence=bad + seen, expected=expected)
    return Result.passed(f"no {proto.upper()} port open outside the allowed set",
                         evidence=seen, expected=expected)


@check("net.tcp-ports", needs={"live": ["listeners"], "net": ["nmap_tcp"]},
       params={"allowed_tcp": {"$ref": "#/$defs/ports"}})
def tcp_ports(facts, params) -> Result:
    """Only the allowed TCP ports listen (socket table and/or full TCP sweep)."""
    return _ports_control(facts, params, proto="tcp", param="allowed_tcp", sweep_fact="nmap_tcp")


@check("net.udp-ports", needs={"live": ["listeners"], "net": ["nmap_udp"]},
       params={"allowed_udp": {"$ref": "#/$defs/ports"}})
def udp_ports(facts, params) -> Result:
    """Only the allowed UDP ports (by default none) are bound or answer a UDP sweep."""
    return _ports_control(facts, params, proto="udp", param="allowed_udp", sweep_fact="nmap_udp")


@check("net.ip-protocols", needs=["nmap_ipproto"], params={"allowed_protocols": {
    "type": "array", "uniqueItems": True,
    "items": {"anyOf": [{"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9.+_-]*$"},
                        {"type": "integer", "minimum": 0, "maximum": 255}]},
    "description": "a list of IP protocol names or numbers, e.g. [icmp, tcp, 253]"}})
def ip_protocols(facts, params) -> Result:
    """Only the basic IP protocols (icmp, igmp, tcp, udp) answer an IP-protocol sweep."""
    allowed = {str(p).lower() for p in params["allowed_protocols"]}
    sweep = facts["nmap_ipproto"]
    # Only "open" counts: nmap saw the protocol answer. open|filtered is mere silence,
    # which is also what every protocol behind a DROP firewall looks like.
    bad = [ev(sweep["command"], f"protocol {p['port']} ({p['service'] or 'unnamed'}) open "
                                f"({p['reason']})")
           for p in sweep["open"] if (p["service"] or str(p["port"])).lower() not in allowed
           and str(p["port"]) not in allowed]
    names = ", ".join(p["service"] or str(p["port"]) for p in sweep["open"]) or "none"
    summary = ev(sweep["command"], f"{_sweep_summary(sweep)}; open: {names}; "
                                   f"{other_states(sweep)} (not counted)")
    expected = f"only {', '.join(sorted(allowed))} answer"
    if bad:
        return Result.failed(f"{len(bad)} IP protocol(s) beyond {', '.join(sorted(allowed))} answer",
                             evidence=bad + [summary], expected=expected)
    return Result.passed("only allowed IP protocols answer", evidence=[summary], expected=expected)


@check("net.hidden-listeners", needs={"live": ["listeners"], "net": ["nmap_tcp", "nmap_udp"]})
def hidden_listeners(facts, params) -> Result:
    """Every port open in the sweep of this host has a socket in its own table."""
    if not {"live", "net"} <= set(facts.modes):
        return Result.not_applicable("needs --network: a live audit that also sweeps this host")
    table = {(e["proto"], e["port"]) for e in facts["listeners"]["listeners"]}
    hidden, explained = [], []
    for name in ("nmap_tcp", "nmap_udp"):
        sweep = facts[name]
        for port in sweep["open"]:
            if (port["proto"], port["port"]) in table:
                explained.append(f"{port['port']}/{port['proto']}")
            else:
                hidden.append(ev(sweep["command"], f"{port_text(port)} but no {port['proto']} "
                                                   f"socket on port {port['port']} in the "
                                                   f"{socket_table(facts)}"))
    evidence = [ev(socket_table(facts), f"open in the sweep and listening here: "
                                        f"{', '.join(explained) or 'none'}")]
    expected = "every port open on the wire has a listener in the socket table"
    if hidden:
        return Result.failed(f"{len(hidden)} open port(s) have no socket in this host's table "
                             "(a listener the OS hides, or traffic forwarded elsewhere)",
                             evidence=hidden + evidence, expected=expected)
    return Result.passed("every port open in the sweep is explained by the socket table",
                         evidence=evidence, expected=expected)


def local_vantage(target: str) -> str | None:
    """Why a sweep of ``target`` cannot show what a *remote* client gets, or None.

    A live audit with --network sweeps the host's own loopback; a server that admits
    127.* (tcprules, the document's POP3) rightly greets that client.
    """
    try:
        loopback = ipaddress.ip_address(target).is_loopback
    except ValueError:
        return None
    if loopback:
        return (f"the sweep is of this host's loopback ({target}): a client there is local, not "
                "remote; audit from another machine with --network --target ADDRESS")
    return None


def greeting_of(facts, port: int) -> dict | None:
    """The greetings entry of ``port``, or None when it was not connected to."""
    return next((g for g in facts["greetings"]["ports"] if g["port"] == port), None)


def greeting_text(entry: dict) -> str:
    if entry["result"] == "greeting":
        return f"greets with {entry['first_line']!r}"
    return {"closed": "accepts the connection, then closes it without a greeting",
            "refused": "refuses the connection", "silent": "accepts but sends nothing",
            "reset": "resets the connection", "timeout": "does not answer the connection",
            }.get(entry["result"], f"{entry['result']}: {entry.get('detail', '')}")


@check("net.cleartext-auth", needs=["nmap_tcp", "greetings"], params={"cleartext_ports": {
    "type": "object", "additionalProperties": {"type": "string", "minLength": 1},
    "propertyNames": {"anyOf": [{"$ref": "#/$defs/port"}, {"type": "string", "pattern": "^[1-9][0-9]{0,4}$"}],
                      "description": "a port number, 1-65535, as the key"},
    "description": "a mapping of port number to service name, e.g. {21: ftp, 23: telnet}"}})
def cleartext_auth(facts, params) -> Result:
    """No cleartext login service (FTP, telnet, POP3, IMAP) is reachable from the vantage point."""
    sweep = facts["nmap_tcp"]
    local = local_vantage(sweep["target"])
    if local:
        return Result.not_applicable(local)
    reachable: list = []
    evidence: list = []
    for port, service in sorted((int(p), s) for p, s in (params["cleartext_ports"] or {}).items()):
        where = f"{sweep['target']}:{port} ({service})"
        entry = greeting_of(facts, port)
        if entry is None:
            evidence.append(ev(where, f"{state_of(sweep, port)} in the sweep ({sweep['covered']})"))
            continue
        text = greeting_text(entry)
        # A POP3 "-ERR" greeting (or none) is a refusal: no USER/PASS can follow it.
        refused = entry["result"] != "greeting" or entry["first_line"].startswith("-ERR")
        (evidence if refused else reachable).append(ev(where, f"open, {text}"))
    expected = "no cleartext login service answers a remote client"
    if reachable:
        return Result.failed(f"{len(reachable)} cleartext login service(s) answer a remote client",
                             evidence=reachable + evidence, expected=expected)
    return Result.passed("no cleartext login service answers a remote client",
                         evidence=evidence, expected=expected)
