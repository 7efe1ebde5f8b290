"""The /proc readers give the same listeners and processes facts as psutil, on real sockets.

A driver runs inside a network namespace the test creates, as PID 1 of a new PID namespace
(so /proc holds only what the test started), starts real servers there, then collects both
facts twice in subprocesses: once with psutil, once where ``import psutil`` fails, as on a
Python it was never installed for. Leaving the PID namespace kills whatever the driver
started; the network namespace is deleted afterwards, also when the test fails.
"""

import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from netns import Namespace

pytestmark = pytest.mark.root

ADDR = "192.0.2.10"
_REPO = Path(__file__).resolve().parent.parent

# "proc" collects as a Python without psutil does: importing it fails (a None entry in
# sys.modules makes ``import psutil`` raise ImportError), so the probe module sets it to None.
_COLLECT = """
import json, sys
if sys.argv[1] == "proc":
    sys.modules["psutil"] = None
from hostaudit.facts import collect
from hostaudit.host import LiveHost
from hostaudit.probes import sockets
from hostaudit.registry import load_all
load_all()
assert (sockets.psutil is None) == (sys.argv[1] == "proc")
host = LiveHost()
print(json.dumps(collect(host, ["listeners", "processes"], mode=host.mode, modes=host.modes).serialisable()))
"""
# A daemon with a name only the kernel's escaping keeps apart (backslash, newline, tab),
# listening on ::1 with a real uid other than its effective one.
_ODD = r"""
import os, socket, time
t = socket.socket(socket.AF_INET6); t.bind(("::1", 8080)); t.listen()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 5353))
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); c.bind(("127.0.0.1", 40000)); c.connect(("127.0.0.1", 53))
e = socket.create_connection((os.environ["ADDR"], 8000), timeout=5)
with open("/proc/self/comm", "w") as comm:
    comm.write("qmail-\\x\n\t0")
os.setresgid(65534, 0, 0)
os.setresuid(65534, 0, 0)
# Bound last: once it is seen, the name and ids above are set.
u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u6.bind(("::1", 5354))
time.sleep(120)
"""
# One listening socket held by a parent and its forked child, both named sshd.
_FORKED = r"""
import os, socket, time
s = socket.socket(); s.bind(("0.0.0.0", 2112))
with open("/proc/self/comm", "w") as comm:
    comm.write("sshd")
if os.fork() == 0:
    s.listen()  # listening only once the child exists
time.sleep(120)
"""
_DRIVER = r"""
import json, os, subprocess, sys, time
repo, addr, work, collect, odd, forked = sys.argv[1:7]
env = dict(os.environ, PYTHONPATH=repo, ADDR=addr)
started = {}

def start(label, argv):
    started[label] = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, cwd=work, env=env)

def wait(flag, port):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if subprocess.run(["ss", flag, f"sport = :{port}"], capture_output=True, text=True,
                          timeout=5).stdout.strip():
            return
        time.sleep(0.05)
    raise SystemExit(f"nothing listens on port {port}")

try:
    start("http", [sys.executable, "-m", "http.server", "--bind", addr, "8000"])
    wait("-ltnH", 8000)
    start("tcpserver", ["tcpserver", "-u", "65534", "-g", "65534", addr, "25", "true"])
    start("wrapper", [os.path.join(work, "qmail-smtpd-wrapper"), "-u", "65534", "-g", "65534",
                      addr, "465", "true"])
    start("odd", [sys.executable, "-c", odd])
    start("forked", [sys.executable, "-c", forked])
    for flag, port in (("-ltnH", 25), ("-ltnH", 465), ("-ltnH", 8080), ("-ltnH", 2112),
                       ("-lunH", 5353), ("-lunH", 5354)):
        wait(flag, port)
    facts = {}
    for way in ("psutil", "proc"):
        done = subprocess.run([sys.executable, "-c", collect, way], capture_output=True, text=True,
                              timeout=60, env=env)
        if done.returncode:
            raise SystemExit(done.stderr[-3000:])
        facts[way] = json.loads(done.stdout)
    print(json.dumps({"facts": facts, "pids": {k: p.pid for k, p in started.items()}}))
finally:
    for proc in started.values():
        proc.kill()
        proc.wait(timeout=5)
"""


@pytest.fixture(scope="module")
def namespace():
    """A fresh network namespace with lo up and 192.0.2.10 on it; deleted after the tests."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    missing = [tool for tool in ("ip", "ss", "tcpserver", "unshare") if not shutil.which(tool)]
    if missing:
        pytest.skip(f"missing tools: {', '.join(missing)}")
    ns = Namespace(f"ha-p{secrets.token_hex(3)}")
    subprocess.run(["ip", "netns", "add", ns.name], check=True, capture_output=True, timeout=10)
    try:
        ns.run(["ip", "link", "set", "lo", "up"], timeout=10)
        ns.run(["ip", "addr", "add", f"{ADDR}/24", "dev", "lo"], timeout=10)
        yield ns
    finally:
        ns.close()


@pytest.fixture(scope="module")
def both_ways(namespace, tmp_path_factory):
    """Facts collected with psutil and from /proc, and the driver's pids of its servers (one
    lab run for the module: the tests below read different parts of its result)."""
    tmp_path = tmp_path_factory.mktemp("proc-lab")
    (tmp_path / "qmail-smtpd-wrapper").symlink_to(shutil.which("tcpserver"))
    tmp_path.chmod(0o755)
    # --kill-child: if the wait below times out and kills unshare, PID 1 of the namespace
    # dies with it, and the kernel kills everything the driver started.
    done = namespace.run(["unshare", "--pid", "--fork", "--kill-child", "--mount-proc",
                          sys.executable, "-c", _DRIVER, str(_REPO), ADDR, str(tmp_path),
                          _COLLECT, _ODD, _FORKED], timeout=90, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def _without_source(fact):
    return {key: value for key, value in fact.items() if key != "source"}


def test_listeners_from_proc_equal_those_from_psutil(both_ways):
    psutil_fact, proc_fact = (both_ways["facts"][way]["listeners"] for way in ("psutil", "proc"))
    assert psutil_fact["source"] == "socket table (psutil)"
    assert proc_fact["source"] == "socket table (/proc)"
    assert _without_source(proc_fact) == _without_source(psutil_fact)


def test_the_compared_listeners_hold_every_case_the_lab_built(both_ways):
    pids = both_ways["pids"]
    entries = {(e["proto"], e["family"], e["address"], e["port"]): e
               for e in both_ways["facts"]["proc"]["listeners"]["listeners"]}
    # The connected UDP socket and both ends of the TCP connection are not listeners.
    assert sorted(entries) == [
        ("tcp", "ipv4", "0.0.0.0", 2112), ("tcp", "ipv4", ADDR, 25), ("tcp", "ipv4", ADDR, 465),
        ("tcp", "ipv4", ADDR, 8000), ("tcp", "ipv6", "::1", 8080),
        ("udp", "ipv4", "0.0.0.0", 5353), ("udp", "ipv6", "::1", 5354)]
    assert entries[("tcp", "ipv4", ADDR, 8000)]["pid"] == pids["http"]
    assert (entries[("tcp", "ipv4", ADDR, 25)]["process"], entries[("tcp", "ipv4", ADDR, 25)]["user"]) == (
        "tcpserver", "nobody")
    assert entries[("tcp", "ipv4", ADDR, 465)]["process"] == "qmail-smtpd-wrapper"
    odd = entries[("tcp", "ipv6", "::1", 8080)]
    assert (odd["pid"], odd["process"], odd["user"]) == (pids["odd"], "qmail-\\x\n\t0", "nobody")
    # The socket the forked child shares with its parent goes to the child (the higher pid).
    assert entries[("tcp", "ipv4", "0.0.0.0", 2112)]["pid"] > pids["forked"]


def test_processes_from_proc_equal_those_from_psutil(both_ways):
    psutil_fact, proc_fact = (both_ways["facts"][way]["processes"] for way in ("psutil", "proc"))
    assert psutil_fact["source"] == "process table (psutil)"
    assert proc_fact["source"] == "process table (/proc)"
    assert _without_source(proc_fact) == _without_source(psutil_fact)


def test_the_compared_processes_hold_every_daemon_the_lab_started(both_ways):
    pids = both_ways["pids"]
    found = {p["pid"]: p for p in both_ways["facts"]["proc"]["processes"]["processes"]}
    names = sorted(p["name"] for p in found.values())
    assert names == ["qmail-\\x\n\t0", "qmail-smtpd-wrapper", "sshd", "sshd", "tcpserver"]
    odd = found[pids["odd"]]
    assert (odd["user"], odd["uid_real"], odd["uid_effective"], odd["gid_real"], odd["gid_effective"]) == (
        "nobody", 65534, 0, 65534, 0)
    child = next(p for p in found.values() if p["name"] == "sshd" and p["pid"] != pids["forked"])
    assert child["ppid"] == pids["forked"]
    assert found[pids["tcpserver"]]["cmdline"] == f"tcpserver -u 65534 -g 65534 {ADDR} 25 true"
