"""Probes: nmap sweeps, greetings and TLS handshakes, seen from the vantage point.

They look at ``host.network_target`` only, the one address the user asked to audit, and
run on the machine hostaudit runs on (the document's "remote computer").

Sweep defaults, measured against a namespace host that runs the document's DROP firewall
(see bench/net_bench.py): a silently dropping host answers nothing, so a sweep lasts as long
as its probes take to send. ``-T4 --max-retries 1 --min-rate 10000`` sends every port twice
at least 10000 times a second: a full TCP or UDP sweep takes about 13 s there (a default
``-T3`` TCP sweep about 100 s) and finds the same open ports. UDP closed ports answer with
ICMP that Linux rate-limits to about one a second, so at that rate they show as
``open|filtered``; only a UDP answer makes a port ``open``, which is all the checks count.
``sweep_options["min_rate"]`` lowers the rate for slow or lossy links.
"""

from __future__ import annotations

import os
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from hostaudit.errors import ProbeError
from hostaudit.host import Host
from hostaudit.parsers.nmap_xml import parse_nmap_xml
from hostaudit.parsers.x509 import certificate_summary
from hostaudit.registry import probe

DEFAULT_UDP_PORTS = "all"
DEFAULT_TLS_PORTS = (465, 995)
DEFAULT_MIN_RATE = 10000
SWEEP_TIMEOUT = 600
# Probe deadlines (facts.collect): longer than what they wait for themselves, so nmap's own
# timeout speaks first. Greetings and handshakes wait up to 2 s per step on each open port,
# 32 and 16 ports at a time; 300 s covers a couple of thousand silent ports.
SWEEP_DEADLINE = SWEEP_TIMEOUT + 60
CONVERSATION_DEADLINE = 300
GREETING_TIMEOUT = 2.0
GREETING_BYTES = 512
LINE_CHARS = 200
_TIMING = ["-Pn", "-n", "-T4", "--max-retries", "1"]


def is_root() -> bool:
    """Raw-socket sweeps (SYN, UDP, IP protocol) need root on the vantage point."""
    return os.geteuid() == 0


def sweep_arguments(kind: str, options: dict, *, root: bool) -> tuple[str | None, list[str], str]:
    """The nmap ports and arguments of one sweep, and a sentence saying what it covers.

    ``kind`` is tcp, udp or ipproto. Raises ProbeError for a sweep that needs root without it
    and for a ``udp_ports`` value that is not ``all``, ``top:N`` or a port list.
    """
    rate = ["--min-rate", str(int(options.get("min_rate", DEFAULT_MIN_RATE)))]
    if kind == "tcp":
        technique = "-sS" if root else "-sT"
        return "1-65535", [technique, *_TIMING, *rate], "TCP ports 1-65535"
    if not root:
        what = "UDP sweep (nmap -sU)" if kind == "udp" else "IP-protocol sweep (nmap -sO)"
        raise ProbeError(f"the {what} needs root on the vantage point")
    if kind == "ipproto":
        return None, ["-sO", *_TIMING, *rate], "IP protocols 0-255"
    spec = str(options.get("udp_ports", DEFAULT_UDP_PORTS)).strip()
    if spec == "all":
        return "1-65535", ["-sU", *_TIMING, *rate], "UDP ports 1-65535"
    if spec.startswith("top:") and spec[4:].isdigit() and int(spec[4:]) > 0:
        count = spec[4:]
        return None, ["-sU", "--top-ports", count, *_TIMING, *rate], \
            f"the {count} most common UDP ports (nmap-services)"
    ports = spec.replace(" ", "")
    if ports and all(p.isdigit() or (p.count("-") == 1 and p.replace("-", "").isdigit())
                     for p in ports.split(",")):
        return ports, ["-sU", *_TIMING, *rate], f"UDP ports {ports}"
    raise ProbeError(f"udp_ports {spec!r} is not 'all', 'top:N' or a port list like '53,161'")


def _sweep(host: Host, kind: str) -> dict:
    """Run one nmap sweep of the target through python-nmap and parse its XML."""
    target = host.network_target
    if not target:
        raise ProbeError("no network target: sweeps run only with --network")
    ports, arguments, covered = sweep_arguments(kind, host.sweep_options, root=is_root())
    try:
        import nmap
    except ImportError as exc:
        raise ProbeError("python-nmap is not installed") from exc
    try:
        scanner = nmap.PortScanner()
    except nmap.PortScannerError as exc:
        raise ProbeError(f"nmap is not installed on the vantage point ({exc})") from exc
    started = time.perf_counter()
    try:
        scanner.scan(hosts=target, ports=ports, arguments=" ".join(arguments),
                     timeout=min(int(host.sweep_options.get("timeout", SWEEP_TIMEOUT)), SWEEP_TIMEOUT))
    except nmap.PortScannerTimeout as exc:
        raise ProbeError(f"nmap {kind} sweep of {target} did not finish in time") from exc
    except nmap.PortScannerError as exc:
        raise ProbeError(f"nmap {kind} sweep of {target} failed: {str(exc).strip()[:300]}") from exc
    duration = time.perf_counter() - started
    raw = scanner.get_nmap_last_output()
    try:
        parsed = parse_nmap_xml(raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw)
    except ValueError as exc:
        raise ProbeError(f"nmap {kind} sweep of {target}: {exc}") from exc
    hosts = [h for h in parsed["hosts"] if h["address"] == target] or parsed["hosts"]
    if not hosts:
        why = (parsed["finished"] or {}).get("errormsg") or "no host in its output"
        raise ProbeError(f"nmap {kind} sweep reported nothing about {target}: {why}")
    swept = hosts[0]
    return {
        "target": target,
        "sweep": kind,
        "command": parsed["args"] or " ".join(["nmap", target, *(["-p", ports] if ports else []),
                                              *arguments]),
        "covered": covered,
        "duration_s": round(duration, 3),
        "host_status": swept["status"],
        "open": swept["open"],
        "states": swept["states"],
    }


@probe("nmap_tcp", timeout=SWEEP_DEADLINE)
def nmap_tcp(host: Host) -> dict:
    """TCP ports 1-65535 of the target (SYN sweep as root, connect sweep otherwise)."""
    return _sweep(host, "tcp")


@probe("nmap_udp", timeout=SWEEP_DEADLINE)
def nmap_udp(host: Host) -> dict:
    """UDP ports of the target, those --udp-ports names (default: all).

    The ports come from ``sweep_options["udp_ports"]``."""
    return _sweep(host, "udp")


@probe("nmap_ipproto", timeout=SWEEP_DEADLINE)
def nmap_ipproto(host: Host) -> dict:
    """IP protocols the target answers (``nmap -sO``)."""
    return _sweep(host, "ipproto")


def first_line(data: bytes) -> str:
    """The first line of what a server sent, printable, non-ASCII bytes as ``\\xNN``."""
    line = data.split(b"\n", 1)[0].rstrip(b"\r")
    text = "".join(chr(b) if 32 <= b < 127 else f"\\x{b:02x}" for b in line)
    return text[:LINE_CHARS]


def _connect(target: str, port: int, timeout: float) -> tuple[socket.socket | None, dict]:
    """A TCP connection to ``target:port``, or None and the entry saying why not."""
    entry = {"port": port}
    try:
        return socket.create_connection((target, port), timeout=timeout), entry
    except ConnectionRefusedError:
        return None, {**entry, "result": "refused"}
    except TimeoutError:
        return None, {**entry, "result": "timeout", "detail": f"no TCP answer within {timeout:g}s"}
    except OSError as exc:
        return None, {**entry, "result": "error", "detail": exc.strerror or str(exc)}


def read_greeting(target: str, port: int, timeout: float = GREETING_TIMEOUT) -> dict:
    """Connect to ``target:port`` and read what the server says first (bounded)."""
    conn, entry = _connect(target, port, timeout)
    if conn is None:
        return entry
    with conn:
        try:
            data = conn.recv(GREETING_BYTES)
        except TimeoutError:
            return {**entry, "result": "silent", "detail": f"nothing sent within {timeout:g}s"}
        except ConnectionResetError:
            return {**entry, "result": "reset"}
        except OSError as exc:
            return {**entry, "result": "error", "detail": exc.strerror or str(exc)}
    if not data:
        return {**entry, "result": "closed", "detail": "connection closed without a greeting"}
    return {**entry, "result": "greeting", "first_line": first_line(data)}


@probe("greetings", needs=["nmap_tcp"], timeout=CONVERSATION_DEADLINE)
def greetings(host: Host, facts) -> dict:
    """The first line every open TCP port sends a client at the vantage point."""
    target = host.network_target
    if not target:
        raise ProbeError("no network target: greetings are read only with --network")
    ports = sorted({p["port"] for p in facts["nmap_tcp"]["open"]})
    with ThreadPoolExecutor(max_workers=min(32, max(1, len(ports)))) as pool:
        results = list(pool.map(lambda port: read_greeting(target, port), ports))
    return {"target": target, "timeout_s": GREETING_TIMEOUT, "ports": results}


def tls_handshake(target: str, port: int, timeout: float = GREETING_TIMEOUT) -> dict:
    """Try a TLS handshake on ``target:port``; the chain is not verified (self-signed is normal)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    # An auditor wants to see what an old wrapper speaks, not to refuse talking to it.
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    context.set_ciphers("ALL:@SECLEVEL=0")
    raw, entry = _connect(target, port, timeout)
    if raw is None:
        return entry
    try:
        with context.wrap_socket(raw, server_hostname=None) as conn:
            name, _, bits = conn.cipher() or (None, None, None)
            der = conn.getpeercert(binary_form=True)
            cert = certificate_summary(der)
            if cert.get("not_after"):
                cert["expired"] = cert["not_after"] < datetime.now(UTC).isoformat()
            return {**entry, "result": "tls", "protocol": conn.version(), "cipher": name,
                    "bits": bits, **cert}
    except (ssl.SSLError, ConnectionResetError, TimeoutError, OSError) as exc:
        return {**entry, "result": "failed", "detail": str(exc)[:LINE_CHARS]}
    finally:
        raw.close()


@probe("tls", needs=["greetings"], timeout=CONVERSATION_DEADLINE)
def tls(host: Host, facts) -> dict:
    """TLS handshakes on the wrapper ports and on open ports that wait for the client."""
    target = host.network_target
    if not target:
        raise ProbeError("no network target: TLS is tried only with --network")
    said = {g["port"]: g for g in facts["greetings"]["ports"]}
    ports = {p for p, g in said.items() if g["result"] == "silent"}
    ports |= {int(p) for p in host.sweep_options.get("tls_ports", DEFAULT_TLS_PORTS)}
    with ThreadPoolExecutor(max_workers=min(16, max(1, len(ports)))) as pool:
        results = list(pool.map(lambda port: tls_handshake(target, port), sorted(ports)))
    for entry in results:
        # A server that talks first in plaintext is not a TLS wrapper, whatever it says next.
        greeting = said.get(entry["port"], {})
        if entry["result"] == "failed" and greeting.get("result") == "greeting":
            entry.update(result="plaintext", first_line=greeting["first_line"])
    return {"target": target, "verified": False,
            "note": "certificate chain not verified (self-signed certificates are normal here)",
            "ports": results}


# -- certificate fields, read from DER without third-party code --------------------------------
