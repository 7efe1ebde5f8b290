"""Which scheduled jobs and boot settings something actually runs (shared by the integrity,
maint, ssh and sysctl checks).

A cron file is only a wish until a cron daemon reads it, and a timer only runs where systemd
is the init: a job counts when the ``scheduler`` fact names what runs it. Likewise rc links,
``*.wants`` links and sysctl.d files act only when the init that boots reads them.
"""

from __future__ import annotations

from hostaudit.model import Evidence, Result, ev

TIMER = "timer"
ANY_CRON = "*"  # as the schedules probe writes it: a skip every cron daemon makes
RANK = {"runs": 0, "unknown": 1, "idle": 2}


def cron_kinds(path: str) -> frozenset:
    """What kind of cron file ``path`` is, in the terms of the scheduler fact's ``runs``."""
    if path.startswith("/var/spool/cron/crontabs/"):
        return frozenset({"crontab", "spool"})
    for period in ("hourly", "daily", "weekly", "monthly"):
        if path.startswith(f"/etc/cron.{period}/"):
            return frozenset({period})
    return frozenset({"crontab"})


def runner(scheduler: dict, kinds: frozenset, skipped_by: dict | None = None) -> tuple[str, str]:
    """``(state, why)``: whether anything runs a job of ``kinds`` (runs, unknown or idle);
    ``skipped_by`` (the schedules fact's) names the daemons that would pass the file over."""
    if TIMER in kinds:
        timers = scheduler["timers"]
        return timers["state"], ("systemd" if timers["state"] == "runs" else f"systemd timers: {timers['why']}")
    skipped_by = skipped_by or {}
    daemons = [d for d in scheduler["cron"] if set(d["runs"]) & kinds]
    present = [d for d in daemons if d["state"] != "absent"]
    skipping = [(d["name"], skipped_by.get(d["name"], skipped_by.get(ANY_CRON))) for d in present]
    present = [d for d, (_, why) in zip(present, skipping) if why is None]
    if not present and any(why for _, why in skipping):
        return "idle", "; ".join(f"{name} skips it: {why}" for name, why in skipping)
    if not present:
        return "idle", f"no cron daemon installed ({', '.join(d['name'] for d in daemons)})"
    best = min(RANK[d["state"]] for d in present)
    chosen = [d for d in present if RANK[d["state"]] == best]
    if chosen[0]["state"] == "runs":  # the details are in the summary line
        return "runs", ", ".join(d["name"] for d in chosen)
    return chosen[0]["state"], "; ".join(f"{d['name']}: {d['why']}" for d in chosen)


def judge(scheduler: dict, jobs: list) -> dict:
    """Sort ``[(kinds, evidence)]`` or ``[(kinds, evidence, skipped_by)]`` into ``{"runs",
    "unknown", "idle"}`` lists of evidence, each annotated with what runs it (or why nothing does)."""
    sorted_jobs: dict = {"runs": [], "unknown": [], "idle": []}
    for kinds, found, *skipped in jobs:
        state, why = runner(scheduler, kinds, skipped[0] if skipped else None)
        label = {"runs": "run by", "idle": "nothing runs it:", "unknown": "may not run:"}[state]
        sorted_jobs[state].append(ev(found.where, f"{found.text} [{label} {why}]", found.line))
    return sorted_jobs


def summary(scheduler: dict) -> Evidence:
    """One line naming the init and the state of every installed cron daemon."""
    init = scheduler["init"]
    daemons = [f"{d['name']} ({d['why']})" for d in scheduler["cron"] if d["state"] != "absent"]
    cron = "; ".join(daemons) or "no cron daemon installed"
    timers = {"runs": "timers run", "unknown": "timers may not run"}.get(scheduler["timers"]["state"],
                                                                       "timers do not run")
    return ev(init["source"], f"init: {init['text']} ({timers}); cron: {cron}")


def init_ignores_boot_settings(facts) -> Evidence | None:
    """Evidence that the init which runs (live) or boots (image) reads no rc links, ``*.wants``
    links or sysctl.d (a container's init, an image without one), else None."""
    if facts.error_of("init_system"):
        return None
    init = facts["init_system"]
    if init["boot_links"]:
        return None
    if init["kind"] == "unknown":
        return ev(init["source"], f"{init['text']}: whether boot settings take effect is unknown")
    who = f"init: {init['text']}" if init["kind"] == "none" else init["text"]
    return ev(init["source"], f"{who}: no rc links, systemd *.wants links or sysctl.d are read at its start; "
                              "what starts it decides")


def noting_init(result: Result, facts, what: str) -> Result:
    """``result`` with a note when the init ignores boot settings: the verdict stays (the
    settings are what the control audits, and the same files act under an init that reads
    them), but the message no longer implies they take effect here."""
    note = init_ignores_boot_settings(facts)
    if note is None or result.status.value in ("not_applicable", "manual"):
        return result
    init = facts["init_system"]
    if init["kind"] == "none":  # an image without an init ("under this init: absent" misread)
        found = init["text"]
        if found.startswith("absent"):
            found = "no " + " or ".join(init["source"].split()) + found.removeprefix("absent")
        why = f": no init boots the image: {found}"
    else:
        why = f" under this init: {init['text']}"
    return Result(result.status, f"{result.message} ({what} take no effect{why})",
                  result.evidence + (note,), result.expected)
