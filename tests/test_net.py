"""net.* and the wire-side mail controls, on facts; the probes' pure parts, without a network."""

import subprocess
from collections import namedtuple

import pytest
from support import run_check

from hostaudit.errors import ProbeError
from hostaudit.facts import FactError, collect
from hostaudit.host import NetHost
from hostaudit.model import Status
from hostaudit.parsers.x509 import certificate_summary
from hostaudit.probes import network, sockets

TARGET = "192.0.2.2"
TCP_CMD = f"nmap -oX - -p 1-65535 -sS -Pn -n -T4 --max-retries 1 --min-rate 10000 {TARGET}"
ALLOWED_TCP = {"allowed_tcp": [25, 110, 465, 995, 2112]}
CLEARTEXT = {"cleartext_ports": {21: "ftp", 23: "telnet", 110: "pop3", 143: "imap"}}


def port(number, proto="tcp", service="", reason="syn-ack"):
    return {"port": number, "proto": proto, "state": "open", "reason": reason, "service": service}


def sweep(kind="tcp", open_ports=(), states=None, target=TARGET, covered="TCP ports 1-65535"):
    return {"target": target, "sweep": kind, "command": TCP_CMD.replace(TARGET, target),
            "covered": covered, "duration_s": 1.2, "host_status": "up",
            "open": list(open_ports), "states": states or {}}


def clean_tcp(extra=(), target=TARGET):
    ports = [port(25, service="smtp"), port(110, service="pop3"), port(465, service="smtps"),
             port(995, service="pop3s"), port(2112, service="kip"), *extra]
    closed = {"closed": {"count": 65530, "reasons": {"reset": 65530},
                         "ports": "1-24,26-109,111-464,466-994,996-2111,2113-65535"}}
    return sweep(open_ports=ports, states=closed, target=target)


def udp_sweep(open_ports=(), target=TARGET):
    return sweep("udp", open_ports, {"open|filtered": {"count": 65535 - len(open_ports),
                                                       "reasons": {"no-response": 1}, "ports": None}},
                 target=target, covered="UDP ports 1-65535")


def listener(number, proto="tcp", address="0.0.0.0", process="python3", pid=4242, user="nobody"):
    return {"proto": proto, "family": "ipv4", "address": address, "port": number, "pid": pid,
            "process": process, "user": user, "program": process,
            "owner_known": True}


def table(*entries):
    return {"source": "socket table (psutil)", "as_uid": 0, "listeners": list(entries)}


def clean_table(*extra):
    return table(*(listener(p, process="tcpserver", user="root") for p in (25, 110)),
                 *(listener(p, process="stunnel4", user="root") for p in (465, 995)),
                 listener(2112, process="sshd", user="root"), *extra)


def greetings(*entries, target=TARGET):
    return {"target": target, "timeout_s": 2.0, "ports": list(entries)}


def said(number, line):
    return {"port": number, "result": "greeting", "first_line": line}


def texts(result):
    return "\n".join(str(e) for e in result.evidence)


# -- net.tcp-ports --------------------------------------------------------------------------

def test_tcp_listener_outside_allowed_set_fails_live_with_owner():
    facts = {"listeners": clean_table(listener(9999))}
    result = run_check("net.tcp-ports", facts=facts, params=ALLOWED_TCP, mode="live")
    assert result.status is Status.FAIL
    assert "9999/tcp open on 0.0.0.0, python3 (pid 4242, user nobody)" in texts(result)
    assert "9999" in result.message


def test_tcp_listener_on_loopback_only_still_counts_and_names_its_address():
    facts = {"listeners": clean_table(listener(631, address="127.0.0.1", process="cupsd"))}
    result = run_check("net.tcp-ports", facts=facts, params=ALLOWED_TCP, mode="live")
    assert result.status is Status.FAIL
    assert "631/tcp open on 127.0.0.1, cupsd" in texts(result)


def test_tcp_listener_with_unknown_owner_says_so():
    hidden = {**listener(8080), "pid": None, "process": None, "user": None,
              "owner_known": False, "owner_note": "owner not visible to uid 1000 (run as root to see it)"}
    result = run_check("net.tcp-ports", facts={"listeners": clean_table(hidden)},
                       params=ALLOWED_TCP, mode="live")
    assert result.status is Status.FAIL
    assert "8080/tcp open on 0.0.0.0, owner unknown (owner not visible to uid 1000" in texts(result)


def test_document_tcp_ports_pass_live():
    result = run_check("net.tcp-ports", facts={"listeners": clean_table()}, params=ALLOWED_TCP,
                       mode="live")
    assert result.status is Status.PASS
    assert "allowed TCP ports listening: 25, 110, 465, 995, 2112" in texts(result)


def test_document_tcp_ports_pass_on_the_wire_with_sweep_coverage():
    result = run_check("net.tcp-ports", facts={"nmap_tcp": clean_tcp()}, params=ALLOWED_TCP,
                       mode="net")
    assert result.status is Status.PASS
    assert "swept TCP ports 1-65535 of 192.0.2.2" in texts(result)
    assert "65530 closed (reset)" in texts(result)


def test_extra_open_port_on_the_wire_fails_with_nmap_command_as_source():
    facts = {"nmap_tcp": clean_tcp([port(9999, service="abyss")])}
    result = run_check("net.tcp-ports", facts=facts, params=ALLOWED_TCP, mode="net")
    assert result.status is Status.FAIL
    assert f"{TCP_CMD}: 9999/tcp open (syn-ack), service abyss" in texts(result)


def test_both_modes_must_hold_for_tcp_ports():
    facts = {"listeners": clean_table(), "nmap_tcp": clean_tcp([port(8443)])}
    result = run_check("net.tcp-ports", facts=facts, params=ALLOWED_TCP, mode="live",
                       modes={"live", "net"})
    assert result.status is Status.FAIL
    assert "8443/tcp open (syn-ack)" in texts(result)
    assert "allowed TCP ports listening" in texts(result)


# -- net.udp-ports --------------------------------------------------------------------------

def test_silent_udp_ports_are_not_counted_and_coverage_is_reported():
    result = run_check("net.udp-ports", facts={"nmap_udp": udp_sweep()},
                       params={"allowed_udp": []}, mode="net")
    assert result.status is Status.PASS
    assert "swept UDP ports 1-65535" in texts(result)
    assert "65535 open|filtered (no-response)" in texts(result)


def test_answering_udp_port_fails_on_the_wire():
    facts = {"nmap_udp": udp_sweep([port(53, "udp", "domain", "udp-response")])}
    result = run_check("net.udp-ports", facts=facts, params={"allowed_udp": []}, mode="net")
    assert result.status is Status.FAIL
    assert "53/udp open (udp-response), service domain" in texts(result)


def test_bound_udp_socket_fails_live():
    facts = {"listeners": table(listener(5353, "udp", process="avahi-daemon", user="avahi"))}
    result = run_check("net.udp-ports", facts=facts, params={"allowed_udp": []}, mode="live")
    assert result.status is Status.FAIL
    assert "5353/udp open on 0.0.0.0, avahi-daemon (pid 4242, user avahi)" in texts(result)


def test_udp_sweep_that_needed_root_is_an_error_with_the_reason():
    facts = {"nmap_udp": FactError("the UDP sweep (nmap -sU) needs root on the vantage point")}
    result = run_check("net.udp-ports", facts=facts, params={"allowed_udp": []}, mode="net")
    assert result.status is Status.ERROR
    assert "needs root" in result.message


# -- net.ip-protocols -----------------------------------------------------------------------

def ipproto(*open_protocols):
    return sweep("ipproto", [port(n, "ip", name, "proto-response") for n, name in open_protocols],
                 {"open|filtered": {"count": 250, "reasons": {"no-response": 250}, "ports": None}},
                 covered="IP protocols 0-255")


PROTOCOLS = {"allowed_protocols": ["icmp", "igmp", "tcp", "udp"]}


def test_basic_ip_protocols_pass_and_silent_ones_are_not_counted():
    facts = {"nmap_ipproto": ipproto((1, "icmp"), (6, "tcp"), (17, "udp"))}
    result = run_check("net.ip-protocols", facts=facts, params=PROTOCOLS, mode="net")
    assert result.status is Status.PASS
    assert "open: icmp, tcp, udp; 250 open|filtered (no-response) (not counted)" in texts(result)


def test_answering_ipv6_tunnel_protocol_fails():
    facts = {"nmap_ipproto": ipproto((1, "icmp"), (6, "tcp"), (41, "ipv6"))}
    result = run_check("net.ip-protocols", facts=facts, params=PROTOCOLS, mode="net")
    assert result.status is Status.FAIL
    assert "protocol 41 (ipv6) open (proto-response)" in texts(result)


def test_unnamed_protocol_can_be_allowed_by_number():
    facts = {"nmap_ipproto": ipproto((1, "icmp"), (253, ""))}
    result = run_check("net.ip-protocols", facts=facts,
                       params={"allowed_protocols": ["icmp", 253]}, mode="net")
    assert result.status is Status.PASS


# -- net.hidden-listeners -------------------------------------------------------------------

def test_hidden_listeners_needs_the_network_mode():
    result = run_check("net.hidden-listeners", facts={"listeners": clean_table()}, mode="live")
    assert result.status is Status.NOT_APPLICABLE
    assert "--network" in result.message


def test_hidden_listeners_needs_the_socket_table():
    facts = {"nmap_tcp": clean_tcp(), "nmap_udp": udp_sweep()}
    result = run_check("net.hidden-listeners", facts=facts, mode="net")
    assert result.status is Status.NOT_APPLICABLE


def test_every_swept_port_with_a_socket_passes():
    facts = {"listeners": clean_table(), "nmap_tcp": clean_tcp(target="127.0.0.1"),
             "nmap_udp": udp_sweep(target="127.0.0.1")}
    result = run_check("net.hidden-listeners", facts=facts, mode="live", modes={"live", "net"})
    assert result.status is Status.PASS
    assert "25/tcp, 110/tcp, 465/tcp, 995/tcp, 2112/tcp" in texts(result)


def test_port_open_on_the_wire_without_a_socket_fails():
    facts = {"listeners": clean_table(), "nmap_tcp": clean_tcp([port(31337)], target="127.0.0.1"),
             "nmap_udp": udp_sweep([port(31337, "udp")], target="127.0.0.1")}
    result = run_check("net.hidden-listeners", facts=facts, mode="live", modes={"live", "net"})
    assert result.status is Status.FAIL
    assert "31337/tcp open (syn-ack) but no tcp socket on port 31337" in texts(result)
    assert "31337/udp open" in texts(result)


# -- net.cleartext-auth ---------------------------------------------------------------------

def test_telnet_answering_a_remote_client_fails():
    facts = {"nmap_tcp": clean_tcp([port(23, service="telnet")]),
             "greetings": greetings({"port": 23, "result": "greeting",
                                     "first_line": "\\xff\\xfd\\x18"}, said(110, "-ERR denied"))}
    result = run_check("net.cleartext-auth", facts=facts, params=CLEARTEXT, mode="net")
    assert result.status is Status.FAIL
    assert "192.0.2.2:23 (telnet): open, greets with" in texts(result)


def test_pop3_refusing_with_err_is_not_reachable_for_login():
    facts = {"nmap_tcp": clean_tcp(), "greetings": greetings(said(110, "-ERR access denied"))}
    result = run_check("net.cleartext-auth", facts=facts, params=CLEARTEXT, mode="net")
    assert result.status is Status.PASS
    assert "110 (pop3): open, greets with '-ERR access denied'" in texts(result)
    assert "192.0.2.2:23 (telnet): closed in the sweep" in texts(result)


def test_pop3_closed_by_tcprules_passes_cleartext_auth():
    facts = {"nmap_tcp": clean_tcp(),
             "greetings": greetings({"port": 110, "result": "closed", "detail": "x"})}
    result = run_check("net.cleartext-auth", facts=facts, params=CLEARTEXT, mode="net")
    assert result.status is Status.PASS
    assert "closes it without a greeting" in texts(result)


def test_cleartext_auth_does_not_judge_from_the_hosts_own_loopback():
    facts = {"nmap_tcp": clean_tcp(target="127.0.0.1"),
             "greetings": greetings(said(110, "+OK ready"), target="127.0.0.1")}
    result = run_check("net.cleartext-auth", facts=facts, params=CLEARTEXT, mode="live",
                       modes={"live", "net"})
    assert result.status is Status.NOT_APPLICABLE
    assert "loopback" in result.message


# -- mail.pop3-remote-denied ----------------------------------------------------------------

def test_pop3_greeting_ok_to_remote_client_fails():
    facts = {"nmap_tcp": clean_tcp(), "greetings": greetings(said(110, "+OK <1@mail>"))}
    result = run_check("mail.pop3-remote-denied", facts=facts, mode="net")
    assert result.status is Status.FAIL
    assert "192.0.2.2:110 (pop3): greets with '+OK <1@mail>'" in texts(result)


def test_pop3_closing_the_connection_passes_and_says_so():
    facts = {"nmap_tcp": clean_tcp(),
             "greetings": greetings({"port": 110, "result": "closed", "detail": "x"})}
    result = run_check("mail.pop3-remote-denied", facts=facts, mode="net")
    assert result.status is Status.PASS
    assert "accepts the connection, then closes it without a greeting" in texts(result)


def test_pop3_filtered_by_the_firewall_passes_with_the_sweep_state():
    filtered = sweep(open_ports=[port(995)], states={
        "filtered": {"count": 65534, "reasons": {"no-response": 65534}, "ports": "1-994,996-65535"}})
    result = run_check("mail.pop3-remote-denied", facts={"nmap_tcp": filtered,
                                                         "greetings": greetings()}, mode="net")
    assert result.status is Status.PASS
    assert "192.0.2.2:110 (pop3): filtered in the sweep" in texts(result)


# -- mail.tls-wrappers ----------------------------------------------------------------------

def handshake(number, **extra):
    return {"port": number, "result": "tls", "protocol": "TLSv1.3",
            "cipher": "TLS_AES_256_GCM_SHA384", "bits": 256, "subject_cn": "mail.example.test",
            "issuer_cn": "mail.example.test", "not_after": "2031-01-01T00:00:00+00:00",
            "expired": False, "self_signed": True, **extra}


def tls_fact(*entries):
    return {"target": TARGET, "verified": False, "note": "", "ports": list(entries)}


TLS_PORTS = {"tls_ports": [465, 995]}


def test_both_wrappers_speaking_tls_pass_with_protocol_cipher_subject_expiry():
    result = run_check("mail.tls-wrappers", facts={"tls": tls_fact(handshake(465), handshake(995))},
                       params=TLS_PORTS, mode="net")
    assert result.status is Status.PASS
    assert ("192.0.2.2:995: TLSv1.3 TLS_AES_256_GCM_SHA384 (256 bits), subject "
            "CN=mail.example.test, self-signed, expires 2031-01-01T00:00:00+00:00") in texts(result)


def test_plaintext_on_the_pop3s_port_fails():
    plain = {"port": 995, "result": "plaintext", "first_line": "+OK plain POP3"}
    result = run_check("mail.tls-wrappers", facts={"tls": tls_fact(handshake(465), plain)},
                       params=TLS_PORTS, mode="net")
    assert result.status is Status.FAIL
    assert "192.0.2.2:995: answers in plaintext: '+OK plain POP3'" in texts(result)


def test_closed_smtps_port_fails():
    result = run_check("mail.tls-wrappers",
                       facts={"tls": tls_fact({"port": 465, "result": "refused"}, handshake(995))},
                       params=TLS_PORTS, mode="net")
    assert result.status is Status.FAIL
    assert "192.0.2.2:465: refuses the connection" in texts(result)


def test_expired_certificate_is_named_in_the_evidence():
    facts = {"tls": tls_fact(handshake(465, expired=True), handshake(995))}
    result = run_check("mail.tls-wrappers", facts=facts, params=TLS_PORTS, mode="net")
    assert "(EXPIRED)" in texts(result)


def _socket(port, process="stunnel4"):
    return {"proto": "tcp", "family": "ipv4", "address": "0.0.0.0", "port": port, "pid": 700, "process": process,
            "user": "stunnel4", "program": "/usr/bin/stunnel4", "owner_known": True, "owner_note": None}


def test_tls_wrappers_live_with_nothing_on_the_wrapper_ports_fails_without_connecting():
    facts = {"listeners": {"source": "socket table (psutil)", "as_uid": 0, "listeners": [_socket(25, "tcpserver")]}}
    result = run_check("mail.tls-wrappers", facts=facts, params=TLS_PORTS, mode="live")
    assert result.status is Status.FAIL
    assert result.message == "nothing listens on 465/tcp, 995/tcp"
    assert texts(result) == ("socket table (psutil): nothing listens on 465/tcp\n"
                             "socket table (psutil): nothing listens on 995/tcp")


def test_tls_wrappers_live_with_one_port_closed_fails_naming_it():
    facts = {"listeners": {"source": "socket table (psutil)", "as_uid": 0, "listeners": [_socket(995)]}}
    result = run_check("mail.tls-wrappers", facts=facts, params=TLS_PORTS, mode="live")
    assert result.status is Status.FAIL
    assert result.message == "nothing listens on 465/tcp"
    assert "socket table (psutil): 995/tcp open on 0.0.0.0, stunnel4 (pid 700, user stunnel4)" in texts(result)


def test_tls_wrappers_live_with_listeners_but_no_handshake_is_an_error_asking_for_network():
    facts = {"listeners": {"source": "socket table (psutil)", "as_uid": 0, "listeners": [_socket(465), _socket(995)]}}
    result = run_check("mail.tls-wrappers", facts=facts, params=TLS_PORTS, mode="live")
    assert result.status is Status.ERROR
    assert "--network" in result.message
    assert len(result.evidence) == 2


def test_wrapper_port_that_was_not_probed_is_an_error():
    result = run_check("mail.tls-wrappers", facts={"tls": tls_fact(handshake(995))},
                       params=TLS_PORTS, mode="net")
    assert result.status is Status.ERROR
    assert "465" in result.message


# -- mail.smtpd-unprivileged ----------------------------------------------------------------

PASSWD = {"path": "/etc/passwd", "users": [
    {"name": "root", "uid": 0, "gid": 0, "line": 1},
    {"name": "qmaild", "uid": 501, "gid": 502, "line": 23}]}


def smtpd_process(uid, gid, cmdline="tcpserver -v -u 501 -g 502 0 smtp /var/qmail/bin/qmail-smtpd"):
    return {"source": "process table (psutil)", "as_uid": 0, "processes": [
        {"pid": 700, "ppid": 1, "name": "tcpserver", "user": "qmaild" if uid == 501 else "root",
         "uid_real": uid, "uid_effective": uid, "gid_real": gid, "gid_effective": gid,
         "cmdline": cmdline}]}


def test_smtpd_tcpserver_running_as_qmaild_passes():
    facts = {"processes": smtpd_process(501, 502), "passwd": PASSWD}
    result = run_check("mail.smtpd-unprivileged", facts=facts, mode="live")
    assert result.status is Status.PASS
    assert "tcpserver pid 700 runs as uid 501/501 gid 502/502" in texts(result)
    assert "/etc/passwd:23: qmaild uid 501 gid 502" in texts(result)


def test_smtpd_tcpserver_running_as_root_fails():
    facts = {"processes": smtpd_process(0, 0, "tcpserver -v 0 smtp /var/qmail/bin/qmail-smtpd"),
             "passwd": PASSWD}
    result = run_check("mail.smtpd-unprivileged", facts=facts, mode="live")
    assert result.status is Status.FAIL
    assert "runs as uid 0/0 gid 0/0" in texts(result)


def test_smtpd_not_under_tcpserver_fails():
    facts = {"processes": {"processes": []}, "passwd": PASSWD}
    result = run_check("mail.smtpd-unprivileged", facts=facts, mode="live")
    assert result.status is Status.FAIL
    assert result.message == "qmail-smtpd is not running under tcpserver"


def test_smtpd_without_qmaild_account_is_an_error():
    facts = {"processes": smtpd_process(501, 502), "passwd": {"path": "/etc/passwd", "users": []}}
    result = run_check("mail.smtpd-unprivileged", facts=facts, mode="live")
    assert result.status is Status.ERROR
    assert "qmaild" in result.message


# -- probes, without touching the network ---------------------------------------------------

def test_tcp_sweep_uses_syn_as_root_and_connect_otherwise():
    assert network.sweep_arguments("tcp", {}, root=True)[1][0] == "-sS"
    ports, args, covered = network.sweep_arguments("tcp", {}, root=False)
    assert (ports, args[0], covered) == ("1-65535", "-sT", "TCP ports 1-65535")


def test_sweep_timing_defaults_and_rate_override():
    _, args, _ = network.sweep_arguments("tcp", {"min_rate": 500}, root=True)
    assert args[1:] == ["-Pn", "-n", "-T4", "--max-retries", "1", "--min-rate", "500"]


@pytest.mark.parametrize("spec, ports, covered", [
    ("all", "1-65535", "UDP ports 1-65535"),
    ("53,161", "53,161", "UDP ports 53,161"),
    ("top:100", None, "the 100 most common UDP ports (nmap-services)"),
])
def test_udp_port_specs(spec, ports, covered):
    got_ports, args, got_covered = network.sweep_arguments("udp", {"udp_ports": spec}, root=True)
    assert (got_ports, got_covered) == (ports, covered)
    assert ("--top-ports" in args) == spec.startswith("top:")


def test_bad_udp_port_spec_is_an_error():
    with pytest.raises(ProbeError, match="not 'all', 'top:N' or a port list"):
        network.sweep_arguments("udp", {"udp_ports": "top:many"}, root=True)


@pytest.mark.parametrize("kind, what", [("udp", "nmap -sU"), ("ipproto", "nmap -sO")])
def test_raw_sweeps_without_root_fail_the_fact_not_the_audit(monkeypatch, kind, what):
    monkeypatch.setattr(network, "is_root", lambda: False)
    facts = collect(NetHost(TARGET), [f"nmap_{kind}"], mode="net")
    assert what in facts.error_of(f"nmap_{kind}")
    assert "needs root" in facts.error_of(f"nmap_{kind}")


def test_missing_nmap_is_a_probe_error(monkeypatch):
    import nmap

    def no_nmap():
        raise nmap.PortScannerError("nmap program was not found in path")
    monkeypatch.setattr(nmap, "PortScanner", no_nmap)
    facts = collect(NetHost(TARGET), ["nmap_tcp"], mode="net")
    assert "nmap is not installed on the vantage point" in facts.error_of("nmap_tcp")


def test_first_line_is_printable_and_bounded():
    assert network.first_line(b"220 mail ESMTP\r\nEHLO") == "220 mail ESMTP"
    assert network.first_line(b"\xff\xfd\x18\xff\xfd") == "\\xff\\xfd\\x18\\xff\\xfd"
    assert len(network.first_line(b"A" * 600)) == network.LINE_CHARS


def test_certificate_summary_reads_subject_issuer_and_expiry(tmp_path):
    key, crt = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3",
                    "-subj", "/O=Example/CN=pop.example.test", "-keyout", str(key), "-out",
                    str(crt)], check=True, capture_output=True, timeout=60)
    der = subprocess.run(["openssl", "x509", "-in", str(crt), "-outform", "DER"], check=True,
                         capture_output=True, timeout=30).stdout
    end = subprocess.run(["openssl", "x509", "-in", str(crt), "-noout", "-enddate", "-dateopt",
                          "iso_8601"], check=True, capture_output=True, text=True, timeout=30)
    summary = certificate_summary(der)
    assert summary["subject_cn"] == "pop.example.test"
    assert summary["self_signed"] is True
    assert summary["not_after"][:10] == end.stdout.split("=")[1][:10]


def test_garbled_certificate_is_reported_not_raised():
    assert certificate_summary(b"\x30\x82\xff\xff\x01")["certificate"].startswith("unreadable")
    assert certificate_summary(None) == {"certificate": None}


Addr = namedtuple("Addr", "ip port")
Conn = namedtuple("Conn", "fd family type laddr raddr status pid")


def test_listeners_keep_listening_tcp_and_unconnected_udp_with_owner_visibility(monkeypatch):
    import socket as s

    conns = [Conn(3, s.AF_INET, s.SOCK_STREAM, Addr("0.0.0.0", 25), (), "LISTEN", None),
             Conn(4, s.AF_INET, s.SOCK_STREAM, Addr("192.0.2.2", 25), Addr("192.0.2.1", 5000),
                  "ESTABLISHED", None),
             Conn(5, s.AF_INET6, s.SOCK_DGRAM, Addr("::", 5353), (), "NONE", None),
             Conn(6, s.AF_INET, s.SOCK_DGRAM, Addr("192.0.2.2", 40000), Addr("192.0.2.53", 53),
                  "NONE", None)]
    monkeypatch.setattr(sockets.psutil, "net_connections", lambda kind: conns)
    from hostaudit.host import LiveHost
    fact = sockets.listeners(LiveHost())
    assert [(e["proto"], e["port"], e["address"], e["family"]) for e in fact["listeners"]] == [
        ("tcp", 25, "0.0.0.0", "ipv4"), ("udp", 5353, "::", "ipv6")]
    assert all(not e["owner_known"] and e["owner_note"] and e["process"] is None
               for e in fact["listeners"])


class _ProcWithHiddenFds:
    """A live host whose /proc lists pids 1 and 7; listing 7's fds is denied when ``deny``."""

    mode = "live"

    def __init__(self, deny):
        self.deny = deny

    def listdir(self, path):
        if path == "/proc":
            return ["1", "7", "self"]
        if path == "/proc/7/fd" and self.deny:
            raise PermissionError(13, "Permission denied", path)
        return ["0"]

    def readlink(self, path):
        return "/dev/null"


def _unowned_listener(monkeypatch, host):
    import socket as s

    conns = [Conn(3, s.AF_INET, s.SOCK_STREAM, Addr("0.0.0.0", 9999), (), "LISTEN", None)]
    monkeypatch.setattr(sockets.psutil, "net_connections", lambda kind: conns)
    return sockets.listeners(host)["listeners"][0]


def test_listener_without_pid_names_the_processes_whose_files_could_not_be_read(monkeypatch):
    entry = _unowned_listener(monkeypatch, _ProcWithHiddenFds(deny=True))
    assert entry["owner_known"] is False
    assert "listing the open files of 1 process(es) was denied" in entry["owner_note"]
    assert "(pid 7)" in entry["owner_note"]
    assert "PID namespace" not in entry["owner_note"]


def test_listener_without_pid_when_every_process_was_readable_is_held_elsewhere(monkeypatch):
    entry = _unowned_listener(monkeypatch, _ProcWithHiddenFds(deny=False))
    assert entry["owner_note"].startswith("no process this auditor can see holds it: a process in another "
                                          "PID namespace")


def test_tcp_ports_evidence_carries_the_denied_note(monkeypatch):
    entry = _unowned_listener(monkeypatch, _ProcWithHiddenFds(deny=True))
    facts = {"listeners": {"source": "socket table (psutil)", "as_uid": 0, "listeners": [entry]}}
    result = run_check("net.tcp-ports", facts=facts, mode="live", params={"allowed_tcp": [25]})
    assert result.status is Status.FAIL
    assert "9999/tcp open on 0.0.0.0, owner unknown (its process is not known: listing the open files" in texts(result)


def test_socket_and_process_tables_exist_only_on_a_live_host(tmp_root):
    with pytest.raises(ProbeError, match="only be read on a live host"):
        sockets.listeners(tmp_root.host)
    with pytest.raises(ProbeError, match="only be read on a live host"):
        sockets.processes(NetHost(TARGET))


def test_listener_facts_keep_the_program_but_never_its_arguments(monkeypatch):
    import socket as s

    class FakeProcess:
        def __init__(self, pid):
            self.pid = pid

        def oneshot(self):
            import contextlib
            return contextlib.nullcontext()

        def name(self):
            return "redis-server"

        def username(self):
            return "redis"

        def cmdline(self):
            return ["/usr/bin/redis-server", "--requirepass", "hunter2"]

    conns = [Conn(3, s.AF_INET, s.SOCK_STREAM, Addr("0.0.0.0", 6379), (), "LISTEN", 4242)]
    monkeypatch.setattr(sockets.psutil, "net_connections", lambda kind: conns)
    monkeypatch.setattr(sockets.psutil, "Process", FakeProcess)
    from hostaudit.host import LiveHost
    [entry] = sockets.listeners(LiveHost())["listeners"]
    assert entry["program"] == "/usr/bin/redis-server"
    assert "hunter2" not in repr(entry)
