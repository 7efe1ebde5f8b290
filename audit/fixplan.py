"""Which fixes a report asks for: the failed controls' steps, for the target's OS family.

A plan is plain data (``Plan``) that a renderer (hostaudit.plan_sh, hostaudit.plan_ansible)
writes out. Steps keep the baseline's order, except that package installs come first (a
package brings files that later steps edit, and init scripts whose mode a later step sets)
and file attributes come last (an immutable /etc/passwd would stop the account fixes).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hostaudit.errors import InputError
from hostaudit.fixes import FAMILIES, FixError, Step, family_of, render


@dataclass(frozen=True)
class PlannedStep:
    control: str
    step: Step


@dataclass(frozen=True)
class Plan:
    """The steps for the failed controls of one report, and what no step can do."""

    target: str
    family: str
    source: str
    steps: tuple[PlannedStep, ...] = ()
    controls: tuple[str, ...] = ()           # controls with steps, in plan order
    titles: dict = field(default_factory=dict)
    partial: dict = field(default_factory=dict)   # control -> what a person must still do
    manual: dict = field(default_factory=dict)    # control -> why a person must do it
    failed: int = 0

    @property
    def empty(self) -> bool:
        return not self.steps


def target_family(report: dict, override: str | None = None) -> str:
    """``--family`` if given, else the family of the report's target os-release."""
    if override:
        return override
    target = report.get("target")
    # The report may come from anywhere: an os that is no mapping names no family.
    os_info = target.get("os") if isinstance(target, dict) else None
    if not isinstance(os_info, dict):
        os_info = {}
    family = family_of(os_info)
    if family is None:
        named = os_info.get("pretty_name") or os_info.get("id") or "unknown"
        raise InputError(f"the report's target OS ({named}) is neither Debian- nor RHEL-like",
                         where="$.target.os", hint=f"name the family with --family ({', '.join(FAMILIES)})")
    return family


def build(report: dict, baseline, *, family: str, source: str, skip: list[str] | None = None) -> Plan:
    """The plan for ``report``'s failed controls (minus ``skip`` IDs/prefixes) from
    ``baseline``'s fixes."""
    def skipped(control_id: str) -> bool:
        return any(control_id == s or (s.endswith(".") and control_id.startswith(s)) for s in skip or ())

    failed = [r["id"] for r in report["results"] if r.get("status") == "fail" and not skipped(r["id"])]
    known = set(baseline.ids)
    first: list[PlannedStep] = []
    steps: list[PlannedStep] = []
    last: list[PlannedStep] = []
    controls: list[str] = []
    titles: dict[str, str] = {}
    partial: dict[str, str] = {}
    manual: dict[str, str] = {}
    for control_id in failed:
        if control_id not in known:
            manual[control_id] = f"not in baseline {baseline.name}: no fix known"
            continue
        control = baseline.control(control_id)
        fix = control.fix
        chosen = fix.steps_for(family) if fix else []
        if not chosen:
            manual[control_id] = (fix.manual if fix and fix.manual else
                                  f"no mechanical fix on {family}" if fix else "no fix is described")
            continue
        try:
            rendered = [render(s, control.parameters) for s in chosen]
        except FixError as exc:
            raise InputError(f"{control_id}: {exc}") from exc
        controls.append(control_id)
        titles[control_id] = control.title
        if fix.partial:
            partial[control_id] = fix.partial
        for step in rendered:
            bucket = (last if step.kind == "attribute" else
                      first if step.kind == "package" and step.args["state"] == "present" else steps)
            bucket.append(PlannedStep(control_id, step))
    target = (report.get("target") or {})
    # As the reports name the target: an --image run has no root, only its archive or disk.
    name = (target.get("hostname") or target.get("address") or target.get("image") or target.get("root")
            or target.get("mode") or "?")
    return Plan(target=str(name), family=family, source=source, steps=tuple(first + steps + last),
                controls=tuple(controls), titles=titles, partial=partial, manual=manual, failed=len(failed))
