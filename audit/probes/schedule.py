"""What runs on a schedule: cron jobs, cron.{hourly,daily,...} scripts and systemd timers,
plus the automatic-update configuration (apt periodic, dnf-automatic, yum-cron), and what
would run them at all (the cron daemons and whether systemd is the init).
"""

from __future__ import annotations

import re

from hostaudit.errors import ProbeError
from hostaudit.host import ABSENT, Host
from hostaudit.parsers.apt_conf import parse_apt_conf
from hostaudit.parsers.crontab import parse_crontab
from hostaudit.parsers.lines import judged, judged_lines
from hostaudit.parsers.systemd_unit import list_setting, parse_unit
from hostaudit.probes.services import UNIT_DIRS, find_unit, read_unit
from hostaudit.registry import probe

# (file or directory of crontabs, has a user field); Debian's spool first, then Red Hat's.
CRONTABS = (("/etc/crontab", True), ("/etc/cron.d", True), ("/var/spool/cron/crontabs", False),
            ("/var/spool/cron", False))
PERIODS = ("hourly", "daily", "weekly", "monthly")
# Package managers leave backups next to live files; cron and run-parts skip them.
_BACKUP = re.compile(r"(~|\.dpkg-[a-z]+|\.rpm(save|new|orig)|\.bak|\.swp)$")
# Debian's run-parts (without --lsbsysinit) and Debian's cron for /etc/cron.d take only these names.
_RUN_PARTS_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
# Skips that every cron daemon shares (run-parts runs only executables) go under this key.
ANY_CRON = "*"
# Script lines worth keeping as evidence: the programs the schedule-based controls look for.
# Whole scripts are not copied into the fact.
WATCHED = re.compile(r"(?<![\w-])(tripwire|df|check_disk|diskmon|rpm|yum|dnf|apt-get|unattended-upgrades?|"
                     r"yum-cron|dnf-automatic)(?![\w-])")
# Past this many watched lines a script is an error rather than a part taken for the whole.
_MAX_SCRIPT_LINES = 1000


def _whole(text: str, path: str, line: int | None) -> str:
    return judged(text, f"{path}:{line}" if line else path, "a command")


def _listing(host: Host, directory: str, unreadable: list[str]) -> list[str]:
    """Regular, non-backup files in ``directory``; an unlistable one is noted, not fatal."""
    try:
        names = host.listdir(directory)
    except PermissionError:
        unreadable.append(directory)
        return []
    except ABSENT:
        return []
    paths = [f"{directory}/{n}" for n in names]
    return [p for p in paths if not _BACKUP.search(p) and host.is_file(p)]


def _skipped_by(host: Host, path: str, periodic: bool, debian_run_parts: bool = False) -> dict[str, str]:
    """``{cron daemon name or ANY_CRON: why it skips path}``: a file present is not a job run.

    run-parts runs only executables, and Debian's, run by Debian's cron, only names of letters,
    digits, ``_`` and ``-``. Debian's cron(8) reads /etc/crontab and /etc/cron.d files only when
    owned by root (a symlink too) and not group- or other-writable, and /etc/cron.d names as
    run-parts does. A format that carries no owners or modes skips none of these rules' files.
    """
    skips: dict[str, str] = {}
    name = path.rsplit("/", 1)[1]
    try:
        target, link = host.stat(path), host.lstat(path)
    except OSError:
        return skips  # the read that follows decides
    named = _RUN_PARTS_NAME.match(name) is not None
    if periodic:
        if host.carries("modes") and not target.st_mode & 0o111:
            skips[ANY_CRON] = "not executable (run-parts runs only executables)"
        if not named:
            # Debian's run-parts (debianutils) serves every daemon that runs the cron.* directories
            skips[ANY_CRON if debian_run_parts else "cron"] = \
                f"the name {name} is not made of letters, digits, _ and - only (run-parts skips it)"
        return skips
    if path.startswith("/etc/cron.d/") and not named:
        skips["cron"] = f"the name {name} is not made of letters, digits, _ and - only"
    elif host.carries("owners") and (target.st_uid != 0 or link.st_uid != 0):
        skips["cron"] = f"owned by uid {target.st_uid if target.st_uid else link.st_uid}, not root"
    elif host.carries("modes") and target.st_mode & 0o022:
        skips["cron"] = f"mode {target.st_mode & 0o7777:04o} is group/other-writable"
    return skips


def _cron_entries(host: Host, unreadable: list[str]) -> tuple[list[dict], list[dict]]:
    entries, malformed = [], []
    for location, system in CRONTABS:
        paths = [location] if host.is_file(location) else _listing(host, location, unreadable)
        for path in paths:
            try:
                text = host.read_text(path)
            except PermissionError:
                unreadable.append(path)
                continue
            parsed = parse_crontab(text, system=system)
            owner = None if system else path.rsplit("/", 1)[1]
            skipped = _skipped_by(host, path, periodic=False) if system else {}
            entries += [{**e, "path": path, "user": e["user"] or owner, "skipped_by": skipped,
                         "command": _whole(e["command"], path, e.get("line"))} for e in parsed["entries"]]
            malformed += [{"path": path, "line": n} for n in parsed["malformed"]]
    return entries, malformed


def _periodic_scripts(host: Host, unreadable: list[str], debian_run_parts: bool) -> list[dict]:
    scripts = []
    for period in PERIODS:
        for path in _listing(host, f"/etc/cron.{period}", unreadable):
            try:
                text = host.read_text(path)
            except PermissionError:
                unreadable.append(path)
                continue
            lines = judged_lines(text, path, WATCHED, "a command")
            if len(lines) > _MAX_SCRIPT_LINES:
                raise ProbeError(f"{path}: {len(lines)} lines run watched programs; not judged from the "
                                 f"first {_MAX_SCRIPT_LINES}")
            scripts.append({"path": path, "period": period, "lines": lines,
                            "skipped_by": _skipped_by(host, path, periodic=True,
                                                      debian_run_parts=debian_run_parts)})
    return scripts


def _timers(host: Host) -> list[dict]:
    names = sorted({p.rsplit("/", 1)[1] for d in UNIT_DIRS for p in host.glob(f"{d}/*.timer")})
    timers = []
    for name in names:
        path = find_unit(host, name)
        if path is None:
            continue  # masked
        entries = read_unit(host, path)
        unit = next((e["value"] for e in entries if e.get("section") == "Timer" and e.get("key") == "Unit"),
                    name[: -len(".timer")] + ".service")
        enabled = host.glob(f"/etc/systemd/system/*.wants/{name}")
        service = find_unit(host, unit)
        commands = []
        if service:
            commands = [{"command": _whole(e["value"].lstrip("-@+!:"), e["path"], e["line"]), "path": e["path"],
                         "line": e["line"]}
                        for e in list_setting(read_unit(host, service), "Service", "ExecStart")]
        timers.append({
            "unit": name, "path": path, "enabled_via": enabled[0] if enabled else None,
            "schedule": [e["value"] for e in list_setting(entries, "Timer", "OnCalendar")],
            "service": service or unit, "commands": commands,
        })
    return timers


@probe("schedules", needs=["packages"])
def schedules(host: Host, facts) -> dict:
    """Scheduled jobs with the file and line each comes from.

    ``{"cron": [{"path", "line", "schedule", "user", "command", "skipped_by"}], "cron_malformed":
    [{"path", "line"}], "scripts": [{"path", "period", "lines": [{"line", "text"}], "skipped_by"}],
    "timers": [{"unit",
    "path", "enabled_via", "schedule", "service", "commands": [{"command", "path", "line"}]}],
    "unreadable": [path...]}``. Script ``lines`` keep only lines naming a WATCHED program;
    crontabs the auditor may not read (user spools, as non-root) are listed, not guessed.
    ``skipped_by`` names the cron daemons (ANY_CRON: all) that would not run the file, and why.
    """
    unreadable: list[str] = []
    cron, malformed = _cron_entries(host, unreadable)
    debian_run_parts = not facts.error_of("packages") and "debianutils" in facts["packages"]["installed"]
    return {"cron": cron, "cron_malformed": malformed,
            "scripts": _periodic_scripts(host, unreadable, debian_run_parts),
            "timers": _timers(host), "unreadable": unreadable}


APT_PERIODIC = ("APT::Periodic::Update-Package-Lists", "APT::Periodic::Unattended-Upgrade", "APT::Periodic::Enable")
APT_IGNORED = re.compile(r"(~|\.disabled|\.bak|\.dpkg-[a-z]+|\.ucf-[a-z]+|\.save|\.orig|\.distUpgrade)$")
UPDATE_PROGRAMS = {"apt": "/usr/bin/unattended-upgrade", "dnf_automatic": "/usr/bin/dnf-automatic",
                   "yum_cron": "/usr/sbin/yum-cron"}
INI_CONFIGS = {"dnf_automatic": "/etc/dnf/automatic.conf", "yum_cron": "/etc/yum/yum-cron.conf"}


def _apt_settings(host: Host) -> dict:
    """APT::Periodic values as apt resolves them: parts in name order, then apt.conf, last wins."""
    files = [p for p in host.glob("/etc/apt/apt.conf.d/*") if not APT_IGNORED.search(p) and host.is_file(p)]
    files += ["/etc/apt/apt.conf"] if host.is_file("/etc/apt/apt.conf") else []
    settings, problems = {}, []
    for path in files:
        try:
            parsed = parse_apt_conf(host.read_text(path))
        except ValueError as exc:
            problems.append(f"{path}: {exc}")
            continue
        for key in APT_PERIODIC:
            if key.lower() in parsed:
                found = parsed[key.lower()]
                settings[key] = {"value": found["value"], "path": path, "line": found["line"]}
    return {"settings": settings, "problems": problems}


def _ini_setting(host: Host, path: str, section: str, key: str) -> dict:
    if not host.is_file(path):
        return {"path": path, "present": False}
    # dnf's automatic.conf and yum-cron.conf are ini files, the grammar unit files share.
    found = [e for e in parse_unit(host.read_text(path))
             if not e.get("malformed") and e["section"] == section and e["key"] == key]
    last = {"value": found[-1]["value"], "line": found[-1]["line"]} if found else None
    return {"path": path, "present": True, key: last}


@probe("auto_updates")
def auto_updates(host: Host) -> dict:
    """Automatic-update tooling: which programs exist and how they are configured.

    ``{"apt": {"program", "settings": {key: {"value", "path", "line"}}, "problems"},
    "dnf_automatic": {"program", "config": {"path", "present", "apply_updates"}},
    "yum_cron": {...same}}``; ``program`` is the path when present, else None.
    """
    programs = {k: (p if host.is_file(p) else None) for k, p in UPDATE_PROGRAMS.items()}
    return {
        "apt": {"program": programs["apt"], **_apt_settings(host)},
        **{k: {"program": programs[k], "config": _ini_setting(host, INI_CONFIGS[k], "commands", "apply_updates")}
           for k in INI_CONFIGS},
    }


# What each cron daemon runs: every crontab and cron.* directory, or only some of them.
ALL_CRON = ("crontab", "hourly", "daily", "weekly", "monthly")
# name, packages, binaries, systemd units, rc / OpenRC service names, process names, runs.
CRON_DAEMONS = (
    ("cron", ("cron",), ("/usr/sbin/cron",), ("cron.service",), ("cron",), ("cron",), ALL_CRON),
    ("cronie", ("cronie",), ("/usr/sbin/crond",), ("crond.service", "cron.service"), ("crond",), ("crond",), ALL_CRON),
    ("systemd-cron", ("systemd-cron",), (), ("cron.target",), (), (), ALL_CRON),
    # anacron catches up on the periodic directories only; hourly stays with cron.
    ("anacron", ("anacron", "cronie-anacron"), ("/usr/sbin/anacron",), ("anacron.timer", "anacron.service"),
     ("anacron",), ("anacron",), ("daily", "weekly", "monthly")),
    # busybox crond reads the per-user spool only (/var/spool/cron/crontabs).
    ("busybox crond", (), ("/usr/sbin/crond", "/sbin/crond"), (), ("crond", "busybox-cron"), ("crond",), ("spool",)),
)
# systemd-cron turns crontabs into timers: it needs systemd as the init.
SYSTEMD_ONLY = {"systemd-cron"}
_PROCESS_NAMES = {name for d in CRON_DAEMONS for name in d[5]}


def _running(host: Host) -> dict:
    """``{process name: [pid...]}`` of running cron daemons (live only), from /proc/*/comm."""
    found: dict = {}
    for entry in host.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            name = host.read_text(f"/proc/{entry}/comm", limit=256).strip()
        except OSError:
            continue  # exited while we looked
        if name in _PROCESS_NAMES:
            found.setdefault(name, []).append(int(entry))
    return found


def _installed(host: Host, facts, daemon: tuple) -> dict | None:
    name, packages, binaries = daemon[:3]
    if not facts.error_of("packages"):
        installed = facts["packages"]["installed"]
        for package in packages:
            if package in installed:
                info = installed[package]
                return {"where": info["source"], "line": info.get("line"),
                        "text": f"package {package} {info['version']}"}
    for binary in binaries:
        target = host.canonical(binary)
        if not host.is_file(target):
            continue
        is_busybox = target.rsplit("/", 1)[-1] == "busybox"
        if is_busybox == (name == "busybox crond"):
            return {"where": binary, "line": None, "text": f"-> {target}" if target != binary else "present"}
    return None


def _enabled(host: Host, boot: dict, init: str, daemon: tuple) -> dict | None:
    """Where the booting init is told to start ``daemon``, or None."""
    units, services = daemon[3], daemon[4]
    if init == "systemd":
        link = next((s for s in boot["systemd"] if s["unit"] in units), None)
        if link:
            return {"where": link["path"], "text": f"-> {link['target']}"}
        if not any(find_unit(host, u) for u in units):
            # systemd starts rc-linked services that have no unit of their own (sysv generator).
            init = "sysvinit"
    if init == "sysvinit":
        link = next((s for s in boot["sysv"] if s["service"] in services), None)
        return {"where": link["path"], "text": f"-> {link['target']}"} if link else None
    if init == "openrc":
        found = [p for s in services for p in host.glob(f"/etc/runlevels/*/{s}")]
        return {"where": found[0], "text": "in an OpenRC runlevel"} if found else None
    return None


def _cron_state(host: Host, facts, init: dict, running: dict | None, daemon: tuple) -> dict:
    name, runs = daemon[0], daemon[6]
    state = {"name": name, "runs": list(runs), "installed": _installed(host, facts, daemon), "enabled": None,
             "running": sorted(pid for p in daemon[5] for pid in (running or {}).get(p, []))}
    if state["installed"] is None:
        return {**state, "state": "absent", "why": "not installed"}
    if state["running"]:
        return {**state, "state": "runs", "why": f"running (pid {', '.join(map(str, state['running']))})"}
    if name in SYSTEMD_ONLY and init["kind"] != "systemd":
        return {**state, "state": "unknown" if init["kind"] in ("none", "unknown") else "idle",
                "why": f"needs systemd as init; init: {init['text']}"}
    if init["boot_links"]:
        state["enabled"] = _enabled(host, facts["boot_services"], init["kind"], daemon)
        if state["enabled"]:
            installed = state["installed"]
            source = f"{installed['where']}:{installed['line']}" if installed["line"] else installed["where"]
            return {**state, "state": "runs", "why": f"{installed['text']} ({source}), enabled at boot "
                                                     f"({init['kind']}: {state['enabled']['where']})"}
        verb = "" if running is None else "not running, "
        return {**state, "state": "idle", "why": f"installed but {verb}not enabled in the {init['boot_links']}"}
    if running is not None and init["kind"] != "unknown":
        return {**state, "state": "idle", "why": f"not running, and {init['text']} reads no boot links"}
    if init["kind"] == "unknown":
        return {**state, "state": "unknown", "why": init["text"]}
    return {**state, "state": "unknown",
            "why": f"the image's init ({init['text']}) starts no services from boot links: whether cron runs "
                   "depends on what starts the container, which a root filesystem does not record"}


@probe("scheduler", needs=["packages", "boot_services", "init_system"])
def scheduler(host: Host, facts) -> dict:
    """What would actually run scheduled jobs here.

    ``{"init": init_system fact, "cron": [{"name", "runs": [crontab|spool|hourly|daily|...],
    "installed": {"where", "line", "text"} | None, "enabled": {"where", "text"} | None,
    "running": [pid...], "state": "runs"|"idle"|"absent"|"unknown", "why"}], "timers":
    {"state", "why"}, "packages_error"}``. A cron daemon runs jobs when installed and either
    running (live) or enabled at boot for the init that boots; systemd timers run only where
    systemd is that init. ``unknown`` is an image whose init cannot be told.
    """
    init = facts["init_system"]
    running = _running(host) if host.mode == "live" else None
    cron = [_cron_state(host, facts, init, running, d) for d in CRON_DAEMONS]
    if init["kind"] == "systemd":
        timers = {"state": "runs", "why": f"systemd is the init ({init['text']})"}
    elif init["kind"] == "none" and init.get("systemd_binary"):
        timers = {"state": "unknown",
                  "why": f"no init in the image, but systemd is installed ({init['systemd_binary']})"}
    elif init["kind"] == "unknown":
        timers = {"state": "unknown", "why": init["text"]}
    else:
        timers = {"state": "idle", "why": f"the init is not systemd ({init['text']})"}
    return {"init": init, "cron": cron, "timers": timers, "packages_error": facts.error_of("packages")}
