"""The fleet's network view: a host's socket table joined with a sweep of its address
(audit/fleet_network.py), in fleet.json, its schema, the HTML page and the terminal summary.
Reports are built here as plain data; the real sweep runs in tests/test_fleet_ansible.py."""

import copy
import io
import json
import re
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from support import RootBuilder

from hostaudit import fleet_network
from hostaudit.cli import main
from hostaudit.reports import fleet_view

ADDRESS = "192.0.2.11"


def _listener(port, proto="tcp", address="0.0.0.0"):
    return {"proto": proto, "family": "ipv4", "address": address, "port": port, "pid": 100,
            "owner_known": True, "process": "srv", "user": "root"}


def _live_report(*listeners):
    return {"target": {"mode": "live", "modes": ["live"]},
            "facts": {"listeners": {"source": "socket table (psutil)", "as_uid": 0, "listeners": list(listeners)}}}


def _sweep(proto, open_ports, states=None, covered=None):
    return {"target": ADDRESS, "sweep": proto, "command": f"nmap -s{proto[0].upper()} {ADDRESS}",
            "covered": covered or f"{proto.upper()} ports 1-65535", "duration_s": 1.0, "host_status": "up",
            "open": [{"port": p, "proto": proto, "state": "open", "reason": "syn-ack", "service": s}
                     for p, s in open_ports],
            "states": states or {}}


def _net_report(tcp=None, udp=None, results=()):
    facts = {}
    if tcp is not None:
        facts["nmap_tcp"] = tcp
    if udp is not None:
        facts["nmap_udp"] = udp
    return {"schema_version": 1, "target": {"mode": "net", "address": ADDRESS, "vantage": "controller"},
            "facts": facts, "score": 50.0, "counts": {"pass": 1, "fail": 1},
            "timing": {"started": "2026-12-01T23:00:00+00:00"},
            "results": list(results) or [
                {"id": "net.tcp-ports", "status": "fail", "severity": "high", "message": "TCP ports open: 8022"},
                {"id": "net.ip-protocols", "status": "pass", "severity": "low", "message": "only allowed"}]}


def _join(host_report, net_report):
    return fleet_network.join(fleet_network.socket_table(host_report), net_report,
                              report_json="net/report.json", report_html=None)


CLOSED = {"closed": {"count": 65532, "reasons": {"reset": 65532}, "ports": "1-21,23-2524,2526-8021,8023-65535"}}


def test_a_port_open_on_the_wire_and_absent_from_the_table_is_wire_only():
    view = _join(_live_report(_listener(22)), _net_report(tcp=_sweep("tcp", [(22, "ssh"), (8022, "")], CLOSED)))
    assert [(p["port"], p["proto"]) for p in view["wire_only"]] == [(8022, "tcp")]
    assert "NAT/port forward" in view["wire_only"][0]["note"]
    assert view["both"] == ["22/tcp"]


def test_a_listener_the_firewall_drops_is_table_only_and_called_filtered():
    states = {**CLOSED, "filtered": {"count": 1, "reasons": {"no-response": 1}, "ports": "2525"}}
    view = _join(_live_report(_listener(22), _listener(2525)), _net_report(tcp=_sweep("tcp", [(22, "ssh")], states)))
    assert view["wire_only"] == []
    [entry] = view["table_only"]
    assert (entry["port"], entry["wire"], entry["verdict"]) == (2525, "filtered", "filtered")
    assert "fine if intended" in entry["note"]


def test_a_loopback_listener_is_not_expected_on_the_wire():
    view = _join(_live_report(_listener(25, address="127.0.0.1"), _listener(25, address="::1")),
                 _net_report(tcp=_sweep("tcp", [], CLOSED)))
    [entry] = view["table_only"]
    assert entry["verdict"] == "loopback" and entry["addresses"] == ["127.0.0.1", "::1"]


def test_a_listener_bound_to_another_address_is_said_to_be_elsewhere():
    view = _join(_live_report(_listener(2526, address="10.9.9.9")), _net_report(tcp=_sweep("tcp", [], CLOSED)))
    assert view["table_only"][0]["verdict"] == "elsewhere"


def test_a_listener_the_wire_finds_closed_is_table_only_and_called_closed():
    view = _join(_live_report(_listener(3000)), _net_report(tcp=_sweep("tcp", [], CLOSED)))
    assert (view["table_only"][0]["wire"], view["table_only"][0]["verdict"]) == ("closed", "closed")


def test_a_silent_udp_listener_is_silent_not_missing():
    states = {"open|filtered": {"count": 2, "reasons": {"no-response": 2}, "ports": "53,5514"}}
    view = _join(_live_report(_listener(5514, "udp")), _net_report(tcp=_sweep("tcp", [], CLOSED),
                                                                   udp=_sweep("udp", [], states)))
    [entry] = view["table_only"]
    assert (entry["proto"], entry["wire"], entry["verdict"]) == ("udp", "open|filtered", "silent")


def test_a_port_outside_the_swept_ranges_has_an_unknown_wire_state():
    states = {"open|filtered": {"count": 1, "reasons": {}, "ports": "53"}}
    view = _join(_live_report(_listener(5514, "udp")), _net_report(tcp=_sweep("tcp", [], CLOSED),
                                                                   udp=_sweep("udp", [], states, "UDP ports 53")))
    assert view["table_only"][0]["verdict"] == "unknown"


def test_a_protocol_whose_sweep_failed_is_not_compared_and_says_why():
    net = _net_report(tcp=_sweep("tcp", [], CLOSED), udp={"error": "the UDP sweep (nmap -sU) needs root on the vantage point"})
    view = _join(_live_report(_listener(5514, "udp"), _listener(22)), net)
    assert [p["port"] for p in view["table_only"]] == [22]  # 5514/udp: no UDP sweep to hold it against
    udp = next(s for s in view["sweeps"] if s["proto"] == "udp")
    assert "needs root" in udp["error"]


def test_an_image_audit_has_no_socket_table_and_keeps_the_wire_results():
    view = _join({"target": {"mode": "image", "modes": ["image"]}, "facts": {}},
                 _net_report(tcp=_sweep("tcp", [(8022, "")], CLOSED)))
    assert view["socket_table"] == {"state": "unavailable",
                                    "reason": "the host's audit was in image mode: no running socket table"}
    assert view["wire_only"] == [] and view["table_only"] == []
    assert [(c["id"], c["status"]) for c in view["controls"]] == [("net.tcp-ports", "fail"), ("net.ip-protocols", "pass")]


def test_an_unreadable_socket_table_is_unavailable_not_empty():
    report = {"target": {"mode": "live", "modes": ["live"]},
              "facts": {"listeners": {"error": "the socket table is not readable as uid 1000"}}}
    sockets = fleet_network.socket_table(report)
    assert sockets["state"] == "unavailable" and "not readable as uid 1000" in sockets["reason"]


def test_a_malformed_listener_from_a_hostile_bundle_is_unavailable_not_empty():
    report = _live_report({"proto": "tcp", "address": "0.0.0.0", "port": "lots"})
    assert fleet_network.socket_table(report)["state"] == "unavailable"


# --- through `hostaudit fleet` -------------------------------------------------------------

def _run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def swept_fleet(tmp_path):
    """Hosts ``live`` (a live report with a socket table; swept), ``image`` (an image audit;
    swept), ``timedout`` (its sweep failed) and ``plain`` (not swept)."""
    root = RootBuilder(tmp_path / "tree")
    root.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n")
    fleet = tmp_path / "fetched"
    (fleet / "image").mkdir(parents=True)
    code, _, err = _run("scan", "--root", root.path, "-o", fleet / "image", "--format", "json", "-q",
                        "--only", "accounts.", "--only", "net.tcp-ports")
    assert code == 0, err
    image = json.loads((fleet / "image" / "report.json").read_text())
    live = copy.deepcopy(image)
    live["target"].update(mode="live", kind="live", modes=["live"], root="/")
    live["facts"]["listeners"] = _live_report(_listener(22), _listener(2525), _listener(25, address="127.0.0.1"))["facts"]["listeners"]
    for name, report in (("live", live), ("timedout", image), ("plain", image)):
        (fleet / name).mkdir(exist_ok=True)
        (fleet / name / "report.json").write_text(json.dumps(report))
    states = {**CLOSED, "filtered": {"count": 1, "reasons": {"no-response": 1}, "ports": "2525"}}
    for name in ("live", "image"):
        (fleet / name / "net").mkdir()
        net = {**image, **_net_report(tcp=_sweep("tcp", [(22, "ssh"), (8022, "<script>x</script>")], states))}
        (fleet / name / "net" / "report.json").write_text(json.dumps(net))
    (fleet / "broken" / "net").mkdir(parents=True)
    (fleet / "broken" / "not-audited.json").write_text(json.dumps({"state": "failed", "reason": "collect failed"}))
    (fleet / "broken" / "net" / "report.json").write_text((fleet / "live" / "net" / "report.json").read_text())
    (fleet / "timedout" / "net").mkdir()
    (fleet / "timedout" / "net" / "not-audited.json").write_text(json.dumps(
        {"state": "failed", "reason": "the sweep ran out of its 1 s (hostaudit_sweep_timeout)"}))
    out = tmp_path / "out"
    out.mkdir()
    code, stdout, err = _run("fleet", fleet, "-o", out)
    assert code == 0, err
    return {"fleet": json.loads((out / "fleet.json").read_text()), "stdout": stdout,
            "html": (out / "fleet.html").read_text(), "dir": fleet, "out": out}


def _host(fleet, name):
    return next(h for h in fleet["hosts"] if h["name"] == name)


def test_the_live_host_row_joins_its_socket_table_with_the_wire(swept_fleet):
    view = _host(swept_fleet["fleet"], "live")["network"]
    assert [(p["port"], p["proto"]) for p in view["wire_only"]] == [(8022, "tcp")]
    assert {(p["port"], p["verdict"]) for p in view["table_only"]} == {(2525, "filtered"), (25, "loopback")}
    assert view["report_json"] == "../fetched/live/net/report.json"
    assert {(c["id"], c["status"]) for c in view["controls"]} >= {("net.tcp-ports", "fail")}


def test_a_failed_sweep_marks_only_the_network_part_not_audited(swept_fleet):
    fleet = swept_fleet["fleet"]
    assert _host(fleet, "timedout")["network"] == {
        "state": "failed", "reason": "the sweep ran out of its 1 s (hostaudit_sweep_timeout)"}
    assert _host(fleet, "timedout")["score"] == _host(fleet, "plain")["score"]
    assert [e["name"] for e in fleet["not_audited"]] == ["broken"]
    assert fleet["summary"]["network"] == {"swept": 3, "failed": 1, "compared": 1, "wire_only_hosts": ["live"]}


def test_a_host_not_audited_keeps_its_sweep_without_a_comparison(swept_fleet):
    [broken] = swept_fleet["fleet"]["not_audited"]
    view = broken["network"]
    assert view["state"] == "swept" and view["wire_only"] == []
    assert view["socket_table"] == {"state": "unavailable", "reason": "the host itself was not audited (failed)"}
    assert re.search(r'<tr class="network" id="net-broken".*?not compared: the host itself was not audited',
                     swept_fleet["html"], re.S)


def test_a_host_not_swept_has_no_network_view(swept_fleet):
    assert "network" not in _host(swept_fleet["fleet"], "plain")


def test_the_fleet_report_with_network_views_matches_its_schema(swept_fleet):
    fleet_view.validate(swept_fleet["fleet"])
    broken = copy.deepcopy(swept_fleet["fleet"])
    _host(broken, "live")["network"]["table_only"][0]["verdict"] = "fine"
    with pytest.raises(fleet_view.ReportInvalid):
        fleet_view.validate(broken)


def test_a_malformed_net_report_marks_only_the_network_part_failed(swept_fleet, tmp_path):
    (swept_fleet["dir"] / "live" / "net" / "report.json").write_text('{"schema_version": 1, "target": [')
    code, _, err = _run("fleet", swept_fleet["dir"], "-o", swept_fleet["out"], "--format", "json")
    assert code == 0, err
    fleet = json.loads((swept_fleet["out"] / "fleet.json").read_text())
    view = _host(fleet, "live")["network"]
    assert view["state"] == "failed" and view["reason"].startswith("bad net report")
    assert _host(fleet, "live")["score"] is not None


def test_the_html_page_shows_the_wire_cell_and_the_network_view(swept_fleet):
    page = swept_fleet["html"]
    row = re.search(r'<tr class="host" data-host="live">(.*?)</tr>', page, re.S).group(1)
    assert re.search(r'data-section="wire"><a href="#net-live">50<', row)
    assert re.search(r'data-host="timedout">.*?data-section="wire" title="the sweep ran out[^"]*">not audited<',
                     page, re.S)
    net = re.search(r'<tr class="network" id="net-live".*?</tr>', page, re.S).group(0)
    assert "8022/tcp" in net and 'data-verdict="filtered">2525/tcp on 0.0.0.0, filtered on the wire' in net
    assert "<script>x" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    image = re.search(r'<tr class="network" id="net-image".*?</tr>', page, re.S).group(0)
    assert "not compared: the host&#39;s audit was in image mode" in image


def test_the_terminal_summary_names_wire_only_ports_and_failed_sweeps(swept_fleet):
    out = swept_fleet["stdout"]
    assert "network: 3 swept, 1 sweep(s) failed, 1 compared with their socket table" in out
    assert "  live: open on the wire, not in its socket table: 8022/tcp" in out
    assert "  timedout: sweep not audited: the sweep ran out of its 1 s" in out


def test_the_playbook_sweeps_nothing_unless_asked_and_only_the_inventory_address():
    import yaml

    role = Path(__file__).resolve().parent.parent / "contrib" / "ansible" / "roles" / "hostaudit"
    defaults = yaml.safe_load((role / "defaults" / "main.yml").read_text())
    assert defaults["hostaudit_network_sweep"] is False and defaults["hostaudit_scanner"] == "localhost"
    include = next(t for t in yaml.safe_load((role / "tasks" / "main.yml").read_text())
                   if t.get("ansible.builtin.include_tasks") == "sweep.yml")
    assert include["when"].startswith("hostaudit_network_sweep | bool")
    assert include["vars"] == {"hostaudit_sweep_address": "{{ ansible_host | default(inventory_hostname) }}"}
    sweep = yaml.safe_load((role / "tasks" / "sweep.yml").read_text())
    argv = next(t for t in sweep[1]["block"] if "ansible.builtin.command" in t)["ansible.builtin.command"]["argv"]
    assert "'timeout', '--kill-after=10', hostaudit_sweep_timeout" in argv
    assert "'--target', hostaudit_sweep_address," in argv


def test_a_credential_quoted_by_a_failed_sweeps_marker_is_redacted(tmp_path):
    fleet = tmp_path / "fetched"
    (fleet / "mail1" / "net").mkdir(parents=True)
    (fleet / "mail1" / "not-audited.json").write_text(json.dumps({"state": "unreachable", "reason": "ssh"}))
    (fleet / "mail1" / "net" / "not-audited.json").write_text(json.dumps(
        {"state": "failed", "reason": "nmap --script-args http.password=Sw0rdfish1 failed"}))
    out = tmp_path / "out"
    out.mkdir()
    code, _, err = _run("fleet", fleet, "-o", out)
    assert code == 0, err
    assert "Sw0rdfish1" not in (out / "fleet.json").read_text() + (out / "fleet.html").read_text()
