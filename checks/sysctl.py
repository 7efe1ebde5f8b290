"""sysctl: kernel network parameters, persistent (sysctl.d order) and, live, in force."""

from __future__ import annotations

from hostaudit.checks.scheduling import noting_init
from hostaudit.model import Result, ev
from hostaudit.probes.sysctl import AUDITED_KEYS
from hostaudit.registry import check

NEEDS = ["sysctl_persistent", "sysctl_runtime", "kernels", "init_system"]


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


def _judge(key: str, facts, params) -> Result:
    wanted = " ".join(str(params["expected"]).split())
    expected = f"{key} = {wanted}"
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
    elif setting["value"] != wanted:
        problems.append(f"set persistently to {setting['value']}")
    if runtime and runtime["value"] != wanted:
        problems.append(f"in force: {runtime['value']}")
    if problems:
        return Result.failed(f"{key}: " + "; ".join(problems), evidence=evidence,
                             expected=expected)
    return Result.passed(f"{key} = {wanted}", evidence=evidence, expected=expected)


def _register(key: str) -> None:
    def setting(facts, params) -> Result:
        """The kernel parameter has the expected value, persistently and (live) in force."""
        return _evaluate(key, facts, params)

    check(f"sysctl.{key}", needs=NEEDS, params={
        "expected": {"type": ["string", "integer"], "pattern": r"\S",
                     "description": 'the value as sysctl prints it, e.g. "1"'},
        "removed_in_kernel": {"$ref": "#/$defs/version", "default": None}})(setting)


for _key in AUDITED_KEYS:
    _register(_key)
