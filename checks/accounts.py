"""Checks of the accounts controls: unneeded system accounts gone, an admin account, wheel."""

from __future__ import annotations

from hostaudit.model import Result, ev
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


def _uid_min(facts) -> tuple[int, object]:
    """UID_MIN from login.defs and the evidence saying where it came from.

    Raises ValueError when the value is not a number (the check reports ``error``).
    """
    defs = facts["login_defs"]
    setting = defs["settings"].get("UID_MIN")
    if setting is None:
        why = "file absent" if not defs.get("present") else "UID_MIN not set"
        return DEFAULT_UID_MIN, ev(defs["path"], f"{why}; using the default UID_MIN {DEFAULT_UID_MIN}")
    if not setting["value"].isdigit():
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


@check("accounts.admin-user", needs=["passwd", "login_defs", "login_shells"])
def admin_user(facts, params) -> Result:
    """Administrators have an unprivileged login account to use instead of root."""
    try:
        uid_min, uid_evidence = _uid_min(facts)
    except ValueError as exc:
        return Result.error(str(exc))
    passwd = facts["passwd"]
    admins = [u for u in passwd["users"] if _why_not_login_account(u, uid_min, facts["login_shells"]) is None]
    expected = f"an account with uid >= {uid_min}, not nobody, with a login shell"
    if not admins:
        return Result.failed("no unprivileged login account exists", evidence=[uid_evidence,
                             ev(passwd["path"], f"no user with uid >= {uid_min} and a login shell")],
                             expected=expected)
    found = [ev(passwd["path"], f"{u['name']} uid {u['uid']} shell {u['shell']}", u["line"]) for u in admins]
    return Result.passed(f"{len(admins)} login account(s) for people", evidence=[uid_evidence, *found],
                         expected=expected)


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
        why = f"not in {passwd['path']}" if user is None else _why_not_login_account(user, uid_min, facts["login_shells"])
        verdicts.append((member, why, user))
    real = [(m, u) for m, why, u in verdicts if why is None]
    if real:
        return Result.passed(f"{name} has {len(real)} real member(s): {', '.join(m for m, _ in real)}",
                             evidence=[group_ev, *(ev(passwd["path"], f"{m} uid {u['uid']}", u["line"]) for m, u in real)],
                             expected=expected)
    discounted = [ev(groups["path"], f"member {m} does not count: {why}", entry["line"]) for m, why, _ in verdicts]
    return Result.failed(f"{name} has no member who is a real user", evidence=[group_ev, *discounted],
                         expected=expected)
