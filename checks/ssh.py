"""Checks of the ssh controls: sshd's install, configuration and start at boot."""

from __future__ import annotations

from hostaudit.checks.scheduling import noting_init
from hostaudit.model import Evidence, Result, Status, ev
from hostaudit.parsers.openssh_version import parse_version
from hostaudit.parsers.sshd_config import listen_port
from hostaudit.registry import check

NOLOGIN_SHELLS = ("/bin/false", "/usr/bin/false", "/sbin/nologin", "/usr/sbin/nologin")
SSHD_USERS = ("sshd", "_sshd")
# OpenSSH 7.4 removed SSH protocol 1 from sshd: without a Protocol line only 2 is spoken.
PROTOCOL1_REMOVED = (7, 4, 0)
SSH_BOOT_UNITS = ("ssh.service", "sshd.service", "ssh.socket", "sshd.socket")
SSH_SYSV_NAMES = ("ssh", "sshd")


def _loc(item: dict):
    return ev(item["path"], item.get("value", ""), item.get("line"))


def _versions(install: dict) -> list[tuple[tuple[int, int, int], str, Evidence]]:
    """Every known sshd version: (parsed, text, evidence), the package's first."""
    found: list[tuple[tuple[int, int, int], str, Evidence]] = []
    package = install.get("package")
    if package and (parsed := parse_version(package["version"])):
        text = f"package {package['name']} {package['version']}"
        found.append((parsed, package["version"], ev(package["source"], text, package.get("line"))))
    for binary in install["binaries"]:
        if binary["version"] and (parsed := parse_version(binary["version"])):
            found.append((parsed, binary["version"],
                          ev(binary["path"], f"version string OpenSSH_{binary['version']}")))
    return found


def not_installed(install: dict) -> Result | None:
    """not_applicable when sshd is known to be absent, else None: the package database was
    read and lists no OpenSSH server, and no sshd binary is where one is installed. There is
    then no sshd to judge; ssh.enabled is the control that fails for it."""
    if install["package_error"] is not None or install["package"] is not None or install["binaries"]:
        return None
    databases = ", ".join(install["package_databases"]) or "package database"
    return Result.not_applicable(
        "sshd is not installed (ssh.enabled fails for it)",
        evidence=[ev(databases, f"{' or '.join(install['packages_looked'])}: not installed"),
                  *(ev(path, "absent") for path in install["binaries_looked"])])


@check("ssh.privsep-dir", needs=["sshd_install"])
def privsep_dir(facts, params) -> Result:
    """sshd's privilege-separation chroot is root-owned and writable by nobody else."""
    install = facts["sshd_install"]
    if absent := not_installed(install):
        return absent
    dirs = install["privsep_dirs"]
    if not dirs:
        runtime = install["runtime_directory"]
        package = install["package"]
        if runtime:
            return Result.not_applicable(
                f"no privilege-separation dir on disk; systemd creates /run/{runtime['value']} "
                "when the ssh service starts", evidence=[_loc(runtime)])
        if package and package["name"] == "openssh-server":
            return Result.not_applicable(
                "no privilege-separation dir on disk; the openssh-server package's service "
                "creates /run/sshd at start",
                evidence=[ev(package["source"], "openssh-server installed", package.get("line"))])
        return Result.failed("no privilege-separation directory found",
                             evidence=[ev(p, "absent") for p in install["privsep_looked"]],
                             expected="a root-owned directory, mode 0755 or stricter")
    evidence, bad = [], []
    for d in dirs:
        text = f"uid {d['uid']} gid {d['gid']} mode {d['mode']:04o}" + ("" if d["is_dir"] else ", not a directory")
        evidence.append(ev(d["path"], text))
        if not d["is_dir"] or d["uid"] != 0 or d["mode"] & 0o022:
            bad.append(d["path"])
    if bad:
        return Result.failed(f"privilege-separation dir not root-owned or writable by others: {', '.join(bad)}",
                             evidence=evidence, expected="owner root, no group/other write")
    return Result.passed("privilege-separation dir is root-owned and not writable by others", evidence=evidence)


@check("ssh.sshd-user", needs=["passwd", "sshd_install"])
def sshd_user(facts, params) -> Result:
    """The unprivileged sshd account exists and cannot log in."""
    passwd = facts["passwd"]
    users = [u for u in passwd["users"] if u.get("name") in SSHD_USERS and "shell" in u]
    if not users and (absent := not_installed(facts["sshd_install"])):
        return absent
    if not users:
        return Result.failed("no sshd account", evidence=[ev(passwd["path"], "no sshd or _sshd user")],
                             expected="user sshd with a non-login shell")
    evidence = [ev(passwd["path"], f"{u['name']} shell {u['shell']}", u["line"]) for u in users]
    if all(u["shell"] in NOLOGIN_SHELLS for u in users):
        return Result.passed("sshd account has a non-login shell", evidence=evidence)
    return Result.failed("sshd account has a login shell", evidence=evidence,
                         expected=f"shell one of {', '.join(NOLOGIN_SHELLS)}")


def _banners(greetings: dict) -> list[tuple[int, str, object]]:
    """(port, banner, evidence) for every port that greeted the vantage point with SSH-."""
    where = greetings["target"]
    return [(g["port"], g["first_line"], ev(f"{where}:{g['port']}", f"banner {g['first_line']!r}"))
            for g in greetings["ports"]
            if g["result"] == "greeting" and g["first_line"].startswith("SSH-")]


def _views(facts, from_files, from_wire) -> Result:
    """Both views where the audit has both: the files (live, image) and the wire (net)."""
    parts = []
    if facts.mode in ("live", "image"):
        parts.append(from_files())
    if "net" in facts.modes:
        parts.append(from_wire())
    return Result.combine(*parts)


def _no_banner(greetings: dict) -> Result:
    return Result.not_applicable(f"no SSH banner seen from the vantage point on {greetings['target']}",
                                 evidence=[ev(greetings["target"],
                                              f"{len(greetings['ports'])} open port(s) greeted; none with SSH-")])


_FILES = ["sshd_config", "sshd_install"]


@check("ssh.protocol", needs={"live": _FILES, "image": _FILES, "net": ["greetings"]})
def protocol(facts, params) -> Result:
    """sshd speaks SSH protocol 2 only (its configuration; from the wire, its banner)."""
    return _views(facts, lambda: _protocol_from_files(facts), lambda: _protocol_from_wire(facts))


def _protocol_from_wire(facts) -> Result:
    # SSH-1.99 announces both protocols; SSH-1.5 only the old one (RFC 4253, 5.1).
    banners = _banners(facts["greetings"])
    if not banners:
        return _no_banner(facts["greetings"])
    evidence = [e for _, _, e in banners]
    old = [f"{port}: {banner.split('-')[1]}" for port, banner, _ in banners if not banner.startswith("SSH-2.0-")]
    if old:
        return Result.failed(f"protocol 1 offered on the wire ({', '.join(old)})", evidence=evidence,
                             expected="banner SSH-2.0-")
    return Result.passed("the SSH banner offers protocol 2 only", evidence=evidence, expected="banner SSH-2.0-")


def _protocol_from_files(facts) -> Result:
    if absent := not_installed(facts["sshd_install"]):
        return absent
    config, versions = facts["sshd_config"], _versions(facts["sshd_install"])
    evidence, failures, unset = [], [], []
    for c in config["configs"]:
        setting = c["protocol"]
        if setting is None:
            unset.append(c["path"])
            evidence.append(ev(c["path"], "no Protocol line (including Include files)"))
            continue
        evidence.append(_loc(setting))
        if setting["value"].replace(" ", "") != "2":
            failures.append(f"Protocol {setting['value']}")
    if not config["configs"]:
        unset.append("(none)")
        evidence += [ev(p, "absent") for p in config["looked"]]
    if failures and versions and min(versions)[0] >= PROTOCOL1_REMOVED:
        oldest = min(versions)
        return Result.passed(f"{', '.join(failures)} is ignored: OpenSSH {oldest[1]} (>= 7.4) speaks only protocol 2",
                             evidence=evidence + [e for _, _, e in versions])
    if failures:
        return Result.failed(f"protocol 1 allowed: {', '.join(failures)}", evidence=evidence, expected="Protocol 2")
    if unset:
        if not versions:
            return Result.error("no Protocol line and the OpenSSH version is unknown", evidence=evidence)
        evidence += [e for _, _, e in versions]
        oldest = min(versions)
        if oldest[0] >= PROTOCOL1_REMOVED:
            return Result.passed(f"no Protocol line; OpenSSH {oldest[1]} (>= 7.4) speaks only protocol 2",
                                 evidence=evidence)
        return Result.failed(f"no Protocol line and OpenSSH {oldest[1]} still supports protocol 1",
                             evidence=evidence, expected="Protocol 2")
    return Result.passed("Protocol 2 only", evidence=evidence)


def _ports(config: dict) -> list[tuple[object, object]]:
    """(port, evidence) pairs sshd listens on for one config.

    A ListenAddress with its own port uses that port; Port values (default 22) apply to the
    addresses without one, or to all addresses when there is no ListenAddress.
    """
    bare = [a for a in config["listen_address"] if listen_port(a["value"]) is None]
    pairs: list[tuple[object, object]] = [(listen_port(a["value"]), _loc(a)) for a in config["listen_address"]
                                          if listen_port(a["value"])]
    if bare or not config["listen_address"]:
        if config["port"]:
            pairs += [(int(p["value"]) if p["value"].isdigit() else p["value"], _loc(p)) for p in config["port"]]
        else:
            pairs.append((22, ev(config["path"], "no Port line: sshd's default is 22")))
    return pairs


@check("ssh.port", needs={"live": ["sshd_config", "listeners"], "image": ["sshd_config"],
                          "net": ["greetings"]}, params={"ssh_port": {"$ref": "#/$defs/port"}})
def port(facts, params) -> Result:
    """sshd listens only on the site's non-default port (config; live, its sockets; the wire)."""
    parts = []
    if facts.mode in ("live", "image"):
        # Judged even where sshd is not installed (unlike its version): the site's port is set
        # before sshd first starts, and a plan that installs sshd (ssh.enabled) sets it too.
        parts.append(_port_from_config(facts, params))
    if facts.mode == "live":
        sockets = _port_from_sockets(facts, params)
        if sockets.status is Status.NOT_APPLICABLE and parts:
            # Nothing to judge in the socket table, but say so: the configured port is not a listener.
            config = parts.pop()
            sockets = Result(config.status, f"{config.message}; {sockets.message}",
                             config.evidence + sockets.evidence, config.expected)
        parts.append(sockets)
    if "net" in facts.modes:
        parts.append(_port_from_wire(facts, params))
    return Result.combine(*parts)


def _port_from_sockets(facts, params) -> Result:
    wanted = int(params["ssh_port"])
    table = facts["listeners"]["listeners"]
    sockets = [s for s in table if s["proto"] == "tcp" and s["process"] == "sshd"]
    if not sockets:
        # A socket whose owner cannot be seen may still be sshd's: name it rather than guess.
        unknown = [s for s in table if s["proto"] == "tcp" and not s.get("owner_known") and s["port"] == 22]
        if unknown:
            return Result.error("something listens on 22/tcp and its owner cannot be seen: it may be sshd",
                                evidence=[ev("socket table", f"{s['address']}:22/tcp owner unknown "
                                                             f"({s.get('owner_note')})") for s in unknown],
                                expected=f"port {wanted} only")
        return Result.not_applicable("no sshd process listens now (socket table)",
                                     evidence=[ev("socket table", "no socket owned by sshd")])
    evidence = [ev("socket table", f"{s['address']}:{s['port']}/tcp sshd (pid {s['pid']})") for s in sockets]
    others = sorted({s["port"] for s in sockets if s["port"] != wanted})
    if others:
        return Result.failed(f"sshd listens on port(s) {', '.join(map(str, others))}", evidence=evidence,
                             expected=f"port {wanted} only")
    return Result.passed(f"sshd listens on {wanted} only", evidence=evidence, expected=f"port {wanted} only")


def _port_from_wire(facts, params) -> Result:
    wanted = int(params["ssh_port"])
    banners = _banners(facts["greetings"])
    if not banners:
        return _no_banner(facts["greetings"])
    evidence = [e for _, _, e in banners]
    others = sorted({p for p, _, _ in banners if p != wanted})
    if others:
        return Result.failed(f"SSH answers on port(s) {', '.join(map(str, others))}", evidence=evidence,
                             expected=f"SSH on {wanted} only")
    return Result.passed(f"SSH answers on {wanted} only", evidence=evidence, expected=f"SSH on {wanted} only")


def _port_from_config(facts, params) -> Result:
    wanted = int(params["ssh_port"])
    config = facts["sshd_config"]
    socket = config["socket"]
    if socket and socket["enabled_via"]:
        # Socket activation: systemd owns the listening socket and sshd_config's Port is unused.
        pairs = [(listen_port(s["value"]) or (int(s["value"]) if s["value"].isdigit() else s["value"]), _loc(s))
                 for s in socket["listen"]]
        pairs.insert(0, (None, ev(socket["enabled_via"], "ssh.socket enabled: systemd listens for sshd")))
    elif config["configs"]:
        pairs = [pair for c in config["configs"] for pair in _ports(c)]
    else:
        return Result.failed("no sshd_config: sshd would use its default port 22",
                             evidence=[ev(p, "absent") for p in config["looked"]], expected=f"Port {wanted}")
    ports = [p for p, _ in pairs if p is not None]
    evidence = [e for _, e in pairs]
    if ports and all(p == wanted for p in ports):
        return Result.passed(f"sshd is configured for port {wanted} only", evidence=evidence)
    others = sorted({str(p) for p in ports if p != wanted})
    return Result.failed(f"sshd is configured for port(s) {', '.join(others) or 'none'}", evidence=evidence,
                         expected=f"Port {wanted} only")


@check("ssh.version", needs={"live": ["sshd_install"], "image": ["sshd_install"], "net": ["greetings"]},
       params={"ssh_min_version": {"$ref": "#/$defs/version"}})
def version(facts, params) -> Result:
    """OpenSSH is at least the baseline's minimum version (installed; from the wire, the banner)."""
    minimum = parse_version(str(params["ssh_min_version"]))
    if minimum is None:
        return Result.error(f"parameter ssh_min_version {params['ssh_min_version']!r} is not a version")
    return _views(facts, lambda: _version_installed(facts, params, minimum),
                  lambda: _version_on_wire(facts, params, minimum))


def _version_on_wire(facts, params, minimum) -> Result:
    banners = _banners(facts["greetings"])
    if not banners:
        return _no_banner(facts["greetings"])
    evidence = [e for _, _, e in banners]
    expected = f">= {params['ssh_min_version']}"
    found = [(parse_version(b.split("OpenSSH_", 1)[1]), b) for _, b, _ in banners if "OpenSSH_" in b]
    if len(found) < len(banners) or any(v is None for v, _ in found):
        return Result.error("an SSH banner names no OpenSSH version", evidence=evidence, expected=expected)
    old = [b for v, b in found if v < minimum]
    if old:
        return Result.failed(f"the banner announces an older OpenSSH: {', '.join(old)}", evidence=evidence,
                             expected=expected)
    return Result.passed(f"the banner announces OpenSSH {expected}", evidence=evidence, expected=expected)


def _version_installed(facts, params, minimum) -> Result:
    install = facts["sshd_install"]
    if absent := not_installed(install):
        return absent
    versions = _versions(install)
    if not versions:
        evidence = [ev(b["path"], "no OpenSSH_ version string") for b in install["binaries"]]
        reason = install["package_error"] or "no openssh package installed"
        return Result.error(f"OpenSSH version unknown ({reason}; no sshd binary with a version string)",
                            evidence=evidence)
    evidence = [e for _, _, e in versions]
    old = sorted({text for parsed, text, _ in versions if parsed < minimum})
    if old:
        return Result.failed(f"OpenSSH {', '.join(old)} older than {params['ssh_min_version']}",
                             evidence=evidence, expected=f">= {params['ssh_min_version']}")
    return Result.passed(f"OpenSSH {versions[0][1]} >= {params['ssh_min_version']}", evidence=evidence)


@check("ssh.enabled", needs=["boot_services", "init_system"])
def enabled(facts, params) -> Result:
    """sshd starts at boot (rc or systemd links), noting an init that reads neither."""
    return noting_init(_enabled_links(facts), facts, "boot links")


def _enabled_links(facts) -> Result:
    boot = facts["boot_services"]
    systemd = not facts.error_of("init_system") and facts["init_system"]["kind"] == "systemd"
    sysv = [s for s in boot["sysv"] if s["service"] in SSH_SYSV_NAMES]
    # Under systemd an rc link of a script with a unit of its own starts nothing (sysv generator).
    ignored = [s for s in sysv if systemd and s.get("native_unit")]
    links = [ev(s["path"], f"-> {s['target']}") for s in sysv if s not in ignored]
    links += [ev(s["path"], f"-> {s['target']}") for s in boot["systemd"] if s["unit"] in SSH_BOOT_UNITS]
    masked = [ev(p, "masked (-> /dev/null)") for p in boot["masked"] if p.rsplit("/", 1)[1] in SSH_BOOT_UNITS]
    if masked:
        return Result.failed("the ssh unit is masked", evidence=masked + links, expected="ssh unit enabled")
    if links:
        return Result.passed("sshd is enabled at boot", evidence=links)
    rc = [ev(s["path"], f"-> {s['target']} (ignored: systemd runs {s['native_unit']} instead, and no *.wants "
                        "link enables it)") for s in ignored] or \
        [ev("/etc/rc.d/rc[2-5].d, /etc/rc[2-5].d", "no S??ssh or S??sshd link")]
    return Result.failed(
        "sshd is not started at boot",
        evidence=rc + [ev("/etc/systemd/system/*.wants", "no ssh.service, sshd.service or ssh.socket link")],
        expected="an S??ssh rc link or an enabled ssh.service/ssh.socket")
