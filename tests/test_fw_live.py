"""fw controls against real iptables and nft rule sets, loaded inside a private network namespace.

The root namespace's firewall is never touched: every command runs through ``ip netns exec``,
and deleting the namespace in the fixture's finalizer drops its rules.
"""

import secrets
import shutil
import subprocess

import pytest
from support import evidence_lines
from test_fw import ACCEPT_ALL, BROADER_SSH, PARAMS, SAVE_HEAD, WITH_LOOPBACK
from test_parsers_iptables import DOC_SCRIPT
from test_parsers_nft import DOC_CONF

from hostaudit.facts import collect
from hostaudit.host import LiveHost
from hostaudit.model import Status
from hostaudit.registry import CHECKS, load_all
from hostaudit.runner import evaluate

TOOLS = ("ip", "iptables", "iptables-restore", "ip6tables-restore", "nft", "sysctl")


class NamespaceHost(LiveHost):
    """A live host whose commands run inside network namespace ``ns``, and whose per-namespace
    files (/proc/net, /proc/sys/net) are read from inside it (a test-only transport)."""

    def __init__(self, ns: str):
        super().__init__()
        self.ns = ns

    def run(self, argv, *, timeout=10.0):
        return super().run(["ip", "netns", "exec", self.ns, *argv], timeout=timeout)

    def read_bytes(self, path, *, limit=4 * 1024 * 1024):
        if not path.startswith(("/proc/net/", "/proc/sys/net/")):
            return super().read_bytes(path, limit=limit)
        done = subprocess.run(["ip", "netns", "exec", self.ns, "cat", "--", path], capture_output=True, timeout=10)
        if done.returncode != 0:
            if b"No such file" in done.stderr:
                raise FileNotFoundError(2, "No such file or directory", path)
            raise OSError(5, done.stderr.decode(errors="replace").strip(), path)
        return done.stdout[:limit]


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
    """Load ``text`` inside ``ns`` with ``sh`` (a script), ``iptables-restore``,
    ``ip6tables-restore`` or ``nft -f``."""
    path = tmp_path / "rules"
    path.write_text(text)
    argv = {"sh": ["sh", "-e", str(path)], "iptables-restore": ["iptables-restore", str(path)],
            "ip6tables-restore": ["ip6tables-restore", str(path)], "nft": ["nft", "-f", str(path)]}[tool]
    subprocess.run(["ip", "netns", "exec", ns, *argv], check=True, timeout=20, capture_output=True)


def ipv6_off(ns):
    """Switch IPv6 off on every interface of ``ns`` (as sysctl.d would at boot)."""
    subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1"],
                   check=True, timeout=10, capture_output=True)


def audit(ns, control, params=PARAMS):
    load_all()
    spec = CHECKS[control]
    facts = collect(NamespaceHost(ns), spec.needs_in({"live"}), mode="live")
    return evaluate(spec, facts, params), facts



# -- IPv4 rules, with IPv6 off in the namespace ----------------------------------------------
def test_live_document_script_default_policy_passes(netns, tmp_path):
    ipv6_off(netns)
    load(netns, tmp_path, "sh", DOC_SCRIPT)
    result, _ = audit(netns, "fw.default-policy")
    assert result.status is Status.PASS
    assert "iptables-save:3: IPv4: :INPUT DROP [0:0] -> input default DROP" in evidence_lines(result)


def test_live_document_script_inbound_passes(netns, tmp_path):
    ipv6_off(netns)
    load(netns, tmp_path, "sh", DOC_SCRIPT)
    result, _ = audit(netns, "fw.inbound-allowed")
    assert result.status is Status.PASS
    assert any("IPv4: -A INPUT -s 192.168.1.0/24 -p tcp -m tcp --dport 2112 -j ACCEPT: accepts new tcp port 2112" in t
               for t in evidence_lines(result))


def test_live_document_script_loopback_fails(netns, tmp_path):
    ipv6_off(netns)
    load(netns, tmp_path, "sh", DOC_SCRIPT)
    result, _ = audit(netns, "fw.loopback")
    assert result.status is Status.FAIL and "stunnel" in result.message


def test_live_iptables_nft_tables_are_counted_once(netns, tmp_path):
    load(netns, tmp_path, "sh", DOC_SCRIPT)
    load(netns, tmp_path, "ip6tables-restore", SAVE_HEAD + "COMMIT\n")
    _, facts = audit(netns, "fw.default-policy")
    fact = facts["firewall_rules"]
    assert [s["status"] for s in fact["sources"]] == ["ok", "ok", "ok"]
    assert [(t["family"], t["name"], t["source"]) for t in fact["ruleset"]["tables"]] == [
        ("ip", "filter", "iptables"), ("ip6", "filter", "ip6tables")]


def test_live_accept_all_fails_inbound(netns, tmp_path):
    ipv6_off(netns)
    load(netns, tmp_path, "iptables-restore", ACCEPT_ALL)
    result, _ = audit(netns, "fw.inbound-allowed")
    assert result.status is Status.FAIL
    assert evidence_lines(result)[0].startswith("iptables-save:") and "IPv4: -A INPUT -j ACCEPT: accepts new" in evidence_lines(result)[0]


def test_live_broader_ssh_source_fails(netns, tmp_path):
    ipv6_off(netns)
    load(netns, tmp_path, "sh", BROADER_SSH)
    result, _ = audit(netns, "fw.inbound-allowed")
    assert result.status is Status.FAIL
    assert len([t for t in evidence_lines(result) if "accepts new" in t]) == 1
    assert "-p tcp -m tcp --dport 2112 -j ACCEPT: accepts new tcp port 2112 from source not in 192.168.1.0/24" in evidence_lines(result)[0]


def test_live_loopback_accepted_passes(netns, tmp_path):
    ipv6_off(netns)
    load(netns, tmp_path, "sh", WITH_LOOPBACK)
    result, _ = audit(netns, "fw.loopback")
    assert result.status is Status.PASS
    assert any("IPv4: -A INPUT -i lo -j ACCEPT: accepts loopback" in t for t in evidence_lines(result))


# -- nft: an inet table holds both families ---------------------------------------------------
def test_live_nftables_equivalent_passes_policy_and_inbound_for_both_families(netns, tmp_path):
    load(netns, tmp_path, "nft", DOC_CONF)
    policy, facts = audit(netns, "fw.default-policy")
    inbound, _ = audit(netns, "fw.inbound-allowed")
    assert facts["firewall_rules"]["ipv6"]["enabled"] is True
    assert (policy.status, inbound.status) == (Status.PASS, Status.PASS)
    assert "nft inet filter input: IPv6: table inet filter chain input: hook input, policy drop -> input default DROP" in evidence_lines(policy)
    assert any(t.startswith("nft inet filter input: IPv4: tcp dport 2112 ip saddr 192.168.1.0/24 accept") for t in evidence_lines(inbound))
    assert any(t.startswith("nft inet filter input: IPv6: meta l4proto { tcp, udp } th dport 53 accept") for t in evidence_lines(inbound))


def test_live_nftables_equivalent_fails_loopback(netns, tmp_path):
    load(netns, tmp_path, "nft", DOC_CONF)
    result, _ = audit(netns, "fw.loopback")
    assert result.status is Status.FAIL and "localhost:pop3" in result.message


def test_live_nft_loopback_accept_is_undone_by_an_iptables_chain_that_drops_it(netns, tmp_path):
    """Both base chains on the input hook must accept: an accept in one is not final."""
    ipv6_off(netns)
    load(netns, tmp_path, "nft", DOC_CONF.replace("\t\tct state { established", "\t\tiif lo accept\n\t\tct state { established"))
    load(netns, tmp_path, "sh", "/sbin/iptables -P INPUT DROP\n")
    result, _ = audit(netns, "fw.loopback")
    assert result.status is Status.FAIL
    assert any(t.startswith("iptables-save:3: IPv4: :INPUT DROP") for t in evidence_lines(result))


# -- IPv6: ip6tables besides iptables ---------------------------------------------------------
DROP_ALL = SAVE_HEAD + "COMMIT\n"
ACCEPT_POLICIES = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"


def test_live_v4_drop_v6_accept_fails_default_policy_naming_ipv6(netns, tmp_path):
    load(netns, tmp_path, "iptables-restore", DROP_ALL)
    load(netns, tmp_path, "ip6tables-restore", ACCEPT_POLICIES)
    result, _ = audit(netns, "fw.default-policy")
    assert result.status is Status.FAIL
    assert result.message.startswith("IPv6: default policy is ACCEPT for INPUT, OUTPUT, FORWARD")
    assert "ip6tables-save:3: IPv6: :INPUT ACCEPT [0:0] -> input default ACCEPT" in evidence_lines(result)
    assert "iptables-save:3: IPv4: :INPUT DROP [0:0] -> input default DROP" in evidence_lines(result)


def test_live_v4_and_v6_drop_passes_default_policy(netns, tmp_path):
    load(netns, tmp_path, "iptables-restore", DROP_ALL)
    load(netns, tmp_path, "ip6tables-restore", DROP_ALL)
    result, _ = audit(netns, "fw.default-policy")
    assert result.status is Status.PASS
    assert "ip6tables-save:3: IPv6: :INPUT DROP [0:0] -> input default DROP" in evidence_lines(result)


def test_live_ipv6_off_in_namespace_needs_no_v6_rules(netns, tmp_path):
    ipv6_off(netns)
    load(netns, tmp_path, "iptables-restore", DROP_ALL)
    result, facts = audit(netns, "fw.default-policy")
    assert result.status is Status.PASS and result.message == "IPv4: input, output and forward default to DROP"
    assert any("IPv6: off: disable_ipv6 = 1 and no interface holds an IPv6 address" in t and "IPv6 rules are not required" in t
               for t in evidence_lines(result))
    assert facts["firewall_rules"]["sources"][1]["status"] == "skipped"


def test_live_document_script_is_open_over_ipv6(netns, tmp_path):
    """The blind spot: the document's script sets iptables only, so IPv6 meets no rule."""
    load(netns, tmp_path, "sh", DOC_SCRIPT)
    policy, _ = audit(netns, "fw.default-policy")
    inbound, _ = audit(netns, "fw.inbound-allowed")
    assert (policy.status, inbound.status) == (Status.FAIL, Status.FAIL)
    assert policy.message.startswith("IPv6: default policy is ACCEPT for INPUT, OUTPUT, FORWARD; IPv4: ")
    assert inbound.message.startswith("IPv6: 1 rule(s) accept new inbound traffic beyond the allowed list")
    assert any(t.startswith("ruleset: IPv6: no input chain: accepts new") for t in evidence_lines(inbound))


def test_live_v6_internal_only_service_fails_inbound(netns, tmp_path):
    """internal_net is IPv4, so ssh (internal only) must accept no new IPv6 connection."""
    ipv6_rules = DROP_ALL.replace("COMMIT\n", "-A INPUT -p ipv6-icmp -j ACCEPT\n-A INPUT -p tcp --dport 25 -j ACCEPT\n"
                                  "-A INPUT -p tcp --dport 2112 -j ACCEPT\nCOMMIT\n")
    load(netns, tmp_path, "sh", DOC_SCRIPT)
    load(netns, tmp_path, "ip6tables-restore", ipv6_rules)
    result, _ = audit(netns, "fw.inbound-allowed")
    assert result.status is Status.FAIL
    broader = [t for t in evidence_lines(result) if "accepts new" in t and "(allowed)" not in t]
    assert broader == ["ip6tables-save:8: IPv6: -A INPUT -p tcp -m tcp --dport 2112 -j ACCEPT: accepts new tcp port 2112 from any source"]
    assert any("baseline: IPv6: internal_net 192.168.1.0/24 is an IPv4 network" in t for t in evidence_lines(result))


def test_live_v6_public_services_and_icmpv6_pass_inbound(netns, tmp_path):
    ipv6_rules = DROP_ALL.replace("COMMIT\n", "-A INPUT -p ipv6-icmp -j ACCEPT\n-A INPUT -p tcp --dport 25 -j ACCEPT\n"
                                  "-A INPUT -p udp --dport 53 -j ACCEPT\nCOMMIT\n")
    load(netns, tmp_path, "sh", DOC_SCRIPT)
    load(netns, tmp_path, "ip6tables-restore", ipv6_rules)
    result, _ = audit(netns, "fw.inbound-allowed")
    assert result.status is Status.PASS
    assert "ip6tables-save:6: IPv6: -A INPUT -p ipv6-icmp -j ACCEPT: accepts new icmpv6 from any source (allowed)" in evidence_lines(result)


def test_live_v6_loopback_dropped_fails_naming_ipv6(netns, tmp_path):
    load(netns, tmp_path, "sh", WITH_LOOPBACK)
    load(netns, tmp_path, "ip6tables-restore", DROP_ALL)
    result, _ = audit(netns, "fw.loopback")
    assert result.status is Status.FAIL
    assert result.message.startswith("IPv6: loopback traffic is dropped on INPUT: this breaks the stunnel wrapping where localhost resolves to ::1")
    assert "ip6tables-save:3: IPv6: :INPUT DROP [0:0] -> input default DROP; no rule accepts all of lo first" in evidence_lines(result)


def test_live_ipv6_fact_reads_the_namespace_own_addresses(netns, tmp_path):
    subprocess.run(["ip", "netns", "exec", netns, "ip", "link", "set", "lo", "up"], check=True, timeout=10)
    load(netns, tmp_path, "iptables-restore", DROP_ALL)
    load(netns, tmp_path, "ip6tables-restore", DROP_ALL)
    result, facts = audit(netns, "fw.default-policy")
    assert facts["firewall_rules"]["ipv6"]["reason"] == "on: interfaces hold IPv6 addresses (lo)"
    assert "/proc/net/if_inet6: IPv6: on: interfaces hold IPv6 addresses (lo): IPv6 rules are judged too" in evidence_lines(result)
