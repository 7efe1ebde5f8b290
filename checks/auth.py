"""Checks of the auth controls: su limited to wheel, shadow passwords, hash strength, NIS."""

from __future__ import annotations

from hostaudit.model import Result, ev
from hostaudit.parsers.pam import control_denies_on_failure, longest_jump, success_ends_stack
from hostaudit.registry import check

NIS_SERVICES = {"nis", "nisplus", "nis+"}
# Red Hat's client (ypbind, yp-tools) and Debian's all-in-one package (nis); ypserv serves NIS.
NIS_PACKAGES = ("ypbind", "yp-tools", "nis", "ypserv")
NIS_BOOT_SERVICES = {"ypbind", "nis"}
WEAK_SCHEMES = {"des", "bsdi-des", "empty"}
REPORTED_SCHEMES = ("des", "md5", "sha256", "sha512", "yescrypt", "bcrypt", "empty", "locked")


def _wheel_rule_problem(rule: dict, wheel_group: str) -> str | None:
    """Why an uncommented pam_wheel rule does not restrict su to wheel, or None if it does."""
    if not control_denies_on_failure(rule["control"]):
        return f"control {rule['control']} does not deny non-members"
    if "deny" in rule["args"]:
        return "deny inverts the test (members are refused)"
    if "use_uid" not in rule["args"]:
        return "use_uid missing (the login name, not the caller's uid, is tested)"
    group = next((a.split("=", 1)[1] for a in rule["args"] if a.startswith("group=")), wheel_group)
    if group != wheel_group:
        return f"group={group} is not the wheel group {wheel_group}"
    return None


def _rule_text(rule: dict) -> str:
    prefix = "#" if rule["commented"] else ""
    return f"{prefix}{rule['type']} {rule['control']} {rule['module']} {' '.join(rule['args'])}".strip()


def _bypasses(rules: list[dict], wheel_rule: dict) -> list[tuple[dict, str]]:
    """Modules before the wheel rule that let a caller past it: one whose success ends the
    stack (pam_rootok aside: only root passes it), or a jump landing beyond it."""
    modules = [r for r in rules if "name" in r and not r["commented"] and r.get("control") != "include"]
    at = next(i for i, r in enumerate(modules) if r is wheel_rule)
    found = []
    for i, rule in enumerate(modules[:at]):
        where = f"pam_wheel (line {wheel_rule['line']}{_file_note(rule, wheel_rule)})"
        if rule["name"] != "pam_rootok.so" and success_ends_stack(rule["control"]):
            found.append((rule, f"ends the stack on success before {where} is reached"))
        elif i + 1 + longest_jump(rule["control"]) > at:
            found.append((rule, f"its jump skips {where}"))
    return found


def _file_note(rule: dict, wheel_rule: dict) -> str:
    """`` of /etc/pam.d/su`` when the wheel rule is in another file than ``rule``."""
    return "" if rule.get("path") == wheel_rule.get("path") else f" of {wheel_rule.get('path')}"


@check("auth.su-wheel", needs=["pam_su"], params={"wheel_group": {"$ref": "#/$defs/account_name"}})
def su_wheel(facts, params) -> Result:
    """Only members of the wheel group can become root with su."""
    wheel_group = params["wheel_group"]
    fact = facts["pam_su"]
    path = fact["path"]
    expected = f"auth sufficient pam_rootok.so and auth required pam_wheel.so use_uid (group {wheel_group})"
    if not fact["present"]:
        return Result.failed(f"{path} does not exist", evidence=[ev(path, "absent")], expected=expected)
    rules = [r for r in fact["rules"] if "name" in r]
    good, bad = [], []
    rootok = [r for r in rules if r["name"] == "pam_rootok.so" and not r["commented"]
              and r["control"] == "sufficient"]
    if rootok:
        good.append(ev(path, _rule_text(rootok[0]), rootok[0]["line"]))
    else:
        bad.append(ev(path, "no uncommented 'auth sufficient pam_rootok.so'"))
    wheel_rules = [r for r in rules if r["name"] == "pam_wheel.so"]
    working = [r for r in wheel_rules if not r["commented"] and _wheel_rule_problem(r, wheel_group) is None]
    if working:
        good.append(ev(working[0].get("path", path), _rule_text(working[0]), working[0]["line"]))
        bad += [ev(rule.get("path", path), f"{_rule_text(rule)}: {why}", rule["line"])
                for rule, why in _bypasses(rules, working[0])]
    else:
        for rule in wheel_rules:
            why = ("commented out" if rule["commented"]  # the line is the evidence's own
                   else _wheel_rule_problem(rule, wheel_group))
            bad.append(ev(path, f"{_rule_text(rule)}: {why}", rule["line"]))
        if not wheel_rules:
            bad.append(ev(path, "no pam_wheel.so rule"))
    if bad:
        return Result.failed("su is not restricted to the wheel group", evidence=bad + good, expected=expected)
    return Result.passed(f"su requires membership of {wheel_group}", evidence=good, expected=expected)


@check("auth.shadow", needs=["passwd", "shadow"])
def shadow_passwords(facts, params) -> Result:
    """Password hashes live only in /etc/shadow, which others cannot read."""
    passwd, shadow = facts["passwd"], facts["shadow"]
    expected = ("every passwd password field x or locked; /etc/shadow present, mode <= 0640, owned by root, "
                "readable by no group but root or shadow")
    problems = [ev(passwd["path"], f"user {u['name']}: password field is {u['password']}, not 'x'", u["line"])
                for u in passwd["users"] if u.get("password") in ("hash", "empty")]
    if not shadow["present"]:
        problems.append(ev(shadow["path"], "absent"))
        return Result.failed("shadow passwords are not in use", evidence=problems, expected=expected)
    mode_text = f"mode {shadow['mode']:04o} owner {shadow['uid']}:{shadow['gid']}"
    if shadow["mode"] & ~0o640:
        problems.append(ev(shadow["path"], f"{mode_text}: wider than 0640"))
    if shadow["uid"] != 0:  # the owner reads and rewrites every hash, whatever the mode
        problems.append(ev(shadow["path"], f"{mode_text}: owned by uid {shadow['uid']}, not root"))
    group = shadow.get("group_name")
    if shadow["mode"] & 0o040 and shadow["gid"] != 0 and group is not None and group != "shadow":
        # Debian lets group shadow read it (unix_chkpwd, expiry checks); any other group shares the hashes
        problems.append(ev(shadow["path"], f"{mode_text}: readable by group {group or '(no name in /etc/group)'} "
                                           f"(gid {shadow['gid']}), not root or shadow"))
    if problems:
        return Result.failed("password hashes are exposed", evidence=problems, expected=expected)
    return Result.passed("passwords are shadowed", evidence=[
        ev(passwd["path"], f"{len(passwd['users'])} entries, no hash stored"), ev(shadow["path"], mode_text)],
        expected=expected)


@check("auth.password-hashes", needs=["shadow"])
def password_hashes(facts, params) -> Result:
    """Stored password hashes use MD5-crypt or a stronger scheme, and none is empty."""
    shadow = facts["shadow"]
    path = shadow["path"]
    expected = "md5, sha256, sha512, yescrypt or bcrypt hashes (or locked); no des, no empty"
    if not shadow["present"]:
        return Result.failed(f"{path} does not exist", evidence=[ev(path, "absent")], expected=expected)
    if not shadow["readable"]:
        return Result.error(f"cannot read {path}: {shadow['read_error']}")
    entries = [e for e in shadow["entries"] if "scheme" in e]
    counts = {scheme: 0 for scheme in REPORTED_SCHEMES}
    for entry in entries:
        counts[entry["scheme"]] = counts.get(entry["scheme"], 0) + 1
    summary = ev(path, ", ".join(f"{s} {n}" for s, n in counts.items()))
    weak = [ev(path, f"user {e['name']}: {e['scheme']} password", e["line"])
            for e in entries if e["scheme"] in WEAK_SCHEMES]
    malformed = [ev(path, "malformed entry", e["line"]) for e in shadow["entries"] if "scheme" not in e]
    if weak:
        return Result.failed(f"{len(weak)} account(s) with a DES or empty password",
                             evidence=[summary, *weak, *malformed], expected=expected)
    unknown = [ev(path, f"user {e['name']}: unrecognised hash format", e["line"])
               for e in entries if e["scheme"] == "unknown"]
    if unknown or malformed:
        return Result.error("some password fields could not be classified",
                            evidence=[summary, *unknown, *malformed], expected=expected)
    return Result.passed(f"{len(entries)} accounts, all MD5 or stronger or locked", evidence=[summary],
                         expected=expected)


@check("auth.nis-disabled", needs=["nsswitch", "packages", "boot_services"])
def nis_disabled(facts, params) -> Result:
    """NIS is not used: not consulted by NSS, not installed, not started at boot."""
    nss, packages, boot = facts["nsswitch"], facts["packages"], facts["boot_services"]
    expected = "no nis/nisplus in nsswitch.conf; ypbind/nis not installed nor enabled"
    findings = []
    for entry in nss["entries"]:
        used = [s for s in entry.get("services", []) if s in NIS_SERVICES]
        if used:
            findings.append(ev(nss["path"], f"{entry['database']}: uses {' '.join(used)}", entry["line"]))
    for name in NIS_PACKAGES:
        info = packages["installed"].get(name)
        if info:
            findings.append(ev(info["source"], f"package {name} {info['version']} installed", info["line"]))
    findings += [ev(link["path"], f"{name} enabled at boot (-> {link['target']})")
                 for link, name in _boot_links(boot) if name in NIS_BOOT_SERVICES]
    if findings:
        return Result.failed("NIS is configured or installed", evidence=findings, expected=expected)
    nss_text = "no nis service" if nss["present"] else "absent (glibc built-in defaults apply)"
    return Result.passed("NIS is off", evidence=[
        ev(nss["path"], nss_text),
        ev(", ".join(packages["databases"]), f"none of {', '.join(NIS_PACKAGES)} installed"),
        ev("/etc/systemd/system/*.wants, /etc/rc?.d", "no ypbind or nis start link")], expected=expected)


def _boot_links(boot: dict):
    """(link, service name) for every SysV start link and systemd wants link."""
    for link in boot["sysv"]:
        yield link, link["service"]
    for link in boot["systemd"]:
        yield link, link["unit"].removesuffix(".service")
