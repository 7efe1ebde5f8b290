"""Checks of the maint controls: automatic patching and disk-space monitoring on a schedule."""

from __future__ import annotations

import re

from hostaudit.checks.scheduling import TIMER, cron_kinds, judge, summary
from hostaudit.model import Result, ev
from hostaudit.registry import check

# Commands that apply updates unattended (2002: rpm -Fvh from cron; later yum/dnf/apt-get -y).
PATCH_COMMANDS = re.compile(
    r"(?<![\w-])rpm\s+(-\w*F\w*|--freshen)"
    r"|(?<![\w-])(yum|dnf)(?=.*\s(-y|--assumeyes)\b)(?=.*\s(update|upgrade)\b)"
    r"|(?<![\w-])apt-get(?=.*\s(-\w*y\w*|--yes|--assume-yes)\b)(?=.*\s(upgrade|dist-upgrade)\b)"
    r"|(?<![\w-])unattended-upgrades?(?![\w-])"
)
DISK_COMMANDS = re.compile(r"(?<![\w-])(df|check_disk|diskmon)(?![\w-])")
APT_UPGRADE_SCHEDULERS = ("apt-daily-upgrade.timer",)
APT_UPDATE_SCHEDULERS = ("apt-daily.timer",)  # apt.systemd.daily update: refreshes the package lists
APT_CRON_SCRIPT = "/etc/cron.daily/apt-compat"  # runs apt.systemd.daily where systemd does not
DNF_TIMERS = ("dnf-automatic.timer", "dnf-automatic-install.timer")
YES = ("yes", "true", "1", "on")


def _scheduled_commands(sched: dict) -> list[tuple[str, frozenset, object, dict]]:
    """(command text, kind of schedule, evidence, cron daemons that skip its file) for every
    cron job, cron script line and enabled timer command."""
    found: list[tuple[str, frozenset, object, dict]] = [
        (c["command"], cron_kinds(c["path"]), ev(c["path"], f"{c['schedule']} {c['command']}", c["line"]),
         c.get("skipped_by") or {})
        for c in sched["cron"]]
    found += [(line["text"], frozenset({s["period"]}), ev(s["path"], f"{s['period']}: {line['text']}", line["line"]),
               s.get("skipped_by") or {})
              for s in sched["scripts"] for line in s["lines"]]
    found += [(cmd["command"], frozenset({TIMER}), ev(cmd["path"], f"{t['unit']}: {cmd['command']}", cmd["line"]), {})
              for t in sched["timers"] if t["enabled_via"] for cmd in t["commands"]]
    return found


def _enabled_timer(sched: dict, names) -> dict | None:
    return next((t for t in sched["timers"] if t["unit"] in names and t["enabled_via"]), None)


def _unattended_upgrades(updates: dict, sched: dict, scheduler: dict) -> tuple[bool, list, list]:
    """(configured to apply updates, evidence, [(kind, evidence, skipped_by)] of what would
    trigger it). apt-daily-upgrade.timer runs unattended-upgrade only; the package lists it
    upgrades from are refreshed by apt-daily.timer, so it counts only with that one. The
    cron.daily/apt-compat script does both, but exits at once where systemd is the init."""
    apt = updates["apt"]
    if not apt["program"]:
        return False, [], []
    evidence = [ev(apt["program"], "unattended-upgrades installed")]
    ok = True
    for key in ("APT::Periodic::Update-Package-Lists", "APT::Periodic::Unattended-Upgrade"):
        setting = apt["settings"].get(key)
        if setting is None:
            ok = False
            evidence.append(ev("/etc/apt/apt.conf.d", f"{key} not set (default 0: off)"))
        else:
            ok = ok and setting["value"] not in ("0", "")
            evidence.append(ev(setting["path"], f'{key} "{setting["value"]}"', setting["line"]))
    enable = apt["settings"].get("APT::Periodic::Enable")
    if enable and enable["value"] == "0":
        ok = False
        evidence.append(ev(enable["path"], 'APT::Periodic::Enable "0" turns all periodic runs off', enable["line"]))
    triggers: list[tuple[frozenset, object, dict]] = []
    timer = _enabled_timer(sched, APT_UPGRADE_SCHEDULERS)
    lists = _enabled_timer(sched, APT_UPDATE_SCHEDULERS)
    if timer and lists:
        triggers.append((frozenset({TIMER}), ev(timer["enabled_via"], "apt-daily-upgrade.timer enabled"), {}))
    elif timer:
        evidence.append(ev(timer["enabled_via"], "apt-daily-upgrade.timer enabled, but apt-daily.timer is not: the "
                                                 "package lists are never refreshed, so unattended-upgrade finds no "
                                                 "new version"))
    cron = next((s for s in sched["scripts"] if s["path"] == APT_CRON_SCRIPT), None)
    systemd = scheduler["init"].get("kind") == "systemd"
    if cron and systemd:
        evidence.append(ev(cron["path"], "exits at once where systemd is the init (it leaves the work to the "
                                         "apt-daily timers)"))
    elif cron:
        triggers.append((frozenset({cron["period"]}), ev(cron["path"], "runs apt.systemd.daily"),
                         cron.get("skipped_by") or {}))
    if not triggers and not timer and not cron:
        evidence.append(ev("/etc/systemd/system/timers.target.wants", "apt-daily-upgrade.timer not enabled"))
        evidence.append(ev(APT_CRON_SCRIPT, "absent"))
    return ok, evidence, triggers


def _dnf_automatic(updates: dict, sched: dict, scheduler: dict) -> tuple[bool, list, list]:
    dnf = updates["dnf_automatic"]
    if not dnf["program"]:
        return False, [], []
    evidence = [ev(dnf["program"], "dnf-automatic installed")]
    timer = _enabled_timer(sched, DNF_TIMERS)
    if timer is None:
        evidence.append(ev("/etc/systemd/system/timers.target.wants", "no dnf-automatic timer enabled"))
        return False, evidence, []
    trigger: list[tuple[frozenset, object, dict]] = [
        (frozenset({TIMER}), ev(timer["enabled_via"], f"{timer['unit']} enabled"), {})]
    if timer["unit"] == "dnf-automatic-install.timer":
        return True, evidence, trigger  # this timer applies updates whatever automatic.conf says
    return (*_apply_updates(dnf["config"], evidence), trigger)


def _apply_updates(config: dict, evidence: list) -> tuple[bool, list]:
    setting = config.get("apply_updates") if config["present"] else None
    if setting is None:
        evidence.append(ev(config["path"], "apply_updates not set (default no: download only)"))
        return False, evidence
    evidence.append(ev(config["path"], f"apply_updates = {setting['value']}", setting["line"]))
    return setting["value"].lower() in YES, evidence


def _yum_cron(updates: dict, sched: dict, scheduler: dict) -> tuple[bool, list, list]:
    yum = updates["yum_cron"]
    if not yum["program"]:
        return False, [], []
    evidence = [ev(yum["program"], "yum-cron installed")]
    script = next((s for s in sched["scripts"] if any("yum-cron" in line["text"] for line in s["lines"])), None)
    if script is None:
        evidence.append(ev("/etc/cron.daily", "no script runs yum-cron"))
        return False, evidence, []
    trigger = [(frozenset({script["period"]}), ev(script["path"], "runs yum-cron"), script.get("skipped_by") or {})]
    return (*_apply_updates(yum["config"], evidence), trigger)


@check("maint.auto-patches", needs=["schedules", "auto_updates", "scheduler"])
def auto_patches(facts, params) -> Result:
    """Security patches are applied automatically, by a job something actually runs."""
    sched, updates, scheduler = facts["schedules"], facts["auto_updates"], facts["scheduler"]
    expected = ("unattended-upgrades, dnf-automatic or yum-cron enabled, or a cron job applying updates, "
                "with a cron daemon (or systemd as init, for a timer) to run it")
    jobs = judge(scheduler, [(kinds, e, skips) for command, kinds, e, skips in _scheduled_commands(sched)
                             if PATCH_COMMANDS.search(command)])
    if jobs["runs"]:
        return Result.passed("a scheduled job applies updates", evidence=jobs["runs"] + [summary(scheduler)],
                             expected=expected)
    evidence, unknown = jobs["unknown"] + jobs["idle"], bool(jobs["unknown"])
    for name, tool in (("unattended-upgrades", _unattended_upgrades), ("dnf-automatic", _dnf_automatic),
                       ("yum-cron", _yum_cron)):
        ok, found, triggers = tool(updates, sched, scheduler)
        run = judge(scheduler, triggers)
        if ok and run["runs"]:
            return Result.passed(f"{name} applies updates automatically", evidence=found + run["runs"]
                                 + [summary(scheduler)], expected=expected)
        unknown = unknown or (ok and bool(run["unknown"]))
        evidence += found + run["unknown"] + run["idle"]
    if sched["unreadable"]:
        return Result.error(f"no automatic updates in what could be read; unreadable: {', '.join(sched['unreadable'])}",
                            evidence=evidence)
    if unknown:
        return Result.error("updates are scheduled, but whether anything runs them cannot be told from this image",
                            evidence=evidence + [summary(scheduler)], expected=expected)
    if not evidence:
        evidence = [ev("/etc/crontab, /etc/cron.d, /etc/cron.*, /var/spool/cron, timers", "no job applies updates"),
                    ev("/usr/bin/unattended-upgrade, /usr/bin/dnf-automatic, /usr/sbin/yum-cron", "none installed")]
    return Result.failed("updates are not applied automatically", evidence=evidence + [summary(scheduler)],
                         expected=expected)


@check("maint.disk-monitor", needs=["schedules", "scheduler"])
def disk_monitor(facts, params) -> Result:
    """A scheduled job watches free disk space, and something runs it."""
    sched, scheduler = facts["schedules"], facts["scheduler"]
    expected = "a cron job or timer running df (or check_disk/diskmon), with a scheduler that runs it"
    jobs = judge(scheduler, [(kinds, e, skips) for command, kinds, e, skips in _scheduled_commands(sched)
                             if DISK_COMMANDS.search(command)])
    if jobs["runs"]:
        return Result.passed("disk space is checked on a schedule", evidence=jobs["runs"] + [summary(scheduler)],
                             expected=expected)
    if sched["unreadable"]:
        return Result.error(f"no disk-space check in what could be read; unreadable: {', '.join(sched['unreadable'])}",
                            evidence=jobs["unknown"] + jobs["idle"])
    if jobs["unknown"]:
        return Result.error("a disk-space check is scheduled, but whether anything runs it cannot be told "
                            "from this image", evidence=jobs["unknown"] + [summary(scheduler)], expected=expected)
    if jobs["idle"]:
        return Result.failed("a disk-space check is scheduled, but nothing runs it",
                             evidence=jobs["idle"] + [summary(scheduler)], expected=expected)
    return Result.failed("no scheduled disk-space check", evidence=[
        ev("/etc/crontab, /etc/cron.d, /etc/cron.*, /var/spool/cron", "no job runs df, check_disk or diskmon"),
        ev("/etc/systemd/system/*.wants", "no enabled timer runs df, check_disk or diskmon")],
        expected=expected)
