"""Generic kind ``account``: a user or group is present (optionally with a shell) or
absent, or no account but root has uid 0.

    - id: site.accounts.no-games
      kind: account
      parameters: {user: games, state: absent}
    - id: site.accounts.uid0
      kind: account
      parameters: {uid0_only_root: true}
"""

from __future__ import annotations

from hostaudit.model import Result, ev
from hostaudit.registry import kind

_ONE_OF = {"oneOf": [{"required": ["user"]}, {"required": ["group"]}, {"required": ["uid0_only_root"]}],
           "description": "give exactly one of user, group or uid0_only_root"}


def _entry(fact: dict, table: str, name: str) -> dict | None:
    return next((e for e in fact[table] if e.get("name") == name and not e.get("malformed")), None)


def _uid0(passwd: dict) -> Result:
    expected = "root is the only account with uid 0"
    others = [u for u in passwd["users"] if u.get("uid") == 0 and u["name"] != "root"
              and not u.get("malformed")]
    if others:
        return Result.failed("uid 0 accounts besides root: " + ", ".join(u["name"] for u in others),
                             evidence=[ev(passwd["path"], f"{u['name']} uid 0", u["line"]) for u in others],
                             expected=expected)
    root = _entry(passwd, "users", "root")
    seen = ev(passwd["path"], "root uid 0", root["line"]) if root else ev(passwd["path"], "no uid 0 account")
    return Result.passed("only root has uid 0", evidence=[seen], expected=expected)


@kind("account", needs=["passwd", "group"],
      wants={"passwd": lambda p: {} if p.get("group") is None else None,
             "group": lambda p: {} if p.get("group") is not None else None},
      params={
          "user": {"$ref": "#/$defs/account_name", "default": None},
          "group": {"$ref": "#/$defs/account_name", "default": None},
          "state": {"enum": ["present", "absent"], "default": "present",
                    "description": "present (default) or absent"},
          "shell": {"type": "string", "pattern": "^/", "default": None,
                    "description": "the user's login shell, e.g. /usr/sbin/nologin"},
          "uid0_only_root": {"const": True, "default": None,
                             "description": "true: no account but root has uid 0"},
      }, constraints=_ONE_OF)
def account_control(facts, params) -> Result:
    """The account exists as described, or does not; or uid 0 is root's alone."""
    if params.get("uid0_only_root"):
        return _uid0(facts["passwd"])
    table, fact_name = ("groups", "group") if params.get("group") else ("users", "passwd")
    name = params.get("group") or params["user"]
    what = "group" if params.get("group") else "user"
    fact = facts[fact_name]
    entry = _entry(fact, table, name)
    shell = params.get("shell")
    expected = (f"{what} {name} absent" if params["state"] == "absent"
                else f"{what} {name} present" + (f" with shell {shell}" if shell else ""))
    if entry is None:
        seen = ev(fact["path"], f"no {what} {name}")
        verdict = Result.passed if params["state"] == "absent" else Result.failed
        return verdict(f"{what} {name} does not exist", evidence=[seen], expected=expected)
    text = f"{name}" + (f" shell {entry['shell']}" if what == "user" else f" gid {entry['gid']}")
    seen = ev(fact["path"], text, entry["line"])
    if params["state"] == "absent":
        return Result.failed(f"{what} {name} exists", evidence=[seen], expected=expected)
    if shell and what == "user" and entry["shell"] != shell:
        return Result.failed(f"user {name} has shell {entry['shell']}, not {shell}",
                             evidence=[seen], expected=expected)
    return Result.passed(f"{what} {name} exists", evidence=[seen], expected=expected)
