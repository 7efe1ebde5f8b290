"""fs: partitions, mount options, swap, quotas, run-control permissions and disk space."""

from __future__ import annotations

from hostaudit.checks.accounts import NOBODY_UID, _uid_min
from hostaudit.model import Evidence, Result, ev
from hostaudit.parsers.fstab import mount_unit_name, normalize_mount_point, option_in_effect
from hostaudit.registry import check

MOUNTINFO = "/proc/self/mountinfo"
MAX_LISTED = 20


def _fstab_entry(fstab: dict, mount_point: str) -> dict | None:
    """The last fstab entry for ``mount_point`` (mount -a stacks them: the last is on top)."""
    for entry in reversed(fstab["entries"]):
        if not entry.get("malformed") and entry["mount_point"] == mount_point and entry["fstype"] != "swap":
            return entry
    return None


def _entry_text(entry: dict) -> str:
    return f"{entry['spec']} {entry['mount_point']} {entry['fstype']} {','.join(entry['options'])}"


def _unit_text(unit: dict) -> str:
    return f"Where={unit['where']} What={unit['what']} Options={','.join(unit['options'])}"


def _at_boot(entry: dict) -> bool:
    """An fstab entry is mounted at boot unless noauto, or noauto with a systemd automount."""
    return not option_in_effect(entry["options"], "noauto") or "x-systemd.automount" in entry["options"]


def _mount_unit(fstab: dict, mount_point: str) -> dict | None:
    """The admin's .mount unit systemd would load for ``mount_point`` (named after it)."""
    name = mount_unit_name(mount_point)
    return next((u for u in fstab["mount_units"] if u["where"] == mount_point and u.get("unit", name) == name), None)


def persistent_mount(fstab: dict, mount_point: str) -> dict | None:
    """What mounts ``mount_point`` at boot, with its options: the admin's .mount unit (it
    replaces the unit systemd-fstab-generator makes from fstab, so its options are the ones
    used) or the last fstab entry. None when nothing mounts it at boot (no_persistent_mount says why).
    """
    entry, unit = _fstab_entry(fstab, mount_point), _mount_unit(fstab, mount_point)
    if unit is not None and (unit.get("enabled_via", True) or (entry is not None and _at_boot(entry))):
        evidence = ev(unit["path"], _unit_text(unit), unit["line"])
        return {"options": unit["options"], "evidence": evidence}
    if entry is not None and _at_boot(entry):
        return {"options": entry["options"], "evidence": ev(fstab["path"], _entry_text(entry), entry["line"])}
    return None


def no_persistent_mount(fstab: dict, mount_point: str) -> Result:
    """The failure when nothing mounts ``mount_point`` at boot, with where it looked and what
    it found that does not count."""
    entry = _fstab_entry(fstab, mount_point)
    if not fstab["present"]:
        found = [ev(fstab["path"], "file does not exist")]
    elif entry is not None:
        found = [ev(fstab["path"], f"{_entry_text(entry)}: noauto, so nothing mounts it at boot", entry["line"])]
    else:
        found = [ev(fstab["path"], f"no entry for {mount_point}")]
    units = [u for u in fstab["mount_units"] if u["where"] == mount_point]
    name = mount_unit_name(mount_point)
    for unit in units:
        if unit.get("unit", name) != name:
            found.append(ev(unit["path"], f"Where={mount_point}, but systemd loads it only as {name}", unit["line"]))
        else:
            found.append(ev(unit["path"], f"Where={mount_point}, but no *.wants or *.requires link starts it at boot",
                            unit["line"]))
    if not units:
        found.append(ev("/etc/systemd/system/*.mount", f"no unit with Where={mount_point}"))
    return Result.failed(
        f"{mount_point} is not a filesystem of its own in the persistent mount table",
        evidence=found,
        expected=f"an /etc/fstab entry mounting {mount_point}",
    )


def mounted(mountinfo: dict, mount_point: str) -> tuple[dict | None, str]:
    """The mount in force at ``mount_point`` (top of the stack), or None and why not.

    A bind mount of a directory of the root filesystem is not a filesystem of its own.
    """
    mounts = [m for m in mountinfo["mounts"] if not m.get("malformed")]
    here = [m for m in mounts if m["mount_point"] == mount_point]
    if not here:
        return None, f"{mount_point} is not a mount point (a directory of its parent filesystem)"
    mount = here[-1]
    root = next((m for m in reversed(mounts) if m["mount_point"] == "/"), None)
    if mount_point != "/" and root and mount["device"] == root["device"]:
        return None, f"{mount_point} is a bind mount of the root filesystem ({mount['device']})"
    return mount, ""


def mount_evidence(mount: dict) -> Evidence:
    """Evidence citing the mountinfo line of a mount in force, options included."""
    options = ",".join(mount["mount_options"] + mount["super_options"])
    text = f"{mount['mount_point']} {mount['fstype']} {mount['source']} {options}"
    return ev(MOUNTINFO, text, mount["line"])


def _mount_point(params: dict) -> str:
    return normalize_mount_point(params["mount_point"])


def partition(facts, params) -> Result:
    """The mount point is a filesystem of its own (fstab; live also mounted as such)."""
    mount_point = _mount_point(params)
    persistent = persistent_mount(facts["fstab"], mount_point)
    if persistent is None:
        return no_persistent_mount(facts["fstab"], mount_point)
    evidence = [persistent["evidence"]]
    if facts.mode == "live":
        mount, why_not = mounted(facts["mountinfo"], mount_point)
        if mount is None:
            return Result.failed(
                f"{mount_point} is in the persistent mount table but {why_not}",
                evidence=evidence + [ev(MOUNTINFO, why_not)],
                expected=f"{mount_point} mounted as its own filesystem",
            )
        evidence.append(mount_evidence(mount))
    return Result.passed(f"{mount_point} is a filesystem of its own", evidence=evidence)


for _name in ("boot", "var", "home", "usr-local"):
    check(f"fs.partition.{_name}", needs=["fstab", "mountinfo"],
          params={"mount_point": {"$ref": "#/$defs/mount_point"}})(partition)


@check("fs.swap", needs=["fstab", "swaps"])
def swap(facts, params) -> Result:
    """Swap space is configured (fstab or swap unit; live also what /proc/swaps shows)."""
    fstab, swaps = facts["fstab"], facts["swaps"]
    entries = [e for e in fstab["entries"] if not e.get("malformed") and e["fstype"] == "swap"]
    evidence = [ev(fstab["path"], f"swap {e['spec']}", e["line"]) for e in entries if _at_boot(e)]
    # a swap unit, like a mount unit, acts only when a target pulls it in
    evidence += [ev(u["path"], f"What={u['what']}", u["line"]) for u in fstab["swap_units"]
                 if u.get("enabled_via", True)]
    idle = [ev(fstab["path"], f"swap {e['spec']}: noauto, so nothing turns it on at boot", e["line"])
            for e in entries if not _at_boot(e)]
    idle += [ev(u["path"], f"What={u['what']}, but no *.wants or *.requires link starts it at boot", u["line"])
             for u in fstab["swap_units"] if not u.get("enabled_via", True)]
    if swaps["available"]:
        evidence += [ev(swaps["path"], f"active {a['type']} {a['filename']}", a["line"])
                     for a in swaps["areas"]]
    if evidence:
        return Result.passed("swap is configured", evidence=evidence)
    looked = idle or [ev(fstab["path"], "no swap entry" if fstab["present"] else "file does not exist"),
                      ev("/etc/systemd/system/*.swap", "no swap unit")]
    if swaps["available"]:
        looked.append(ev(swaps["path"], "no active swap area"))
    return Result.failed("no swap configured", evidence=looked,
                         expected="a swap entry in /etc/fstab")


@check("fs.quota.enabled", needs=["fstab", "quota"], params={"mount_point": {"$ref": "#/$defs/mount_point"}})
def quota_enabled(facts, params) -> Result:
    """User quota is requested for the mount point and will be on: live, initialised and
    switched on now; in an image, what is configured to happen at boot (usrquota plus the
    quota tools that run quotacheck and quotaon), a quota file being evidence, not a need."""
    mount_point = _mount_point(params)
    live = facts.mode == "live"
    expected = (f"usrquota on {mount_point}, quota file at its root, quota on" if live else
                f"usrquota on {mount_point} and quotacheck/quotaon run at boot")
    persistent = persistent_mount(facts["fstab"], mount_point)
    if persistent is None:
        failed = no_persistent_mount(facts["fstab"], mount_point)
        return Result.failed(f"{failed.message}: no quota can be asked for",
                             evidence=failed.evidence, expected=expected)
    state = facts["quota"]["mount_points"].get(mount_point, {"files": [], "state": None})
    evidence = [persistent["evidence"]]
    problems = []
    if not option_in_effect(persistent["options"], "usrquota"):
        problems.append("the persistent options do not ask for user quota (usrquota)")
    if state["files"]:
        evidence += [ev(path, "quota file present") for path in state["files"]]
    elif not live:
        evidence.append(ev(mount_point, "no aquota.user yet (quotacheck creates it at boot)"))
    elif not (state["state"] or {}).get("on"):
        # Live, an ext4 filesystem with the quota feature keeps quota in hidden inodes.
        problems.append(f"no aquota.user or quota.user at {mount_point} (quotacheck never ran)")
        evidence.append(ev(mount_point, "no aquota.user or quota.user"))
    if live:
        running = state["state"]
        if running is None:
            problems.append(f"{mount_point} is not a mounted quota-capable filesystem")
        elif "error" in running:
            return Result.error(f"cannot tell whether quota is on: {running['error']}",
                                evidence=evidence + [ev(running["command"], running["error"])],
                                expected=expected)
        else:
            evidence.append(ev(running["command"], running["text"]))
            if not running["on"]:
                problems.append("user quota is off")
    else:
        problems += _boot_problems(facts["quota"].get("boot"), evidence)
    if problems:
        return Result.failed(f"{mount_point}: " + "; ".join(problems),
                             evidence=evidence, expected=expected)
    how = "enabled" if live else "asked for and switched on at boot"
    return Result.passed(f"user quota is {how} on {mount_point}", evidence=evidence, expected=expected)


def _boot_problems(boot: dict | None, evidence: list) -> list[str]:
    """What is missing for quota to be checked and switched on at boot (evidence added)."""
    if boot is None:
        return ["what runs quotacheck and quotaon at boot was not looked at"]
    problems = []
    missing = [name for name, path in boot["programs"].items() if path is None]
    evidence += [ev(path, f"{name} installed") for name, path in boot["programs"].items() if path]
    if missing:
        problems.append(f"{' and '.join(missing)} not installed (the quota package)")
        evidence.append(ev(", ".join(f"/sbin/{m}" for m in missing), "not found in /sbin or /usr/sbin"))
    if boot["hooks"]:
        evidence += [ev(path, "runs at boot") for path in boot["hooks"]]
    else:
        problems.append("nothing runs quotacheck/quotaon at boot (no quotaon.service, "
                        "systemd-quotacheck.service or quota init script)")
        evidence.append(ev("quotaon.service", "no unit or init script found"))
    return problems


@check("fs.rc-permissions", needs=["rc_scripts"])
def rc_permissions(facts, params) -> Result:
    """Run-control scripts are mode 700: no access at all for group and other."""
    rc = facts["rc_scripts"]
    if not rc["scripts"]:
        where = ", ".join(rc["dirs"]) or "none of " + ", ".join(rc["looked_in"])
        return Result.not_applicable(f"no run-control scripts (looked in {where}); "
                                     "services start from systemd units")
    offenders = [s for s in rc["scripts"] if s["mode"] & 0o077]
    expected = "mode 0700 or stricter (chmod -R 700 /etc/rc.d/*)"
    if not offenders:
        return Result.passed(
            f"all {len(rc['scripts'])} run-control scripts are closed to group and other",
            evidence=[ev(d, "scanned") for d in rc["dirs"]], expected=expected)
    writable = [s for s in offenders if s["mode"] & 0o022]
    evidence = []
    for script in sorted(offenders, key=lambda s: not s["mode"] & 0o022)[:MAX_LISTED]:
        how = "writable" if script["mode"] & 0o022 else "readable/executable"
        via = f" (via {script['via']})" if script["via"] != script["path"] else ""
        evidence.append(ev(script["path"], f"mode {script['mode']:04o}, {how} by group/other{via}"))
    if len(offenders) > MAX_LISTED:
        evidence.append(ev("...", f"{len(offenders) - MAX_LISTED} more not listed"))
    return Result.failed(
        f"{len(offenders)} of {len(rc['scripts'])} run-control scripts are open to group/other"
        f" ({len(writable)} writable)", evidence=evidence, expected=expected)


@check("fs.disk-usage", needs=["disk_usage"],
       params={"disk_usage_max_percent": {"type": "number", "exclusiveMinimum": 0, "maximum": 100}})
def disk_usage(facts, params) -> Result:
    """No local filesystem is filled beyond the threshold."""
    limit = params["disk_usage_max_percent"]
    usage = facts["disk_usage"]
    if not usage["available"]:
        return Result.not_applicable(usage["reason"])
    if not usage["filesystems"]:
        return Result.error(f"no local filesystem found in {usage['path']}")
    expected = f"each filesystem at most {limit}% used"
    evidence = [ev(fs["mount_point"], f"{fs['used_percent']}% used ({fs['fstype']} {fs['source']})")
                for fs in usage["filesystems"]]
    full = [fs["mount_point"] for fs in usage["filesystems"] if fs["used_percent"] > limit]
    if full:
        over = [e for e in evidence if e.where in full]
        return Result.failed(f"{', '.join(full)} over {limit}% used", evidence=over,
                             expected=expected)
    return Result.passed(f"all {len(evidence)} local filesystems at most {limit}% used",
                         evidence=evidence, expected=expected)


def _regular_users(facts) -> tuple[list[dict], Evidence]:
    """Users with uid >= UID_MIN other than nobody, and where UID_MIN came from."""
    uid_min, where = _uid_min(facts)
    users = [u for u in facts["passwd"]["users"]
             if "uid" in u and u["uid"] >= uid_min and u["uid"] != NOBODY_UID and u["name"] != "nobody"]
    return users, where


def _missing_limits(entry: dict | None) -> list[str]:
    if entry is None:
        return ["no quota entry"]
    return [f"{what} {kind} limit 0" for what in ("block", "inode") for kind in ("soft", "hard")
            if not entry[f"{what}_{kind}"]]


@check("fs.quota.users", needs=["passwd", "login_defs", "quota_limits"],
       params={"mount_point": {"type": "string", "pattern": "^/"}})
def quota_users(facts, params) -> Result:
    """Every regular user has block and inode soft and hard limits on the mount point."""
    path = _mount_point(params)
    expected = (f"every user with uid >= UID_MIN has non-zero block and inode soft and hard limits "
                f"on {path} (the document: 20 and 25)")
    limits = facts["quota_limits"].get(path)
    if limits is None:
        return Result.error(f"quota limits are read for {', '.join(facts['quota_limits'])} only, not {path}")
    where = limits["source"] or limits.get("mount_point") or path
    if limits["error"]:
        return Result.error(f"cannot read the quota limits: {limits['error']}",
                            evidence=[ev(where, limits["error"])], expected=expected)
    try:
        users, uid_evidence = _regular_users(facts)
    except ValueError as exc:
        return Result.error(str(exc), expected=expected)
    if not users:
        return Result.not_applicable(f"no regular users in {facts['passwd']['path']} to limit",
                                     evidence=[uid_evidence])
    if limits["entries"] is None:
        if facts.mode == "live":
            how = "user quota is not enabled" if limits.get("quota_off") else "no user quota is stored"
            return Result.failed(f"{how} for {limits['mount_point']}, so no user has limits on {path} "
                                 "(see fs.quota.enabled)", evidence=[ev(where, limits["reason"])], expected=expected)
        fstab = limits["fstab"]
        return Result.not_applicable(f"no quota limits to read in the image: {limits['reason']}",
                                     evidence=[ev(fstab["where"], fstab["text"], fstab["line"])])
    by_id = {e["id"]: e for e in limits["entries"]}
    evidence, offenders = [], []
    for user in users:
        entry = by_id.get(user["uid"])
        missing = _missing_limits(entry)
        if missing:
            offenders.append(ev(where, f"{user['name']} (uid {user['uid']}): {', '.join(missing)}",
                                entry and entry.get("line")))
        elif entry is not None:  # no missing limit: the user has an entry
            evidence.append(ev(where, f"{user['name']} (uid {user['uid']}): blocks {entry['block_soft']}/"
                                      f"{entry['block_hard']} KiB, inodes {entry['inode_soft']}/{entry['inode_hard']}",
                               entry.get("line")))
    if offenders:
        shown = offenders[:MAX_LISTED]
        if len(offenders) > MAX_LISTED:
            shown.append(ev("...", f"{len(offenders) - MAX_LISTED} more not listed"))
        return Result.failed(f"{len(offenders)} of {len(users)} regular users lack quota limits on {path}",
                             evidence=shown + [uid_evidence], expected=expected)
    return Result.passed(f"all {len(users)} regular users have block and inode limits on {path}",
                         evidence=evidence[:MAX_LISTED] + [uid_evidence], expected=expected)


# Ids nss-systemd answers for without any file: DynamicUser= services and systemd-homed users.
_SYSTEMD_ID_RANGES = ((60001, 60513), (61184, 65519))


def _other_name_sources(facts) -> tuple[list[str], bool]:
    """Name services besides the files consulted for passwd/group, and whether they may
    define any id at all (False: only systemd's own ranges)."""
    reason = facts.error_of("nsswitch")
    if reason:
        return [f"nsswitch.conf unreadable ({reason})"], True
    nsswitch = facts["nsswitch"]
    sources = {s for e in nsswitch["entries"] if e.get("database") in ("passwd", "group")
               for s in e["services"] if s not in ("files", "compat")}
    return sorted(sources), bool(sources - {"systemd"})


def _walk_scope(walk: dict) -> str:
    # Which filesystems, not how many entries: a live host's count moves every night (logs,
    # spools, temporary files), and a verdict whose words move is a drift run's false change.
    # The counts stay in the file_walk fact.
    parts = [f"{fs['mount_point']} ({fs['fstype']})" for fs in walk["filesystems"]]
    return "walked " + ", ".join(parts)


def _unseen(walk: dict) -> tuple[int, list[Evidence]]:
    """How many directories the walk could not look into, and evidence naming them.

    A directory of another filesystem met inside the walk (a btrfs subvolume, a mount inside
    an image root, a mount made mid-walk) was not entered: as unknown as an unreadable one.
    """
    unreadable, other = walk["unreadable"], walk["other_device"]
    evidence = [ev(u["path"], f"not read: {u['reason']}") for u in unreadable["paths"]]
    if unreadable["count"] > len(unreadable["paths"]):
        evidence.append(ev("...", f"{unreadable['count'] - len(unreadable['paths'])} more not read"))
    evidence += [ev(path, "not entered: another filesystem") for path in other["paths"]]
    if other["count"] > len(other["paths"]):
        evidence.append(ev("...", f"{other['count'] - len(other['paths'])} more not entered"))
    return unreadable["count"] + other["count"], evidence


def _unowned_evidence(unowned: dict) -> list[Evidence]:
    evidence = []
    for item in unowned["files"]:
        missing = " and ".join(what for what, gone in (("user", item["no_user"]),
                                                       ("group", item["no_group"])) if gone)
        evidence.append(ev(item["path"], f"uid {item['uid']} gid {item['gid']}: no such {missing}"))
    if unowned["count"] > len(evidence):
        evidence.append(ev("...", f"{unowned['count'] - len(evidence)} more not listed"))
    return evidence


@check("fs.unowned-files", needs=["file_walk", "nsswitch"])
def unowned_files(facts, params) -> Result:
    """No file's owner or group is missing from /etc/passwd and /etc/group
    (``find / -nouser -o -nogroup`` over the local filesystems)."""
    walk = facts["file_walk"]
    expected = "every file owned by a user of /etc/passwd and a group of /etc/group"
    if walk["owners_unknown"]:
        return Result.error(f"cannot tell which owners are valid: {walk['owners_unknown']}",
                            expected=expected)
    scope = _walk_scope(walk)
    unseen, blind = _unseen(walk)
    count = walk["unowned"]["count"]
    if not count:
        if unseen:
            return Result.error(
                f"no unowned file among what was read, but {unseen} directories could not be "
                f"read or were on another filesystem, so their contents are unknown ({scope})",
                evidence=blind, expected=expected)
        skipped = ", ".join(sorted({s["fstype"] for s in walk["skipped"] if not s["duplicate"]}))
        note = f"; not walked: {skipped}" if skipped else ""
        return Result.passed(f"no file without a valid owner or group: {scope}{note}",
                             evidence=[ev(fs["mount_point"], f"walked ({fs['fstype']})")
                                       for fs in walk["filesystems"]], expected=expected)
    ids = walk["unknown_ids"]
    sources, any_id = _other_name_sources(facts)
    maybe = [i for i in ids if sources and (any_id or any(
        low <= i["id"] <= high for low, high in _SYSTEMD_ID_RANGES))]
    id_text = ", ".join(f"{i['kind']} {i['id']} ({i['files']})" for i in ids[:10])
    message = (f"{count} file{'s' if count != 1 else ''} without a valid owner or group "
               f"(unknown ids, files: {id_text}); {scope}")
    if unseen:
        message += f"; {unseen} directories could not be read or were on another filesystem"
    evidence = _unowned_evidence(walk["unowned"]) + blind
    consults = (f"nsswitch.conf also consults {', '.join(sources)} for users and groups, "
                "which hostaudit does not query")
    if len(maybe) == len(ids) == walk["unknown_ids_total"]:
        return Result.error(f"{message}; but {consults} and which may define these ids",
                            evidence=evidence, expected=expected)
    if maybe:
        named = ", ".join(f"{i['kind']} {i['id']}" for i in maybe)
        message += f" ({consults}; it may define {named}, not the others)"
    return Result.failed(message, evidence=evidence, expected=expected)
