"""What runs on a schedule: cron jobs, cron.{hourly,daily,...} scripts and systemd timers,
plus the automatic-update configuration (apt periodic, dnf-automatic, yum-cron).
"""

from __future__ import annotations

import re

from hostaudit.host import ABSENT, Host
from hostaudit.parsers.apt_conf import parse_apt_conf
from hostaudit.parsers.crontab import parse_crontab
from hostaudit.parsers.systemd_unit import list_setting, parse_unit
from hostaudit.probes.services import UNIT_DIRS, find_unit, read_unit
from hostaudit.registry import probe

# (file or directory of crontabs, has a user field); Debian's spool first, then Red Hat's.
CRONTABS = (("/etc/crontab", True), ("/etc/cron.d", True), ("/var/spool/cron/crontabs", False), ("/var/spool/cron", False))
PERIODS = ("hourly", "daily", "weekly", "monthly")
# Package managers leave backups next to live files; cron and run-parts skip them.
_BACKUP = re.compile(r"(~|\.dpkg-[a-z]+|\.rpm(save|new|orig)|\.bak|\.swp)$")
# Script lines worth keeping as evidence: the programs the schedule-based controls look for.
# Whole scripts are not copied into the fact.
WATCHED = re.compile(r"(?<![\w-])(tripwire|df|check_disk|diskmon|rpm|yum|dnf|apt-get|unattended-upgrades?|"
                     r"yum-cron|dnf-automatic)(?![\w-])")
_MAX_SCRIPT_LINES = 10
_EVIDENCE_CHARS = 200


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
            entries += [{**e, "path": path, "user": e["user"] or owner,
                         "command": e["command"][:_EVIDENCE_CHARS]} for e in parsed["entries"]]
            malformed += [{"path": path, "line": n} for n in parsed["malformed"]]
    return entries, malformed


def _periodic_scripts(host: Host, unreadable: list[str]) -> list[dict]:
    scripts = []
    for period in PERIODS:
        for path in _listing(host, f"/etc/cron.{period}", unreadable):
            try:
                text = host.read_text(path)
            except PermissionError:
                unreadable.append(path)
                continue
            lines = [{"line": n, "text": t.strip()[:_EVIDENCE_CHARS]} for n, t in enumerate(text.splitlines(), start=1)
                     if WATCHED.search(t) and not t.lstrip().startswith("#")]
            scripts.append({"path": path, "period": period, "lines": lines[:_MAX_SCRIPT_LINES]})
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
            commands = [{"command": e["value"].lstrip("-@+!:")[:_EVIDENCE_CHARS], "path": e["path"], "line": e["line"]}
                        for e in list_setting(read_unit(host, service), "Service", "ExecStart")]
        timers.append({
            "unit": name, "path": path, "enabled_via": enabled[0] if enabled else None,
            "schedule": [e["value"] for e in list_setting(entries, "Timer", "OnCalendar")],
            "service": service or unit, "commands": commands,
        })
    return timers


@probe("schedules")
def schedules(host: Host) -> dict:
    """Scheduled jobs with the file and line each comes from.

    ``{"cron": [{"path", "line", "schedule", "user", "command"}], "cron_malformed": [{"path",
    "line"}], "scripts": [{"path", "period", "lines": [{"line", "text"}]}], "timers": [{"unit",
    "path", "enabled_via", "schedule", "service", "commands": [{"command", "path", "line"}]}],
    "unreadable": [path...]}``. Script ``lines`` keep only lines naming a WATCHED program;
    crontabs the auditor may not read (user spools, as non-root) are listed, not guessed.
    """
    unreadable: list[str] = []
    cron, malformed = _cron_entries(host, unreadable)
    return {"cron": cron, "cron_malformed": malformed, "scripts": _periodic_scripts(host, unreadable),
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
    return {"path": path, "present": True, key: {"value": found[-1]["value"], "line": found[-1]["line"]} if found else None}


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
