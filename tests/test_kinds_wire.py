"""The port kind from the wire: a real TCP sweep of the lab's mail host (tests/netns.py), the
kind judged on what nmap saw."""

import pytest
from netns import mail_host, net_lab, run_audit  # noqa: F401
from support import evidence_lines, run_check

from hostaudit.model import Status

pytestmark = pytest.mark.root


def test_port_kind_judges_the_sweep_of_a_real_host(mail_host):
    sweep = run_audit(mail_host.lab.scanner, facts=["nmap_tcp"])["facts"]["nmap_tcp"]
    facts = {"nmap_tcp": sweep}

    def judge(params):
        return run_check("site.net.port", kind="port", mode="net", modes={"net"}, facts=facts, params=params)

    smtp_listening = judge({"port": 25, "state": "listening"})
    assert smtp_listening.status is Status.PASS
    assert evidence_lines(smtp_listening)[0].startswith(f"{sweep['command']}: 25/tcp open (syn-ack)")
    telnet_closed = judge({"port": 23})
    assert telnet_closed.status is Status.PASS
    assert evidence_lines(telnet_closed) == [f"{sweep['command']}: 23/tcp closed"]
    smtp_must_be_closed = judge({"port": 25})
    assert smtp_must_be_closed.status is Status.FAIL
    assert smtp_must_be_closed.message == "25/tcp is open"
