"""Checks of the accounts controls: unneeded system accounts gone, an admin account, wheel."""

from __future__ import annotations

import datetime

from hostaudit.model import Evidence, Result, ev
from hostaudit.registry import check

NOBODY_UID = 65534
DEFAULT_UID_MIN = 1000
NON_LOGIN_SHELLS = {"nologin", "false", "sync", "shutdown", "halt"}


def _present(items: list[dict], wanted: list[str], path: str, what: str) -> list:
    """Evidence for each entry of ``items`` whose name is in ``wanted``."""
    names = set(wanted)
    return [ev(path, f"{what} {item['name']} present", item["line"])
            for item in items if item.get("name") in names]


@check("accounts.removed-users", needs=["passwd"], params={"removed_users": {"$ref": "#/$defs/account_names"}})
def removed_users(facts, params) -> Result:
    """System accounts the host does not need have been deleted."""
    fact = facts["passwd"]
    found = _present(fact["users"], params["removed_users"], fact["path"], "user")
    expected = "absent: " + " ".join(params["removed_users"])
    if found:
        return Result.failed(f"{len(found)} unneeded user(s) still present", evidence=found, expected=expected)
    return Result.passed("none of the unneeded users is present",
                         evidence=[ev(fact["path"], f"{len(fact['users'])} entries checked")], expected=expected)


@check("accounts.removed-groups", needs=["group"], params={"removed_groups": {"$ref": "#/$defs/account_names"}})
def removed_groups(facts, params) -> Result:
    """System groups the host does not need have been deleted."""
    fact = facts["group"]
    found = _present(fact["groups"], params["removed_groups"], fact["path"], "group")
    expected = "absent: " + " ".join(params["removed_groups"])
    if found:
        return Result.failed(f"{len(found)} unneeded group(s) still present", evidence=found, expected=expected)
    return Result.passed("none of the unneeded groups is present",
                         evidence=[ev(fact["path"], f"{len(fact['groups'])} entries checked")], expected=expected)


def _uid_min(facts) -> tuple[int, Evidence]:
    """UID_MIN from login.defs and the evidence saying where it came from.

    Raises ValueError when the value is not a number (the check reports ``error``).
    """
    defs = facts["login_defs"]
    setting = defs["settings"].get("UID_MIN")
    if setting is None:
        why = "file absent" if not defs.get("present") else "UID_MIN not set"
        return DEFAULT_UID_MIN, ev(defs["path"], f"{why}; using the default UID_MIN {DEFAULT_UID_MIN}")
    if not (setting["value"].isascii() and setting["value"].isdigit()):
        raise ValueError(f"{defs['path']}:{setting['line']}: UID_MIN {setting['value']!r} is not a number")
    return int(setting["value"]), ev(defs["path"], f"UID_MIN {setting['value']}", setting["line"])


def _why_not_login_account(user: dict, uid_min: int, shells: dict) -> str | None:
    """None for a person's login account; otherwise the reason it is not one."""
    if "uid" not in user:
        return "malformed or NIS compat entry"
    if user["uid"] < uid_min:
        return f"uid {user['uid']} < UID_MIN {uid_min}"
    if user["uid"] == NOBODY_UID:
        return "is nobody (uid 65534)"
    shell = user["shell"] or "/bin/sh"  # an empty shell field means /bin/sh
    if shell.rsplit("/", 1)[-1] in NON_LOGIN_SHELLS:
        return f"shell {shell} refuses logins"
    if shells["present"] and shell not in shells["shells"]:
        return f"shell {shell} is not listed in {shells['path']}"
    return None


# Shadow schemes that are no password to log in with (crypt(5) names as the parser gives them).
_NO_PASSWORD = {"locked": "password locked", "empty": "empty password (refused)",
                "unknown": "password field is no hash crypt(3) knows"}


def _day(days: int) -> str:
    """A shadow(5) day number as a date (days past 1970-01-01)."""
    try:
        return (datetime.date(1970, 1, 1) + datetime.timedelta(days=days)).isoformat()
    except OverflowError:
        return f"day {days}"


def _login_means(user: dict, facts) -> tuple[str | None, str]:
    """(how ``user`` can log in, or None; what was seen), naming schemes and paths, never a hash."""
    keys = facts["authorized_keys"]["files"].get(user["name"])
    seen = []
    shadow = facts["shadow"]
    entry = next((e for e in shadow.get("entries", []) if e["name"] == user["name"]
                  and (e.get("expired") or e.get("inactive_since"))), None)
    if entry:  # pam_unix's account stage refuses it, whatever authenticated it (password or key)
        where = f"{shadow['path']}:{entry['line']}"
        if entry.get("expired"):
            return None, f"account expired on {_day(entry['expires'])} ({where})"
        return None, f"password aged out: the account is inactive since {_day(entry['inactive_since'])} ({where})"
    if user["password"] == "hash":
        return f"password hash in {facts['passwd']['path']}", ""
    if user["password"] == "shadowed":
        entry = next((e for e in shadow.get("entries", []) if e["name"] == user["name"] and "scheme" in e), None)
        if entry and entry["scheme"] not in _NO_PASSWORD:
            return f"{entry['scheme']} password ({shadow['path']}:{entry['line']})", ""
        seen.append(_NO_PASSWORD[entry["scheme"]] if entry else f"no {shadow['path']} entry")
    else:
        seen.append(f"{_NO_PASSWORD.get(user['password'], user['password'])} in {facts['passwd']['path']}")
    if keys:
        return f"key file {keys[0]}", ""
    seen.append("no authorized_keys in " + (user["home"] or "(no home)"))
    return None, ", ".join(seen)


def _su_members(facts, name: str) -> tuple[set, object]:
    """Names in group ``name`` (listed or by primary gid) and the evidence of the group line."""
    groups = facts["group"]
    entry = next((g for g in groups["groups"] if g.get("name") == name and "gid" in g), None)
    if entry is None:
        return set(), ev(groups["path"], f"no {name} group")
    primary = {u["name"] for u in facts["passwd"]["users"] if u.get("gid") == entry["gid"]}
    listed = ",".join(entry["members"]) or "(none)"
    return set(entry["members"]) | primary, ev(groups["path"], f"{name}:{entry['gid']} members: {listed}",
                                               entry["line"])


@check("accounts.admin-user", needs=["passwd", "login_defs", "login_shells", "shadow", "group", "authorized_keys"],
       params={"wheel_group": {"type": "string", "minLength": 1}})
def admin_user(facts, params) -> Result:
    """Administrators have an unprivileged account they can log in with and su from (wheel)."""
    try:
        uid_min, uid_evidence = _uid_min(facts)
    except ValueError as exc:
        return Result.error(str(exc))
    passwd, wheel_name = facts["passwd"], params["wheel_group"]
    expected = (f"an account with uid >= {uid_min}, not nobody, a login shell, a usable password or an "
                f"authorized_keys file, in group {wheel_name}")
    members, group_ev = _su_members(facts, wheel_name)
    accounts = [u for u in passwd["users"] if _why_not_login_account(u, uid_min, facts["login_shells"]) is None]
    admins, others = [], []
    for user in accounts:
        means, seen = _login_means(user, facts)
        who = f"{user['name']} uid {user['uid']} shell {user['shell']}"
        if means and user["name"] in members:
            admins.append(ev(passwd["path"], f"{who}; logs in with: {means}; in {wheel_name}", user["line"]))
            continue
        missing = ([f"cannot log in ({seen})"] if not means else []) + \
                  ([f"not in {wheel_name}"] if user["name"] not in members else [])
        others.append(ev(passwd["path"], f"{who}: does not count: {'; '.join(missing)}", user["line"]))
    if admins:
        return Result.passed(f"{len(admins)} administrator account(s) can log in and su",
                             evidence=[uid_evidence, group_ev, *admins], expected=expected)
    shadow = facts["shadow"]
    if others and shadow.get("present") and not shadow.get("readable", True):
        return Result.error(f"cannot read {shadow['path']} ({shadow.get('read_error')}): whether the accounts "
                            "can log in with a password is unknown", evidence=[uid_evidence, group_ev, *others])
    if not accounts:
        others = [ev(passwd["path"], f"no user with uid >= {uid_min} and a login shell")]
    return Result.failed("no unprivileged account an administrator can log in with and su from",
                         evidence=[uid_evidence, group_ev, *others], expected=expected)


@check("accounts.wheel", needs=["group", "passwd", "login_defs", "login_shells"],
       params={"wheel_group": {"$ref": "#/$defs/account_name"}})
def wheel(facts, params) -> Result:
    """The wheel group exists and holds at least one person's login account (for su)."""
    name = params["wheel_group"]
    groups, passwd = facts["group"], facts["passwd"]
    expected = f"group {name} with at least one member who is a login account (uid >= UID_MIN)"
    entry = next((g for g in groups["groups"] if g.get("name") == name and "gid" in g), None)
    if entry is None:
        return Result.failed(f"group {name} does not exist", evidence=[ev(groups["path"], f"no {name} group")],
                             expected=expected)
    try:
        uid_min, _ = _uid_min(facts)
    except ValueError as exc:
        return Result.error(str(exc))
    users = {u["name"]: u for u in passwd["users"] if "uid" in u}
    # Members listed on the group line, plus users whose primary group is wheel.
    members = list(dict.fromkeys(entry["members"] + [u["name"] for u in users.values() if u["gid"] == entry["gid"]]))
    group_ev = ev(groups["path"], f"{name}:{entry['gid']} members: {','.join(entry['members']) or '(none)'}",
                  entry["line"])
    verdicts = []
    for member in members:
        user = users.get(member)
        why = (f"not in {passwd['path']}" if user is None
               else _why_not_login_account(user, uid_min, facts["login_shells"]))
        verdicts.append((member, why, user))
    real = [(m, u) for m, why, u in verdicts if why is None and u is not None]
    if real:
        return Result.passed(f"{name} has {len(real)} real member(s): {', '.join(m for m, _ in real)}",
                             evidence=[group_ev, *(ev(passwd["path"], f"{m} uid {u['uid']}", u["line"])
                                                   for m, u in real)],
                             expected=expected)
    discounted = [ev(groups["path"], f"member {m} does not count: {why}", entry["line"]) for m, why, _ in verdicts]
    return Result.failed(f"{name} has no member who is a real user", evidence=[group_ev, *discounted],
                         expected=expected)
