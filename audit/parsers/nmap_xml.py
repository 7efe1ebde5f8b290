"""nmap's XML output (``nmap -oX -``) to plain data: per host, the open ports and a summary
of every other state, so a check can say what a sweep covered and what it saw.

Only ``open`` ports are listed one by one; the rest (closed, filtered, open|filtered...) are
counted per state with their reasons, and their port ranges are kept when short, because a
full sweep has tens of thousands of them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

# A state with more ranges than this (a UDP sweep's scattered closed ports) is summarised by
# count only; fewer are kept, so a check can still tell which state a given port was in.
_MAX_RANGES = 300


def parse_nmap_xml(text: str) -> dict:
    """Parse nmap XML into ``{"args", "version", "scans", "hosts", "finished"}``.

    Each host is ``{"address", "status", "status_reason", "open": [port...],
    "states": {state: {"count", "reasons", "ports"}}}`` with a port as ``{"port", "proto",
    "state", "reason", "service"}`` (for an IP-protocol scan, ``port`` is the protocol number
    and ``service`` its name). Raises ValueError when the text is not nmap XML.
    """
    if not text or not text.strip():
        raise ValueError("nmap produced no XML output")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ValueError(f"nmap XML is malformed: {exc}") from None
    if root.tag != "nmaprun":
        raise ValueError(f"not nmap XML: root element is <{root.tag}>")
    finished = root.find("runstats/finished")
    return {
        "args": root.get("args", ""),
        "version": root.get("version", ""),
        "scans": [{"type": s.get("type", ""), "protocol": s.get("protocol", ""),
                   "services": s.get("services", "")} for s in root.iter("scaninfo")],
        "hosts": [_host(h) for h in root.iter("host")],
        "finished": None if finished is None else {
            "exit": finished.get("exit", ""), "elapsed": _float(finished.get("elapsed")),
            "summary": finished.get("summary", ""), "errormsg": finished.get("errormsg", "")},
    }


def _host(node: ET.Element) -> dict:
    address = node.find("address")
    status = node.find("status")
    open_ports: list[dict] = []
    states: dict[str, dict] = {}
    for port in node.iter("port"):
        entry = _port(port)
        if entry is None:
            continue
        if entry["state"] == "open":
            open_ports.append(entry)
        else:
            _count(states, entry["state"], 1, entry["reason"], str(entry["port"]))
    for extra in node.iter("extraports"):
        state = extra.get("state", "unknown")
        reasons = list(extra.iter("extrareasons"))
        if not reasons:
            _count(states, state, _int(extra.get("count")), "", None)
        for reason in reasons:
            _count(states, state, _int(reason.get("count")), reason.get("reason", ""),
                   reason.get("ports"))
    for summary in states.values():
        if summary["ports"] is not None and summary["ports"].count(",") + 1 > _MAX_RANGES:
            summary["ports"] = None
    return {
        "address": address.get("addr", "") if address is not None else "",
        "status": status.get("state", "") if status is not None else "",
        "status_reason": status.get("reason", "") if status is not None else "",
        "open": sorted(open_ports, key=lambda p: (p["proto"], p["port"])),
        "states": states,
    }


def _port(node: ET.Element) -> dict | None:
    state = node.find("state")
    number = _int(node.get("portid"))
    if state is None or number is None:
        return None
    service = node.find("service")
    return {
        "port": number,
        "proto": node.get("protocol", ""),
        "state": state.get("state", "unknown"),
        "reason": state.get("reason", ""),
        "service": service.get("name", "") if service is not None else "",
    }


def _count(states: dict, state: str, count: int | None, reason: str, ports: str | None) -> None:
    """Add ``count`` ports in ``state`` (with ``reason`` and a range list) to the summary."""
    summary = states.setdefault(state, {"count": 0, "reasons": {}, "ports": ""})
    summary["count"] += count or 0
    if reason:
        summary["reasons"][reason] = summary["reasons"].get(reason, 0) + (count or 0)
    if ports is None or summary["ports"] is None:
        summary["ports"] = None
    else:
        summary["ports"] = ",".join(p for p in (summary["ports"], ports) if p)


def port_in_ranges(port: int, ranges: str) -> bool:
    """Whether ``port`` is in an nmap range list such as ``1-24,26-109,111``."""
    for part in ranges.split(","):
        low, _, high = part.partition("-")
        try:
            if int(low) <= port <= int(high or low):
                return True
        except ValueError:
            continue
    return False


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
