"""A plan as an Ansible playbook of standard ansible-core modules (lineinfile, apt/dnf,
systemd_service, file, find, group, user, shell), one task per step, each named by its
control ID. A sysctl is a line in a sysctl.d file (ansible.posix is not part of
ansible-core); it takes effect at the next boot or ``sysctl --system``.
"""

from __future__ import annotations

import re
import shlex

import yaml

from hostaudit.fixes import DEFAULT_SYSCTL_FILE
from hostaudit.fixplan import Plan

_JINJA = re.compile(r"\{[{%#]")
CHANGED = "HOSTAUDIT-CHANGED"


def _raw(text: str) -> str:
    """Text Ansible must not template: a file line or a snippet with ``{{`` stays as written."""
    return f"{{% raw %}}{text}{{% endraw %}}" if _JINJA.search(text) else text


def _python_re(posix: str) -> str:
    """The baseline writes POSIX ERE (for awk); lineinfile reads Python's re."""
    return (posix.replace("[:space:]", r"\s").replace("[:digit:]", r"\d")
            .replace("[:alpha:]", "A-Za-z").replace("[:alnum:]", "A-Za-z0-9"))


def _tasks(index: int, control: str, step, family: str) -> list[dict]:
    a, kind = step.args, step.kind
    name = f"[{control}] "
    if kind == "line":
        args = {"path": a["path"], "regexp": _raw(_python_re(a["regexp"]))}
        if a.get("state") == "absent":
            args["state"] = "absent"
            return [{"name": name + f"{a['path']}: no line matching {a['regexp']}",
                     "ansible.builtin.lineinfile": args}]
        args["line"] = _raw(a.get("line", ""))
        if a.get("insertafter"):
            args["insertafter"] = _raw(_python_re(a["insertafter"]))
        if a.get("create"):
            args["create"] = True
            args["mode"] = a.get("mode", "0644")
        return [{"name": name + f"{a['path']}: {_raw(a.get('line', ''))}", "ansible.builtin.lineinfile": args}]
    if kind == "sysctl":
        path = a.get("file", DEFAULT_SYSCTL_FILE)
        return [{"name": name + f"{a['key']} = {a['value']} in {path}",
                 "ansible.builtin.lineinfile": {
                     "path": path, "regexp": r"^\s*" + re.escape(a["key"]) + r"\s*=",
                     "line": f"{a['key']} = {a['value']}", "create": True, "mode": "0644"}}]
    if kind == "package":
        names = list(a["names"])
        if family == "debian":
            args = {"name": names, "state": a["state"]}
            if a["state"] == "present":
                args.update(install_recommends=False, update_cache=True, cache_valid_time=3600)
            else:
                args["purge"] = True
            return [{"name": name + f"packages {a['state']}: {' '.join(names)}", "ansible.builtin.apt": args}]
        return [{"name": name + f"packages {a['state']}: {' '.join(names)}",
                 "ansible.builtin.dnf": {"name": names, "state": a["state"]}}]
    if kind == "service":
        args = {"name": a["unit"]}
        args.update({"masked": {"masked": True}, "enabled": {"enabled": True},
                     "disabled": {"enabled": False}}[a["state"]])
        return [{"name": name + f"{a['unit']} {a['state']}", "ansible.builtin.systemd_service": args}]
    if kind == "attribute":
        # ansible.builtin.file with attributes "+i" reports a change on every run (ansible-core
        # 2.14): a looked-before shell task keeps a second run at 0 changed.
        path = shlex.quote(a["path"])
        return _shell_task(index, name + f"{a['path']} immutable",
                           f"lsattr -d -- {path} | cut -d' ' -f1 | grep -q i", f"chattr +i -- {path}")
    if kind == "mode":
        path = a["path"]
        if not re.search(r"[*?\[]", path):
            return [{"name": name + f"{path} mode {a['mode']}",
                     "ansible.builtin.file": {"path": path, "mode": a["mode"]}}]
        directory, _, pattern = path.rpartition("/")
        found = f"hostaudit_found_{index}"
        return [{"name": name + f"find {path}",
                 "ansible.builtin.find": {"paths": directory, "patterns": pattern, "file_type": "any",
                                          "hidden": True},
                 "register": found},
                {"name": name + f"{path} mode {a['mode']}",
                 "ansible.builtin.file": {"path": "{{ item.path }}", "mode": a["mode"], "follow": True},
                 "loop": f"{{{{ {found}.files }}}}", "loop_control": {"label": "{{ item.path }}"}}]
    if kind == "owner":
        args = {"path": a["path"], "owner": a["owner"]}
        if a.get("group"):
            args["group"] = a["group"]
        return [{"name": name + f"{a['path']} owner {a['owner']}", "ansible.builtin.file": args}]
    if kind == "group_member":
        tasks = [{"name": name + f"group {a['group']} exists",
                  "ansible.builtin.group": {"name": a["group"], "state": "present"}}]
        if a.get("user"):
            tasks.append({"name": name + f"{a['user']} in group {a['group']}",
                          "ansible.builtin.user": {"name": a["user"], "groups": [a["group"]], "append": True}})
        return tasks
    if kind == "shell":
        return _shell_task(index, name + a["name"], a["check"], a["apply"])
    raise ValueError(kind)


def _shell_task(index: int, name: str, check: str, apply: str) -> list[dict]:
    """A shell task that runs ``apply`` only when ``check`` fails, and says changed only then."""
    result = f"hostaudit_shell_{index}"
    script = (f"if (\n{check.rstrip()}\n) >/dev/null 2>&1; then exit 0; fi\n"
              f"(\nset -eu\n{apply.rstrip()}\n)\necho {CHANGED}\n")
    return [{"name": name, "ansible.builtin.shell": {"cmd": _raw(script), "executable": "/bin/sh"},
             "register": result, "changed_when": f"'{CHANGED}' in {result}.stdout"}]


def render(plan: Plan, name: str = "plan.yml") -> str:
    """The playbook for ``plan`` (YAML text with a comment header); ``name`` is the file it
    is written to, as its header's command calls it."""
    tasks: list[dict] = []
    for index, planned in enumerate(plan.steps):
        tasks += _tasks(index, planned.control, planned.step, plan.family)
    play = {"name": f"hostaudit remediation plan ({plan.family})", "hosts": "all", "become": True,
            "gather_facts": False, "tasks": tasks}
    header = [f"# hostaudit remediation plan for {_comment(plan.target)} ({plan.family} family)",
              f"# from {_comment(plan.source)}: {len(plan.controls)} of {plan.failed} failed control(s) have tasks.",
              f"# Review it, then: ansible-playbook -i HOST, {shlex.quote(_comment(name))}   "
              "(--check --diff to see changes first)"]
    if plan.empty:
        header.append("# No failed control has a mechanical fix: the play has no tasks.")
    for title, items in (("Failed controls this plan does not fix (a person's job):", plan.manual),
                         ("Fixed controls that still need a person:", plan.partial)):
        if items:
            header.append("# " + title)
            header += [f"#   {_comment(cid)}: {_comment(why)}" for cid, why in items.items()]
    body = yaml.safe_dump([play], sort_keys=False, width=1000, allow_unicode=True)
    return "\n".join(header) + "\n---\n" + body


def _comment(text: str) -> str:
    """Text safe inside a ``#`` comment line, as plan_sh writes it (one line, escapes visible)."""
    from hostaudit.plan_sh import _comment as comment

    return comment(text)
