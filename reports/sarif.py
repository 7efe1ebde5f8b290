"""report.sarif: SARIF 2.1.0 for GitHub code scanning and other SARIF readers.

One rule per audited control (title as short description, rationale as full description,
rationale and remediation as help, severity as default level and GitHub's
``security-severity``); one result per failed control, located at the file and line of its
evidence. A file of the audited target is given relative to the uriBaseId ``TARGETROOT``
(its ``/``); a failure whose evidence names no file (a socket table, an nmap sweep) is
located at the baseline file that defines the control, so every result has the physical
location GitHub requires. Controls that could not be decided are not results (nothing was
found) but error notifications of the run, which then reports ``executionSuccessful`` only
if there were none. Waived, manual and not-applicable controls give no result.

Target text is made visible (``hostaudit.visible``) before it goes in: SARIF viewers render
messages, and a lone surrogate (an undecodable byte) is not valid in UTF-8 JSON.
"""

from __future__ import annotations

import hashlib
import json
import os
from urllib.parse import quote

from hostaudit.visible import visible

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"high": "error", "medium": "warning", "low": "note", "info": "note"}
# GitHub ranks security alerts by this number (critical >= 9, high >= 7, medium >= 4, low > 0).
SECURITY_SEVERITY = {"high": "8.0", "medium": "5.0", "low": "2.0", "info": "0.0"}


def _text(value) -> str:
    return visible(str(value), keep="\n\t")


def _uri(path: str) -> str:
    """A path as a relative URI reference, every unsafe byte percent-encoded (an undecodable
    byte of the target's file name becomes its own ``%FF``)."""
    return quote(path.lstrip("/").encode("utf-8", "surrogateescape"), safe="/")


def _help(r: dict) -> dict:
    text = r["rationale"] + (f"\n\nRemediation:\n{r['remediation']}" if r["remediation"] else "")
    markdown = r["rationale"] + (f"\n\n**Remediation**\n\n```\n{r['remediation']}\n```"
                                 if r["remediation"] else "")
    return {"text": _text(text), "markdown": _text(markdown)}


def _rule(r: dict) -> dict:
    rule = {
        "id": r["id"],
        "name": "".join(part.capitalize() for part in r["id"].replace("-", ".").split(".")),
        "shortDescription": {"text": _text(r["title"])},
        "fullDescription": {"text": _text(r["rationale"] or r["title"])},
        "help": _help(r),
        "defaultConfiguration": {"level": LEVELS[r["severity"]]},
        "properties": {"tags": ["security", "compliance", r["section"]],
                       "security-severity": SECURITY_SEVERITY[r["severity"]],
                       "severity": r["severity"]},
    }
    if r["reference"]:
        rule["properties"]["reference"] = _text(r["reference"])
    return rule


def _location(where: str, line: int | None, base: str | None = "TARGETROOT") -> dict:
    artifact = {"uri": _uri(where)}
    if base:
        artifact["uriBaseId"] = base
    physical: dict = {"artifactLocation": artifact}
    if line is not None:
        physical["region"] = {"startLine": line}
    return {"physicalLocation": physical}


def _baseline_location(path: str) -> dict:
    """The baseline file that defines a control: relative to the working directory when it
    is under it (a site baseline committed beside the pipeline), else an absolute file URI."""
    relative = os.path.relpath(path)
    if not relative.startswith(".."):
        return _location(relative, None, base=None)
    uri = "file://" + quote(os.path.abspath(path).encode("utf-8", "surrogateescape"), safe="/")
    return {"physicalLocation": {"artifactLocation": {"uri": uri}}}


def _evidence_text(e: dict) -> str:
    where = f"{e['where']}:{e['line']}" if e["line"] is not None else e["where"]
    return f"{where}: {e['text']}" if e["text"] else where


def _result(r: dict, index: int, baseline_file: str) -> dict:
    files = [e for e in r["evidence"] if e["where"].startswith("/")]
    locations = [_location(e["where"], e["line"]) for e in files] or [_baseline_location(baseline_file)]
    lines = [r["message"]] + [f"- {_evidence_text(e)}" for e in r["evidence"]]
    if r["expected"]:
        lines.append(f"Expected: {r['expected']}")
    fingerprint = hashlib.sha256("\n".join([r["id"], *(_evidence_text(e) for e in r["evidence"])])
                                 .encode("utf-8", "surrogateescape")).hexdigest()
    result = {
        "ruleId": r["id"],
        "ruleIndex": index,
        "level": LEVELS[r["severity"]],
        "message": {"text": _text("\n".join(lines))},
        "locations": locations[:1],
        "partialFingerprints": {"hostauditFinding/v1": fingerprint},
    }
    if len(locations) > 1:
        result["relatedLocations"] = [{"id": i, **loc} for i, loc in enumerate(locations[1:], 1)]
    return result


def sarif(report: dict) -> dict:
    """The report as a SARIF 2.1.0 log (plain data)."""
    results = report["results"]
    index = {r["id"]: i for i, r in enumerate(results)}
    baseline_file = report["baseline"]["files"][-1] if report["baseline"]["files"] else "baseline"
    errors = [r for r in results if r["status"] == "error"]
    root = report["target"].get("root")
    base: dict[str, object] = {"description": {"text": _text(
        f"the root of the audited {report['target']['mode']} target"
        + (f" {report['target'].get('image') or root}" if report["target"]["mode"] == "image" else ""))}}
    if report["target"]["mode"] == "live":
        base["uri"] = "file:///"
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "hostaudit",
                "version": report["tool"]["version"],
                "semanticVersion": report["tool"]["version"],
                "informationUri": "https://hostaudit.invalid/",
                "rules": [_rule(r) for r in results],
            }},
            "originalUriBaseIds": {"TARGETROOT": base},
            "invocations": [{
                "executionSuccessful": not errors,
                "startTimeUtc": report["timing"]["started"],
                "toolExecutionNotifications": [
                    {"level": "error", "message": {"text": _text(f"{r['id']} could not be decided: {r['message']}")},
                     "associatedRule": {"id": r["id"], "index": index[r["id"]]}}
                    for r in errors
                ],
            }],
            "results": [_result(r, index[r["id"]], baseline_file) for r in results if r["status"] == "fail"],
            "properties": {"score": report["score"], "coverage": report["coverage"],
                           "baseline": report["baseline"]["name"],
                           "baselineDigest": report["baseline"]["digest"]},
        }],
    }


def render(report: dict) -> str:
    """The SARIF log as JSON text."""
    return json.dumps(sarif(report), indent=2, ensure_ascii=False) + "\n"
