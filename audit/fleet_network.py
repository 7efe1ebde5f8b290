"""The network view of a fleet host: what its own socket table says listens, joined with what a
sweep of its address shows on the wire (``hostaudit scan --target ADDRESS``, run by the
Ansible playbook from the controller or a scanner host when ``hostaudit_network_sweep`` is on).

The sweep's report lies beside the host's own results::

    DIR/mail1/net/report.json         the net-mode report of mail1's address
    DIR/mail1/net/not-audited.json    or why the sweep failed: {"state": "failed", "reason": ...}

Per host the join names the ports open on the wire that the socket table does not show (a
listener the host hides, or a NAT or port forward in front of it: the finding) and the ports
the table shows listening that the wire does not reach (filtered by a firewall, bound to
loopback or another address: usually intended, and said so). Only the protocols a sweep
decided are compared; a host whose socket table was not read (an image audit, a failed
collection) keeps the wire's results without a comparison, with the reason.

Everything here is pure: reports in, plain data out.
"""

from __future__ import annotations

import ipaddress
import json
import os
import stat

NET_DIR = "net"
NET_REPORT = "report.json"
NET_MARKER = "not-audited.json"
_PROTOS = (("tcp", "nmap_tcp"), ("udp", "nmap_udp"))

WIRE_ONLY = ("open on the wire, no socket in the host's table: a listener the host hides, "
             "or a NAT/port forward in front of it")
_TABLE_ONLY = {
    "loopback": "listens on loopback only: not offered to the network (fine)",
    "elsewhere": "bound to another address than the one swept (fine if intended)",
    "filtered": "filtered on the wire: a firewall drops it before the listener (fine if intended)",
    "closed": "closed on the wire: a firewall rejects it, or the listener does not take this address",
    "silent": "no answer on the wire: filtered, or a UDP service silent to an empty probe",
    "unknown": "not open on the wire; its state there was not recorded (outside the swept ports, "
               "or among too many ranges to list)",
}


def socket_table(report: dict) -> dict:
    """What a host's own report says listens, by protocol and port with the bound addresses;
    or why there is no socket table to compare with (``state`` read or unavailable)."""
    target = report.get("target") or {}
    modes = target.get("modes") or [target.get("mode")]
    if "live" not in modes:
        return {"state": "unavailable",
                "reason": f"the host's audit was in {target.get('mode')} mode: no running socket table"}
    fact = (report.get("facts") or {}).get("listeners")
    if fact is None:
        return {"state": "unavailable", "reason": "the host's audit did not collect the socket table "
                "(fact listeners; select net.tcp-ports or net.udp-ports)"}
    if not isinstance(fact, dict) or not isinstance(fact.get("listeners"), list):
        reason = fact.get("error") if isinstance(fact, dict) else None
        return {"state": "unavailable", "reason": f"the socket table could not be read: {reason or 'malformed'}"}
    bound: dict[tuple[str, int], set[str]] = {}
    try:
        for entry in fact["listeners"]:
            bound.setdefault((str(entry["proto"]), int(entry["port"])), set()).add(str(entry["address"]))
    except (KeyError, TypeError, ValueError) as exc:
        # The bundle came from the host: a malformed table is unread, not empty.
        return {"state": "unavailable", "reason": f"the socket table is malformed ({type(exc).__name__}: {exc})"}
    return {"state": "read", "listeners": [{"proto": proto, "port": port, "addresses": sorted(addresses)}
                                           for (proto, port), addresses in sorted(bound.items())]}


def _state_on_wire(sweep: dict, port: int) -> str:
    from hostaudit.parsers.nmap_xml import port_in_ranges

    for state, summary in (sweep.get("states") or {}).items():
        if summary.get("ports") and port_in_ranges(port, summary["ports"]):
            return str(state)
    return "unknown"


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


def _is_wildcard(address: str) -> bool:
    return address in ("0.0.0.0", "::", "*", "")


def _table_only(entry: dict, sweep: dict, swept: str) -> dict:
    """Why a port listening in the table is not open on the wire."""
    addresses = entry["addresses"]
    wire = _state_on_wire(sweep, entry["port"])
    if all(_is_loopback(a) for a in addresses):
        verdict = "loopback"
    elif not any(_is_wildcard(a) for a in addresses) and _is_address(swept) and swept not in addresses:
        verdict = "elsewhere"
    elif wire in ("filtered", "closed"):
        verdict = wire
    elif wire == "open|filtered":
        verdict = "silent"
    else:
        verdict = "unknown"
    return {"proto": entry["proto"], "port": entry["port"], "addresses": addresses, "wire": wire,
            "verdict": verdict, "note": _TABLE_ONLY[verdict]}


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _sweeps(facts: dict) -> dict[str, dict]:
    """The TCP and UDP sweeps of a net report that were made, by protocol; a sweep that could
    not be made is ``{"error": reason}``."""
    out = {}
    for proto, name in _PROTOS:
        sweep = facts.get(name)
        if not isinstance(sweep, dict):
            out[proto] = {"error": "not swept (no net control selected needs it)"}
        elif "error" in sweep or not isinstance(sweep.get("open"), list):
            out[proto] = {"error": str(sweep.get("error") or "malformed sweep")}
        else:
            out[proto] = sweep
    return out


def join(sockets: dict, net_report: dict, *, report_json: str, report_html: str | None) -> dict:
    """A host's network view: its socket table (``socket_table``) against ``net_report`` (the
    net-mode report of its address). Pure."""
    target = net_report.get("target") or {}
    address = str(target.get("address") or "")
    sweeps = _sweeps(net_report.get("facts") or {})
    view: dict = {
        "state": "swept",
        "address": address,
        "vantage": target.get("vantage"),
        "started": (net_report.get("timing") or {}).get("started"),
        "score": net_report.get("score"),
        "counts": net_report.get("counts") or {},
        "controls": [{"id": r["id"], "status": r["status"], "severity": r["severity"],
                      "message": str(r["message"])[:500]}
                     for r in net_report.get("results") or []],
        "sweeps": [{"proto": proto, "covered": sweep.get("covered"), "error": sweep.get("error"),
                    "open": sorted(p["port"] for p in sweep.get("open", []))}
                   for proto, sweep in sweeps.items()],
        "socket_table": {"state": sockets["state"], "reason": sockets.get("reason")},
        "wire_only": [],
        "table_only": [],
        "both": [],
        "report_json": report_json,
        "report_html": report_html,
    }
    if sockets["state"] != "read":
        return view
    table = {(e["proto"], e["port"]): e for e in sockets["listeners"]}
    for proto, sweep in sweeps.items():
        if "error" in sweep:
            continue  # undecided: the sweeps list says why
        open_ports = {p["port"]: p for p in sweep["open"] if p.get("proto", proto) == proto}
        for port, entry in sorted(open_ports.items()):
            if (proto, port) in table:
                view["both"].append(f"{port}/{proto}")
            else:
                view["wire_only"].append({"proto": proto, "port": port, "service": entry.get("service") or "",
                                          "reason": entry.get("reason") or "", "note": WIRE_ONLY})
        view["table_only"] += [_table_only(e, sweep, address) for (p, port), e in sorted(table.items())
                               if p == proto and port not in open_ports]
    return view


def failed(reason: str) -> dict:
    """The network view of a host whose sweep did not give a report."""
    return {"state": "failed", "reason": reason[:2000] or "no reason given"}


def leaves(root: str, path: str) -> bool:
    """Whether ``path`` exists and resolves, through links, to a place outside ``root`` (a
    resolved path): a host that sent a link into the fleet directory does not get the
    controller to read the file it names (another host's report, a root-only file, a
    /proc file that blocks)."""
    if not os.path.lexists(path):
        return False
    real = os.path.realpath(path)
    return real != root and not real.startswith(root.rstrip(os.sep) + os.sep)


def read_marker(path: str, limit: int = 64 * 1024):
    """The JSON of a small marker file; OSError or ValueError when it is not a regular file
    or not JSON. Opened without waiting: a FIFO put in its place is refused, not waited on."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with open(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError("not a regular file")
        return json.loads(handle.read(limit).decode("utf-8"))


def read(host_dir: str, sockets: dict, *, link, root: str | None = None) -> dict | None:
    """The network view of the host whose results are in ``host_dir``, or None when it was not
    swept (no ``net/`` directory). ``link(path)`` makes a report path relative for the fleet
    report. A missing, unreadable or malformed net report is a failed view with the reason;
    so is one that links out of ``root`` (the resolved fleet directory), which is not read."""
    net_dir = os.path.join(host_dir, NET_DIR)
    marker = os.path.join(net_dir, NET_MARKER)
    path = os.path.join(net_dir, NET_REPORT)
    html = os.path.join(net_dir, "report.html")
    if root is not None:
        for name, where in ((NET_DIR, net_dir), (f"{NET_DIR}/{NET_MARKER}", marker),
                            (f"{NET_DIR}/{NET_REPORT}", path)):
            if leaves(root, where):
                return failed(f"{name} is a link out of the fleet directory: not read")
    if not os.path.isdir(net_dir):
        return None
    if os.path.isfile(marker):
        try:
            data = read_marker(marker)
        except (OSError, ValueError) as exc:
            return failed(f"unreadable {NET_DIR}/{NET_MARKER}: {exc}")
        reason = data.get("reason") if isinstance(data, dict) else None
        return failed(reason if isinstance(reason, str) and reason else f"{NET_DIR}/{NET_MARKER} gives no reason")
    if not os.path.isfile(path):
        return failed(f"no {NET_DIR}/{NET_REPORT}: the sweep stopped before writing it")
    from hostaudit.errors import HostauditError
    from hostaudit.reports import json_report

    try:
        report = json_report.load(path)
        if (report.get("target") or {}).get("mode") != "net":
            return failed(f"{NET_DIR}/{NET_REPORT} is not a net-mode report (hostaudit scan --target)")
        shown = os.path.isfile(html) and not (root is not None and leaves(root, html))
        return join(sockets, report, report_json=link(path), report_html=link(html) if shown else None)
    except HostauditError as exc:
        return failed(f"bad net report: {exc}")
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        return failed(f"bad net report: missing or malformed field ({type(exc).__name__}: {exc})")
