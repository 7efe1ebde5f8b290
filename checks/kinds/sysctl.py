"""Generic kind ``sysctl``: a kernel parameter, persistent (sysctl.d order) and, live, in force.

    - id: site.sysctl.kptr_restrict
      kind: sysctl
      parameters: {key: kernel.kptr_restrict, expected: "2"}        # or compare: ">="
"""

from __future__ import annotations

import re

from hostaudit.checks.scheduling import noting_init
from hostaudit.model import Result, ev
from hostaudit.registry import kind

NEEDS = ["sysctl_persistent", "sysctl_runtime", "kernels", "init_system"]
# A dotted key; each part as /proc/sys names it (no "/", so no path of another tree).
_KEY = r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$"
_COMPARE = {
    "=": lambda have, want: have == want,
    "!=": lambda have, want: have != want,
    ">=": lambda have, want: have >= want,
    "<=": lambda have, want: have <= want,
    ">": lambda have, want: have > want,
    "<": lambda have, want: have < want,
}


def _version(text: str) -> list[int]:
    return [int(part) for part in str(text).split(".") if part.isdigit()]


def _kernel_lacks(key: str, kernels: dict, removed_in: str) -> Result | None:
    """Image mode: not_applicable when every kernel in the image is newer than the removal."""
    removed = _version(removed_in)
    installed = kernels["installed"]
    if not installed:
        return Result.not_applicable(
            f"{key} was removed in Linux {removed_in} and the image holds no kernel "
            "(looked in /lib/modules/*, /boot/vmlinuz-*): no kernel it can run has the key")
    if all(k["version"] and k["version"] >= removed for k in installed):
        names = ", ".join(sorted({k["release"] for k in installed}))
        return Result.not_applicable(
            f"{key} was removed in Linux {removed_in}; the image's kernels ({names}) lack it",
            evidence=[ev(k["source"], k["release"]) for k in installed])
    return None


def _evaluate(key: str, facts, params) -> Result:
    """Persistent winner must match; live, the value in force too; absent keys are n/a. An
    init that never applies sysctl.d is noted: live, the value in force already decides."""
    return noting_init(_judge(key, facts, params), facts, "persistent settings")


def _holds(value: str, wanted: str, compare: str) -> bool:
    """``value compare wanted``; an order comparison holds only between integers."""
    if compare in ("=", "!="):
        return _COMPARE[compare](value, wanted)
    have, want = _kernel_int(value), _kernel_int(wanted)
    if have is None or want is None:
        return False  # "abc" >= 2 is not a setting that holds
    return _COMPARE[compare](have, want)


# How the kernel reads a number written to /proc/sys (proc_get_long: an optional minus,
# then strtoul with base 0): decimal, 0x hex or 0 octal, ASCII digits only.
_KERNEL_INT = re.compile(r"(-?)(?:0[xX]([0-9a-fA-F]+)|(0[0-7]*)|([1-9][0-9]*))")


def _kernel_int(text: str) -> int | None:
    """``text`` as the kernel reads a sysctl number, or None where it refuses the write
    (Python's int() also takes "1_0", "+2" and non-ASCII digits; the kernel does not)."""
    match = _KERNEL_INT.fullmatch(str(text))
    if match is None or len(text) > 64:
        return None
    sign, hexa, octal, decimal = match.groups()
    number = int(hexa, 16) if hexa else int(octal, 8) if octal else int(decimal)
    return -number if sign else number


def _judge(key: str, facts, params) -> Result:
    wanted = " ".join(str(params["expected"]).split())
    compare = params.get("compare", "=")
    op = "=" if compare == "=" else f"{compare}"
    expected = f"{key} {op} {wanted}"
    persistent = facts["sysctl_persistent"]
    setting = persistent["settings"].get(key)
    evidence, runtime = [], None
    if setting:
        written = setting.get("pattern", key)
        evidence.append(ev(setting["path"], f"{written} = {setting['value']}", setting["line"]))

    if facts.mode == "live":
        runtime = facts["sysctl_runtime"]["values"][key]
        if runtime.get("missing"):
            release = facts["kernels"]["running"]
            dead = [ev(e.where, f"{e.text} (ignored: the kernel has no such key)", e.line)
                    for e in evidence]
            return Result.not_applicable(
                f"the running kernel ({release}) has no {key}",
                evidence=[ev(runtime["path"], "does not exist")] + dead)
        if "error" in runtime:
            return Result.error(f"cannot read {runtime['path']}: {runtime['error']}",
                                expected=expected)
        evidence.append(ev(runtime["path"], f"in force: {runtime['value']}"))
    elif params.get("removed_in_kernel"):
        lacking = _kernel_lacks(key, facts["kernels"], params["removed_in_kernel"])
        if lacking:
            return lacking

    problems = []
    if setting is None:
        problems.append("not set persistently (looked in "
                        + ", ".join(persistent["looked_in"]) + ")")
        evidence.insert(0, ev(", ".join(persistent["files"]) or "no sysctl file", "no setting"))
        evidence += [ev(i["path"], f"not read at boot: {i['why']}") for i in persistent.get("ignored", [])]
    elif not _holds(setting["value"], wanted, compare):
        problems.append(f"set persistently to {setting['value']}")
    if runtime and not _holds(runtime["value"], wanted, compare):
        problems.append(f"in force: {runtime['value']}")
    if problems:
        return Result.failed(f"{key}: " + "; ".join(problems), evidence=evidence,
                             expected=expected)
    if compare == "=":
        return Result.passed(f"{key} = {wanted}", evidence=evidence, expected=expected)
    shown = runtime["value"] if runtime else setting["value"]
    return Result.passed(f"{key} = {shown} ({op} {wanted})", evidence=evidence, expected=expected)


def _keys(params: dict) -> dict:
    return {"keys": [params["key"]]}


@kind("sysctl", needs=NEEDS, wants={"sysctl_persistent": _keys, "sysctl_runtime": _keys},
      params={
          "key": {"type": "string", "pattern": _KEY,
                  "description": "a dotted sysctl key, e.g. net.ipv4.tcp_syncookies"},
          "expected": {"type": ["string", "integer"], "pattern": r"\S",
                       "description": 'the value as sysctl prints it, e.g. "1"'},
          "compare": {"enum": list(_COMPARE), "default": "=",
                      "description": 'how the value must relate to expected: "=" (default), '
                                     '"!=", or an integer order ">=", "<=", ">", "<"'},
          "removed_in_kernel": {"$ref": "#/$defs/version", "default": None}})
def sysctl_setting(facts, params) -> Result:
    """The kernel parameter has the expected value, persistently and (live) in force."""
    return _evaluate(params["key"], facts, params)
