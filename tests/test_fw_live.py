"""fw controls against real iptables and nft rule sets, loaded inside a private network namespace.

The root namespace's firewall is never touched: every command runs through ``ip netns exec``,
and deleting the namespace in the fixture's finalizer drops its rules.
"""

import secrets
import shutil
import subprocess

import pytest
from support import evidence_lines
from test_fw import ACCEPT_ALL, BROADER_SSH, PARAMS, WITH_LOOPBACK
from test_parsers_iptables import DOC_SCRIPT
from test_parsers_nft import DOC_CONF

from hostaudit.facts import collect
from hostaudit.host import LiveHost
from hostaudit.model import Status
from hostaudit.registry import CHECKS, load_all
from hostaudit.runner import evaluate

TOOLS = ("ip", "iptables", "iptables-restore", "nft")


class NamespaceHost(LiveHost):
    """A live host whose commands run inside network namespace ``ns`` (a test-only transport)."""

    def __init__(self, ns: str):
        super().__init__()
        self.ns = ns

    def run(self, argv, *, timeout=10.0):
        return super().run(["ip", "netns", "exec", self.ns, *argv], timeout=timeout)


@pytest.fixture
def netns(require_root):
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")
    name = f"ha-fw-{secrets.token_hex(4)}"
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=10)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], timeout=10, check=False)


def load(ns, tmp_path, tool, text):
    """Load ``text`` inside ``ns`` with ``sh`` (a script), ``iptables-restore`` or ``nft -f``."""
    path = tmp_path / "rules"
    path.write_text(text)
    argv = {"sh": ["sh", "-e", str(path)], "iptables-restore": ["iptables-restore", str(path)],
            "nft": ["nft", "-f", str(path)]}[tool]
    subprocess.run(["ip", "netns", "exec", ns, *argv], check=True, timeout=20, capture_output=True)


def audit(ns, control, params=PARAMS):
    load_all()
    spec = CHECKS[control]
    facts = collect(NamespaceHost(ns), spec.needs_in({"live"}), mode="live")
    return evaluate(spec, facts, params), facts



def test_live_document_script_default_policy_passes(netns, tmp_path):
    load(netns, tmp_path, "sh", DOC_SCRIPT)
    result, _ = audit(netns, "fw.default-policy")
    assert result.status is Status.PASS
    assert "iptables-save:3: :INPUT DROP [0:0] -> input default DROP" in evidence_lines(result)


def test_live_document_script_inbound_passes(netns, tmp_path):
    load(netns, tmp_path, "sh", DOC_SCRIPT)
    result, _ = audit(netns, "fw.inbound-allowed")
    assert result.status is Status.PASS
    assert any("-A INPUT -s 192.168.1.0/24 -p tcp -m tcp --dport 2112 -j ACCEPT: accepts new tcp port 2112" in t
               for t in evidence_lines(result))


def test_live_document_script_loopback_fails(netns, tmp_path):
    load(netns, tmp_path, "sh", DOC_SCRIPT)
    result, _ = audit(netns, "fw.loopback")
    assert result.status is Status.FAIL and "stunnel" in result.message


def test_live_iptables_nft_tables_are_counted_once(netns, tmp_path):
    load(netns, tmp_path, "sh", DOC_SCRIPT)
    _, facts = audit(netns, "fw.default-policy")
    fact = facts["firewall_rules"]
    assert [s["status"] for s in fact["sources"]] == ["ok", "ok"]
    assert [(t["family"], t["name"], t["source"]) for t in fact["ruleset"]["tables"]] == [("ip", "filter", "iptables")]


def test_live_accept_all_fails_inbound(netns, tmp_path):
    load(netns, tmp_path, "iptables-restore", ACCEPT_ALL)
    result, _ = audit(netns, "fw.inbound-allowed")
    assert result.status is Status.FAIL
    assert evidence_lines(result)[0].startswith("iptables-save:") and "-A INPUT -j ACCEPT: accepts new" in evidence_lines(result)[0]


def test_live_broader_ssh_source_fails(netns, tmp_path):
    load(netns, tmp_path, "sh", BROADER_SSH)
    result, _ = audit(netns, "fw.inbound-allowed")
    assert result.status is Status.FAIL
    assert len(result.evidence) == 1
    assert "-p tcp -m tcp --dport 2112 -j ACCEPT: accepts new tcp port 2112 from source not in 192.168.1.0/24" in evidence_lines(result)[0]


def test_live_loopback_accepted_passes(netns, tmp_path):
    load(netns, tmp_path, "sh", WITH_LOOPBACK)
    result, _ = audit(netns, "fw.loopback")
    assert result.status is Status.PASS
    assert any("-A INPUT -i lo -j ACCEPT: accepts loopback" in t for t in evidence_lines(result))


def test_live_nftables_equivalent_passes_policy_and_inbound(netns, tmp_path):
    load(netns, tmp_path, "nft", DOC_CONF)
    policy, _ = audit(netns, "fw.default-policy")
    inbound, _ = audit(netns, "fw.inbound-allowed")
    assert (policy.status, inbound.status) == (Status.PASS, Status.PASS)
    assert any(t.startswith("nft inet filter input: tcp dport 2112 ip saddr 192.168.1.0/24 accept") for t in evidence_lines(inbound))


def test_live_nftables_equivalent_fails_loopback(netns, tmp_path):
    load(netns, tmp_path, "nft", DOC_CONF)
    result, _ = audit(netns, "fw.loopback")
    assert result.status is Status.FAIL and "localhost:pop3" in result.message


def test_live_nft_loopback_accept_is_undone_by_an_iptables_chain_that_drops_it(netns, tmp_path):
    """Both base chains on the input hook must accept: an accept in one is not final."""
    load(netns, tmp_path, "nft", DOC_CONF.replace("\t\tct state { established", "\t\tiif lo accept\n\t\tct state { established"))
    load(netns, tmp_path, "sh", "/sbin/iptables -P INPUT DROP\n")
    result, _ = audit(netns, "fw.loopback")
    assert result.status is Status.FAIL
    assert any(t.startswith("iptables-save:3: :INPUT DROP") for t in evidence_lines(result))
