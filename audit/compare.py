"""Two reports -> what changed: control verdicts and the facts underneath, by meaning.

Used by ``hostaudit diff`` (any two reports: last night and tonight, or a golden image and
the host built from it) and by drift runs. Pure: reports in, plain data out.

Facts are compared by identity, not by text: records in a list are matched on the field
that names them (a user by ``name``, a file by ``path``, a listener by family, address and
port...), so a user added at the top of /etc/passwd is one added user, not 27 changed lines.
"""

from __future__ import annotations

import json
from typing import Any

from hostaudit.model import Severity

# Fields that change from run to run without the host changing: a process id, a timing, a
# line number that moved because a line above it was added. They never count as a change.
VOLATILE_FIELDS = frozenset({"line", "pid", "duration_s", "duration_ms", "seconds", "mount_id",
                             "parent_id", "used_percent", "avail_bytes", "as_uid"})
# The same, for one fact only (the name means something else elsewhere: nsswitch's entries
# are its lines). How many files a walk met moves with every log line and temporary file;
# the source of a walked image is the auditor's own temporary directory, new each run (a
# live host's devices are compared in the mount table's facts).
VOLATILE_FIELDS_OF = {"file_walk": frozenset({"entries", "source"})}

# The fields that name a record, tried in order; the first that every record of a list has,
# with values unique in both runs, is that list's identity.
IDENTITY_FIELDS = (
    ("name",), ("path",), ("key",), ("unit",), ("mount_point",), ("database",), ("var", "file"),
    ("family", "address", "port"), ("proto", "address", "port"), ("port", "protocol"), ("port",),
    ("id",),
)

# How a status change is classed, looked up by (before, after); anything else with a
# different status is "status_changed".
_CLASSES = {
    "fail": "new_failure",
    "error": "new_error",
    "not_applicable": "became_not_applicable",
    "manual": "became_manual",
    "waived": "waived",
}
_SEVERITY_ORDER = {name: rank for rank, name in enumerate(Severity.order())}
_CHANGE_ORDER = {"new_failure": 0, "new_error": 1, "added": 2, "status_changed": 3, "fixed": 4,
                 "error_cleared": 5, "became_not_applicable": 6, "became_manual": 7, "waived": 8,
                 "removed": 9, "reason_changed": 10}


def classify(before: str | None, after: str | None) -> str | None:
    """The class of a control's status change (None: its status held)."""
    if before is None:
        return "added"
    if after is None:
        return "removed"
    if before == after:
        return None
    if after == "pass":
        return "fixed" if before == "fail" else "error_cleared" if before == "error" else "status_changed"
    return _CLASSES.get(after, "status_changed")


def compare_controls(old: dict, new: dict) -> list[dict]:
    """Every control whose status, message or evidence differs; new high failures first."""
    before = {r["id"]: r for r in old.get("results", [])}
    after = {r["id"]: r for r in new.get("results", [])}
    changes = []
    for control_id in list(before) + [i for i in after if i not in before]:
        b, a = before.get(control_id), after.get(control_id)
        change = classify(b and b["status"], a and a["status"])
        if change is None and _reason(b) != _reason(a):
            change = "reason_changed"
        if change is None:
            continue
        current = a or b or {}
        changes.append({
            "id": control_id,
            "title": current.get("title", ""),
            "severity": current.get("severity", "info"),
            "change": change,
            "before": _verdict(b),
            "after": _verdict(a),
        })
    changes.sort(key=lambda c: (_CHANGE_ORDER.get(c["change"], 99), _SEVERITY_ORDER.get(c["severity"], 9), c["id"]))
    return changes


def _verdict(result: dict | None) -> dict | None:
    if result is None:
        return None
    return {"status": result["status"], "message": result.get("message", ""),
            "evidence": [_evidence_text(e) for e in result.get("evidence", [])]}


def _evidence_text(evidence: dict) -> str:
    # The line number is left out: a line added above the evidence moves it, nothing else.
    return f"{evidence.get('where', '')}: {evidence.get('text', '')}"


def _reason(result: dict | None) -> tuple:
    verdict = _verdict(result)
    return (verdict["message"], tuple(verdict["evidence"])) if verdict else ()


def compare_facts(old: dict, new: dict) -> list[dict]:
    """Added, removed and changed records of the facts both runs collected."""
    old_facts, new_facts = old.get("facts", {}), new.get("facts", {})
    changes: list[dict] = []
    for name in sorted(set(old_facts) & set(new_facts)):
        _diff(name, "", old_facts[name], new_facts[name], changes)
    return changes


def _diff(fact: str, key: str, before: Any, after: Any, out: list[dict]) -> None:
    if isinstance(before, dict) and isinstance(after, dict):
        for field in list(before) + [f for f in after if f not in before]:
            if field in VOLATILE_FIELDS or field in VOLATILE_FIELDS_OF.get(fact, ()):
                continue
            sub = f"{key}.{field}" if key else str(field)
            if field not in after:
                out.append(_change(fact, sub, "removed", before[field], None))
            elif field not in before:
                out.append(_change(fact, sub, "added", None, after[field]))
            else:
                _diff(fact, sub, before[field], after[field], out)
        return
    if isinstance(before, list) and isinstance(after, list):
        _diff_list(fact, key, before, after, out)
        return
    if before != after:
        out.append(_change(fact, key, "changed", before, after))


def _diff_list(fact: str, key: str, before: list, after: list, out: list[dict]) -> None:
    identity = _identity(before, after)
    if identity is None:
        # Scalars, or records with no name: compare as sets of values.
        old_set = {_canonical(v): v for v in before}
        new_set = {_canonical(v): v for v in after}
        for text, value in old_set.items():
            if text not in new_set:
                out.append(_change(fact, key, "removed", value, None))
        for text, value in new_set.items():
            if text not in old_set:
                out.append(_change(fact, key, "added", None, value))
        return
    old_by = {_identity_of(r, identity): r for r in before}
    new_by = {_identity_of(r, identity): r for r in after}
    for ident, record in old_by.items():
        sub = f"{key}[{ident}]"
        if ident not in new_by:
            out.append(_change(fact, sub, "removed", _stable(record), None))
        else:
            _diff(fact, sub, record, new_by[ident], out)
    for ident, record in new_by.items():
        if ident not in old_by:
            out.append(_change(fact, f"{key}[{ident}]", "added", None, _stable(record)))


def _identity(before: list, after: list) -> tuple[str, ...] | None:
    records = before + after
    if not records or not all(isinstance(r, dict) for r in records):
        return None
    for fields in IDENTITY_FIELDS:
        if not all(all(f in r for f in fields) for r in records):
            continue
        if all(len({_identity_of(r, fields) for r in side}) == len(side) for side in (before, after)):
            return fields
    return None


def _identity_of(record: dict, fields: tuple[str, ...]) -> str:
    return "/".join(str(record[f]) for f in fields)


def _stable(value: Any) -> Any:
    """A record without its volatile fields, as a diff shows it."""
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE_FIELDS}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def _canonical(value: Any) -> str:
    return json.dumps(_stable(value), sort_keys=True, default=str)


def _change(fact: str, key: str, change: str, before: Any, after: Any) -> dict:
    return {"fact": fact, "key": key, "change": change, "before": before, "after": after}


def compare(old: dict, new: dict) -> dict:
    """The whole comparison of two reports (``diff.json``, see reports/diff.schema.json).

    ``context`` comes first in every view: a different baseline or tool version means status
    changes may come from the rules, not from the host.
    """
    old_baseline, new_baseline = old.get("baseline", {}), new.get("baseline", {})
    old_tool, new_tool = old.get("tool", {}), new.get("tool", {})
    context = []
    baseline_changed = old_baseline.get("digest") != new_baseline.get("digest")
    if baseline_changed:
        context.append(f"baseline changed: {old_baseline.get('name')} {str(old_baseline.get('digest'))[:12]} -> "
                       f"{new_baseline.get('name')} {str(new_baseline.get('digest'))[:12]}")
    if old_tool.get("version") != new_tool.get("version"):
        context.append(f"hostaudit version changed: {old_tool.get('version')} -> {new_tool.get('version')}")
    if _target_name(old) != _target_name(new):
        context.append(f"different targets: {_target_name(old)} -> {_target_name(new)}")
    controls = compare_controls(old, new)
    facts = compare_facts(old, new)
    return {
        "schema_version": 1,
        "before": _run_summary(old),
        "after": _run_summary(new),
        "baseline_changed": baseline_changed,
        "context": context,
        "score": {"before": old.get("score"), "after": new.get("score")},
        "coverage": {"before": old.get("coverage"), "after": new.get("coverage")},
        "controls": controls,
        "facts": facts,
        "changed": bool(controls or facts),
    }


def _target_name(report: dict) -> str:
    target = report.get("target", {})
    return str(target.get("image") or target.get("address") or target.get("hostname") or target.get("root"))


def _run_summary(report: dict) -> dict:
    return {
        "started": report.get("timing", {}).get("started"),
        "target": _target_name(report),
        "mode": report.get("target", {}).get("mode"),
        "baseline": report.get("baseline", {}).get("name"),
        "tool_version": report.get("tool", {}).get("version"),
    }


def drift(previous: dict | None, report: dict, *, previous_file: str | None = None,
          skipped: tuple[str, ...] = ()) -> dict:
    """The ``drift`` section of a report kept in a state directory: what changed since the
    last kept run of the same target. The first run of a target starts its history, which
    counts as a change (a cron job mails it once)."""
    notes = [f"skipped unreadable history entry {entry}" for entry in skipped]
    if previous is None:
        return {"previous": None, "changed": True, "context": notes + ["first run: history starts"],
                "controls": [], "facts": [], "score": {"before": None, "after": report.get("score")},
                "coverage": {"before": None, "after": report.get("coverage")}}
    diff = compare(previous, report)
    return {"previous": {"file": previous_file, **diff["before"]}, "changed": diff["changed"],
            "context": notes + diff["context"], "controls": diff["controls"], "facts": diff["facts"],
            "score": diff["score"], "coverage": diff["coverage"]}
