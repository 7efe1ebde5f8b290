"""What ``hostaudit explain ID`` says about a control: its words from the baseline, and how
it is checked in each mode, read from the registry (the check's and probes' docstrings and
the facts it reads), so the explanation cannot drift from the code."""

from __future__ import annotations

import inspect
import textwrap

from hostaudit.baseline import Control
from hostaudit.references import References
from hostaudit.registry import PROBES, spec_for
from hostaudit.visible import terminal_text

_MODE_NAMES = {"*": "every mode", "live": "live", "image": "image", "net": "net"}


def _first_paragraph(func) -> str:
    doc = inspect.getdoc(func) or ""
    return " ".join(doc.split("\n\n", 1)[0].split())


def describe(control: Control) -> dict:
    """A control as plain data: metadata, parameters, and per-mode facts with their probes
    (the checks registered by the composition root, ``registry.load_all``)."""
    data = {
        "id": control.id, "title": control.title, "section": control.section,
        "severity": control.severity, "modes": list(control.modes), "rationale": control.rationale,
        "remediation": control.remediation, "reference": control.reference,
        "references": control.references.to_dict(),
        "parameters": dict(control.parameters), "manual": control.manual or None, "checked": None,
    }
    spec = spec_for(control)
    if spec is not None and not control.manual:
        asked = spec.requests(control.parameters)  # facts these parameters ask nothing of are left out
        checked: dict = {
            "summary": _first_paragraph(spec.func),
            "facts": {
                mode: [{"fact": name, "probe": _first_paragraph(PROBES[name].func) if name in PROBES else ""}
                       for name in names if asked.get(name, {}) is not None]
                for mode, names in spec.needs_by_mode.items()
            },
        }
        if control.kind:
            checked["kind"] = control.kind
        data["checked"] = checked
    return data


def render_text(data: dict, width: int = 79) -> str:
    """The description as plain text wrapped to ``width``."""
    def para(text: str, indent: str = "  ", hanging: str | None = None) -> list[str]:
        return textwrap.wrap(" ".join(text.replace("``", "").split()), width, initial_indent=indent,
                             subsequent_indent=hanging or indent) or []

    modes = ", ".join(data["modes"]) or "manual"
    lines = [*para(f"{data['id']}: {data['title']}", "", "    "),
             f"  section {data['section']}, severity {data['severity']}, modes: {modes}", "", "Why"]
    lines += para(data["rationale"])
    lines += ["", "How it is checked"]
    if data["manual"]:
        lines += [wrapped for line in data["manual"].splitlines() for wrapped in para(line, "  ", "     ")]
    elif data["checked"]:
        if data["checked"].get("kind"):
            lines += para(f"Generic kind {data['checked']['kind']} (no Python of its own; the parameters "
                          "below say what to look at).")
        lines += para(data["checked"]["summary"])
        for mode, facts in data["checked"]["facts"].items():
            lines.append(f"  {_MODE_NAMES.get(mode, mode)}: reads")
            for fact in facts:
                lines += para(f"{fact['fact']}: {fact['probe']}", "    - ", "      ")
    if data["parameters"]:
        lines += ["", "Parameters (override in a site baseline)"]
        lines += [w for k, v in data["parameters"].items() for w in para(f"{k}: {v}", "  ", "      ")]
    if data["remediation"]:
        lines += ["", "Remediation"] + ["  " + line for line in data["remediation"].splitlines()]
    refs = References.from_control({"references": data.get("references") or {},
                                     "reference": data.get("reference", "")})
    if refs.lines():
        lines += ["", "References"]
        lines += [w for label, text in refs.lines() for w in para(f"{label}: {text}", "  ", "      ")]
    # A site baseline's words reach the terminal: each line with its controls as escapes.
    return "\n".join(terminal_text(line) for line in lines)
