"""Checks of the mail controls seen on the wire (greetings, TLS) or in running processes."""

from __future__ import annotations

from hostaudit.checks.net import greeting_of, greeting_text, listener_text, local_vantage, socket_table, state_of
from hostaudit.model import Result, ev
from hostaudit.registry import check

POP3_PORT = 110


def process_table(facts) -> str:
    """Which reader gave the process table (psutil, or /proc), as its evidence names it."""
    return facts["processes"].get("source", "process table")


@check("mail.pop3-remote-denied", needs=["nmap_tcp", "greetings"])
def pop3_remote_denied(facts, params) -> Result:
    """Cleartext POP3 gives no ``+OK`` to a client at the vantage point."""
    sweep = facts["nmap_tcp"]
    local = local_vantage(sweep["target"])
    if local:
        return Result.not_applicable(local)
    where = f"{sweep['target']}:{POP3_PORT} (pop3)"
    expected = "no +OK greeting on 110 to a remote client"
    entry = greeting_of(facts, POP3_PORT)
    if entry is None:
        return Result.passed(f"{POP3_PORT}/tcp is not reachable from the vantage point",
                             evidence=[ev(where, f"{state_of(sweep, POP3_PORT)} in the sweep "
                                                 f"({sweep['covered']})")], expected=expected)
    found = ev(where, greeting_text(entry))
    if entry["result"] == "greeting" and entry["first_line"].startswith("+OK"):
        return Result.failed("POP3 greets a remote client with +OK: logins in cleartext are possible",
                             evidence=[found], expected=expected)
    return Result.passed("POP3 does not greet a remote client", evidence=[found], expected=expected)


def _handshake_text(entry: dict) -> str:
    if entry["result"] == "tls":
        expired = " (EXPIRED)" if entry.get("expired") else ""
        signer = "self-signed" if entry.get("self_signed") else f"issuer CN={entry.get('issuer_cn')}"
        return (f"{entry['protocol']} {entry['cipher']} ({entry['bits']} bits), subject "
                f"CN={entry.get('subject_cn')}, {signer}, expires {entry.get('not_after')}"
                f"{expired}; chain not verified")
    if entry["result"] == "plaintext":
        return f"answers in plaintext: {entry['first_line']!r}"
    return {"refused": "refuses the connection", "timeout": "does not answer the connection",
            }.get(entry["result"], f"no TLS handshake ({entry['result']}: {entry.get('detail', '')})")


@check("mail.tls-wrappers", needs={"live": ["listeners"], "net": ["tls"]},
       params={"tls_ports": {"$ref": "#/$defs/ports", "minItems": 1}})
def tls_wrappers(facts, params) -> Result:
    """POP3S and SMTPS complete a TLS handshake (protocol, cipher, certificate as evidence);
    live without the network mode, the socket table shows whether anything listens."""
    ports = sorted(int(p) for p in params["tls_ports"])
    if not ports:
        return Result.error("parameter tls_ports is empty")
    if "net" in facts.modes:
        return _handshakes(facts, ports)
    return _wrapper_sockets(facts, ports)


def _wrapper_sockets(facts, ports: list[int]) -> Result:
    """Live, no handshake: a closed wrapper port fails; a listening one is not yet proof of TLS.

    Something on 995 may be stunnel or a plaintext POP3 server; only a handshake tells, and
    hostaudit does not connect to this host unless asked (--network). Listening is therefore
    an error (undecided, with the owner as evidence), never a pass.
    """
    expected = "a TLS handshake on every wrapper port"
    table = [e for e in facts["listeners"]["listeners"] if e["proto"] == "tcp"]
    source = socket_table(facts)
    closed, listening = [], []
    for port in ports:
        entries = [e for e in table if e["port"] == port]
        listening += [ev(source, listener_text(e)) for e in entries]
        closed += [] if entries else [port]
    if closed:
        return Result.failed(f"nothing listens on {', '.join(f'{p}/tcp' for p in closed)}",
                             evidence=[ev(source, f"nothing listens on {p}/tcp") for p in closed] + listening,
                             expected=expected)
    return Result.error("something listens on every wrapper port, but only a handshake shows it is TLS: "
                        "audit with --network", evidence=listening, expected=expected)


def _handshakes(facts, ports: list[int]) -> Result:
    probed = {e["port"]: e for e in facts["tls"]["ports"]}
    target = facts["tls"]["target"]
    good: list = []
    bad: list = []
    missing: list = []
    for port in ports:
        entry = probed.get(port)
        if entry is None:
            missing.append(str(port))
            continue
        (good if entry["result"] == "tls" else bad).append(ev(f"{target}:{port}",
                                                              _handshake_text(entry)))
    expected = "a TLS handshake on every wrapper port"
    if missing:
        return Result.error(f"no handshake was tried on {', '.join(missing)} "
                            "(add them to the sweep's tls_ports)", evidence=good + bad)
    if bad:
        return Result.failed(f"{len(bad)} wrapper port(s) do not speak TLS",
                             evidence=bad + good, expected=expected)
    return Result.passed("every wrapper port speaks TLS", evidence=good, expected=expected)


@check("mail.smtpd-unprivileged", needs=["processes", "passwd"])
def smtpd_unprivileged(facts, params) -> Result:
    """The tcpserver that runs qmail-smtpd has qmaild's uid and gid, not root's."""
    expected = "tcpserver ... qmail-smtpd running with qmaild's uid and gid"
    qmaild = next((u for u in facts["passwd"]["users"] if u.get("name") == "qmaild"
                   and "uid" in u), None)
    source = process_table(facts)
    servers = [p for p in facts["processes"]["processes"]
               if p["name"] == "tcpserver" and "qmail-smtpd" in p["cmdline"]]
    if not servers:
        # The control is about how SMTP is served; a host that does not serve it that way
        # does not meet it (a stopped daemon is a finding, not a reason to skip).
        others = [ev(source, f"{p['name']} (pid {p['pid']}): {p['cmdline']}")
                  for p in facts["processes"]["processes"] if "qmail-smtpd" in p["cmdline"]]
        return Result.failed("qmail-smtpd is not running under tcpserver",
                             evidence=others or [ev(source, "no tcpserver running qmail-smtpd")],
                             expected=expected)
    if qmaild is None:
        return Result.error(f"no qmaild user in {facts['passwd']['path']}: cannot tell its ids")
    account = ev(facts["passwd"]["path"], f"qmaild uid {qmaild['uid']} gid {qmaild['gid']}",
                 qmaild["line"])
    wrong: list = []
    right: list = []
    for proc in servers:
        ids = (proc["uid_real"], proc["uid_effective"], proc["gid_real"], proc["gid_effective"])
        text = (f"tcpserver pid {proc['pid']} runs as uid {ids[0]}/{ids[1]} gid {ids[2]}/{ids[3]} "
                f"(real/effective, user {proc['user']}): {proc['cmdline']}")
        ok = ids[:2] == (qmaild["uid"],) * 2 and ids[2:] == (qmaild["gid"],) * 2
        (right if ok else wrong).append(ev(source, text))
    if wrong:
        return Result.failed("qmail-smtpd's tcpserver does not run as qmaild",
                             evidence=wrong + right + [account], expected=expected)
    return Result.passed("qmail-smtpd's tcpserver runs as qmaild",
                         evidence=right + [account], expected=expected)
