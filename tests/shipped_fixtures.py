"""Fixture trees the shipped baseline is audited on before and after a refactor, and the
results as plain data (status, message, evidence per control). ``python tests/shipped_fixtures.py
OUT.json`` writes them for the code on the import path (see test_generic_equivalence.py)."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from schedulers import boots_systemd
from support import RootBuilder

# These texts are frozen together with tests/data/shipped_*_before.json, which were recorded
# from them: they are not shared with the unit tests' fixtures, which may change.

DOC_SYSCTL = """\
net.ipv4.icmp_echo_ignore_all = 1
net.ipv4.icmp_echo_ignore_broadcasts = 1
net.ipv4.tcp_syncookies = 1
net.ipv4.conf.all.accept_source_route = 0
net.ipv4.conf.all.accept_redirects = 0
net.ipv4.ip_always_defrag = 1
net.ipv4.conf.all.rp_filter = 1
net.ipv4.conf.all.log_martians = 1
"""
ACCOUNTS = "root:x:0:0:root:/root:/bin/bash\n"
DOC_FSTAB = """\
LABEL=/          /          ext3    defaults                1 1
LABEL=/boot      /boot      ext3    defaults,nosuid,nodev   1 2
LABEL=/home      /home      ext3    nosuid,nodev,rw,exec,auto,nouser,async,usrquota 1 2
LABEL=/var       /var       ext3    defaults,nosuid,nodev   1 2
"""
VENDOR_FSTAB = """\
UUID=0a1b / ext4 errors=remount-ro 0 1
UUID=2c3d /boot ext4 defaults 0 2
UUID=4e5f /home ext4 nodev,nosuid 0 2
"""


def _document(root: RootBuilder) -> None:
    boots_systemd(root)
    root.write("/etc/sysctl.conf", DOC_SYSCTL)
    root.symlink("/etc/sysctl.d/99-sysctl.conf", "../sysctl.conf")  # as Debian's procps links it for systemd
    root.write("/etc/fstab", DOC_FSTAB)
    for name in ("passwd", "shadow", "group", "gshadow"):
        root.write(f"/etc/{name}", ACCOUNTS, mode=0o644)
    root.write("/boot/grub/grub.cfg", "set default=0\n")
    root.mkdir("/lib/modules/6.1.0-18-amd64")


def _vendor(root: RootBuilder) -> None:
    boots_systemd(root)
    root.write("/usr/lib/sysctl.d/50-default.conf",
               "-net.ipv4.conf.*.rp_filter = 2\nnet.ipv4.tcp_syncookies = 0\n")
    root.write("/etc/sysctl.d/10-admin.conf", "net.ipv4.icmp_echo_ignore_broadcasts = 1\n"
               "net/ipv4/conf/all/accept_redirects = 1\n")
    root.write("/usr/lib/sysctl.d/60-masked.conf", "net.ipv4.conf.all.log_martians = 0\n")
    root.symlink("/etc/sysctl.d/60-masked.conf", "/dev/null")
    root.write("/boot/vmlinuz-2.2.19-6.2.1", "")
    root.write("/etc/passwd", ACCOUNTS)
    root.write("/etc/group", "root:x:0:\n")
    root.write("/etc/fstab", VENDOR_FSTAB)
    root.symlink("/etc/shadow", "../nowhere/shadow")
    root.write("/boot/grub2/grub.cfg", "set default=0\n")


def _bare(root: RootBuilder) -> None:
    root.installed("bash")


FIXTURES = {"document": _document, "vendor": _vendor, "bare": _bare}


def results(root: RootBuilder, only: tuple[str, ...] = ()) -> dict:
    """Each control's status, message and evidence from an image audit of ``root``."""
    from hostaudit.baseline import load_checked
    from hostaudit.scan import TargetSpec, open_target, scan

    baseline = load_checked("gcux-qmail")
    with open_target(TargetSpec(root=str(root.path))) as target:
        run = scan(target, baseline, only=list(only))
    return {r.id: {"status": r.status.value, "message": r.result.message,
                   "evidence": [str(e) for e in r.result.evidence]} for r in run.results}


def all_results(only: tuple[str, ...] = ()) -> dict:
    """``{fixture: results}`` for every fixture, built in a temporary directory."""
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, build in FIXTURES.items():
            root = RootBuilder(Path(tmp) / name)
            build(root)
            out[name] = results(root, only)
    return out


if __name__ == "__main__":
    json.dump(all_results(tuple(sys.argv[2:])), open(sys.argv[1], "w"), indent=1, sort_keys=True)
