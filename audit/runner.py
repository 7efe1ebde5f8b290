"""Running an audit: select controls, collect the facts they need, evaluate, score."""

from __future__ import annotations

import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from typing import Callable

from hostaudit.baseline import Control
from hostaudit.errors import one_line
from hostaudit.facts import Facts, closure, collect
from hostaudit.host import Host
from hostaudit.model import ControlResult, Result, Severity
from hostaudit.registry import CheckSpec, merge_requests, spec_for
from hostaudit.scoring import score
from hostaudit.waivers import Outcome, Waiver, not_selected
from hostaudit.waivers import apply as apply_waivers


def evaluate(spec: CheckSpec, facts: Facts, params: dict) -> Result:
    """Run one check on collected facts. A missing fact or a crash becomes ``error``."""
    missing = [name for name in spec.required_params if params.get(name) is None]
    if missing:
        return Result.error(f"the baseline gives no value for parameter(s) {', '.join(missing)}")
    params = {**spec.param_defaults, **params}
    for name in spec.needs_for(params, facts.modes):
        reason = facts.error_of(name)
        if reason is not None:
            return Result.error(f"cannot decide: {reason}")
    unasked = _not_asked(spec, facts, params)
    if unasked:
        # A probe that audits what it is asked holds nothing about the rest: a missing key
        # there is no verdict (this happens only when a caller collects without the plan).
        return Result.error(f"cannot decide: {unasked}")
    try:
        result = spec.func(facts, params)
    except Exception as exc:  # one broken check must not sink the run, nor pass silently
        crashed = Result.error(f"check crashed: {one_line(exc)}")
        return replace(crashed, traceback=traceback.format_exc())
    if not isinstance(result, Result):
        return Result.error(f"check returned {type(result).__name__}, not a Result")
    return result


def _not_asked(spec: CheckSpec, facts: Facts, params: dict) -> str | None:
    """What this control asks of a probe that its probe was not given, or None."""
    for fact, wanted in spec.requests(params).items():
        given = facts.requests.get(fact)
        if wanted is None or given is None:
            continue
        for key, values in merge_requests([wanted]).items():
            missing = [v for v in values if v not in given.get(key, [])]
            if missing:
                return f"fact {fact} was collected without this control's request ({key}: {missing})"
    return None


def _result_for(control: Control, modes: frozenset) -> tuple[Result | None, CheckSpec | None]:
    """The result decided without facts (manual, out of mode), or the check to run."""
    if control.manual:
        return Result.manual(control.manual), None
    if not modes & set(control.modes):
        applies = ", ".join(control.modes) or "none"
        seen = "+".join(sorted(modes))
        return Result.not_applicable(f"applies in {applies} mode; this audit is {seen} mode"), None
    spec = spec_for(control)
    if spec is None:
        what = f"kind {control.kind!r}" if control.kind else control.id
        return Result.error(f"no check is registered for {what}"), None
    return None, spec


@dataclass(frozen=True)
class AuditPlan:
    """What a run will do: each selected control with its decided result or its check, and
    every fact (dependencies first) the checks need. Made once; the progress bar and the
    collector both read it. ``waivers`` are the baseline's, selected controls or not (a
    waiver of a control left out of the run is still reported, expired or not)."""

    modes: frozenset
    steps: tuple  # (Control, Result | None, CheckSpec | None)
    facts: tuple[str, ...]
    waivers: tuple[Waiver, ...] = ()
    # fact -> what the selected controls ask of its probe, merged (registry.merge_requests)
    requests: Mapping[str, dict] = field(default_factory=dict)


def plan_audit(controls: list[Control], modes: frozenset,
               waivers: tuple[Waiver, ...] = ()) -> AuditPlan:
    """Plan an audit of ``controls`` from ``modes``: decided results and facts to collect.
    The checks and probes must be registered first (``registry.load_all``, done by the
    composition root: the CLI, ``scan.plan``)."""
    steps = []
    needs: list[str] = []
    asked: dict[str, list] = {}
    for control in controls:
        result, spec = _result_for(control, modes)
        steps.append((control, result, spec))
        if spec:
            needed = spec.needs_for(control.parameters, modes)
            needs.extend(n for n in needed if n not in needs)
            for fact, request in spec.requests(control.parameters).items():
                if request is not None and fact in needed:
                    asked.setdefault(fact, []).append(request)
    requests = {fact: merge_requests(each) for fact, each in asked.items()}
    return AuditPlan(frozenset(modes), tuple(steps), tuple(closure(needs)), tuple(waivers),
                     requests)


def run_audit(
    host: Host,
    plan: AuditPlan,
    *,
    on_fact: Callable[[str], None] | None = None,
    today: date | None = None,
) -> dict:
    """Carry out ``plan`` against ``host``: collect the facts, evaluate, apply the waivers
    (as of ``today``, by default the UTC date), score.

    Returns results, summary, waivers, facts and timing as plain data (see
    reports/report.schema.json). ``hostaudit.scan.scan`` goes through a fact bundle instead
    (collect, redact, evaluate); this is the same two steps without it, for tests that run
    inside a namespace.
    """
    started_at = datetime.now(timezone.utc)
    started = time.perf_counter()
    facts = collect(host, plan.facts, mode=host.mode, modes=plan.modes, on_done=on_fact,
                    requests=plan.requests)
    timing = {"started": started_at.isoformat(timespec="seconds"),
              "collect_s": round(time.perf_counter() - started, 4), "probes_ms": facts.timings}
    return evaluate_plan(plan, facts, timing=timing, today=today)


def evaluate_plan(plan: AuditPlan, facts: Facts, *, timing: dict, today: date | None = None) -> dict:
    """Evaluate ``plan``'s checks on collected ``facts``, apply the waivers (as of ``today``,
    by default the UTC date of ``timing["started"]``) and score; no host is touched.

    ``timing`` says when and how long the facts were collected (``started``, ``collect_s``,
    ``probes_ms``); the evaluation's own time is added to it. A fact ``facts`` lacks makes
    the checks needing it ``error`` naming the fact.
    """
    started = time.perf_counter()
    today = today or datetime.now(timezone.utc).date()
    waivers_of: dict[str, list[Waiver]] = {}
    for waiver in plan.waivers:
        waivers_of.setdefault(waiver.control, []).append(waiver)
    outcomes: dict[int, Outcome] = {}  # by id(): a waiver's match is a dict, unhashable
    results: list[ControlResult] = []
    for control, result, spec in plan.steps:
        t0 = time.perf_counter()
        if result is None:
            result = evaluate(spec, facts, control.parameters)
        # The one place waivers act: on the verdict, before scoring sees it.
        result, used = apply_waivers(result, waivers_of.pop(control.id, ()), today)
        outcomes.update((id(o.waiver), o) for o in used)
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
                references=control.references,
                duration_ms=round((time.perf_counter() - t0) * 1000, 3),
            )
        )
    for left_out in waivers_of.values():
        outcomes.update((id(w), not_selected(w, today)) for w in left_out)
    evaluate_s = time.perf_counter() - started
    used = sorted({n for control, _, spec in plan.steps if spec
                   for n in spec.needs_for(control.parameters, plan.modes)})
    all_facts = facts.serialisable()
    tracebacks = {f"probe {name}": text for name, text in facts.tracebacks().items()}
    tracebacks.update((f"check of {r.id}", r.result.traceback) for r in results if r.result.traceback)
    return {
        "tracebacks": tracebacks,  # for --debug; build_report leaves them out of the report
        "results": results,
        "summary": score(results),
        "waivers": [outcomes[id(w)].to_dict() for w in plan.waivers],
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
