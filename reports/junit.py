"""report.junit.xml: one testcase per control, one testsuite per section, for Jenkins and
GitLab's test report views.

``fail`` is a ``<failure>`` (message, then the evidence, expected value and remediation in its
text); ``error`` an ``<error>`` (the audit could not decide); ``not_applicable``, ``manual``
and ``waived`` a ``<skipped>`` with the reason; ``pass`` an empty testcase. Every string is
made visible first (``hostaudit.visible``): a control character from the target is illegal
in XML 1.0 and would make the whole file unreadable.
"""

from __future__ import annotations

import datetime
import re
import xml.etree.ElementTree as ET

from hostaudit.reports.present import ordered_sections
from hostaudit.visible import visible

_SKIPPED = ("not_applicable", "manual", "waived")
# Beyond what ``visible`` escapes, XML 1.0 forbids only U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\ufffe\uffff]")


def _text(value) -> str:
    return _NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", visible(str(value), keep="\n\t"))


def _attr(value) -> str:
    # An attribute is one line: newlines in a message show as \n rather than being folded.
    return _NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", visible(str(value)))


def _timestamp(started: str) -> str:
    """``2026-06-01T10:00:00+00:00`` -> ``2026-06-01T10:00:00`` in UTC: the Ant JUnit schema's
    timestamp has no zone, and Jenkins reads it in that form."""
    try:
        moment = datetime.datetime.fromisoformat(started)
    except ValueError:
        return started
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="seconds")


def _evidence_line(e: dict) -> str:
    where = f"{e['where']}:{e['line']}" if e["line"] is not None else e["where"]
    return f"{where}: {e['text']}" if e["text"] else where


def _details(r: dict) -> str:
    parts = [r["message"]]
    if r["evidence"]:
        parts.append("Evidence:\n" + "\n".join(f"  {_evidence_line(e)}" for e in r["evidence"]))
    if r["expected"]:
        parts.append(f"Expected: {r['expected']}")
    if r["remediation"]:
        parts.append(f"Remediation:\n{r['remediation']}")
    return "\n\n".join(parts)


def _counts(results: list[dict]) -> dict[str, str]:
    return {
        "tests": str(len(results)),
        "failures": str(sum(r["status"] == "fail" for r in results)),
        "errors": str(sum(r["status"] == "error" for r in results)),
        "skipped": str(sum(r["status"] in _SKIPPED for r in results)),
        "time": f"{sum(r['duration_ms'] for r in results) / 1000:.3f}",
    }


def _testcase(parent: ET.Element, r: dict) -> None:
    case = ET.SubElement(parent, "testcase", {
        "name": _attr(f"{r['id']}: {r['title']}"),
        "classname": _attr(f"hostaudit.{r['section']}"),
        "time": f"{r['duration_ms'] / 1000:.3f}",
    })
    if r["status"] == "fail":
        element = ET.SubElement(case, "failure", {"message": _attr(r["message"]),
                                                  "type": f"{r['severity']} severity"})
        element.text = _text(_details(r))
    elif r["status"] == "error":
        element = ET.SubElement(case, "error", {"message": _attr(r["message"]),
                                                "type": "could not decide"})
        element.text = _text(_details(r))
    elif r["status"] in _SKIPPED:
        # The first line as the message a test list shows; all of it (a manual procedure's
        # steps, a waiver's finding) as the text.
        label = r["status"].replace("_", " ")
        first = r["message"].split("\n", 1)[0]
        element = ET.SubElement(case, "skipped", {"message": _attr(f"{label}: {first}")})
        if first != r["message"]:
            element.text = _text(r["message"])


def render(report: dict) -> str:
    """The report as a JUnit XML document (the Jenkins/GitLab dialect)."""
    root = ET.Element("testsuites", {"name": _attr(f"hostaudit {report['baseline']['name']}"),
                                     **_counts(report["results"])})
    started = _timestamp(report["timing"]["started"])
    for name, data in ordered_sections(report):
        results = [r for r in report["results"] if r["section"] == name]
        suite = ET.SubElement(root, "testsuite", {"name": _attr(f"{name}: {data['title']}"),
                                                  "timestamp": started, **_counts(results)})
        properties = ET.SubElement(suite, "properties")
        for key, value in (("baseline", report["baseline"]["name"]),
                           ("baseline.digest", report["baseline"]["digest"]),
                           ("target.mode", report["target"]["mode"]),
                           ("score", "n/a" if data["score"] is None else data["score"])):
            ET.SubElement(properties, "property", {"name": key, "value": _attr(value)})
        for r in results:
            _testcase(suite, r)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
