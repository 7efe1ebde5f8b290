"""Running an audit: select controls, collect the facts they need, evaluate, score."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from hostaudit.baseline import Control
from hostaudit.facts import Facts, closure, collect
from hostaudit.host import Host
from hostaudit.model import ControlResult, Result, Severity
from hostaudit.registry import CHECKS, CheckSpec, load_all
from hostaudit.scoring import score


def evaluate(spec: CheckSpec, facts: Facts, params: dict) -> Result:
    """Run one check on collected facts. A missing fact or a crash becomes ``error``."""
    missing = [name for name in spec.required_params if params.get(name) is None]
    if missing:
        return Result.error(f"the baseline gives no value for parameter(s) {', '.join(missing)}")
    params = {**spec.param_defaults, **params}
    for name in spec.needs_in(facts.vantages):
        reason = facts.error_of(name)
        if reason is not None:
            return Result.error(f"cannot decide: {reason}")
    try:
        result = spec.func(facts, params)
    except Exception as exc:  # one broken check must not sink the run, nor pass silently
        return Result.error(f"check crashed: {type(exc).__name__}: {exc}")
    if not isinstance(result, Result):
        return Result.error(f"check returned {type(result).__name__}, not a Result")
    return result


def _result_for(control: Control, vantages: frozenset) -> tuple[Result | None, CheckSpec | None]:
    """The result decided without facts (manual, out of mode), or the check to run."""
    if control.manual:
        return Result.manual(control.manual), None
    if not vantages & set(control.modes):
        modes = ", ".join(control.modes) or "none"
        seen = "+".join(sorted(vantages))
        return Result.not_applicable(f"applies in {modes} mode; this audit is {seen} mode"), None
    spec = CHECKS.get(control.id)
    if spec is None:
        return Result.error(f"no check is registered for {control.id}"), None
    return None, spec


@dataclass(frozen=True)
class AuditPlan:
    """What a run will do: each selected control with its decided result or its check, and
    every fact (dependencies first) the checks need. Made once; the progress bar and the
    collector both read it."""

    vantages: frozenset
    steps: tuple  # (Control, Result | None, CheckSpec | None)
    facts: tuple[str, ...]


def plan_audit(controls: list[Control], vantages: frozenset) -> AuditPlan:
    """Plan an audit of ``controls`` from ``vantages``: decided results and facts to collect."""
    load_all()
    steps = []
    needs: list[str] = []
    for control in controls:
        result, spec = _result_for(control, vantages)
        steps.append((control, result, spec))
        if spec:
            needs.extend(n for n in spec.needs_in(vantages) if n not in needs)
    return AuditPlan(frozenset(vantages), tuple(steps), tuple(closure(needs)))


def run_audit(
    host: Host,
    plan: AuditPlan,
    *,
    on_fact: Callable[[str], None] | None = None,
) -> dict:
    """Carry out ``plan`` against ``host``: collect the facts, evaluate, score.

    Returns results, summary, facts and timing as plain data (see reports/report.schema.json).
    ``hostaudit.scan.scan`` goes through a fact bundle instead (collect, redact, evaluate);
    this is the same two steps without it, for tests that run inside a namespace.
    """
    started_at = datetime.now(timezone.utc)
    started = time.perf_counter()
    facts = collect(host, plan.facts, mode=host.kind, vantages=plan.vantages, on_done=on_fact)
    timing = {"started": started_at.isoformat(timespec="seconds"),
              "collect_s": round(time.perf_counter() - started, 4), "probes_ms": facts.timings}
    return evaluate_plan(plan, facts, timing=timing)


def evaluate_plan(plan: AuditPlan, facts: Facts, *, timing: dict) -> dict:
    """Evaluate ``plan``'s checks on collected ``facts`` and score them; no host is touched.

    ``timing`` says when and how long the facts were collected (``started``, ``collect_s``,
    ``probes_ms``); the evaluation's own time is added to it. A fact ``facts`` lacks makes
    the checks needing it ``error`` naming the fact.
    """
    started = time.perf_counter()
    results: list[ControlResult] = []
    for control, result, spec in plan.steps:
        t0 = time.perf_counter()
        if result is None:
            result = evaluate(spec, facts, control.parameters)
        results.append(
            ControlResult(
                id=control.id,
                title=control.title,
                section=control.section,
                severity=Severity(control.severity),
                result=result,
                rationale=control.rationale,
                remediation=control.remediation,
                reference=control.reference,
                duration_ms=round((time.perf_counter() - t0) * 1000, 3),
            )
        )
    evaluate_s = time.perf_counter() - started
    used = sorted({n for _, _, spec in plan.steps if spec for n in spec.needs_in(plan.vantages)})
    all_facts = facts.serialisable()
    return {
        "results": results,
        "summary": score(results),
        # What this plan read, also when the facts came from a bundle collected for more.
        "facts": {name: all_facts[name] for name in sorted(all_facts) if name in plan.facts},
        "facts_used": used,
        "timing": {
            "started": timing["started"],
            "duration_s": round(timing["collect_s"] + evaluate_s, 4),
            "collect_s": timing["collect_s"],
            "evaluate_s": round(evaluate_s, 4),
            "probes_ms": dict(timing["probes_ms"]),
        },
    }
