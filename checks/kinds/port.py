"""Generic kind ``port``: a TCP or UDP port is listening or not, from the socket table
(live) and, with the network view, from the wire. An image listens on nothing.

    - id: site.net.no-telnet
      kind: port
      modes: [live, net]
      parameters: {port: 23, proto: tcp, state: closed}
"""

from __future__ import annotations

from hostaudit.checks.net import listener_text, port_text, socket_table, state_of
from hostaudit.model import Result, ev
from hostaudit.registry import kind


def _sweep_wanted(proto: str):
    return lambda params: {} if params["proto"] == proto else None


def _judge(state: str, label: str, where: str, seen: list) -> Result:
    expected = f"{label} {'listening' if state == 'listening' else 'not listening'}"
    if seen and state == "closed":
        return Result.failed(f"{label} is open", evidence=seen, expected=expected)
    if not seen and state == "listening":
        return Result.failed(f"{label} is not open", evidence=[ev(where, f"{label} not open")],
                             expected=expected)
    evidence = seen or [ev(where, f"{label} not open")]
    return Result.passed(f"{label} is {'open' if seen else 'not open'}", evidence=evidence,
                         expected=expected)


@kind("port", modes=("live", "net"),
      needs={"live": ["listeners"], "net": ["nmap_tcp", "nmap_udp"]},
      wants={"nmap_tcp": _sweep_wanted("tcp"), "nmap_udp": _sweep_wanted("udp")},
      params={"port": {"$ref": "#/$defs/port"},
              "proto": {"enum": ["tcp", "udp"], "default": "tcp", "description": "tcp (default) or udp"},
              "state": {"enum": ["listening", "closed"], "default": "closed",
                        "description": "closed (default: nothing listens) or listening"}})
def port_control(facts, params) -> Result:
    """The port is (not) listening in every view the audit has of the host."""
    port, proto, state = params["port"], params["proto"], params["state"]
    label = f"{port}/{proto}"
    verdicts = []
    if "live" in facts.modes:
        entries = [e for e in facts["listeners"]["listeners"]
                   if e["proto"] == proto and e["port"] == port]
        source = socket_table(facts)
        verdicts.append(_judge(state, label, source, [ev(source, listener_text(e)) for e in entries]))
    if "net" in facts.modes:
        sweep = facts[f"nmap_{proto}"]
        opened = [ev(sweep["command"], port_text(p)) for p in sweep["open"] if p["port"] == port]
        verdict = _judge(state, label, sweep["command"], opened)
        if not opened:  # name what the sweep saw there: closed, filtered, open|filtered...
            verdict = Result(verdict.status, verdict.message,
                             (ev(sweep["command"], f"{label} {state_of(sweep, port)}"),), verdict.expected)
        verdicts.append(verdict)
    if not verdicts:
        return Result.error("needs the socket table (live) or a sweep (--network)")
    return Result.combine(*verdicts)
