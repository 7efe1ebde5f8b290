"""nmap XML parser, on sweeps captured from the test lab (nmap 7.93 against a namespace host
running the document's services, with and without its DROP firewall)."""

import pytest

from hostaudit.parsers.nmap_xml import parse_nmap_xml, port_in_ranges

TCP_SWEEP = """\
<nmaprun scanner="nmap" args="nmap -oX - -Pn -n -sS -p 1-65535 -T4 -&#45;max-retries 1 -&#45;min-rate 10000 192.0.2.2" version="7.93" xmloutputversion="1.05">
<scaninfo type="syn" protocol="tcp" numservices="65535" services="1-65535"/>
<host><status state="up" reason="arp-response" reason_ttl="0"/>
<address addr="192.0.2.2" addrtype="ipv4"/>
<ports><extraports state="closed" count="65530">
<extrareasons reason="reset" count="65530" proto="tcp" ports="1-24,26-109,111-464,466-994,996-2111,2113-65535"/>
</extraports>
<port protocol="tcp" portid="25"><state state="open" reason="syn-ack" reason_ttl="64"/><service name="smtp" method="table" conf="3"/></port>
<port protocol="tcp" portid="110"><state state="open" reason="syn-ack" reason_ttl="64"/><service name="pop3" method="table" conf="3"/></port>
<port protocol="tcp" portid="465"><state state="open" reason="syn-ack" reason_ttl="64"/><service name="smtps" method="table" conf="3"/></port>
<port protocol="tcp" portid="995"><state state="open" reason="syn-ack" reason_ttl="64"/><service name="pop3s" method="table" conf="3"/></port>
<port protocol="tcp" portid="2112"><state state="open" reason="syn-ack" reason_ttl="64"/><service name="kip" method="table" conf="3"/></port>
</ports>
</host>
<runstats><finished time="1795630063" summary="Nmap done at Wed Nov 25 18:07:43 2026; 1 IP address (1 host up) scanned in 0.72 seconds" elapsed="0.72" exit="success"/><hosts up="1" down="0" total="1"/>
</runstats>
</nmaprun>
"""

FW_SWEEP = """\
<nmaprun scanner="nmap" args="nmap -oX - -Pn -n -sS -p 1-65535 -T4 -&#45;max-retries 1 -&#45;min-rate 10000 192.0.2.2" version="7.93" xmloutputversion="1.05">
<scaninfo type="syn" protocol="tcp" numservices="65535" services="1-65535"/>
<host><status state="up" reason="arp-response" reason_ttl="0"/>
<address addr="192.0.2.2" addrtype="ipv4"/>
<ports><extraports state="filtered" count="65531">
<extrareasons reason="no-response" count="65531" proto="tcp" ports="1-52,54-464,466-994,996-2111,2113-65535"/>
</extraports>
<port protocol="tcp" portid="53"><state state="closed" reason="reset" reason_ttl="64"/><service name="domain" method="table" conf="3"/></port>
<port protocol="tcp" portid="465"><state state="open" reason="syn-ack" reason_ttl="64"/><service name="smtps" method="table" conf="3"/></port>
<port protocol="tcp" portid="995"><state state="open" reason="syn-ack" reason_ttl="64"/><service name="pop3s" method="table" conf="3"/></port>
<port protocol="tcp" portid="2112"><state state="open" reason="syn-ack" reason_ttl="64"/><service name="kip" method="table" conf="3"/></port>
</ports>
</host>
<runstats><finished time="1795630078" summary="Nmap done at Wed Nov 25 18:07:58 2026; 1 IP address (1 host up) scanned in 13.35 seconds" elapsed="13.35" exit="success"/><hosts up="1" down="0" total="1"/>
</runstats>
</nmaprun>
"""

UDP_SWEEP = """\
<nmaprun scanner="nmap" args="nmap -oX - -Pn -n -sU -p 1-2000 -T4 -&#45;max-retries 1 -&#45;min-rate 10000 192.0.2.2" version="7.93" xmloutputversion="1.05">
<scaninfo type="udp" protocol="udp" numservices="2000" services="1-2000"/>
<host><status state="up" reason="arp-response" reason_ttl="0"/>
<address addr="192.0.2.2" addrtype="ipv4"/>
<ports><extraports state="open|filtered" count="1993">
<extrareasons reason="no-response" count="1993" proto="udp" ports="1-52,54-156,158-341,343-1511,1513-1566,1568-1606,1608-1830,1832-2000"/>
</extraports>
<port protocol="udp" portid="53"><state state="open" reason="udp-response" reason_ttl="64"/><service name="domain" method="table" conf="3"/></port>
<port protocol="udp" portid="157"><state state="closed" reason="port-unreach" reason_ttl="64"/><service name="knet-cmp" method="table" conf="3"/></port>
<port protocol="udp" portid="342"><state state="closed" reason="port-unreach" reason_ttl="64"/></port>
<port protocol="udp" portid="1512"><state state="closed" reason="port-unreach" reason_ttl="64"/><service name="wins" method="table" conf="3"/></port>
<port protocol="udp" portid="1567"><state state="closed" reason="port-unreach" reason_ttl="64"/><service name="jlicelmd" method="table" conf="3"/></port>
<port protocol="udp" portid="1607"><state state="closed" reason="port-unreach" reason_ttl="64"/><service name="stt" method="table" conf="3"/></port>
<port protocol="udp" portid="1831"><state state="closed" reason="port-unreach" reason_ttl="64"/><service name="myrtle" method="table" conf="3"/></port>
</ports>
</host>
<runstats><finished time="1795630064" summary="Nmap done at Wed Nov 25 18:07:44 2026; 1 IP address (1 host up) scanned in 0.63 seconds" elapsed="0.63" exit="success"/><hosts up="1" down="0" total="1"/>
</runstats>
</nmaprun>
"""

IPPROTO_SWEEP = """\
<nmaprun scanner="nmap" args="nmap -oX - -Pn -n -sO -T4 -&#45;max-retries 1 -&#45;min-rate 1000 192.0.2.2" version="7.93" xmloutputversion="1.05">
<scaninfo type="ipproto" protocol="ip" numservices="256" services="0-255"/>
<host><status state="up" reason="arp-response" reason_ttl="0"/>
<address addr="192.0.2.2" addrtype="ipv4"/>
<ports><extraports state="open|filtered" count="253">
<extrareasons reason="no-response" count="253" proto="n/a" ports="0,2-5,7-161,163-255"/>
</extraports>
<port protocol="ip" portid="1"><state state="open" reason="echo-reply" reason_ttl="64"/>
<service name="icmp" conf="8" method="table"/></port>
<port protocol="ip" portid="6"><state state="open" reason="proto-response" reason_ttl="64"/>
<service name="tcp" conf="8" method="table"/></port>
<port protocol="ip" portid="162"><state state="closed" reason="proto-unreach" reason_ttl="64"/></port>
</ports>
</host>
<runstats><finished time="1795630064" summary="Nmap done at Wed Nov 25 18:07:44 2026; 1 IP address (1 host up) scanned in 0.73 seconds" elapsed="0.73" exit="success"/><hosts up="1" down="0" total="1"/>
</runstats>
</nmaprun>
"""


def test_full_tcp_sweep_lists_open_ports_with_reason_and_service():
    host = parse_nmap_xml(TCP_SWEEP)["hosts"][0]
    assert host["address"] == "192.0.2.2"
    assert host["open"][0] == {"port": 25, "proto": "tcp", "state": "open", "reason": "syn-ack",
                               "service": "smtp"}
    assert [p["port"] for p in host["open"]] == [25, 110, 465, 995, 2112]


def test_collapsed_closed_ports_are_counted_with_reason_and_ranges():
    closed = parse_nmap_xml(TCP_SWEEP)["hosts"][0]["states"]["closed"]
    assert closed["count"] == 65530
    assert closed["reasons"] == {"reset": 65530}
    assert closed["ports"].startswith("1-24,26-109")


def test_run_arguments_are_decoded_from_xml_entities():
    parsed = parse_nmap_xml(TCP_SWEEP)
    assert "--max-retries 1 --min-rate 10000" in parsed["args"]
    assert parsed["scans"] == [{"type": "syn", "protocol": "tcp", "services": "1-65535"}]
    assert parsed["finished"]["elapsed"] == 0.72


def test_drop_firewall_sweep_separates_filtered_from_closed():
    host = parse_nmap_xml(FW_SWEEP)["hosts"][0]
    assert [p["port"] for p in host["open"]] == [465, 995, 2112]
    assert host["states"]["filtered"]["count"] == 65531
    assert host["states"]["filtered"]["reasons"] == {"no-response": 65531}
    assert host["states"]["closed"] == {"count": 1, "reasons": {"reset": 1}, "ports": "53"}


def test_udp_sweep_keeps_only_answering_ports_as_open():
    host = parse_nmap_xml(UDP_SWEEP)["hosts"][0]
    assert host["open"] == [{"port": 53, "proto": "udp", "state": "open",
                             "reason": "udp-response", "service": "domain"}]
    assert host["states"]["open|filtered"]["count"] == 1993
    assert host["states"]["closed"]["count"] == 6
    assert port_in_ranges(1831, host["states"]["closed"]["ports"])


def test_ip_protocol_sweep_reports_protocol_numbers_and_names():
    host = parse_nmap_xml(IPPROTO_SWEEP)["hosts"][0]
    assert [(p["port"], p["proto"], p["service"]) for p in host["open"]] == [
        (1, "ip", "icmp"), (6, "ip", "tcp")]
    assert host["states"]["closed"]["ports"] == "162"
    assert host["states"]["open|filtered"]["count"] == 253


def test_port_in_ranges_reads_single_ports_and_spans():
    assert port_in_ranges(110, "1-24,26-109,110")
    assert port_in_ranges(50, "1-24,26-109")
    assert not port_in_ranges(25, "1-24,26-109")
    assert not port_in_ranges(5, "junk,,")


def test_a_list_of_fewer_ranges_than_the_limit_is_kept_however_long_its_text():
    ranges = ",".join(f"{p}-{p + 1}" for p in range(10000, 10000 + 3 * 250, 3))
    text = TCP_SWEEP.replace('ports="1-24,26-109,111-464,466-994,996-2111,2113-65535"',
                             f'ports="{ranges}"')
    closed = parse_nmap_xml(text)["hosts"][0]["states"]["closed"]
    assert len(ranges) > 300 and closed["ports"] == ranges


def test_long_range_lists_are_dropped_to_keep_the_fact_small():
    ranges = ",".join(str(p) for p in range(1, 2000, 2))
    text = TCP_SWEEP.replace('ports="1-24,26-109,111-464,466-994,996-2111,2113-65535"',
                             f'ports="{ranges}"')
    closed = parse_nmap_xml(text)["hosts"][0]["states"]["closed"]
    assert closed["ports"] is None
    assert closed["count"] == 65530


def test_empty_output_is_an_error():
    with pytest.raises(ValueError, match="no XML output"):
        parse_nmap_xml("")


def test_truncated_xml_is_an_error_not_a_crash():
    with pytest.raises(ValueError, match="malformed"):
        parse_nmap_xml(TCP_SWEEP[: len(TCP_SWEEP) // 2])


def test_xml_that_is_not_nmap_output_is_an_error():
    with pytest.raises(ValueError, match="root element is <html>"):
        parse_nmap_xml("<html><body>502</body></html>")


def test_ports_without_number_or_state_are_skipped_and_bad_counts_tolerated():
    text = """<nmaprun args="nmap x"><host><status state="up" reason="user-set"/>
    <address addr="192.0.2.9"/><ports><extraports state="closed" count="many"/>
    <port protocol="tcp" portid="abc"><state state="open" reason="syn-ack"/></port>
    <port protocol="tcp" portid="22"/>
    <port protocol="tcp" portid="80"><state state="open" reason="syn-ack"/></port>
    </ports></host></nmaprun>"""
    host = parse_nmap_xml(text)["hosts"][0]
    assert host["open"] == [{"port": 80, "proto": "tcp", "state": "open", "reason": "syn-ack",
                             "service": ""}]
    assert host["states"]["closed"] == {"count": 0, "reasons": {}, "ports": None}


def test_run_without_hosts_keeps_nmap_error_messages():
    text = ('<nmaprun args="nmap -sS nohost.invalid"><runstats><finished exit="error" '
            'errormsg="Failed to resolve &quot;nohost.invalid&quot;."/></runstats></nmaprun>')
    parsed = parse_nmap_xml(text)
    assert parsed["hosts"] == []
    assert parsed["finished"]["exit"] == "error"
    assert "Failed to resolve" in parsed["finished"]["errormsg"]
