"""The net and mail wire controls against real services (tcpserver, tcprules, stunnel4, sshd)
in a lab of two network namespaces; the scanner sweeps only the lab's mail host, or the mail
host's own loopback for a live audit with --network. See tests/netns.py.
"""

import concurrent.futures
import json
import sys
import time
from pathlib import Path

import psutil
import pytest
from netns import MAIL_ADDR, MailHost, document_firewall, mail_host, net_lab, run_audit  # noqa: F401

from hostaudit.baseline import load
from hostaudit.parsers.nmap_xml import parse_nmap_xml
from hostaudit.reports.json_report import validate

pytestmark = pytest.mark.root

WIRE = ["net.tcp-ports", "net.udp-ports", "net.ip-protocols", "net.cleartext-auth",
        "mail.pop3-remote-denied", "mail.tls-wrappers"]
PARAMS = {
    "net.tcp-ports": {"allowed_tcp": [25, 110, 465, 995, 2112]},
    "net.udp-ports": {"allowed_udp": []},
    "net.ip-protocols": {"allowed_protocols": ["icmp", "igmp", "tcp", "udp"]},
    "net.cleartext-auth": {"cleartext_ports": {21: "ftp", 23: "telnet", 110: "pop3", 143: "imap"}},
    "mail.tls-wrappers": {"tls_ports": [465, 995]},
}
# Most tests need not wait for a full UDP sweep; the ports they use are inside this range.
QUICK_UDP = {"udp_ports": "1-1024,5353"}


def statuses(report):
    return {cid: r["status"] for cid, r in report["results"].items()}


def evidence(report, control_id):
    return "\n".join(report["results"][control_id]["evidence"])


def test_clean_document_host_passes_every_net_control_with_default_sweeps(mail_host):
    report = run_audit(mail_host.lab.scanner, controls=WIRE, params=PARAMS)
    assert statuses(report) == {cid: "pass" for cid in WIRE}
    assert "swept UDP ports 1-65535 of 192.0.2.2" in evidence(report, "net.udp-ports")
    assert "subject CN=mail.example.test, self-signed" in evidence(report, "mail.tls-wrappers")
    ssh = next(g for g in report["facts"]["greetings"]["ports"] if g["port"] == 2112)
    assert ssh["first_line"].startswith("SSH-2.0-OpenSSH_")


def test_live_audit_with_network_sees_owners_and_no_hidden_listener(mail_host):
    report = run_audit(mail_host.ns, mode="live", target="127.0.0.1", sweep_options=QUICK_UDP,
                       controls=["net.tcp-ports", "net.udp-ports", "net.hidden-listeners"],
                       params=PARAMS)
    assert statuses(report) == {"net.tcp-ports": "pass", "net.udp-ports": "pass",
                                "net.hidden-listeners": "pass"}
    owners = {(e["port"], e["process"], e["pid"]) for e in report["facts"]["listeners"]["listeners"]}
    assert (25, "tcpserver", mail_host.pids["smtp"]) in owners
    assert (995, "stunnel4", mail_host.pids["stunnel"]) in owners
    assert (2112, "sshd", mail_host.pids["sshd"]) in owners


def test_extra_tcp_and_udp_listeners_fail_on_the_wire_with_their_ports(mail_host):
    mail_host.tcp_listener(9999, "hello\r\n")
    mail_host.udp_listener(5353)
    report = run_audit(mail_host.lab.scanner, controls=["net.tcp-ports", "net.udp-ports"],
                       params=PARAMS, sweep_options=QUICK_UDP)
    assert statuses(report) == {"net.tcp-ports": "fail", "net.udp-ports": "fail"}
    assert "9999/tcp open (syn-ack)" in evidence(report, "net.tcp-ports")
    assert "5353/udp open (udp-response)" in evidence(report, "net.udp-ports")


def test_extra_listeners_fail_live_naming_the_owning_process(mail_host):
    pid = mail_host.tcp_listener(9999).pid
    udp_pid = mail_host.udp_listener(5353).pid
    report = run_audit(mail_host.ns, mode="live", target=None,
                       controls=["net.tcp-ports", "net.udp-ports", "mail.tls-wrappers"],
                       params=PARAMS)
    # stunnel listens on both wrapper ports: without --network no handshake proves TLS.
    assert statuses(report) == {"net.tcp-ports": "fail", "net.udp-ports": "fail",
                                "mail.tls-wrappers": "error"}
    name = psutil.Process(pid).name()  # python3, or python inside a virtualenv
    assert f"9999/tcp open on 0.0.0.0, {name} (pid {pid}, user root)" in evidence(
        report, "net.tcp-ports")
    assert f"5353/udp open on 0.0.0.0, {name} (pid {udp_pid}, user root)" in evidence(
        report, "net.udp-ports")


def test_pop3_rules_admitting_the_remote_network_fail_pop3_remote_denied(net_lab):
    host = MailHost(net_lab)
    host.start_pop3(rules="127.:allow\n192.0.2.:allow\n:deny\n")
    report = run_audit(net_lab.scanner, controls=["mail.pop3-remote-denied", "net.cleartext-auth"],
                       params=PARAMS, sweep_options=QUICK_UDP)
    assert statuses(report) == {"mail.pop3-remote-denied": "fail", "net.cleartext-auth": "fail"}
    assert "192.0.2.2:110 (pop3): greets with '+OK <hostaudit-test@" in evidence(
        report, "mail.pop3-remote-denied")


def test_plaintext_server_on_pop3s_port_fails_tls_wrappers(net_lab):
    host = MailHost(net_lab)
    host.start_smtp()
    host.start_stunnel({465: 25})
    host.tcp_listener(995, "+OK plaintext POP3\r\n")
    report = run_audit(net_lab.scanner, controls=["mail.tls-wrappers"], params=PARAMS,
                       sweep_options=QUICK_UDP)
    assert statuses(report) == {"mail.tls-wrappers": "fail"}
    assert "192.0.2.2:995: answers in plaintext: '+OK plaintext POP3'" in evidence(
        report, "mail.tls-wrappers")
    assert "192.0.2.2:465: TLSv1." in evidence(report, "mail.tls-wrappers")


def test_smtpd_tcpserver_runs_with_the_ids_it_was_given(mail_host):
    report = run_audit(mail_host.ns, mode="live", target=None, facts=["processes"])
    smtpd = next(p for p in report["facts"]["processes"]["processes"]
                 if p["pid"] == mail_host.pids["smtp"])
    assert smtpd["name"] == "tcpserver" and "qmail-smtpd" in smtpd["cmdline"]
    assert (smtpd["uid_real"], smtpd["uid_effective"], smtpd["gid_effective"]) == (65534,) * 3


def test_running_pop3_tcpserver_is_seen_enforcing_its_cdb(mail_host):
    from hostaudit.checks.mail import _pop3_server_uses_cdb

    report = run_audit(mail_host.ns, mode="live", target=None, facts=["processes"])
    mine = {"processes": [p for p in report["facts"]["processes"]["processes"]
                          if p["pid"] == mail_host.pids["pop3"]]}
    result = _pop3_server_uses_cdb(mine, str(mail_host.dir / "pop.tcp.cdb"))
    assert result.status.value == "pass", result.message
    assert _pop3_server_uses_cdb(mine, "/etc/tcprules/pop.tcp.cdb").status.value == "fail"


def _reference_sweep(lab, args):
    out = lab.scanner.run(["nmap", "-oX", "-", "-Pn", "-n", *args, MAIL_ADDR], timeout=600).stdout
    return parse_nmap_xml(out)["hosts"][0]


@pytest.mark.slow
def test_default_sweeps_of_a_drop_firewalled_host_are_fast_and_miss_nothing(mail_host):
    """The tuned defaults finish a full net audit under 30 s behind the document's DROP
    firewall and find exactly the open ports a thorough -T3 sweep finds (~100 s)."""
    mail_host.tcp_listener(9999)   # behind the firewall: must stay invisible to both
    mail_host.udp_listener(53)     # the document's firewall lets DNS in: open to both
    mail_host.firewall(document_firewall())
    started = time.monotonic()
    report = run_audit(mail_host.lab.scanner, controls=WIRE, params=PARAMS)
    elapsed = time.monotonic() - started
    assert elapsed < 30, f"net audit took {elapsed:.1f}s"
    facts = report["facts"]

    # A full -T3 UDP reference behind DROP runs for more than 6 minutes: it covers the
    # well-known ports, where the firewall's one UDP opening (53) is.
    references = {"tcp": ["-sS", "-p", "1-65535", "-T3"], "udp": ["-sU", "-p", "1-1024", "-T3"],
                  "ipproto": ["-sO", "-T3"]}
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        slow = dict(zip(references, pool.map(lambda a: _reference_sweep(mail_host.lab, a),
                                               references.values())))

    def opened(ports):
        return {(p["port"], p["proto"]) for p in ports}
    assert opened(facts["nmap_tcp"]["open"]) == opened(slow["tcp"]["open"]) == {
        (465, "tcp"), (995, "tcp"), (2112, "tcp")}
    assert opened(facts["nmap_udp"]["open"]) == opened(slow["udp"]["open"]) == {(53, "udp")}
    # -sO counts any packet of a protocol from the target, so concurrent sweeps' replies make
    # tcp/udp look open in either run; what must agree is the verdict: nothing beyond the basics.
    basics = {"icmp", "igmp", "tcp", "udp"}
    assert {p["service"] for p in facts["nmap_ipproto"]["open"]} <= basics
    assert {p["service"] for p in slow["ipproto"]["open"]} <= basics
    assert statuses(report)["net.udp-ports"] == "fail"
    assert statuses(report)["mail.pop3-remote-denied"] == "pass"
    assert "filtered in the sweep" in evidence(report, "mail.pop3-remote-denied")


def test_cli_net_mode_audits_only_net_controls_of_the_named_target(mail_host, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    done = mail_host.lab.scanner.run(
        ["env", f"PYTHONPATH={Path(__file__).resolve().parent.parent}", sys.executable, "-m", "hostaudit",
         "scan", "--target", MAIL_ADDR, "--udp-ports", "1-1024", "--quiet", "-o", str(out)],
        timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    report = json.loads((out / "report.json").read_text())
    validate(report)
    assert report["target"]["mode"] == "net" and report["target"]["address"] == MAIL_ADDR
    results = {r["id"]: r for r in report["results"]}
    assert all("net" in c.modes for c in load("gcux-qmail").controls if c.id in results)
    assert results["ssh.port"]["status"] == "pass"
    assert any("192.0.2.2:2112" == e["where"] for e in results["ssh.version"]["evidence"])
    assert results["net.tcp-ports"]["status"] == "pass"
    sweeps = {s["fact"]: s for s in report["target"]["sweeps"]}
    assert sweeps["nmap_udp"]["covered"] == "UDP ports 1-1024"
    html = (out / "report.html").read_text()
    assert "Sweeps" in html and sweeps["nmap_tcp"]["command"] in html
