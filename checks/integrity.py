"""Checks of the integrity controls: tripwire installed, initialised, cleaned up, scheduled."""

from __future__ import annotations

import re

from hostaudit.checks.scheduling import TIMER, cron_kinds, judge, summary
from hostaudit.model import Result, ev
from hostaudit.parsers.twpol import CONTENT_PROPERTIES, UNLIMITED, coverage
from hostaudit.probes.tripwire import DATABASE_GLOB
from hostaudit.registry import check

# tripwire's check mode: --check, or the short form -m c.
TRIPWIRE_CHECK = re.compile(r"(?<![\w-])tripwire(?![\w-]).*(--check\b|-m\s*c\b)")


@check("integrity.tripwire-installed", needs=["tripwire"])
def tripwire_installed(facts, params) -> Result:
    """The tripwire integrity checker is installed."""
    tw = facts["tripwire"]
    evidence = [ev(p, "present") for p in tw["binaries"]]
    if tw["package"]:
        pkg = tw["package"]
        evidence.append(ev(pkg["source"], f"package tripwire {pkg['version']}", pkg.get("line")))
    elif tw["package_error"]:
        evidence.append(ev("package database", tw["package_error"]))
    else:
        evidence.append(ev("package database", "no tripwire package"))
    if tw["binaries"]:
        return Result.passed("tripwire installed", evidence=evidence)
    evidence += [ev(p, "absent") for p in tw["binaries_looked"]]
    return Result.failed("no tripwire binary", evidence=evidence, expected="/usr/sbin/tripwire")


@check("integrity.tripwire-initialised", needs=["tripwire"])
def tripwire_initialised(facts, params) -> Result:
    """Tripwire has its signed config and policy, both keys and a baseline database."""
    tw = facts["tripwire"]
    present = [f"/etc/tripwire/{n}" for n, ok in tw["signed"].items() if ok] + tw["local_keys"] + tw["databases"]
    missing = [f"/etc/tripwire/{n}" for n, ok in tw["signed"].items() if not ok]
    if not tw["local_keys"]:
        missing.append("/etc/tripwire/*-local.key")
    if not tw["databases"]:
        missing.append("/var/lib/tripwire/*.twd")
    evidence = [ev(p, "missing") for p in missing] + [ev(p, "present") for p in present]
    if missing:
        return Result.failed(f"tripwire not initialised: missing {', '.join(missing)}", evidence=evidence,
                             expected="tw.cfg, tw.pol, site.key, <host>-local.key and a .twd database")
    return Result.passed("tripwire config, policy, keys and database present", evidence=evidence)


@check("integrity.tripwire-plaintext-removed", needs=["tripwire"])
def tripwire_plaintext_removed(facts, params) -> Result:
    """The plain-text policy and config were deleted after signing."""
    tw = facts["tripwire"]
    plaintext = tw["plaintext"]
    if plaintext:
        return Result.failed(f"plain-text tripwire files left: {', '.join(plaintext)}",
                             evidence=[ev(p, "present") for p in plaintext],
                             expected="twpol.txt and twcfg.txt deleted")
    if not tw["binaries"] and not tw["package"]:
        if tw["package_unknown"]:
            return Result.error(f"no plain-text files, but whether tripwire is installed cannot be told: "
                                f"{tw['package_error']}",
                                evidence=[ev(p, "absent") for p in tw["binaries_looked"]])
        # Nothing was ever signed, so "no plain text left" would be a pass by default.
        return Result.not_applicable("tripwire is not installed (see integrity.tripwire-installed)",
                                     evidence=[ev(p, "absent") for p in tw["binaries_looked"]])
    return Result.passed("no plain-text policy or config",
                         evidence=[ev("/etc/tripwire/twpol.txt", "absent"), ev("/etc/tripwire/twcfg.txt", "absent")])


@check("integrity.tripwire-scheduled", needs=["schedules", "scheduler", "tripwire"])
def tripwire_scheduled(facts, params) -> Result:
    """A tripwire integrity check runs every night, run by a scheduler, against a database."""
    sched, tw = facts["schedules"], facts["tripwire"]
    expected = ("/etc/cron.daily/tripwire, a cron job or an enabled timer running tripwire --check, with a cron "
                "daemon enabled (or systemd as init, for a timer) and a tripwire database")
    # A packaged cron.daily script is the schedule even if it exits early when tripwire is gone.
    jobs: list[tuple[frozenset, object, dict]] = [
        (cron_kinds(s["path"]), ev(s["path"], "daily cron script"), s.get("skipped_by") or {})
        for s in sched["scripts"] if s["period"] == "daily" and s["path"].rsplit("/", 1)[1].startswith("tripwire")]
    jobs += [(cron_kinds(c["path"]), ev(c["path"], f"{c['schedule']} {c['command']}", c["line"]),
              c.get("skipped_by") or {})
             for c in sched["cron"] if TRIPWIRE_CHECK.search(c["command"])]
    jobs += [(frozenset({TIMER}), ev(cmd["path"], f"{t['unit']} ({', '.join(t['schedule']) or 'no OnCalendar'}): "
                                                  f"{cmd['command']}", cmd["line"]), {})
             for t in sched["timers"] if t["enabled_via"] for cmd in t["commands"]
             if TRIPWIRE_CHECK.search(cmd["command"])]
    if not jobs:
        if sched["unreadable"]:
            return Result.error("no tripwire schedule in what could be read; unreadable: "
                                + ", ".join(sched["unreadable"]))
        return Result.failed("no scheduled tripwire check", evidence=[
            ev("/etc/cron.daily", "no tripwire* script"),
            ev("/etc/crontab, /etc/cron.d, /var/spool/cron", "no tripwire --check job"),
            ev("/etc/systemd/system/*.wants", "no enabled timer running tripwire --check")], expected=expected)
    found = judge(facts["scheduler"], jobs)
    context = [summary(facts["scheduler"])]
    context += [ev(p, "tripwire database") for p in tw["databases"]] or [ev(DATABASE_GLOB, "no tripwire database")]
    evidence = found["runs"] + found["unknown"] + found["idle"] + context
    if not tw["databases"]:
        run = "is scheduled" if found["runs"] else "is written down but nothing runs it"
        return Result.failed(f"a tripwire check {run}, and there is no database for it to check against",
                             evidence=evidence, expected=expected)
    if found["runs"]:
        return Result.passed("a tripwire check is scheduled and something runs it",
                             evidence=found["runs"] + context, expected=expected)
    if found["unknown"]:
        return Result.error("a tripwire check is scheduled, but whether anything runs it cannot be told "
                            "from this image", evidence=evidence, expected=expected)
    return Result.failed("a tripwire check is scheduled, but nothing runs it", evidence=evidence, expected=expected)


def _rule_text(rule: dict) -> str:
    if rule["stop"]:
        return f"!{rule['path']}"
    recurse = "" if rule["recurse"] == UNLIMITED else f" (recurse={rule['recurse']})"
    return f"{rule['path']} -> {rule['mask']}{recurse}: checks {rule['properties'] or 'nothing'}"


def _policy_problem(path: str, found: dict) -> str | None:
    """Why tripwire does not watch the contents of ``path``, or None when it does."""
    rule = found["rule"]
    if found["reason"]:
        return found["reason"]
    if not CONTENT_PROPERTIES & set(rule["properties"]):
        return (f"the rule for {rule['path']} checks no content hash (C, M, S or H), "
                "so a file rewritten in place goes unnoticed")
    if found["holes"]:
        return f"{path} has exceptions: " + ", ".join(
            f"!{h['path']}" if h["stop"] else f"{h['path']} -> {h['mask']}" for h in found["holes"])
    return None


@check("integrity.tripwire-covers-qmail", needs=["tripwire_policy"],
       params={"tripwire_paths": {"type": "array", "items": {"type": "string", "pattern": "^/"}, "minItems": 1}})
def tripwire_covers_qmail(facts, params) -> Result:
    """Tripwire's policy watches the contents of qmail's binaries and control files."""
    pol = facts["tripwire_policy"]
    paths = params["tripwire_paths"]
    expected = "; ".join(f"{p} -> $(SEC_CONFIG) (recurse=1) with a content hash" for p in paths)
    if pol["installed"] is False:
        return Result.not_applicable("tripwire is not installed (see integrity.tripwire-installed)")
    where = pol["source"] or "/etc/tripwire/tw.pol"
    if pol["installed"] is None and pol["rules"] is None and not pol["error"]:
        return Result.error(f"no tripwire policy, and whether tripwire is installed cannot be told: "
                            f"{pol['installed_error']}", expected=expected)
    if pol["error"]:
        plaintext = " (the plain-text twpol.txt is not a substitute for the policy tripwire uses)" \
            if pol["compiled"] and pol["plaintext_present"] else ""
        return Result.error(f"cannot read tripwire's policy: {pol['error']}{plaintext}",
                            evidence=[ev(where, pol["error"])], expected=expected)
    if pol["rules"] is None:
        return Result.failed("tripwire has no policy at all", evidence=[
            ev("/etc/tripwire/tw.pol", "absent"), ev("/etc/tripwire/twpol.txt", "absent")], expected=expected)
    kind = "compiled policy" if pol["compiled"] else "plain-text policy (no compiled tw.pol)"
    evidence, problems, uncertain = [], [], []
    for path in paths:
        found = coverage(pol["rules"], path)
        if found["rule"]:
            evidence.append(ev(where, f"{path}: {_rule_text(found['rule'])}", found["rule"]["line"]))
        problem = _policy_problem(path, found)
        if problem:
            problems.append(f"{path}: {problem}")
            evidence += [ev(where, f"{path}: {_rule_text(h)}", h["line"]) for h in found["holes"]]
            if not found["rule"]:
                evidence.append(ev(where, problem))
        if found["conditional"]:
            uncertain.append(f"{path} depends on "
                             + ", ".join(f"line {r['line']} ({r['condition'] or 'an unresolved variable'})"
                                         for r in found["conditional"]))
    if uncertain:
        # Rules for another host name, or named by a variable tripwire fills in, may decide.
        return Result.error("cannot tell which rules apply on this host: " + "; ".join(uncertain),
                            evidence=evidence, expected=expected)
    if problems:
        return Result.failed(f"tripwire's {kind} does not watch " + "; ".join(problems),
                             evidence=evidence, expected=expected)
    return Result.passed(f"tripwire's {kind} watches the contents of {', '.join(paths)}",
                         evidence=evidence, expected=expected)
