"""A fleet of SSH hosts in network namespaces, for running the real Ansible playbook.

``FleetLab`` creates a controller namespace holding a bridge at 192.0.2.1/24 and one
namespace per host, each joined to the bridge by a veth pair and running the machine's own
sshd on its own address (192.0.2.11, .12, ...) with its own config (``-f``), host key and the
lab's authorized key. ansible-playbook runs inside the controller namespace, so every
connection stays inside the lab: nothing touches the root namespace's network.

``close()`` kills each sshd by PID, then anything else left in the namespaces, and deletes
them; the fixture calls it also when a test fails.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from pathlib import Path

from netns import Namespace, _ip

CONTROLLER_ADDR = "192.0.2.1"


def host_address(index: int) -> str:
    """The lab address of host ``index`` (0-based): 192.0.2.11, 192.0.2.12, ..."""
    return f"192.0.2.{11 + index}"


def tools_missing() -> list[str]:
    """Programs the lab needs that this machine lacks."""
    return [t for t in ("ip", "ssh", "ssh-keygen", "/usr/sbin/sshd", "ss", "nmap", "iptables", "timeout")
            if not shutil.which(t)]


class FleetLab:
    """A controller namespace with a bridge and ``count`` SSH hosts on it."""

    def __init__(self, workdir: Path, count: int):
        self.suffix = secrets.token_hex(3)
        self.workdir = Path(workdir)
        self.controller = Namespace(f"ha-c{self.suffix}")
        self.hosts = [Namespace(f"ha-h{i}{self.suffix}") for i in range(count)]
        self._created: list[Namespace] = []
        self.client_key = self.workdir / "id_ed25519"
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    def _build(self) -> None:
        bridge = f"hab{self.suffix}"
        _ip("netns", "add", self.controller.name)
        self._created.append(self.controller)
        _ip("-n", self.controller.name, "link", "set", "lo", "up")
        _ip("-n", self.controller.name, "link", "add", bridge, "type", "bridge")
        _ip("-n", self.controller.name, "addr", "add", f"{CONTROLLER_ADDR}/24", "dev", bridge)
        _ip("-n", self.controller.name, "link", "set", bridge, "up")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.client_key)],
                       check=True, capture_output=True, timeout=30)
        authorized = self.workdir / "authorized_keys"
        authorized.write_text(Path(f"{self.client_key}.pub").read_text())
        authorized.chmod(0o600)
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation dir
        for index, ns in enumerate(self.hosts):
            _ip("netns", "add", ns.name)
            self._created.append(ns)
            outer, inner = f"hav{index}{self.suffix}", f"hai{index}{self.suffix}"
            _ip("link", "add", outer, "netns", self.controller.name, "type", "veth",
                "peer", "name", inner, "netns", ns.name)
            _ip("-n", self.controller.name, "link", "set", outer, "master", bridge)
            _ip("-n", self.controller.name, "link", "set", outer, "up")
            _ip("-n", ns.name, "addr", "add", f"{host_address(index)}/24", "dev", inner)
            _ip("-n", ns.name, "link", "set", inner, "up")
            _ip("-n", ns.name, "link", "set", "lo", "up")
            self._start_sshd(index, ns, authorized)

    def _start_sshd(self, index: int, ns: Namespace, authorized: Path) -> None:
        key = self.workdir / f"ssh_host_key_{index}"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                       check=True, capture_output=True, timeout=30)
        conf = self.workdir / f"sshd_config_{index}"
        conf.write_text(
            f"ListenAddress {host_address(index)}\nPort 22\nHostKey {key}\nPidFile none\n"
            "UsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            f"PermitRootLogin prohibit-password\nAuthorizedKeysFile {authorized}\nStrictModes no\n"
            "MaxStartups 100\nMaxSessions 100\nSubsystem sftp internal-sftp\n")
        log = self.workdir / f"sshd_{index}.log"
        proc = ns.spawn(["/usr/sbin/sshd", "-D", "-e", "-f", str(conf)], log=log)
        ns.wait_listening(22, proc=proc, log=log)

    def run_in_controller(self, argv: list[str], *, env: dict, timeout: float, cwd: str | None = None):
        """Run ``argv`` inside the controller namespace (bounded by ``timeout``); returns
        (CompletedProcess, seconds)."""
        started = time.monotonic()
        done = subprocess.run(self.controller.argv(argv), env=env, cwd=cwd, capture_output=True,
                              text=True, timeout=timeout)
        return done, time.monotonic() - started

    def close(self) -> None:
        """Kill the sshds by PID and whatever else runs in the namespaces; delete them."""
        for ns in reversed(self._created):
            ns.close()
        self._created.clear()
