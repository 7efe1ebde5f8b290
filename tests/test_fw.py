"""fw controls on image fixture trees and on given facts."""

from schedulers import boots_systemd
from support import collect_fact, evidence_lines, run_check
from test_parsers_iptables import DOC_SCRIPT, SAVED
from test_parsers_nft import DOC_CONF

from hostaudit.errors import CommandUnavailable
from hostaudit.facts import Facts, collect
from hostaudit.host import CommandResult, LiveHost
from hostaudit.model import Status
from hostaudit.registry import CHECKS
from hostaudit.runner import evaluate

PARAMS = {
    "internal_net": "192.168.1.0/24",
    "ssh_port": 2112,
    "allowed": [
        {"proto": "tcp", "port": 53, "from": "any"},
        {"proto": "udp", "port": 53, "from": "any"},
        {"proto": "tcp", "port": 995, "from": "internal"},
        {"proto": "tcp", "port": 465, "from": "internal"},
        {"proto": "tcp", "port": 25, "from": "external"},
        {"proto": "tcp", "port": "{ssh_port}", "from": "internal"},
    ],
}

# The document's init script (/etc/rc.d/init.d/iptables), verbatim apart from its line wrap.
DOC_INIT = """\
#! /bin/bash
#
# iptables          Start/Stop the iptables system.
#
# chkconfig: 2345 08 92
# description: iptables is a host-based firewall system to restrict network access to our server
RETVAL=0
case "$1" in
        start)
                if [ -x /etc/iptables/rules ]
                then
                        /etc/iptables/rules
                fi
                ;;
        *)
                echo $"Usage: $0 {start}"
                exit 1
esac
exit $?
"""

SAVE_HEAD = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT DROP [0:0]\n"
ACCEPT_ALL = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n"
BROADER_SSH = DOC_SCRIPT + "/sbin/iptables -A INPUT -p tcp -s 0.0.0.0/0 --dport 2112 -j ACCEPT\n"
WITH_LOOPBACK = DOC_SCRIPT + "/sbin/iptables -I INPUT -i lo -j ACCEPT\n"


IPV6_OFF = "net.ipv6.conf.all.disable_ipv6 = 1\n"


def check(tmp_root, control, path, text, params=PARAMS, ipv6=False):
    """Run ``control`` on an image holding ``text`` at ``path``; IPv6 is turned off at boot
    (sysctl.d) unless ``ipv6``, so IPv4-only rules are judged on their own."""
    tmp_root.write(path, text)
    if not ipv6:
        tmp_root.write("/etc/sysctl.d/90-no-ipv6.conf", IPV6_OFF)
    return run_check(control, root=tmp_root, params=params)



NFT_MAIN = '#!/usr/sbin/nft -f\nflush ruleset\ndefine INTERNAL = 192.168.1.0/24\ninclude "/etc/nftables.d/*.nft"\n'
NFT_PART = """table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		iif "lo" accept
		ct state established,related accept
		ip saddr != $INTERNAL tcp dport 25 accept
	}
	chain forward { type filter hook forward priority filter; policy drop; }
	chain output { type filter hook output priority filter; policy drop; ct state new,established,related accept; }
}
"""


def test_default_policy_set_in_a_file_nftables_conf_includes_passes(tmp_root):
    # nft -f reads an include at its place, globs in name order; variables defined before it are seen.
    tmp_root.write("/etc/nftables.d/10-filter.nft", NFT_PART)
    result = check(tmp_root, "fw.default-policy", "/etc/nftables.conf", NFT_MAIN)
    assert result.status is Status.PASS
    assert ("/etc/nftables.d/10-filter.nft:3: IPv4: table inet filter chain input: policy drop -> input default DROP"
            in evidence_lines(result))


def test_rules_of_one_chain_split_across_included_files_are_one_chain(tmp_root):
    tmp_root.write("/etc/nftables.d/10-filter.nft", NFT_PART)
    tmp_root.write("/etc/nftables.d/20-ssh.nft", "table inet filter {\n\tchain input {\n\t\ttcp dport 22 accept\n\t}\n}\n")
    result = check(tmp_root, "fw.inbound-allowed", "/etc/nftables.conf", NFT_MAIN)
    assert result.status is Status.FAIL
    assert any(t.startswith("/etc/nftables.d/20-ssh.nft:3: IPv4: tcp dport 22 accept: accepts new tcp port 22")
               for t in evidence_lines(result))


def test_include_of_a_missing_file_is_noted_not_read(tmp_root):
    result = check(tmp_root, "fw.default-policy", "/etc/nftables.conf",
                   '#!/usr/sbin/nft -f\ninclude "/etc/nftables.d/main.nft"\n' + DOC_CONF)
    assert result.status is Status.ERROR


# -- fw.default-policy ------------------------------------------------------------------------
def test_default_policy_document_script_passes(tmp_root):
    result = check(tmp_root, "fw.default-policy", "/etc/iptable/rules", DOC_SCRIPT)
    assert result.status is Status.PASS
    assert "/etc/iptable/rules:3: IPv4: /sbin/iptables -P INPUT DROP -> input default DROP" in evidence_lines(result)


def test_default_policy_accept_all_fails(tmp_root):
    result = check(tmp_root, "fw.default-policy", "/etc/iptables/rules.v4", ACCEPT_ALL)
    assert result.status is Status.FAIL
    assert "INPUT, OUTPUT, FORWARD" in result.message
    assert "/etc/iptables/rules.v4:2: IPv4: :INPUT ACCEPT [0:0] -> input default ACCEPT" in evidence_lines(result)


def test_default_policy_nftables_conf_passes(tmp_root):
    result = check(tmp_root, "fw.default-policy", "/etc/nftables.conf", DOC_CONF)
    assert result.status is Status.PASS
    assert any("chain forward: policy drop" in t for t in evidence_lines(result))


def test_default_policy_nft_without_forward_chain_fails(tmp_root):
    conf = DOC_CONF.replace("\tchain forward { type filter hook forward priority filter + 10; policy drop; }\n", "")
    result = check(tmp_root, "fw.default-policy", "/etc/nftables.conf", conf)
    assert result.status is Status.FAIL and result.message == "IPv4: default policy is ACCEPT for FORWARD"
    assert "/etc/nftables.conf: IPv4: no forward chain: forward traffic is accepted" in evidence_lines(result)


def test_default_policy_final_unconditional_drop_counts(tmp_root):
    conf = DOC_CONF.replace("priority filter + 10; policy drop;", "priority 0; drop;")
    result = check(tmp_root, "fw.default-policy", "/etc/nftables.conf", conf)
    assert result.status is Status.PASS
    assert any("drop (ends in an unconditional drop) -> forward default DROP" in t for t in evidence_lines(result))


def test_default_policy_no_saved_rules_fails_naming_places(tmp_root):
    tmp_root.mkdir("/etc")
    result = run_check("fw.default-policy", root=tmp_root, params=PARAMS)
    assert result.status is Status.FAIL
    assert "/etc/iptables/rules.v4: absent" in evidence_lines(result) and "/etc/nftables.conf: absent" in evidence_lines(result)


def test_default_policy_unreadable_rule_is_error(tmp_root):
    result = check(tmp_root, "fw.default-policy", "/etc/iptables/rules.v4", SAVE_HEAD + "-A INPUT -p tcp --dport x -j ACCEPT\nCOMMIT\n")
    assert result.status is Status.ERROR
    assert "/etc/iptables/rules.v4:5:" in evidence_lines(result)[0]


def test_default_policy_live_source_error_is_error():
    facts = {"firewall_rules": {"mode": "live", "looked": [], "present": [], "path": None, "format": "live",
                                "ruleset": {"tables": [], "errors": [], "notes": []},
                                "sources": [{"name": "iptables-save", "status": "error", "reason": "Permission denied (you must be root)"},
                                            {"name": "nft -j list ruleset", "status": "absent", "reason": "nft is not installed"}]}}
    result = run_check("fw.default-policy", facts=facts, params=PARAMS, mode="live")
    assert result.status is Status.ERROR and "you must be root" in result.message


# -- fw.inbound-allowed -----------------------------------------------------------------------
def test_inbound_document_script_passes(tmp_root):
    result = check(tmp_root, "fw.inbound-allowed", "/etc/iptable/rules", DOC_SCRIPT)
    assert result.status is Status.PASS
    assert ("/etc/iptable/rules:11: IPv4: /sbin/iptables -I INPUT -p tcp ! -s 192.168.1.0/24 --dport 25   -j ACCEPT:"
            " accepts new tcp port 25 from source not in 192.168.1.0/24 (allowed)") in evidence_lines(result)


def test_inbound_broader_ssh_source_fails_citing_the_rule(tmp_root):
    result = check(tmp_root, "fw.inbound-allowed", "/etc/iptable/rules", BROADER_SSH)
    assert result.status is Status.FAIL
    assert evidence_lines(result)[:1] == ["/etc/iptable/rules:15: IPv4: /sbin/iptables -A INPUT -p tcp -s 0.0.0.0/0 --dport 2112 -j ACCEPT:"
                                          " accepts new tcp port 2112 from source not in 192.168.1.0/24"]


def test_inbound_accept_all_fails(tmp_root):
    result = check(tmp_root, "fw.inbound-allowed", "/etc/iptables/rules.v4", ACCEPT_ALL)
    assert result.status is Status.FAIL
    assert evidence_lines(result)[0].startswith("/etc/iptables/rules.v4:5: IPv4: -A INPUT -j ACCEPT: accepts new ")
    assert "icmp + other protocols from any source" in evidence_lines(result)[0]


def test_inbound_accept_policy_is_cited(tmp_root):
    result = check(tmp_root, "fw.inbound-allowed", "/etc/iptables/rules.v4", ACCEPT_ALL.replace("-A INPUT -j ACCEPT\n", ""))
    assert result.status is Status.FAIL
    assert evidence_lines(result)[0].startswith("/etc/iptables/rules.v4:2: IPv4: :INPUT ACCEPT [0:0]: accepts new")


def test_inbound_earlier_drop_shadows_later_accept(tmp_root):
    rules = SAVE_HEAD + "-A INPUT -p tcp --dport 8080 -j DROP\n-A INPUT -p tcp --dport 8080 -j ACCEPT\nCOMMIT\n"
    result = check(tmp_root, "fw.inbound-allowed", "/etc/iptables/rules.v4", rules)
    assert result.status is Status.PASS
    assert [str(e) for e in result.evidence][:1] == ["ruleset: IPv4: no new inbound traffic is accepted"]


def test_inbound_insert_order_matters(tmp_root):
    """-I puts the later ACCEPT before the earlier DROP, so port 8080 is open."""
    script = "/sbin/iptables -P INPUT DROP\n/sbin/iptables -I INPUT -p tcp --dport 8080 -j DROP\n/sbin/iptables -I INPUT -p tcp --dport 8080 -j ACCEPT\n"
    result = check(tmp_root, "fw.inbound-allowed", "/etc/iptable/rules", script)
    assert result.status is Status.FAIL
    assert "/etc/iptable/rules:3:" in evidence_lines(result)[0] and "tcp port 8080 from any source" in evidence_lines(result)[0]


def test_inbound_accept_inside_user_chain_is_found(tmp_root):
    rules = SAVE_HEAD.replace(":OUTPUT DROP [0:0]\n", ":OUTPUT DROP [0:0]\n:SVC - [0:0]\n") + \
        "-A INPUT -p tcp -j SVC\n-A SVC -p tcp --dport 80 -j ACCEPT\n-A SVC -j RETURN\nCOMMIT\n"
    result = check(tmp_root, "fw.inbound-allowed", "/etc/iptables/rules.v4", rules)
    assert result.status is Status.FAIL
    assert evidence_lines(result)[:1] == ["/etc/iptables/rules.v4:7: IPv4: -A SVC -p tcp --dport 80 -j ACCEPT: accepts new tcp port 80 from any source"]


def test_inbound_unevaluable_condition_is_reported_as_may_accept(tmp_root):
    rules = SAVE_HEAD + "-A INPUT -p tcp --dport 22 -m recent --rcheck -j ACCEPT\nCOMMIT\n"
    result = check(tmp_root, "fw.inbound-allowed", "/etc/iptables/rules.v4", rules)
    assert result.status is Status.FAIL
    assert "may accept (conditions the audit cannot evaluate) new tcp port 22" in evidence_lines(result)[0]


def test_inbound_nftables_equivalent_passes(tmp_root):
    result = check(tmp_root, "fw.inbound-allowed", "/etc/nftables.conf", DOC_CONF)
    assert result.status is Status.PASS
    assert any(t.startswith("/etc/nftables.conf:13: IPv4: meta l4proto { tcp, udp } th dport 53 accept") for t in evidence_lines(result))


def test_inbound_ssh_port_parameter_is_substituted(tmp_root):
    result = check(tmp_root, "fw.inbound-allowed", "/etc/iptable/rules", DOC_SCRIPT, params={**PARAMS, "ssh_port": 22})
    assert result.status is Status.FAIL
    assert "tcp 22 from internal" in result.expected
    assert "--dport 2112" in evidence_lines(result)[0]


def test_inbound_missing_parameter_is_error():
    params = {k: v for k, v in PARAMS.items() if k != "internal_net"}
    result = evaluate(CHECKS["fw.inbound-allowed"], Facts(mode="image"), params)
    assert (result.status, result.message) == (
        Status.ERROR, "the baseline gives no value for parameter(s) internal_net")


def test_inbound_uninterpreted_shell_lines_turn_a_pass_into_error(tmp_root):
    script = DOC_SCRIPT + "for port in 80 443; do\n  logger $port\ndone\n"
    result = check(tmp_root, "fw.inbound-allowed", "/etc/iptable/rules", script)
    assert result.status is Status.ERROR
    assert evidence_lines(result)[0] == "/etc/iptable/rules:15: for port in 80 443; do: not an iptables command; not replayed"


# -- fw.loopback ------------------------------------------------------------------------------
def test_loopback_document_script_fails_and_names_stunnel(tmp_root):
    result = check(tmp_root, "fw.loopback", "/etc/iptable/rules", DOC_SCRIPT)
    assert result.status is Status.FAIL
    assert "stunnel" in result.message and "localhost:pop3 (tcp 110)" in result.message
    assert "localhost:smtp" not in result.message  # the port-25 rule happens to let it through
    assert any(t.startswith("/etc/iptable/rules:3: IPv4: /sbin/iptables -P INPUT DROP") for t in evidence_lines(result))


def test_loopback_accepted_passes(tmp_root):
    result = check(tmp_root, "fw.loopback", "/etc/iptable/rules", WITH_LOOPBACK)
    assert result.status is Status.PASS
    assert "/etc/iptable/rules:15: IPv4: /sbin/iptables -I INPUT -i lo -j ACCEPT: accepts loopback" in evidence_lines(result)


def test_loopback_accept_after_drop_all_fails(tmp_root):
    rules = SAVE_HEAD + "-A INPUT -j DROP\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n"
    result = check(tmp_root, "fw.loopback", "/etc/iptables/rules.v4", rules)
    assert result.status is Status.FAIL and "localhost:smtp (tcp 25)" in result.message


def test_loopback_nft_iif_lo_passes(tmp_root):
    conf = DOC_CONF.replace("\t\tct state { established", "\t\tiif lo accept\n\t\tct state { established")
    result = check(tmp_root, "fw.loopback", "/etc/nftables.conf", conf)
    assert result.status is Status.PASS
    assert "/etc/nftables.conf:9: IPv4: iif lo accept: accepts loopback" in evidence_lines(result)


def test_loopback_nft_document_equivalent_fails(tmp_root):
    result = check(tmp_root, "fw.loopback", "/etc/nftables.conf", DOC_CONF)
    assert result.status is Status.FAIL and "stunnel" in result.message


# -- fw.enabled -------------------------------------------------------------------------------
def doc_boot(tmp_root, rules_path):
    tmp_root.write(rules_path, DOC_SCRIPT, mode=0o744)
    tmp_root.write("/etc/rc.d/init.d/iptables", DOC_INIT, mode=0o755)
    for level in "2345":
        tmp_root.symlink(f"/etc/rc.d/rc{level}.d/S08iptables", "../init.d/iptables")


def test_enabled_document_typo_fails(tmp_root):
    doc_boot(tmp_root, "/etc/iptable/rules")
    result = run_check("fw.enabled", root=tmp_root)
    assert result.status is Status.FAIL
    assert evidence_lines(result)[0] == ("/etc/rc.d/init.d/iptables:10: runs /etc/iptables/rules, which does not exist"
                                " (rules files present: /etc/iptable/rules)")
    assert "/etc/rc.d/init.d/iptables:5: # chkconfig: 2345 08 92" in evidence_lines(result)


def test_enabled_document_with_matching_path_passes_with_ipv6_off(tmp_root):
    doc_boot(tmp_root, "/etc/iptables/rules")
    tmp_root.write("/etc/sysctl.d/90-no-ipv6.conf", IPV6_OFF)
    result = run_check("fw.enabled", root=tmp_root)
    assert result.status is Status.PASS
    assert evidence_lines(result)[0].startswith("/etc/rc.d/init.d/iptables: enabled by /etc/rc.d/rc2.d/S08iptables")
    assert evidence_lines(result)[-1] == "/etc/sysctl.d/90-no-ipv6.conf:1: IPv6: turned off at boot by sysctl.d: IPv6 rules are not required"


def test_enabled_document_script_without_ip6tables_fails_when_ipv6_is_on(tmp_root):
    doc_boot(tmp_root, "/etc/iptables/rules")
    result = run_check("fw.enabled", root=tmp_root)
    assert (result.status, result.message) == (Status.FAIL, "IPv6: no boot mechanism loads IPv6 rules")
    assert "(IPv4)" in evidence_lines(result)[0]


def test_enabled_document_script_with_ip6tables_lines_covers_ipv6(tmp_root):
    doc_boot(tmp_root, "/etc/iptables/rules")
    tmp_root.write("/etc/iptables/rules", DOC_SCRIPT + "/sbin/ip6tables -P INPUT DROP\n", mode=0o744)
    result = run_check("fw.enabled", root=tmp_root)
    assert result.status is Status.PASS and result.message == "firewall rules are applied at boot (IPv4 and IPv6)"
    assert "(IPv4 and IPv6)" in evidence_lines(result)[0]


def test_enabled_script_without_rc_links_fails(tmp_root):
    tmp_root.write("/etc/iptables/rules", DOC_SCRIPT)
    tmp_root.write("/etc/rc.d/init.d/iptables", DOC_INIT)
    result = run_check("fw.enabled", root=tmp_root)
    assert result.status is Status.FAIL
    assert any("no S links" in t for t in evidence_lines(result))


def test_rc_links_of_a_script_whose_unit_is_disabled_under_systemd_fail(tmp_root):
    # systemd-sysv-generator skips an init script that has a unit of its own: its S links start nothing.
    boots_systemd(tmp_root)
    tmp_root.write("/etc/iptables/rules.v4", SAVED)
    tmp_root.write("/etc/sysctl.d/90-ipv6.conf", "net.ipv6.conf.all.disable_ipv6 = 1\n")
    tmp_root.write("/lib/systemd/system/netfilter-persistent.service", "[Unit]\n")
    tmp_root.write("/etc/init.d/netfilter-persistent", "#!/bin/sh\n/usr/sbin/netfilter-persistent start\n", mode=0o755)
    tmp_root.symlink("/etc/rc2.d/S01netfilter-persistent", "../init.d/netfilter-persistent")
    result = run_check("fw.enabled", root=tmp_root)
    assert result.status is Status.FAIL
    assert ("/etc/init.d/netfilter-persistent: S links /etc/rc2.d/S01netfilter-persistent start nothing: systemd "
            "runs /lib/systemd/system/netfilter-persistent.service instead, and no *.wants link enables it"
            ) in evidence_lines(result)


def netfilter_persistent(tmp_root):
    tmp_root.write("/etc/iptables/rules.v4", ACCEPT_ALL)
    tmp_root.write("/lib/systemd/system/netfilter-persistent.service", "[Unit]\n")
    tmp_root.symlink("/etc/systemd/system/multi-user.target.wants/netfilter-persistent.service",
                     "/lib/systemd/system/netfilter-persistent.service")


def test_enabled_netfilter_persistent_with_rules_v6_passes(tmp_root):
    netfilter_persistent(tmp_root)
    tmp_root.write("/etc/iptables/rules.v6", ACCEPT_ALL)
    result = run_check("fw.enabled", root=tmp_root)
    assert result.status is Status.PASS
    assert evidence_lines(result)[0] == ("/etc/systemd/system/multi-user.target.wants/netfilter-persistent.service:"
                                         " netfilter-persistent.service enabled, loads /etc/iptables/rules.v4 (IPv4 and IPv6)")


def test_enabled_netfilter_persistent_without_rules_v6_fails_naming_ipv6(tmp_root):
    netfilter_persistent(tmp_root)
    result = run_check("fw.enabled", root=tmp_root)
    assert (result.status, result.message) == (Status.FAIL, "IPv6: no boot mechanism loads IPv6 rules")
    assert "/etc/iptables/rules.v6: absent" in evidence_lines(result)
    assert any(t.startswith("sysctl.d: IPv6: on at boot, nothing turns it off") for t in evidence_lines(result))


def test_enabled_netfilter_persistent_without_rules_v6_passes_when_the_kernel_command_line_disables_ipv6(tmp_root):
    netfilter_persistent(tmp_root)
    tmp_root.write("/boot/grub/grub.cfg", "menuentry 'Debian' {\n\tlinux /boot/vmlinuz-6.1.0 root=/dev/sda1 ro quiet ipv6.disable=1\n}\n"
                   "menuentry 'Debian (recovery mode)' {\n\tlinux /boot/vmlinuz-6.1.0 root=/dev/sda1 ro single\n}\n")
    result = run_check("fw.enabled", root=tmp_root)
    assert result.status is Status.PASS
    assert evidence_lines(result)[-1] == "/boot/grub/grub.cfg:2: IPv6: turned off at boot by the kernel command line: IPv6 rules are not required"


def test_enabled_netfilter_persistent_without_rules_fails(tmp_root):
    tmp_root.symlink("/etc/systemd/system/multi-user.target.wants/netfilter-persistent.service",
                     "/lib/systemd/system/netfilter-persistent.service")
    result = run_check("fw.enabled", root=tmp_root)
    assert result.status is Status.FAIL
    assert "/etc/iptables/rules.v4 does not exist" in evidence_lines(result)[0]


def test_enabled_nftables_service_passes(tmp_root):
    tmp_root.write("/etc/nftables.conf", DOC_CONF)
    tmp_root.symlink("/etc/systemd/system/sysinit.target.wants/nftables.service", "/lib/systemd/system/nftables.service")
    result = run_check("fw.enabled", root=tmp_root)
    assert result.status is Status.PASS and "nftables.service enabled, loads /etc/nftables.conf" in evidence_lines(result)[0]


def test_enabled_masked_unit_does_not_count(tmp_root):
    tmp_root.write("/etc/nftables.conf", DOC_CONF)
    tmp_root.symlink("/etc/systemd/system/sysinit.target.wants/nftables.service", "/lib/systemd/system/nftables.service")
    tmp_root.symlink("/etc/systemd/system/nftables.service", "/dev/null")
    result = run_check("fw.enabled", root=tmp_root)
    assert result.status is Status.FAIL and any("masked" in t for t in evidence_lines(result))


def test_enabled_firewalld_passes_with_scope_note(tmp_root):
    tmp_root.symlink("/etc/systemd/system/multi-user.target.wants/firewalld.service", "/usr/lib/systemd/system/firewalld.service")
    result = run_check("fw.enabled", root=tmp_root)
    assert result.status is Status.PASS and "out of scope" in evidence_lines(result)[0]


def test_enabled_nothing_fails_saying_where_it_looked(tmp_root):
    tmp_root.write("/etc/iptables/rules.v4", ACCEPT_ALL)
    result = run_check("fw.enabled", root=tmp_root)
    assert result.status is Status.FAIL and "netfilter-persistent.service" in evidence_lines(result)[0]


def test_enabled_ip6tables_service_covers_ipv6_beside_iptables_service(tmp_root):
    tmp_root.write("/etc/sysconfig/iptables", ACCEPT_ALL)
    tmp_root.write("/etc/sysconfig/ip6tables", ACCEPT_ALL)
    for unit in ("iptables.service", "ip6tables.service"):
        tmp_root.symlink(f"/etc/systemd/system/multi-user.target.wants/{unit}", f"/usr/lib/systemd/system/{unit}")
    result = run_check("fw.enabled", root=tmp_root)
    assert result.status is Status.PASS
    assert any(t.endswith("ip6tables.service enabled, loads /etc/sysconfig/ip6tables (IPv6)") for t in evidence_lines(result))


def boot_fact(**extra):
    unit = {"unit": "netfilter-persistent.service", "enabled_by": ["/etc/systemd/system/multi-user.target.wants/netfilter-persistent.service"],
            "masked": False, "installed": True, "config": "/etc/iptables/rules.v4", "config_exists": True}
    return {"sysv": [], "units": [unit], "rule_files_present": ["/etc/iptables/rules.v4", "/etc/iptables/rules.v6"],
            "loaded": {"rules": 4, "drop_policies": ["ip filter INPUT"]},
            "ipv6": {"mode": "live", "enabled": True, "reason": "interfaces hold IPv6 addresses (eth0)", "evidence": []}, **extra}


def test_enabled_live_container_init_is_not_applicable_saying_why():
    init = {"name": "tini", "kind": "other", "where": "/proc/1/comm", "error": None}
    result = run_check("fw.enabled", facts={"firewall_boot": boot_fact(init=init)}, mode="live")
    assert result.status is Status.NOT_APPLICABLE and result.message.startswith("PID 1 is tini, neither systemd nor a SysV init")
    assert "/proc/1/comm: PID 1 is tini, neither systemd nor a SysV init: no boot setting on disk applies" in evidence_lines(result)


def test_enabled_live_sysv_init_does_not_start_systemd_units():
    init = {"name": "init", "kind": "sysvinit", "where": "/proc/1/exe", "error": None}
    result = run_check("fw.enabled", facts={"firewall_boot": boot_fact(init=init)}, mode="live")
    assert result.status is Status.FAIL
    assert ("/etc/systemd/system/multi-user.target.wants/netfilter-persistent.service: netfilter-persistent.service enabled,"
            " but PID 1 is init (a SysV init), which starts no systemd unit") in evidence_lines(result)


def test_enabled_live_systemd_init_is_named_and_passes():
    init = {"name": "systemd", "kind": "systemd", "where": "/proc/1/comm", "error": None}
    result = run_check("fw.enabled", facts={"firewall_boot": boot_fact(init=init)}, mode="live")
    assert result.status is Status.PASS
    assert any(t.startswith("/proc/1/comm: PID 1 is systemd") for t in evidence_lines(result))


def test_enabled_live_rules_loaded_but_not_at_boot_fails():
    boot = {"sysv": [], "units": [], "rule_files_present": [], "loaded": {"rules": 4, "drop_policies": ["ip filter INPUT"]}}
    result = run_check("fw.enabled", facts={"firewall_boot": boot}, mode="live")
    assert result.status is Status.FAIL and "lost at reboot" in result.message
    assert "running kernel: loaded now: 4 rule(s), DROP policies: ip filter INPUT" in evidence_lines(result)


# -- the probe's choice of file ---------------------------------------------------------------
def test_probe_reads_the_first_saved_file_and_notes_the_others(tmp_root):
    tmp_root.write("/etc/iptable/rules", DOC_SCRIPT)
    tmp_root.write("/etc/nftables.conf", DOC_CONF)
    fact = collect_fact("firewall_rules", tmp_root)
    assert (fact["path"], fact["format"]) == ("/etc/iptable/rules", "iptables script")
    assert fact["present"] == ["/etc/iptable/rules", "/etc/nftables.conf"]


def test_probe_detects_save_format_by_content(tmp_root):
    tmp_root.write("/etc/iptables/rules", ACCEPT_ALL)
    assert collect_fact("firewall_rules", tmp_root)["format"] == "iptables-save"


IF_INET6_ETH0 = "fe800000000000000000000000000001 02 40 20 80     eth0\n"
IPV6_ON = {"/proc/net/if_inet6": IF_INET6_ETH0, "/proc/sys/net/ipv6/conf/all/disable_ipv6": "0\n",
           "/proc/sys/net/ipv6/conf/default/disable_ipv6": "0\n"}
IPV6_NO_STACK = {"/proc/net/if_inet6": FileNotFoundError(2, "No such file or directory")}


class CannedHost(LiveHost):
    """A live host whose commands answer from ``outputs`` (argv[0] -> (rc, stdout, stderr) or
    exception) and whose /proc/net and /proc/sys/net files from ``proc`` (text or exception)."""

    def __init__(self, outputs, proc=IPV6_ON):
        super().__init__()
        self.outputs, self.proc = outputs, proc

    def run(self, argv, *, timeout=10.0):
        answer = self.outputs[argv[0]]
        if isinstance(answer, Exception):
            raise answer
        return CommandResult(tuple(argv), *answer)

    def read_bytes(self, path, *, limit=4 * 1024 * 1024):
        if not path.startswith(("/proc/net/", "/proc/sys/net/")):
            return super().read_bytes(path, limit=limit)
        answer = self.proc.get(path, FileNotFoundError(2, "No such file or directory"))
        if isinstance(answer, Exception):
            raise answer
        return answer.encode()


SAVED6_DROP = ("# Generated by ip6tables-save v1.8.9 (nf_tables) on Tue Dec  1 21:00:00 2026\n*filter\n"
               ":INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT DROP [0:0]\nCOMMIT\n")


def test_probe_live_missing_nft_binary_is_marked_absent_and_iptables_decides():
    host = CannedHost({"iptables-save": (0, SAVED, ""), "ip6tables-save": (0, SAVED6_DROP, ""),
                       "nft": CommandUnavailable("nft is not installed")})
    facts = collect(host, ["firewall_rules"], mode="live")
    assert [(s["name"], s["status"], s["reason"]) for s in facts["firewall_rules"]["sources"]] == [
        ("iptables-save", "ok", None), ("ip6tables-save", "ok", None), ("nft -j list ruleset", "absent", "nft is not installed")]
    assert evaluate(CHECKS["fw.default-policy"], facts, PARAMS).status is Status.FAIL  # OUTPUT ACCEPT in SAVED


def test_probe_live_without_permission_is_a_fact_error_with_both_reasons():
    denied = (1, "", "iptables-save v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)\n")
    host = CannedHost({"iptables-save": denied, "ip6tables-save": denied, "nft": (1, "", "Error: Operation not permitted\n")})
    facts = collect(host, ["firewall_rules"], mode="live")
    reason = facts.error_of("firewall_rules")
    assert "you must be root" in reason and "nft -j list ruleset: Error: Operation not permitted" in reason
    assert evaluate(CHECKS["fw.loopback"], facts, PARAMS).status is Status.ERROR


def test_inbound_jump_loop_is_error_not_crash():
    chain = {"name": "A", "hook": None, "priority": 0, "policy": None, "policy_where": "", "policy_line": None,
             "policy_text": "", "rules": [{"where": "nft", "line": None, "text": "jump A", "verdict": "jump",
                                           "target": "A", "unmodelled": [], "never": None}]}
    base = {**chain, "name": "input", "hook": "input", "policy": "drop",
            "rules": [{**chain["rules"][0], "text": "jump A"}]}
    ruleset = {"tables": [{"family": "inet", "name": "f", "source": "nft", "chains": [base, chain]}], "errors": [], "notes": []}
    facts = {"firewall_rules": {"mode": "live", "looked": [], "present": [], "path": None, "format": "live",
                                "sources": [], "ruleset": ruleset}}
    result = run_check("fw.inbound-allowed", facts=facts, params=PARAMS, mode="live")
    assert result.status is Status.ERROR and "a jump loop?" in result.message


def test_inbound_with_no_rules_loaded_at_all_fails_naming_the_empty_ruleset():
    facts = {"firewall_rules": {"mode": "live", "looked": ["iptables-save", "nft -j list ruleset"],
                                "present": [], "path": None, "format": "live", "sources": [],
                                "ruleset": {"tables": [], "errors": [], "notes": []}}}
    result = run_check("fw.inbound-allowed", facts=facts, mode="live")
    assert result.status is Status.FAIL
    assert result.evidence[0].where == "ruleset"
    assert "no input chain" in result.evidence[0].text
