"""Running an audit: select controls, collect the facts they need, evaluate, score."""

from __future__ import annotations

import time
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


def facts_needed(controls: list[Control], vantages: frozenset) -> list[str]:
    """Every fact (with dependencies) the selected controls need: the probe plan."""
    load_all()
    needs: list[str] = []
    for control in controls:
        _, spec = _result_for(control, vantages)
        if spec:
            needs.extend(n for n in spec.needs_in(vantages) if n not in needs)
    return closure(needs)


def run_audit(
    host: Host,
    controls: list[Control],
    *,
    on_fact: Callable[[str], None] | None = None,
) -> dict:
    """Audit ``host`` against ``controls`` (already selected from a baseline).

    Returns the report as plain data (see reports/report.schema.json).
    """
    load_all()
    started_at = datetime.now(timezone.utc)
    started = time.perf_counter()
    vantages = host.vantages
    planned: list[tuple[Control, Result | None, CheckSpec | None]] = []
    needs: list[str] = []
    for control in controls:
        result, spec = _result_for(control, vantages)
        planned.append((control, result, spec))
        if spec:
            needs.extend(n for n in spec.needs_in(vantages) if n not in needs)
    facts = collect(host, needs, mode=host.kind, vantages=vantages, on_done=on_fact)
    collected = time.perf_counter()

    results: list[ControlResult] = []
    for control, result, spec in planned:
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
    finished = time.perf_counter()
    used = sorted({n for _, _, spec in planned if spec for n in spec.needs_in(vantages)})
    all_facts = facts.serialisable()
    return {
        "results": results,
        "summary": score(results),
        "facts": {name: all_facts[name] for name in sorted(all_facts)},
        "facts_used": used,
        "timing": {
            "started": started_at.isoformat(timespec="seconds"),
            "duration_s": round(finished - started, 4),
            "collect_s": round(collected - started, 4),
            "evaluate_s": round(finished - collected, 4),
            "probes_ms": facts.timings,
        },
    }
