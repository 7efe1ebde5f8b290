"""The one report model every renderer reads: plain data, exactly what report.json holds.

Everything in it that came from the target (facts, findings, the target's description) has
passed through ``hostaudit.redact`` here, once, so every renderer shows the same secret-free
view. Our own words (baseline titles, rationale, remediation) are left as written.
"""

from __future__ import annotations

from hostaudit import __version__
from hostaudit.baseline import Baseline
from hostaudit.model import ControlResult
from hostaudit.redact import redact, redact_text

SCHEMA_VERSION = 1


def result_to_dict(r: ControlResult) -> dict:
    """One control's result as the report shows it, secrets in its findings redacted."""
    return {
        "id": r.id,
        "title": r.title,
        "section": r.section,
        "severity": r.severity.value,
        "status": r.status.value,
        "message": redact_text(r.result.message),
        "evidence": [redact(e.to_dict()) for e in r.result.evidence],
        "expected": redact_text(r.result.expected),
        "rationale": r.rationale,
        "remediation": r.remediation,
        "reference": r.reference,
        "references": r.references_dict(),
        "duration_ms": r.duration_ms,
    }


def build_report(*, audit: dict, baseline: Baseline, target: dict, selection: dict) -> dict:
    """Assemble the report from a finished run (``audit.runner.run_audit``'s return value)."""
    summary = audit["summary"]
    sections = {
        name: {**data, "title": baseline.sections.get(name, name)}
        for name, data in summary["sections"].items()
    }
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "hostaudit", "version": __version__},
        "baseline": {
            "name": baseline.name,
            "title": baseline.title,
            "digest": baseline.digest,
            "files": list(baseline.files),
        },
        # "kind" is schema 1's name for the mode, kept for its readers (see report.schema.json).
        "target": redact({**target, "kind": target["mode"]}),
        "selection": selection,
        "score": summary["score"],
        "coverage": summary["coverage"],
        "counts": summary["counts"],
        "failed_by_severity": summary["failed_by_severity"],
        "sections": sections,
        "results": [result_to_dict(r) for r in audit["results"]],
        # A note quotes the findings a waiver did not cover: target text, so redacted.
        "waivers": [{**w, "note": redact_text(w["note"])} for w in audit.get("waivers", [])],
        "facts_used": audit["facts_used"],
        "facts": redact(audit["facts"]),
        "timing": audit["timing"],
    }
