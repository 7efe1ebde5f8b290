"""Probes: the firewall rules in force (live) and the rules the boot applies (files), for IPv4
and, where IPv6 is on, IPv6."""

from __future__ import annotations

from typing import Any

from hostaudit.errors import CommandUnavailable, ProbeError
from hostaudit.host import ABSENT, Host
from hostaudit.parsers.iptables import parse_iptables_save, runs_ip6tables, save_backend, save_table_names
from hostaudit.parsers.nft import merge_tables, parse_nft_json, parse_nftables_conf
from hostaudit.parsers.rules_file import parse_rules_file
from hostaudit.parsers.sysv_script import parse_sysv_script
from hostaudit.probes import ipv6 as _ipv6  # noqa: F401  (registers the ipv6 fact this probe needs)
from hostaudit.probes.services import find_unit
from hostaudit.registry import probe

# Where a boot loads saved rules from, in the order an image is read: Debian's
# netfilter-persistent, RHEL's iptables-services, the document's path and its typo'd twin
# (it writes /etc/iptable/rules, its init script runs /etc/iptables/rules), then nftables.
RULE_FILES = ("/etc/iptables/rules.v4", "/etc/sysconfig/iptables", "/etc/iptables/rules",
              "/etc/iptable/rules", "/etc/nftables.conf", "/etc/sysconfig/nftables.conf")
# The IPv6 rules the same mechanism loads beside each IPv4 file: netfilter-persistent reads
# rules.v6, iptables-services' ip6tables.service /etc/sysconfig/ip6tables. A script (the
# document's) carries its own ip6tables lines, if any; nftables' inet/ip6 tables are in the
# same file.
V6_RULE_FILES = {"/etc/iptables/rules.v4": "/etc/iptables/rules.v6",
                 "/etc/sysconfig/iptables": "/etc/sysconfig/ip6tables"}
# systemd units that load rules at boot, and the file each loads (None: not ours to read).
UNITS = {"netfilter-persistent.service": ("/etc/iptables/rules.v4",),
         "nftables.service": ("/etc/nftables.conf", "/etc/sysconfig/nftables.conf"),
         "iptables.service": ("/etc/sysconfig/iptables",),
         "ip6tables.service": ("/etc/sysconfig/ip6tables",),
         "firewalld.service": ()}
UNIT_DIRS = ("/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system")
SYSV_SCRIPTS = ("iptables", "ip6tables", "netfilter-persistent", "iptables-persistent")
INIT_DIRS = ("/etc/rc.d/init.d", "/etc/init.d")
RC_DIRS = ("/etc/rc.d/rc{}.d", "/etc/rc{}.d")
_COMMAND_TIMEOUT = 15.0


@probe("firewall_rules", needs=["ipv6"])
def firewall_rules(host: Host, facts) -> dict:
    """The rules that decide what comes in: loaded now (live) or saved for the boot (image).

    ``ipv6`` (the ipv6 fact, or ``{"enabled": None, "reason"}`` when it could not be
    collected) says whether IPv6 rules matter; ``v6_path``/``v6_looked`` (image) name the
    IPv6 rules file read beside the IPv4 one.
    """
    reason = facts.error_of("ipv6")
    state = {"mode": host.mode, "enabled": None, "reason": reason, "evidence": []} if reason else facts["ipv6"]
    fact = _live_rules(host, state) if host.mode == "live" else _saved_rules(host)
    fact["ipv6"] = state
    return fact


def _saved_rules(host: Host) -> dict:
    present = [path for path in RULE_FILES if host.is_file(path)]
    fact: dict[str, Any] = {"mode": "image", "looked": list(RULE_FILES), "present": present, "path": None,
            "format": None, "sources": [], "ruleset": None, "v6_path": None, "v6_looked": []}
    if present:
        fact["path"] = present[0]
        fact["format"], fact["ruleset"] = parse_rules_file(present[0], host.read_text(present[0]))
        if fact["format"] == "nftables.conf":  # again, keeping its defines for the files it includes
            variables: dict = {}
            fact["ruleset"] = _nft_includes(host, parse_nftables_conf(host.read_text(present[0]), present[0],
                                                                      variables), variables, 0)
        fact["sources"] = [{"name": present[0], "status": "ok", "reason": None}]
    v6 = V6_RULE_FILES.get(fact["path"]) if present else None
    if v6 is None and not present:  # an IPv6 file alone still counts for IPv6
        v6 = next((p for p in V6_RULE_FILES.values() if host.is_file(p)), None)
    if v6 is not None:
        fact["v6_looked"] = [v6]
    if v6 is not None and host.is_file(v6):
        fact["v6_path"] = v6
        fmt, ruleset = parse_rules_file(v6, host.read_text(v6), "ipv6")
        if fmt == "iptables script":  # ip6tables-restore reads only save format
            ruleset = {"tables": [], "notes": [], "errors": [{"where": v6, "line": None, "text": "",
                                                               "error": "not ip6tables-save format: "
                                                                        "ip6tables-restore would refuse it"}]}
        fact["sources"].append({"name": v6, "status": "ok", "reason": None})
        if fact["ruleset"] is None:
            fact["ruleset"], fact["format"] = ruleset, fmt
        else:
            for key in ("tables", "errors", "notes"):
                fact["ruleset"][key] += ruleset[key]
    return fact


_NFT_INCLUDE_DIR = "/etc"  # nft's default include path for a relative include
_NFT_INCLUDE_DEPTH = 16     # nft's own nesting limit


def _nft_includes(host: Host, ruleset: dict, variables: dict, depth: int) -> dict:
    """``ruleset`` with the files its ``include`` lines name read in, as ``nft -f`` does: a glob
    in name order (matching nothing is fine), a plain path that must exist. What cannot be read
    stays a note, so a verdict that needs it is not taken for sure."""
    notes = []
    for note in ruleset["notes"]:
        target = note.get("include")
        if not target or depth >= _NFT_INCLUDE_DEPTH:
            notes.append(note)
            continue
        path = target if target.startswith("/") else f"{_NFT_INCLUDE_DIR}/{target}"
        globbed = any(c in path for c in "*?[")
        parts = sorted(p for p in host.glob(path) if host.is_file(p)) if globbed else [path]
        if not globbed and not host.is_file(path):
            notes.append({**note, "note": "included file does not exist (nft -f would load nothing)"})
            continue
        for part in parts:
            included = parse_nftables_conf(host.read_text(part), part, variables)
            included = _nft_includes(host, included, variables, depth + 1)
            for key in ("tables", "errors"):
                ruleset[key] = ruleset[key] + included[key]
            notes += included["notes"]
    return merge_tables({**ruleset, "notes": notes})


def _run(host: Host, argv: list[str], families: list[str]) -> tuple[dict, str]:
    """(source record, stdout) of a read-only listing command that shows ``families``' rules."""
    source: dict[str, Any] = {"name": " ".join(argv), "status": "ok", "reason": None, "families": families}
    try:
        done = host.run(argv, timeout=_COMMAND_TIMEOUT)
    except CommandUnavailable as exc:
        return {**source, "status": "absent", "reason": str(exc)}, ""
    except ProbeError as exc:
        return {**source, "status": "error", "reason": str(exc)}, ""
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        return {**source, "status": "error", "reason": why[:200]}, ""
    return source, done.stdout


def _live_rules(host: Host, ipv6: dict) -> dict:
    """``iptables-save``, ``ip6tables-save`` and ``nft -j list ruleset``, each table counted once.

    On Debian 12 ``iptables`` is iptables-nft: its tables are nf_tables tables, so nft lists
    them too, but as opaque ``xt`` matches it cannot show. Those tables are read from
    iptables-save / ip6tables-save; nft contributes only its native tables. With the legacy
    backend the views are disjoint and all count in full. ip6tables-save is not run when IPv6
    is off (its legacy backend fails without an IPv6 stack); nft's inet and ip6 tables are read
    either way.
    """
    save_source, save_text = _run(host, ["iptables-save"], ["ipv4"])
    save6_source: dict[str, Any]
    if ipv6["enabled"] is False:
        save6_source, save6_text = {"name": "ip6tables-save", "status": "skipped", "families": ["ipv6"],
                                    "reason": f"IPv6 {ipv6['reason']}"}, ""
    else:
        save6_source, save6_text = _run(host, ["ip6tables-save"], ["ipv6"])
    nft_source, nft_text = _run(host, ["nft", "-j", "list", "ruleset"], ["ipv4", "ipv6"])
    sources = [save_source, save6_source, nft_source]
    if all(s["status"] not in ("ok", "skipped") for s in sources):
        raise ProbeError("; ".join(f"{s['name']}: {s['reason']}" for s in sources))
    ruleset = parse_iptables_save(save_text, "iptables-save")
    ruleset6 = parse_iptables_save(save6_text, "ip6tables-save", "ipv6")
    for key in ("tables", "errors", "notes"):
        ruleset[key] += ruleset6[key]
    managed = set()
    for source, text, family in ((save_source, save_text, "ip"), (save6_source, save6_text, "ip6")):
        source["backend"] = save_backend(text)
        if source["backend"] == "nf_tables":
            managed |= {(family, name) for name in save_table_names(text)}
    if nft_source["status"] == "ok":
        try:
            native = parse_nft_json(nft_text, "nft", skip_tables=frozenset(managed))
        except ValueError as exc:
            nft_source.update(status="error", reason=str(exc))
        else:
            ruleset["tables"] += native["tables"]
            ruleset["errors"] += native["errors"]
    return {"mode": "live", "looked": [s["name"] for s in sources], "present": [], "path": None,
            "format": "live", "sources": sources, "ruleset": ruleset, "v6_path": None, "v6_looked": []}


@probe("firewall_boot", needs=["firewall_rules", "ipv6", "init_system"])
def firewall_boot(host: Host, facts) -> dict:
    """What loads firewall rules at boot: SysV init scripts with rc links, systemd units; which
    init runs now (live: ``init``); whether IPv6 is on (``ipv6``, as the ipv6 fact);
    ``boots_systemd``: the init that boots (or runs) is systemd, so an init script with a unit
    of its own (``native_unit``) is started by that unit's links, never by its rc links."""
    reason = facts.error_of("ipv6")
    boots_systemd = not facts.error_of("init_system") and facts["init_system"]["kind"] == "systemd"
    return {"sysv": _sysv_scripts(host), "units": [_unit(host, name, configs) for name, configs in UNITS.items()],
            "rule_files_present": [p for p in (*RULE_FILES, *V6_RULE_FILES.values()) if host.is_file(p)],
            "loaded": _loaded_now(facts) if host.mode == "live" else None,
            "init": _init(host) if host.mode == "live" else None, "boots_systemd": boots_systemd,
            "ipv6": {"enabled": None, "reason": reason, "evidence": []} if reason else facts["ipv6"]}


def _init(host: Host) -> dict:
    """Which init runs as PID 1: ``{"name", "kind": "systemd"|"sysvinit"|"other"|None, "where",
    "error"}``. Only systemd and a SysV-style init apply the boot settings on disk; a container's
    PID 1 (a shell, tini, the service itself) applies none of them."""
    found = {"name": None, "kind": None, "where": "/proc/1/comm", "error": None}
    try:
        found["name"] = host.read_text("/proc/1/comm", limit=256).strip()
    except OSError as exc:
        found["error"] = f"cannot read /proc/1/comm: {exc.strerror or exc}"
        return found
    try:  # the program, where we may look (comm is what it calls itself)
        exe = host.readlink("/proc/1/exe")
        found.update(where="/proc/1/exe", program=exe)
    except OSError:
        exe = ""
    names = {found["name"], exe.rsplit("/", 1)[-1].removesuffix(" (deleted)")}
    if "systemd" in names:
        found["kind"] = "systemd"
    elif names & {"init", "sysvinit"}:
        found["kind"] = "sysvinit"
    else:
        found["kind"] = "other"
    return found


def _sysv_scripts(host: Host) -> list[dict]:
    found, seen = [], set()
    for name in SYSV_SCRIPTS:
        for directory in INIT_DIRS:
            path = f"{directory}/{name}"
            if not host.is_file(path):
                continue
            inode = (host.stat(path).st_dev, host.stat(path).st_ino)
            if inode in seen:  # /etc/init.d is a link to rc.d/init.d on Red Hat
                continue
            seen.add(inode)
            found.append(_sysv_script(host, path, name))
    return found


def _runs_ip6tables(host: Host, path: str) -> bool:
    """Whether a rules file the boot runs sets IPv6 rules: an ip6tables script, or an
    ip6tables-save file (its name says so: the format is the same as iptables-save's)."""
    if path in V6_RULE_FILES.values():
        return True
    # A rules file that is there but cannot be read (denied, a link loop, too large) raises:
    # what it loads cannot be told, and "no IPv6 rules" would be a guess.
    try:
        if not host.is_file(path):  # never open a FIFO or device an image planted there
            return False
    except ABSENT:
        return False
    return runs_ip6tables(host.read_text(path, limit=1024 * 1024))


def _sysv_script(host: Host, path: str, name: str) -> dict:
    parsed = parse_sysv_script(host.read_text(path, limit=256 * 1024), path)
    script: dict[str, Any] = {"script": path, "chkconfig": parsed["chkconfig"], "rules_files": [],
                              "start_links": [], "kill_links": [],
                              # under systemd this unit, not the script's rc links, decides (sysv generator)
                              "native_unit": find_unit(host, f"{name}.service")}
    for ref in parsed["rules_refs"]:
        exists = host.exists(ref["path"])
        script["rules_files"].append({**ref, "exists": exists, "ipv6": exists and _runs_ip6tables(host, ref["path"])})
    for level in "0123456":
        for pattern in RC_DIRS:
            for prefix, key in (("S", "start_links"), ("K", "kill_links")):
                script[key] += host.glob(f"{pattern.format(level)}/{prefix}[0-9][0-9]{name}")
    return script


def _unit(host: Host, unit: str, configs: tuple) -> dict:
    enabled_by = []
    for directory in UNIT_DIRS:
        try:
            entries = host.listdir(directory)
        except ABSENT:
            continue  # an unreadable unit directory raises: enabled cannot be told from absent
        enabled_by += [f"{directory}/{e}/{unit}" for e in entries
                       if e.endswith((".wants", ".requires")) and host.exists(f"{directory}/{e}/{unit}")]
    masked = host.masked(f"/etc/systemd/system/{unit}")
    config = next((c for c in configs if host.is_file(c)), configs[0] if configs else None)
    return {"unit": unit, "enabled_by": sorted(set(enabled_by)), "masked": masked,
            "installed": any(host.exists(f"{d}/{unit}") for d in UNIT_DIRS),
            "config": config, "config_exists": bool(config and host.is_file(config))}


def _loaded_now(facts) -> dict:
    """How many rules the kernel holds now (live), or why that is unknown."""
    if reason := facts.error_of("firewall_rules"):
        return {"error": reason}
    ruleset = facts["firewall_rules"]["ruleset"]
    rules = sum(len(c["rules"]) for t in ruleset["tables"] for c in t["chains"])
    drops = [f"{t['family']} {t['name']} {c['name']}" for t in ruleset["tables"] for c in t["chains"]
             if c.get("hook") and c.get("policy") == "drop"]
    return {"rules": rules, "drop_policies": drops}
