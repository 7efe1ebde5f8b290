"""What a firewall rule set lets in: a normalised rule model and its evaluation.

Both parsers (``hostaudit.parsers.iptables`` and ``hostaudit.parsers.nft``) produce the same plain-data
model, so one evaluator answers the questions the fw controls ask, by meaning, not by text:

* ruleset: ``{"tables": [table], "errors": [{"where", "line", "text", "error"}], "notes": [...]}``
* table: ``{"family": "ip"|"inet"|"ip6"|..., "name", "source": "iptables"|"nft", "chains": [chain]}``
* chain: ``{"name", "hook": "input"|...|None, "priority": int, "policy": "accept"|"drop"|None,
  "policy_where", "policy_line", "policy_text", "rules": [rule]}``
* rule: ``{"where", "line", "text", "verdict", "target", "unmodelled": [str], "never": str|None,
  "only": "ipv4"|"ipv6"|None}`` (``only``: an ``inet`` rule that matches one family, such as
  ``ip saddr ...`` or ``meta nfproto ipv6``), and the matches it has, each
  ``{"values"|"ranges"|"cidrs"|"names": [...], "negate": bool}``: ``proto``, ``dport``,
  ``saddr``, ``state``, ``iif``.

IPv4 and IPv6 are evaluated apart, because the kernel runs them through different tables:
IPv4 packets through ``ip`` and ``inet`` tables (iptables, nft), IPv6 packets through ``ip6``
and ``inet`` tables (ip6tables, nft). Every evaluation names its family (``"ipv4"`` or
``"ipv6"``).

Evaluation walks the packet space symbolically. A *region* is a box over five dimensions:
conntrack state, input interface (``lo`` or any other), protocol (tcp, udp, the family's ICMP,
other), destination port and source address (32-bit or 128-bit, by family). Each rule cuts
the regions still undecided; jumps
and gotos follow user chains; what falls off a base chain meets its policy. Matches the model
does not represent (rate limits, destination addresses, interface names other than lo...)
make a rule *partial*: in ``may`` mode (what might be accepted) a partial accept counts and a
partial drop shadows nothing; in ``must`` mode (what is surely accepted) the reverse. So a
broader accept is never missed, and loopback is never called accepted on a guess.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

STATES = frozenset({"new", "established", "related", "invalid", "untracked"})
IFACES = frozenset({"lo", "other"})
PROTOS = frozenset({"tcp", "udp", "icmp", "other"})
PORT_MAX = 65535
ADDR_MAX = 2**32 - 1
ALL_PORTS = ((0, PORT_MAX),)
ALL_ADDRS = ((0, ADDR_MAX),)
FAMILIES = ("ipv4", "ipv6")
LABELS = {"ipv4": "IPv4", "ipv6": "IPv6"}
# The tables each family's packets traverse.
TABLE_FAMILIES = {"ipv4": ("ip", "inet"), "ipv6": ("ip6", "inet")}
ADDR_TOPS = {"ipv4": ADDR_MAX, "ipv6": 2**128 - 1}
# Protocol names and numbers as each family reads them: "icmp" in a region is the family's
# own ICMP (ICMPv6 for IPv6, which neighbour discovery needs); ICMP for IPv4 inside an IPv6
# packet is just another protocol.
PROTO_NAMES = {
    "ipv4": {"6": "tcp", "17": "udp", "1": "icmp", "tcp": "tcp", "udp": "udp", "icmp": "icmp"},
    "ipv6": {"6": "tcp", "17": "udp", "58": "icmp", "tcp": "tcp", "udp": "udp", "icmpv6": "icmp",
             "ipv6-icmp": "icmp"},
}
ANY_PROTO = {"all", "0", "ip"}
MATCH_KEYS = ("state", "iif", "proto", "dport", "saddr")
_MAX_DEPTH = 32
_MAX_REGIONS = 50000


# -- the model, as the parsers build it -------------------------------------------------------
def new_rule(where: str, line: int | None, text: str) -> dict:
    """An empty rule (matches everything, no verdict) located at ``where:line``."""
    return {"where": where, "line": line, "text": text, "verdict": "continue", "target": None,
            "unmodelled": [], "never": None}


def new_chain(name: str, *, hook: str | None = None, priority: int = 0, policy: str | None = None,
              where: str = "", line: int | None = None, text: str = "") -> dict:
    """A chain; base chains have a ``hook`` and a ``policy`` (accept when not given)."""
    return {"name": name, "hook": hook, "priority": priority, "policy": policy,
            "policy_where": where, "policy_line": line, "policy_text": text, "rules": []}


def empty_ruleset() -> dict:
    return {"tables": [], "errors": [], "notes": []}


def port_range(text: str, sep: str = ":") -> list[int]:
    """``"25"``, ``"1000:2000"`` or ``"1000:"`` (to 65535) as ``[lo, hi]``. Raises ValueError."""
    low, found, high = str(text).strip().partition(sep)
    first = int(low) if low else 0
    last = (int(high) if high else PORT_MAX) if found else first
    if not 0 <= first <= last <= PORT_MAX:
        raise ValueError(f"bad port or port range {text!r}")
    return [first, last]


def cidr(text: str, family: str = "ipv4") -> str:
    """A normalised network of ``family`` (``192.168.1.5/24`` -> ``192.168.1.0/24``). Raises ValueError."""
    kind = ipaddress.IPv4Network if family == "ipv4" else ipaddress.IPv6Network
    return str(kind(text, strict=False))


def family_of(network: str) -> str:
    """``"ipv4"`` or ``"ipv6"``: which family a network (as ``cidr`` returns it) belongs to."""
    return "ipv6" if ":" in network else "ipv4"


# -- interval sets ----------------------------------------------------------------------------
def _norm(intervals) -> tuple:
    merged: list[list[int]] = []
    for low, high in sorted(intervals):
        if merged and low <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], high)
        else:
            merged.append([low, high])
    return tuple((a, b) for a, b in merged)


def _intersect(a: tuple, b: tuple) -> tuple:
    out = []
    for a_lo, a_hi in a:
        for b_lo, b_hi in b:
            if max(a_lo, b_lo) <= min(a_hi, b_hi):
                out.append((max(a_lo, b_lo), min(a_hi, b_hi)))
    return _norm(out)


def _complement(a: tuple, top: int) -> tuple:
    out, start = [], 0
    for low, high in a:
        if low > start:
            out.append((start, low - 1))
        start = high + 1
    if start <= top:
        out.append((start, top))
    return tuple(out)


def _subtract(a: tuple, b: tuple, top: int) -> tuple:
    return _intersect(a, _complement(b, top))


# -- regions ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Region:
    """A box of packets of one family: every combination of the five dimensions' values."""

    state: frozenset = STATES
    iif: frozenset = IFACES
    proto: frozenset = PROTOS
    dport: tuple = ALL_PORTS
    saddr: tuple = ALL_ADDRS
    family: str = "ipv4"

    def empty(self) -> bool:
        return not (self.state and self.iif and self.proto and self.dport and self.saddr)

    def __and__(self, other: Region) -> Region:
        if self.family != other.family:
            raise ValueError("regions of different families never meet")
        return Region(self.state & other.state, self.iif & other.iif, self.proto & other.proto,
                      _intersect(self.dport, other.dport), _intersect(self.saddr, other.saddr), self.family)

    def __sub__(self, other: Region) -> list[Region]:
        """This box minus ``other``, as disjoint boxes (one per dimension that differs)."""
        if (self & other).empty():
            return [self]
        pieces: list[Region] = []
        kept: dict[str, Any] = {}
        tops = (("state", None), ("iif", None), ("proto", None), ("dport", PORT_MAX), ("saddr", ADDR_TOPS[self.family]))
        for key, top in tops:
            mine, theirs = getattr(self, key), getattr(other, key)
            outside = mine - theirs if top is None else _subtract(mine, theirs, top)
            inside = mine & theirs if top is None else _intersect(mine, theirs)
            if outside:
                pieces.append(Region(**{**self._fields(), **kept, key: outside}))
            kept[key] = inside
        return pieces

    def _fields(self) -> dict:
        return {k: getattr(self, k) for k in (*MATCH_KEYS, "family")}


def everything(family: str) -> Region:
    """Every packet of ``family``."""
    return Region(saddr=((0, ADDR_TOPS[family]),), family=family)


def subtract_all(regions: list[Region], others: list[Region]) -> list[Region]:
    """``regions`` minus the union of ``others``."""
    for other in others:
        regions = [piece for r in regions for piece in r - other]
        if len(regions) > _MAX_REGIONS:
            raise ValueError("rule set too complex to evaluate")
    return regions


def region(*, state=STATES, iif=IFACES, proto=PROTOS, ports=ALL_PORTS, sources=None, family="ipv4") -> Region:
    """A region from friendly values: ``region(proto={"tcp"}, ports=[(25, 25)], sources=cidrs(["10.0.0.0/8"]))``.

    ``sources`` defaults to every address of ``family``."""
    spans = ((0, ADDR_TOPS[family]),) if sources is None else _norm(sources)
    return Region(frozenset(state), frozenset(iif), frozenset(proto), _norm(ports), spans, family)


def cidrs(networks, *, negate: bool = False, family: str = "ipv4") -> tuple:
    """The networks of ``family`` among ``networks`` as an address interval set (its
    complement with ``negate``). Networks of the other family match no packet of this one."""
    nets = [ipaddress.ip_network(n, strict=False) for n in networks]
    spans = _norm((int(n.network_address), int(n.broadcast_address)) for n in nets
                  if n.version == (4 if family == "ipv4" else 6))
    return _complement(spans, ADDR_TOPS[family]) if negate else spans


def _proto_names(values, family: str) -> tuple[frozenset, bool]:
    """The region protocols ``values`` name in ``family``, and whether all are known."""
    names = {str(v).lower() for v in values}
    if names & ANY_PROTO:
        return PROTOS, True
    known = {PROTO_NAMES[family].get(n) for n in names}
    return frozenset(k or "other" for k in known), None not in known


def _rule_region(rule: dict, family: str = "ipv4") -> tuple[Region | None, bool]:
    """The region a rule matches in ``family`` (an over-approximation) and whether it is
    exact; None when the rule matches only packets of the other family."""
    if rule.get("only") not in (None, family):
        return None, True
    exact = not rule.get("unmodelled")
    fields: dict[str, Any] = {"saddr": ((0, ADDR_TOPS[family]),), "family": family}
    if (m := rule.get("state")) is not None:
        values = frozenset(v.lower() for v in m["values"])
        if values <= STATES:
            fields["state"] = STATES - values if m["negate"] else values
        else:  # conntrack's snat/dnat/expected cut across the states we model
            exact = False
    if (m := rule.get("iif")) is not None:
        lo_only = all(n == "lo" for n in m["names"])
        exact &= lo_only  # other names (eth0, eth+) pick some of "other" interfaces
        if m["negate"]:
            fields["iif"] = frozenset({"other"}) if lo_only else IFACES
        elif lo_only:
            fields["iif"] = frozenset({"lo"})
        else:
            fields["iif"] = frozenset({"other"} | {"lo" for n in m["names"] if n == "lo" or "+" in n or "*" in n})
    if (m := rule.get("proto")) is not None:
        hits, known = _proto_names(m["values"], family)
        exact &= known
        fields["proto"] = (PROTOS - hits if known else PROTOS) if m["negate"] else hits
    if (m := rule.get("dport")) is not None:
        ports = _norm(tuple(r) for r in m["ranges"])
        fields["dport"] = _complement(ports, PORT_MAX) if m["negate"] else ports
    if (m := rule.get("saddr")) is not None:
        fields["saddr"] = cidrs(m["cidrs"], negate=m["negate"], family=family)
    return Region(**{**Region()._fields(), **fields}), exact


# -- evaluation -------------------------------------------------------------------------------
def rule_is_exact(rule: dict, family: str = "ipv4") -> bool:
    """Whether the model represents every condition of ``rule`` (else it is partial)."""
    return _rule_region(rule, family)[1]


@dataclass(frozen=True)
class Accepted:
    """Packets accepted, and the rules (or policies) that accepted them, one per base chain."""

    region: Region
    by: tuple

    @property
    def certain(self) -> bool:
        """False when a partial rule (one with conditions the model lacks) took part."""
        return all("verdict" not in ref or rule_is_exact(ref, self.region.family) for ref in self.by)


def _policy_ref(chain: dict, label: str) -> dict:
    policy = chain.get("policy") or "accept"
    text = chain.get("policy_text") or f"{label}: no policy set (accept)"
    return {"where": chain.get("policy_where") or label, "line": chain.get("policy_line"), "text": text,
            "policy": policy}


class _Evaluator:
    def __init__(self, table: dict, mode: str, family: str):
        self.chains = {c["name"]: c for c in table["chains"]}
        self.mode = mode
        self.family = family
        self.label = f"{table['family']} {table['name']}"

    def chain(self, name: str, todo: list[tuple[Region, tuple]], depth: int):
        """Walk chain ``name`` for packets ``todo``; returns (accepted, returned) pairs."""
        if depth > _MAX_DEPTH:
            raise ValueError(f"{self.label}: chain {name} nested deeper than {_MAX_DEPTH} (a jump loop?)")
        if name not in self.chains:
            raise ValueError(f"{self.label}: jump to undefined chain {name}")
        accepted, returned = [], []
        may = self.mode == "may"
        for rule in self.chains[name]["rules"]:
            if not todo or rule.get("never") or rule["verdict"] == "continue":
                continue
            match, exact = _rule_region(rule, self.family)
            if match is None:
                continue
            hits = [(r & match, by) for r, by in todo]
            hits = [(h, by) for h, by in hits if not h.empty()]
            if not hits:
                continue
            rest = [(piece, by) for r, by in todo for piece in r - match]
            verdict = rule["verdict"]
            if verdict == "accept" or (verdict == "unknown" and may):
                if exact or may:
                    accepted += [(h, by + (rule,)) for h, by in hits]
                todo = rest if exact or verdict == "unknown" else todo
            elif verdict in ("drop", "reject", "unknown"):
                todo = rest if exact or not may else todo
            elif verdict == "return":
                if exact or may:
                    returned += hits
                todo = rest if exact or not may else todo
            elif verdict in ("jump", "goto"):
                if not exact and not may:
                    todo = rest
                    continue
                sub_acc, sub_ret = self.chain(rule["target"], [(h, by + (rule,)) for h, by in hits], depth + 1)
                accepted += sub_acc
                back = [(r, by[:-1]) for r, by in sub_ret]
                if verdict == "goto":
                    returned += back
                    back = []
                todo = (rest + back) if exact else todo
            if len(todo) > _MAX_REGIONS:
                raise ValueError("rule set too complex to evaluate")
        return accepted, returned + todo

    def base(self, chain: dict, todo: list[tuple[Region, tuple]]):
        accepted, fell = self.chain(chain["name"], todo, 0)
        ref = _policy_ref(chain, f"{self.label} {chain['name']}")
        if ref["policy"] == "accept":
            accepted += [(r, by + (ref,)) for r, by in fell]
        return accepted


def base_chains(ruleset: dict, hook: str, family: str = "ipv4") -> list[tuple[dict, dict]]:
    """(table, chain) for each base chain on ``hook`` that ``family``'s packets pass, in the
    order the kernel runs them."""
    found = [(t, c) for t in ruleset["tables"] if t["family"] in TABLE_FAMILIES[family]
             for c in t["chains"] if c.get("hook") == hook]
    return sorted(found, key=lambda tc: tc[1].get("priority", 0))


def accepted_by(ruleset: dict, start: Region, mode: str) -> list[Accepted]:
    """Which of ``start`` (packets of one family) the input hook accepts (``may``: possibly;
    ``must``: surely).

    Packets pass every base chain on the hook in turn; a drop anywhere is final.
    """
    todo = [(start, ())]
    for table, chain in base_chains(ruleset, "input", start.family):
        evaluator = _Evaluator(table, mode, start.family)
        todo = [(r, by) for r, by in evaluator.base(chain, todo)]
    return [Accepted(r, by) for r, by in todo]


def effective_policy(chain: dict, family: str = "ipv4") -> tuple[str, dict]:
    """A base chain's default verdict for ``family``: its policy, or drop when it ends in an
    unconditional drop."""
    rules = [r for r in chain["rules"] if not r.get("never") and r["verdict"] != "continue"
             and r.get("only") in (None, family)]
    if rules:
        last = rules[-1]
        match, exact = _rule_region(last, family)
        if last["verdict"] in ("drop", "reject") and exact and match == everything(family):
            return "drop", last
    ref = _policy_ref(chain, chain["name"])
    return ref["policy"], ref


# -- describing regions for evidence ----------------------------------------------------------
def describe_sources(spans: tuple, family: str = "ipv4") -> str:
    """``any``, ``192.168.1.0/24``, ``not 192.168.1.0/24`` or a comma list, for evidence."""
    top = ADDR_TOPS[family]
    inverse = _complement(spans, top)
    # ::1 never arrives from outside (the kernel drops it off lo), so all but ::1 is any source.
    if spans == ((0, top),) or (family == "ipv6" and inverse == ((1, 1),)):
        return "any source"
    negated = len(_networks(inverse, family)) < len(_networks(spans, family))
    nets = _networks(inverse if negated else spans, family)
    shown = ", ".join(nets[:4]) + (f" (+{len(nets) - 4} more)" if len(nets) > 4 else "")
    return f"source not in {shown}" if negated else f"source {shown}"


def _networks(spans: tuple, family: str) -> list[str]:
    address = ipaddress.IPv4Address if family == "ipv4" else ipaddress.IPv6Address
    return [str(n) for low, high in spans for n in ipaddress.summarize_address_range(address(low), address(high))]


def describe_ports(spans: tuple) -> str:
    if spans == ALL_PORTS:
        return "all ports"
    return "port " + ",".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def describe(r: Region) -> str:
    """One region as words: ``tcp port 2112 from source any``."""
    parts = []
    for proto in sorted(r.proto):
        if proto in ("tcp", "udp"):
            parts.append(f"{proto} {describe_ports(r.dport)}")
        else:
            parts.append("other protocols" if proto == "other" else "icmpv6" if r.family == "ipv6" else proto)
    return f"{' + '.join(parts)} from {describe_sources(r.saddr, r.family)}"


@dataclass
class Coverage:
    """How much of a region is surely accepted, and by which rules."""

    missing: list = field(default_factory=list)
    accepted: list = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing


def coverage(ruleset: dict, wanted: Region) -> Coverage:
    """What part of ``wanted`` is surely (``must`` mode) accepted on the input hook."""
    sure = accepted_by(ruleset, wanted, "must")
    return Coverage(missing=subtract_all([wanted], [a.region for a in sure]), accepted=sure)
