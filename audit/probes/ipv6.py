"""Whether IPv6 is on: in the running kernel (live), or at the next boot (image).

The firewall controls judge IPv6 rules only where IPv6 can carry traffic, so this fact says
which, with the files that decided it. ``{"mode": "live"|"boot", "enabled": True|False|None,
"reason": str, "evidence": [{"where", "line", "text"}]}``; ``enabled`` is None when it cannot
be told (an unreadable file is never taken for an absent one).

Live: ``/proc/net/if_inet6`` absent means the kernel has no IPv6 stack (``ipv6.disable=1``, or
no ipv6 module). Otherwise IPv6 is off only when ``net.ipv6.conf.all.disable_ipv6`` and
``default.disable_ipv6`` are 1 and no interface holds an IPv6 address: an interface switched
back on alone shows in if_inet6 (a link-local address) as soon as it is up, which is when it
can carry traffic.

Boot (image): IPv6 is on unless turned off persistently: the winning
``net.ipv6.conf.all.disable_ipv6`` of the sysctl.d files (in systemd-sysctl's order, with
/etc/sysctl.conf last) is 1 (writing ``all`` also sets ``default`` and every interface), or the
kernel command line carries ``ipv6.disable=1`` / ``ipv6.disable_ipv6=1``. The command line
that boots is the generated boot loader configuration (grub.cfg, grub.conf/menu.lst, BLS
entries): there every entry but rescue entries must carry it. Only when the image has none
(a container image: whoever runs it brings the kernel) do /etc/default/grub and
/etc/kernel/cmdline speak, as the source of the next generated configuration.
"""

from __future__ import annotations

from typing import Any

from hostaudit.host import Host
from hostaudit.parsers.kernel_cmdline import kernel_lines, turns_ipv6_off
from hostaudit.parsers.sysctl import SYSCTL_CONF, SYSCTL_D_DIRS, parse_sysctl_conf, winning_setting
from hostaudit.probes.sysctl import boot_files, boots_systemd
from hostaudit.registry import probe

IF_INET6 = "/proc/net/if_inet6"
DISABLE_ALL = "/proc/sys/net/ipv6/conf/all/disable_ipv6"
DISABLE_DEFAULT = "/proc/sys/net/ipv6/conf/default/disable_ipv6"
SYSCTL_KEY = "net.ipv6.conf.all.disable_ipv6"
GENERATED = (("/boot/grub/grub.cfg", "grub2"), ("/boot/grub2/grub.cfg", "grub2"),
             ("/etc/grub.conf", "legacy"), ("/boot/grub/grub.conf", "legacy"), ("/boot/grub/menu.lst", "legacy"))
LOADER_ENTRIES = "/boot/loader/entries"
SOURCES = (("/etc/default/grub", "default"), ("/etc/kernel/cmdline", "cmdline"))
_PROC_READ = 1024 * 1024


def _ev(where: str, text: str, line: int | None = None) -> dict:
    return {"where": where, "line": line, "text": text}


@probe("ipv6", needs=["init_system"])
def ipv6(host: Host, facts) -> dict:
    """Whether IPv6 is on now (live) or will be at boot (image), and why."""
    return _live(host) if host.mode == "live" else _boot(host, boots_systemd(facts))


def _live(host: Host) -> dict:
    fact: dict[str, Any] = {"mode": "live", "enabled": None, "reason": "", "evidence": []}
    try:
        addresses = host.read_text(IF_INET6, limit=_PROC_READ).split("\n")
    except FileNotFoundError:
        fact.update(enabled=False,
                    reason="off: the running kernel has no IPv6 stack (ipv6.disable=1 or no ipv6 module)")
        fact["evidence"].append(_ev(IF_INET6, "absent"))
        return fact
    except OSError as exc:
        fact["reason"] = f"cannot read {IF_INET6}: {exc.strerror or exc}"
        return fact
    interfaces = sorted({line.split()[-1] for line in addresses if len(line.split()) == 6})
    flags: dict[str, str | None] = {}
    for path in (DISABLE_ALL, DISABLE_DEFAULT):
        try:
            flags[path] = host.read_text(path, limit=4096).strip()
        except OSError as exc:
            flags[path] = None
            fact["evidence"].append(_ev(path, f"cannot read: {exc.strerror or exc}"))
    fact["evidence"] += [_ev(path, f"= {value}") for path, value in flags.items() if value is not None]
    if interfaces:  # the addresses decide, so they come first: they are what a finding cites
        fact["evidence"].insert(0, _ev(IF_INET6, f"IPv6 addresses on {', '.join(interfaces[:8])}"))
        fact.update(enabled=True, reason=f"on: interfaces hold IPv6 addresses ({', '.join(interfaces[:8])})")
    elif all(value == "1" for value in flags.values()):
        fact["evidence"].append(_ev(IF_INET6, "no IPv6 address on any interface"))
        fact.update(enabled=False, reason="off: disable_ipv6 = 1 and no interface holds an IPv6 address")
    elif "0" in flags.values():
        fact["evidence"].append(_ev(IF_INET6, "no IPv6 address yet"))
        fact.update(enabled=True, reason="on: disable_ipv6 = 0, an interface gets an IPv6 address as soon as it is up")
    else:
        fact["reason"] = "disable_ipv6 is unreadable"
    return fact


def _boot(host: Host, systemd: bool) -> dict:
    fact: dict[str, Any] = {"mode": "boot", "enabled": None, "reason": "", "evidence": []}
    sysctl_seen: list[dict] = []
    cmdline_seen: list[dict] = []
    try:
        by_sysctl = _sysctl_off(host, sysctl_seen, systemd)
        by_cmdline = _cmdline_off(host, cmdline_seen)
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        fact["reason"] = f"cannot read{where}: {exc.strerror or exc}"
        return fact
    # What decided comes first: it is what a finding cites.
    fact["evidence"] = cmdline_seen + sysctl_seen if by_cmdline and not by_sysctl else sysctl_seen + cmdline_seen
    if by_sysctl or by_cmdline:
        how = " and ".join(w for w, off in (("sysctl.d", by_sysctl), ("the kernel command line", by_cmdline)) if off)
        fact.update(enabled=False, reason=f"turned off at boot by {how}")
    else:
        fact.update(enabled=True, reason="on at boot, nothing turns it off (no disable_ipv6 in sysctl.d, "
                                         "no ipv6.disable=1 on the kernel command line)")
    return fact


def _sysctl_off(host: Host, evidence: list, systemd: bool) -> bool:
    files = boot_files(host, systemd)
    winner = winning_setting([(path, parse_sysctl_conf(host.read_text(path))) for path in files], SYSCTL_KEY)
    if winner is None:
        evidence.append(_ev("sysctl.d", f"{SYSCTL_KEY} not set (looked in {', '.join(SYSCTL_D_DIRS)}, {SYSCTL_CONF})"))
        return False
    path, entry = winner
    evidence.append(_ev(path, f"{entry['key']} = {entry['value']}", entry["line"]))
    return entry["value"] == "1"



def _cmdline_off(host: Host, evidence: list) -> bool:
    """Whether every command line that boots (rescue entries aside) keeps IPv6 off."""
    generated = [(p, fmt) for p, fmt in GENERATED if host.is_file(p)]
    if host.is_dir(LOADER_ENTRIES):
        entries = [f"{LOADER_ENTRIES}/{n}" for n in sorted(host.listdir(LOADER_ENTRIES)) if n.endswith(".conf")]
        generated += [(p, "loader") for p in entries if host.is_file(p)]
    booting = [(p, entry) for p, fmt in generated for entry in kernel_lines(host.read_text(p), fmt)
               if not entry["rescue"]]
    if booting:
        on = [(p, e) for p, e in booting if not turns_ipv6_off(e["args"])]
        shown = on[:3] or booting[:3]
        evidence += [_ev(p, ("no ipv6.disable=1: " if on else "") + e["text"], e["line"]) for p, e in shown]
        return not on
    sources = [(p, e) for p, fmt in SOURCES if host.is_file(p) for e in kernel_lines(host.read_text(p), fmt)]
    off = [(p, e) for p, e in sources if turns_ipv6_off(e["args"])]
    evidence += [_ev(p, e["text"], e["line"]) for p, e in (off or sources)[:3]]
    if not sources:
        evidence.append(_ev("boot loader", "no kernel command line found (" + ", ".join(
            [p for p, _ in GENERATED] + [f"{LOADER_ENTRIES}/*.conf"] + [p for p, _ in SOURCES]) + ")"))
    return bool(off)
