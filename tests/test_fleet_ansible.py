"""contrib/ansible: a real ansible-playbook run over SSH hosts in network namespaces.

Three hosts differ by the root tree they collect from (hardened; drifted: databytes raised
and an extra account; a default install), a fourth fails its collection, a fifth is an
address in the lab where nothing answers, and a sixth (``live``) collects its own socket
table. sshd and Python are the machine's own; each host runs its own sshd in its own
namespace, reached from a controller namespace where ansible-playbook runs
(tests/fleet_lab.py).

The run has the network sweep on (``hostaudit_network_sweep``): the controller sweeps each
reachable host's lab address (192.0.2.11-14, nothing else) with ``hostaudit scan --target``
from inside the controller namespace. ``live`` has a listener its firewall drops, one on
loopback, a UDP service and a port redirected to sshd (open on the wire, absent from its
socket table); drifted's sweep is given 1 s and runs out of it.
"""

from __future__ import annotations

import glob
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from fleet_lab import FleetLab, host_address, tools_missing
from support import RootBuilder

REPO = Path(__file__).resolve().parent.parent
PLAYBOOK = REPO / "contrib" / "ansible" / "fleet-audit.yml"
BIN = Path(sys.executable).parent
UNREACHABLE = "192.0.2.99"  # in the lab's network, and nothing there

# About two minutes (four venvs installed over SSH on a shared machine): slow.
pytestmark = [pytest.mark.root, pytest.mark.slow]

PASSWD = ("root:x:0:0:root:/root:/bin/bash\nalias:x:200:200::/var/qmail/alias:/bin/false\n"
          "qmaild:x:201:200::/var/qmail:/bin/false\ntony:x:1000:10::/home/tony:/bin/bash\n")
GROUP = "root:x:0:\nwheel:x:10:tony\nqmail:x:200:\nnofiles:x:201:\n"


def _tree(path: Path, *, databytes: str | None, extra: str = "") -> Path:
    root = RootBuilder(path)
    root.write("/etc/passwd", PASSWD + extra)
    root.write("/etc/group", GROUP)
    if databytes is not None:
        root.write("/var/qmail/control/databytes", f"{databytes}\n")
    return path


def _default_tree(path: Path) -> Path:
    root = RootBuilder(path)
    root.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\ngames:x:5:60:games:/usr/games:/usr/sbin/nologin\n"
               "news:x:9:9:news:/var/spool/news:/usr/sbin/nologin\n")
    root.write("/etc/group", "root:x:0:\ngames:x:60:\nnews:x:9:\n")
    return path


def _wheelhouse(path: Path) -> Path:
    """The site's mirror: the package's dependencies (and the build backend) as wheels, so the
    hosts install with --no-index (the lab has no route to an index)."""
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    build = tomllib.loads((REPO / "pyproject.toml").read_text())["build-system"]["requires"]
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "-w", str(path), *deps, *build],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return path


HOSTS = ("hardened", "drifted", "default", "broken")
LIVE = 3  # the lab host index of ``live``
# ``live``'s own services: the sweep must tell each apart from the socket table.
_TCP = "import socket,sys,time\ns=socket.socket();s.bind((sys.argv[1],int(sys.argv[2])));s.listen();time.sleep(3600)"
_UDP = ("import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(('0.0.0.0',int(sys.argv[1])))\n"
        "while True:\n d,p=s.recvfrom(2048);s.sendto(b'pong',p)")
LIVE_FIREWALL = [
    ["-A", "INPUT", "-p", "tcp", "--dport", "2525", "-j", "DROP"],                            # filtered
    ["-t", "nat", "-A", "PREROUTING", "-p", "tcp", "--dport", "8022", "-j", "REDIRECT", "--to-ports", "22"],
]


def _live_services(lab: FleetLab, work: Path) -> None:
    """``live``'s listeners, started in its namespace (FleetLab.close kills them by PID)."""
    ns = lab.hosts[LIVE]
    for label, argv, port, proto in (("tcp2525", [sys.executable, "-c", _TCP, "0.0.0.0", "2525"], 2525, "tcp"),
                                     ("tcp2526", [sys.executable, "-c", _TCP, "127.0.0.1", "2526"], 2526, "tcp"),
                                     ("udp5514", [sys.executable, "-c", _UDP, "5514"], 5514, "udp")):
        log = work / f"live-{label}.log"
        ns.wait_listening(port, proto, proc=ns.spawn(argv, log=log), log=log)
    for rule in LIVE_FIREWALL:
        ns.run(["iptables", *rule], timeout=10)


@pytest.fixture(scope="module")
def fleet_run(tmp_path_factory, request):
    """One playbook run over the lab; yields what the tests read. Cleans up on failure too."""
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces, sshd)")
    if tools_missing() or not (BIN / "ansible-playbook").exists():
        pytest.skip(f"missing: {tools_missing() or ['ansible-playbook (pip install .[test])']}")
    work = tmp_path_factory.mktemp("fleet")
    os.chmod(work, 0o755)
    trees = {
        "hardened": _tree(work / "trees/hardened", databytes="5000000"),
        "drifted": _tree(work / "trees/drifted", databytes="50000000",
                         extra="games:x:5:60:games:/usr/games:/usr/sbin/nologin\n"),
        "default": _default_tree(work / "trees/default"),
    }
    house = _wheelhouse(work / "wheelhouse")
    lab = FleetLab(work, count=4)
    request.addfinalizer(lab.close)
    _live_services(lab, work)
    addresses = {"hardened": host_address(0), "drifted": host_address(1), "default": host_address(2),
                 "broken": host_address(0), "lost": UNREACHABLE, "live": host_address(LIVE)}
    hosts = {}
    for name, address in addresses.items():
        hosts[name] = {"ansible_host": address, "hostaudit_venv": str(work / "targets" / name / "venv")}
        if name in trees:
            hosts[name]["hostaudit_collect_args"] = ["--root", str(trees[name])]
    hosts["broken"]["hostaudit_collect_args"] = ["--root", str(work / "trees/missing")]
    hosts["default"]["hostaudit_cleanup"] = True
    hosts["default"]["hostaudit_evaluate_per_host"] = False  # the fleet step evaluates its bundle
    # A live collection of the socket table only (the whole baseline would read the machine).
    hosts["live"]["hostaudit_collect_args"] = ["--only", "net.tcp-ports,net.udp-ports"]
    hosts["drifted"]["hostaudit_sweep_timeout"] = 1      # runs out of time: only its network part fails
    hosts["broken"]["hostaudit_network_sweep"] = False   # the same address as hardened: swept once
    inventory = {"all": {"hosts": hosts, "vars": {
        "ansible_user": "root",
        "ansible_python_interpreter": "/usr/bin/python3",
        "ansible_ssh_private_key_file": str(lab.client_key),
        "hostaudit_controller_bin": str(BIN / "hostaudit"),
        "hostaudit_fetch_dir": str(work / "fetched"),
        "hostaudit_report_dir": str(work / "fleet"),
        "hostaudit_state_dir": str(work / "state"),
        "hostaudit_pip_args": ["--no-index", "--find-links", str(house)],
        "hostaudit_wheel_build_args": ["--no-index", "--find-links", str(house)],
        # Swept from the controller namespace; UDP narrowed to keep the run short.
        "hostaudit_network_sweep": True,
        "hostaudit_sweep_timeout": 240,
        "hostaudit_sweep_args": ["--udp-ports", "1-1024,5514"],
        # One at a time: on this loaded 2-core machine, parallel sweeps lose replies.
        "hostaudit_sweeps_at_once": 1,
    }}}
    (work / "inventory.json").write_text(json.dumps(inventory))
    (work / "fleet").mkdir()
    env = {
        "PATH": f"{BIN}:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(work), "LANG": "C.UTF-8",
        "ANSIBLE_CONFIG": str(work / "ansible.cfg"), "ANSIBLE_HOME": str(work / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(work / "ansible-local"), "ANSIBLE_HOST_KEY_CHECKING": "False",
        # No ControlPersist master outlives the run; a dead address fails within 5 s.
        "ANSIBLE_SSH_ARGS": "-o ControlMaster=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5",
        "ANSIBLE_TIMEOUT": "5", "ANSIBLE_PIPELINING": "True", "ANSIBLE_NOCOLOR": "1",
        # HOSTAUDIT_TEST_FORKS=1 measures the same run without parallel hosts (README figures).
        "ANSIBLE_FORKS": os.environ.get("HOSTAUDIT_TEST_FORKS", "6"), "ANSIBLE_RETRY_FILES_ENABLED": "False",
    }
    (work / "ansible.cfg").write_text("[defaults]\n")

    def play(*extra: str, timeout: float = 600):
        done, seconds = lab.run_in_controller([str(BIN / "ansible-playbook"), "-i", str(work / "inventory.json"),
                                               str(PLAYBOOK), *extra], env=env, timeout=timeout, cwd=str(work))
        with open(work / "ansible.log", "a") as log:  # kept with the test's temp dir, for a failure
            log.write(f"$ ansible-playbook {' '.join(extra)}  ({seconds:.1f} s, rc {done.returncode})\n"
                      f"{done.stdout}\n{done.stderr}\n")
        return done, seconds

    done, seconds = play()
    yield {"work": work, "trees": trees, "done": done, "seconds": seconds, "play": play,
           }


def _recap(output: str) -> dict[str, dict[str, int]]:
    return {m.group(1): {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
            for m in re.finditer(r"^(\S+)\s+:\s+(ok=.*)$", output, re.M)}


def _fleet(run) -> dict:
    return json.loads((run["work"] / "fleet" / "fleet.json").read_text())


def test_the_playbook_runs_and_no_host_fails_the_play(fleet_run):
    done = fleet_run["done"]
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    recap = _recap(done.stdout)
    assert recap["lost"]["ignored"] == 1 and recap["broken"]["rescued"] == 1  # unreachable, ignored
    assert all(recap[h]["failed"] == 0 for h in recap)


def test_the_fleet_report_shows_the_three_hosts_as_they_differ(fleet_run):
    fleet = _fleet(fleet_run)
    assert [h["name"] for h in fleet["hosts"]] == ["default", "drifted", "hardened", "live"]
    statuses = {}
    for name in ("hardened", "drifted"):
        report = json.loads((fleet_run["work"] / "fetched" / name / "report.json").read_text())
        statuses[name] = {r["id"]: r["status"] for r in report["results"]}
    moved = {cid for cid in statuses["hardened"] if statuses["hardened"][cid] != statuses["drifted"][cid]}
    assert moved == {"mail.databytes", "accounts.removed-users"}
    assert (statuses["hardened"]["mail.databytes"], statuses["drifted"]["mail.databytes"]) == ("pass", "fail")
    failing = sorted(h["name"] for h in fleet["hosts"] if "accounts.removed-users" in h["failed"])
    assert failing == ["default", "drifted"]
    scores = {h["name"]: h["score"] for h in fleet["hosts"]}
    assert scores["hardened"] > scores["drifted"] > scores["default"]


def test_the_unreachable_and_the_failed_host_are_listed_as_such(fleet_run):
    not_audited = {e["name"]: e for e in _fleet(fleet_run)["not_audited"]}
    assert set(not_audited) == {"lost", "broken"}
    assert not_audited["lost"]["state"] == "unreachable" and "ssh" in not_audited["lost"]["reason"].lower()
    assert not_audited["broken"]["state"] == "failed"
    assert "root directory does not exist" in not_audited["broken"]["reason"]


def test_each_host_report_is_linked_and_the_page_names_the_unreachable_host(fleet_run):
    page = (fleet_run["work"] / "fleet" / "fleet.html").read_text()
    assert 'href="../fetched/drifted/report.html"' in page
    assert (fleet_run["work"] / "fetched" / "drifted" / "report.html").is_file()
    # Not evaluated per host: the fleet step evaluated its bundle and wrote its reports.
    assert 'href="hosts/default/report.html"' in page
    assert (fleet_run["work"] / "fleet" / "hosts" / "default" / "report.html").is_file()
    assert '<td class="name">lost</td><td class="poor">unreachable</td>' in page


def test_evaluate_of_the_fetched_bundle_equals_scan_of_the_same_tree(fleet_run, tmp_path):
    done = subprocess.run([str(BIN / "hostaudit"), "scan", "--root", str(fleet_run["trees"]["drifted"]),
                           "--format", "json", "-o", str(tmp_path), "-q"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    scanned = json.loads((tmp_path / "report.json").read_text())
    fetched = json.loads((fleet_run["work"] / "fetched" / "drifted" / "report.json").read_text())

    def verdicts(report):
        return [(r["id"], r["status"], r["message"], r["evidence"]) for r in report["results"]]

    assert verdicts(fetched) == verdicts(scanned)


def test_targets_keep_only_the_installed_package_or_nothing_with_cleanup(fleet_run):
    targets = fleet_run["work"] / "targets"
    assert (targets / "hardened" / "venv" / "bin" / "hostaudit").exists()
    assert not (targets / "default" / "venv").exists()  # hostaudit_cleanup: true
    # The playbook's temporary directories on the hosts (tempfile: /tmp/ansible.*.hostaudit*).
    assert glob.glob("/tmp/ansible.*hostaudit*") == []


def test_a_second_run_in_check_mode_with_limit_changes_nothing(fleet_run):
    fleet_json = fleet_run["work"] / "fleet" / "fleet.json"
    before = fleet_json.stat().st_mtime_ns
    done, _ = fleet_run["play"]("--check", "--limit", "hardened,lost")
    assert done.returncode == 0, done.stdout[-4000:]
    recap = _recap(done.stdout)
    assert set(recap) == {"hardened", "lost"}
    assert recap["hardened"]["changed"] == 0 and recap["lost"]["ignored"] == 1
    assert fleet_json.stat().st_mtime_ns == before


def _network(run, name) -> dict:
    fleet = _fleet(run)
    return next(h for h in fleet["hosts"] + fleet["not_audited"] if h["name"] == name).get("network")


def test_the_sweep_finds_the_redirected_port_missing_from_the_live_hosts_socket_table(fleet_run):
    view = _network(fleet_run, "live")
    assert view["state"] == "swept" and view["address"] == host_address(LIVE)
    assert view["socket_table"]["state"] == "read"
    assert [(p["port"], p["proto"]) for p in view["wire_only"]] == [(8022, "tcp")]
    assert set(view["both"]) == {"22/tcp", "5514/udp"}


def test_listeners_the_wire_does_not_reach_are_named_with_why(fleet_run):
    table_only = {(p["port"], p["proto"]): (p["wire"], p["verdict"]) for p in _network(fleet_run, "live")["table_only"]}
    assert table_only == {(2525, "tcp"): ("filtered", "filtered"), (2526, "tcp"): ("closed", "loopback")}


def test_the_live_hosts_row_carries_its_net_control_results(fleet_run):
    controls = {c["id"]: c for c in _network(fleet_run, "live")["controls"]}
    assert controls["net.tcp-ports"]["status"] == "fail" and "8022" in controls["net.tcp-ports"]["message"]
    page = (fleet_run["work"] / "fleet" / "fleet.html").read_text()
    assert re.search(r'<tr class="network" id="net-live".*?8022/tcp.*?</tr>', page, re.S)
    assert (fleet_run["work"] / "fetched" / "live" / "net" / "report.html").is_file()


def test_a_sweep_out_of_time_marks_only_that_part_and_leaves_no_scanner_behind(fleet_run):
    import psutil

    view = _network(fleet_run, "drifted")
    assert view == {"state": "failed", "reason": "the sweep ran out of its 1 s (hostaudit_sweep_timeout)"}
    assert "drifted" in [h["name"] for h in _fleet(fleet_run)["hosts"]]
    left = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if host_address(1) in cmdline and ("nmap" in cmdline or "--target" in cmdline):
            left.append(cmdline)
    assert left == []


def test_image_hosts_are_swept_but_not_compared_and_only_lab_addresses_are_swept(fleet_run):
    fleet = _fleet(fleet_run)
    hardened = _network(fleet_run, "hardened")
    assert hardened["state"] == "swept" and hardened["socket_table"]["state"] == "unavailable"
    assert "image mode" in hardened["socket_table"]["reason"] and hardened["wire_only"] == []
    swept = {h["network"]["address"] for h in fleet["hosts"] if h.get("network", {}).get("state") == "swept"}
    assert swept == {host_address(0), host_address(2), host_address(LIVE)}
    assert fleet["summary"]["network"] == {"swept": 3, "failed": 1, "compared": 1, "wire_only_hosts": ["live"]}


def test_the_unreachable_host_is_listed_and_not_swept(fleet_run):
    not_audited = {e["name"]: e for e in _fleet(fleet_run)["not_audited"]}
    assert not_audited["lost"]["state"] == "unreachable" and "network" not in not_audited["lost"]
    assert "network" not in not_audited["broken"]  # hostaudit_network_sweep: false for this host
