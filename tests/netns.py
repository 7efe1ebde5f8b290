"""Network namespaces for tests: a scanner and a "mail host" joined by a veth pair.

``NetLab`` creates two namespaces (``ha-s…`` and ``ha-m…``) with 192.0.2.1/24 (scanner) and
192.0.2.2/24 (mail host) and ``lo`` up in both. ``MailHost`` starts the document's services
inside the mail host with the real tools: tcpserver on 25 (an SMTP greeting), tcpserver -x on
110 with a cdb compiled by tcprules, stunnel4 on 995/465, sshd on 2112, plus extra listeners
as violations. ``run_audit`` collects facts and evaluates checks in a subprocess inside a
namespace (namespaces are per process, so ``ip netns exec`` is the clean way in).

Nothing here touches the root namespace's network: every address is inside the lab.
``close()`` kills every process it started, and anything else left in the namespaces, by
PID, then deletes both namespaces; the pytest fixtures call it also when a test fails.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

SCANNER_ADDR = "192.0.2.1"
MAIL_ADDR = "192.0.2.2"
LAB_NET = "192.0.2.0/24"
NOBODY = 65534
_REPO = Path(__file__).resolve().parent.parent
_STARTUP_TIMEOUT = 10.0


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


def tools_missing() -> list[str]:
    """The programs the lab needs that this machine lacks (tests skip when any is)."""
    needed = ["ip", "nmap", "tcpserver", "tcprules", "stunnel4", "openssl", "ssh-keygen",
              "/usr/sbin/sshd", "iptables", "ss"]
    return [name for name in needed if not shutil.which(name)]


class Namespace:
    """One network namespace and the processes started in it."""

    def __init__(self, name: str):
        self.name = name
        self.processes: list[subprocess.Popen] = []

    def argv(self, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *argv]

    def run(self, argv: list[str], *, timeout: float = 30, input: str | None = None,
            check: bool = True) -> subprocess.CompletedProcess:
        """Run a command inside the namespace and wait for it (bounded by ``timeout``)."""
        return subprocess.run(self.argv(argv), input=input, capture_output=True, text=True,
                              timeout=timeout, check=check)

    def spawn(self, argv: list[str], *, log: Path, cwd: str | None = None) -> subprocess.Popen:
        """Start a long-running server; ``ip netns exec`` execs it, so the PID is the server's."""
        with open(log, "ab") as out:
            proc = subprocess.Popen(self.argv(argv), stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True)
        self.processes.append(proc)
        return proc

    def wait_listening(self, port: int, proto: str = "tcp", *, proc=None, log: Path | None = None,
                       timeout: float = _STARTUP_TIMEOUT) -> None:
        """Wait until something listens on ``port`` in this namespace, or fail with the log."""
        flag = "-ltnH" if proto == "tcp" else "-lunH"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.run(["ss", flag, f"sport = :{port}"], timeout=5).stdout
            if out.strip():
                return
            if proc is not None and proc.poll() is not None:
                break
            time.sleep(0.05)
        text = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
        raise RuntimeError(f"nothing listens on {port}/{proto} in {self.name}: {text}")

    def stop(self, proc: subprocess.Popen) -> None:
        """Stop one server started here, by PID, and reap it."""
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        if proc in self.processes:
            self.processes.remove(proc)

    def close(self) -> None:
        """Kill our processes, then whatever else still runs in the namespace, and delete it."""
        for proc in list(self.processes):
            try:
                self.stop(proc)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        # Children of our servers (tcpserver's per-connection programs, sshd sessions).
        pids = subprocess.run(["ip", "netns", "pids", self.name], capture_output=True,
                              text=True, timeout=10).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True, timeout=10)


class NetLab:
    """Two namespaces on one veth link: ``scanner`` (192.0.2.1) and ``mail`` (192.0.2.2)."""

    def __init__(self):
        suffix = secrets.token_hex(3)
        self.scanner = Namespace(f"ha-s{suffix}")
        self.mail = Namespace(f"ha-m{suffix}")
        self.workdir = Path(tempfile.mkdtemp(prefix=f"ha-{suffix}-"))
        # Servers run as nobody and must reach their programs: the lab dir is world-readable.
        os.chmod(self.workdir, 0o755)
        self._created: list[Namespace] = []
        try:
            self._build(suffix)
        except BaseException:
            self.close()
            raise

    def _build(self, suffix: str) -> None:
        for ns in (self.scanner, self.mail):
            _ip("netns", "add", ns.name)
            self._created.append(ns)
        left, right = f"ha-vs{suffix}", f"ha-vm{suffix}"
        _ip("link", "add", left, "netns", self.scanner.name, "type", "veth",
            "peer", "name", right, "netns", self.mail.name)
        for ns, dev, addr in ((self.scanner, left, SCANNER_ADDR), (self.mail, right, MAIL_ADDR)):
            _ip("-n", ns.name, "addr", "add", f"{addr}/24", "dev", dev)
            _ip("-n", ns.name, "link", "set", dev, "up")
            _ip("-n", ns.name, "link", "set", "lo", "up")

    def close(self) -> None:
        for ns in self._created:
            ns.close()
        self._created.clear()
        shutil.rmtree(self.workdir, ignore_errors=True)


_SMTPD = """#!/bin/sh
# Stand-in for qmail-smtpd: greet, then wait for the client's first byte or its close.
printf '220 mail.example.test ESMTP\\r\\n'
exec head -c 1 >/dev/null
"""
_POP3 = """#!/bin/sh
printf '+OK <hostaudit-test@mail.example.test>\\r\\n'
exec head -c 1 >/dev/null
"""
_PY_TCP = """
import socket, sys
greeting = sys.argv[2].encode()
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[3], int(sys.argv[1]))); s.listen(16)
while True:
    c, _ = s.accept()
    c.settimeout(2)
    try:
        if greeting: c.sendall(greeting)
        c.recv(1)
    except OSError:
        pass
    c.close()
"""
_PY_UDP = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[2], int(sys.argv[1])))
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(b"pong " + data[:64], peer)
"""


class MailHost:
    """The document's mail server, built from the real tools inside the lab's mail namespace."""

    def __init__(self, lab: NetLab):
        self.lab = lab
        self.ns = lab.mail
        self.dir = lab.workdir
        self.pids: dict[str, int] = {}
        self.procs: dict[str, subprocess.Popen] = {}

    def _script(self, name: str, text: str) -> Path:
        path = self.dir / name
        path.write_text(text)
        path.chmod(0o755)
        return path

    def _start(self, label: str, argv: list[str], port: int, proto: str = "tcp",
               cwd: str | None = None) -> subprocess.Popen:
        log = self.dir / f"{label}.log"
        proc = self.ns.spawn(argv, log=log, cwd=cwd)
        self.ns.wait_listening(port, proto, proc=proc, log=log)
        self.pids[label], self.procs[label] = proc.pid, proc
        return proc

    def stop(self, label: str) -> None:
        self.ns.stop(self.procs.pop(label))
        self.pids.pop(label)

    def start_smtp(self, port: int = 25, uid: int = NOBODY, gid: int = NOBODY):
        """tcpserver -u UID -g GID 0 25 qmail-smtpd, as the document starts it."""
        smtpd = self._script("qmail-smtpd", _SMTPD)
        return self._start("smtp", ["tcpserver", "-v", "-u", str(uid), "-g", str(gid), "0",
                                    str(port), str(smtpd)], port)

    def start_pop3(self, rules: str = "127.:allow\n:deny\n", port: int = 110):
        """tcpserver -x pop.tcp.cdb (compiled here by the real tcprules) on 110."""
        rules_file = self.dir / "pop.tcp"
        rules_file.write_text(rules)
        cdb, tmp = self.dir / "pop.tcp.cdb", self.dir / "pop.tcp.tmp"
        subprocess.run(["tcprules", str(cdb), str(tmp)], input=rules, text=True, check=True,
                       capture_output=True, timeout=10)
        popup = self._script("qmail-popup", _POP3)
        return self._start("pop3", ["tcpserver", "-x", str(cdb), "-v", "-R", "-H", "-l", "0",
                                    "0", str(port), str(popup)], port)

    def certificate(self, cn: str = "mail.example.test") -> Path:
        """A self-signed certificate and key in one PEM file, as stunnel.pem."""
        pem = self.dir / "stunnel.pem"
        if not pem.exists():
            key, crt = self.dir / "key.pem", self.dir / "crt.pem"
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                            "30", "-subj", f"/CN={cn}", "-keyout", str(key), "-out", str(crt)],
                           check=True, capture_output=True, timeout=60)
            pem.write_text(crt.read_text() + key.read_text())
            pem.chmod(0o400)
            key.unlink()
        return pem

    def start_stunnel(self, services: dict[int, int] | None = None):
        """stunnel4 wrapping 995 -> 110 and 465 -> 25 inside the namespace."""
        services = services or {995: 110, 465: 25}
        pem = self.certificate()
        lines = ["foreground = yes", "pid =", f"cert = {pem}"]
        for accept, connect in services.items():
            lines += [f"[wrap{accept}]", f"accept = 0.0.0.0:{accept}",
                      f"connect = 127.0.0.1:{connect}"]
        conf = self.dir / "stunnel.conf"
        conf.write_text("\n".join(lines) + "\n")
        proc = self._start("stunnel", ["stunnel4", str(conf)], next(iter(services)))
        for accept in services:
            self.ns.wait_listening(accept, proc=proc, log=self.dir / "stunnel.log")
        return proc

    def start_sshd(self, port: int = 2112):
        """The real sshd on 2112 with a test host key and config."""
        key = self.dir / "ssh_host_ed25519_key"
        if not key.exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                           check=True, capture_output=True, timeout=30)
        conf = self.dir / "sshd_config"
        conf.write_text(f"Port {port}\nListenAddress 0.0.0.0\nHostKey {key}\nPidFile none\n"
                        "UsePAM no\nPasswordAuthentication no\n")
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        return self._start("sshd", ["/usr/sbin/sshd", "-D", "-e", "-f", str(conf),
                                    "-h", str(key)], port)

    def start_all(self) -> MailHost:
        """The clean document host: 25, 110 (local only), 465, 995, 2112."""
        self.start_smtp()
        self.start_pop3()
        self.start_stunnel()
        self.start_sshd()
        return self

    def tcp_listener(self, port: int, greeting: str = "", address: str = "0.0.0.0",
                     label: str | None = None):
        """A python TCP server (a violation unless the baseline allows its port)."""
        return self._start(label or f"tcp{port}", [sys.executable, "-c", _PY_TCP, str(port),
                                                    greeting, address], port)

    def udp_listener(self, port: int, address: str = "0.0.0.0"):
        """A python UDP server that answers every datagram."""
        return self._start(f"udp{port}", [sys.executable, "-c", _PY_UDP, str(port), address],
                           port, "udp")

    def firewall(self, commands: list[list[str]]) -> None:
        """Apply iptables commands inside the mail namespace only."""
        for argv in commands:
            self.ns.run(["iptables", *argv], timeout=10)


def document_firewall(internal_net: str = LAB_NET) -> list[list[str]]:
    """The document's /etc/iptable/rules, with its 192.168.1.0/24 replaced by ``internal_net``."""
    return [
        ["-P", "INPUT", "DROP"], ["-P", "OUTPUT", "DROP"], ["-P", "FORWARD", "DROP"],
        ["-I", "INPUT", "-p", "tcp", "--dport", "53", "-j", "ACCEPT"],
        ["-I", "INPUT", "-p", "udp", "--dport", "53", "-j", "ACCEPT"],
        ["-I", "INPUT", "-p", "tcp", "-s", internal_net, "--dport", "995", "-j", "ACCEPT"],
        ["-I", "INPUT", "-p", "tcp", "-s", internal_net, "--dport", "465", "-j", "ACCEPT"],
        ["-I", "INPUT", "-p", "tcp", "!", "-s", internal_net, "--dport", "25", "-j", "ACCEPT"],
        ["-I", "INPUT", "-p", "tcp", "-s", internal_net, "--dport", "2112", "-j", "ACCEPT"],
        ["-I", "OUTPUT", "-m", "state", "--state", "NEW,RELATED,ESTABLISHED", "-j", "ACCEPT"],
        ["-I", "INPUT", "-m", "state", "--state", "RELATED,ESTABLISHED", "-j", "ACCEPT"],
    ]


_AUDIT = """
import json, sys
from hostaudit.facts import collect
from hostaudit.host import LiveHost, NetHost
from hostaudit.registry import CHECKS, load_all
from hostaudit.runner import evaluate
import hostaudit.checks.mail_services, hostaudit.checks.net  # noqa: F401
req = json.load(sys.stdin)
load_all()
if req["mode"] == "net":
    host = NetHost(req["target"], sweep_options=req["sweep_options"])
else:
    host = LiveHost(network_target=req["target"], sweep_options=req["sweep_options"])
specs = [CHECKS[c] for c in req["controls"]]
needs = list(dict.fromkeys(n for s in specs for n in s.needs_in(host.modes)))
needs += [n for n in req["facts"] if n not in needs]
facts = collect(host, needs, mode=host.mode, modes=host.modes)
results = {}
for spec in specs:
    r = evaluate(spec, facts, req["params"].get(spec.control_id, {}))
    results[spec.control_id] = {"status": r.status.value, "message": r.message,
                                "evidence": [str(e) for e in r.evidence]}
print(json.dumps({"results": results, "facts": facts.serialisable(), "timings": facts.timings}))
"""


def run_audit(ns: Namespace, *, mode: str = "net", target: str | None = MAIL_ADDR,
              controls: list[str] = (), facts: list[str] = (), params: dict | None = None,
              sweep_options: dict | None = None, timeout: float = 180) -> dict:
    """Collect facts and evaluate ``controls`` from inside ``ns`` (``mode`` net or live).

    Returns ``{"results": {id: {status, message, evidence}}, "facts": ..., "timings": ...}``.
    """
    request = {"mode": mode, "target": target, "controls": list(controls), "facts": list(facts),
               "params": params or {}, "sweep_options": sweep_options or {}}
    env_argv = ["env", f"PYTHONPATH={_REPO}", sys.executable, "-c", _AUDIT]
    done = ns.run(env_argv, input=json.dumps(request), timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"audit in {ns.name} failed: {done.stderr[-3000:]}")
    return json.loads(done.stdout)


@pytest.fixture
def net_lab(require_root):
    """Two fresh namespaces joined by a veth pair; removed after the test, also on failure."""
    missing = tools_missing()
    if missing:
        pytest.skip(f"missing tools: {', '.join(missing)}")
    lab = NetLab()
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture
def mail_host(net_lab):
    """The clean document mail host, running in ``net_lab.mail``."""
    return MailHost(net_lab).start_all()
