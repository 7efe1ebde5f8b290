"""report.html: one self-contained, autoescaped page (inline CSS and script, no network).

Every value printed passes ``_finalize`` before autoescape: control characters, bidi
overrides and undecodable bytes (lone surrogates from ``surrogateescape``) become visible
escapes such as ``\\x1b`` and ``\\xff``; newlines and tabs stay for ``<pre>`` blocks.
"""

from __future__ import annotations

import os
from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from hostaudit.references import cis_name, nist_url
from hostaudit.reports.atomic import write_atomic
from hostaudit.reports.diff_view import CHANGE_LABELS, what_changed
from hostaudit.reports.present import (
    SEVERITY_ORDER,
    STATUS_LABELS,
    STATUS_ORDER,
    command_text,
    coverage_text,
    gate_counts,
    message_parts,
    ordered_sections,
    os_text,
    percent,
    score_class,
    section_score,
    sorted_results,
    status_chips,
    target_label,
)
from hostaudit.visible import visible


def finalize(value):
    """What a ``{{ value }}`` prints: strings made visible (autoescape then applies).

    Filters such as ``join`` hand back already-escaped Markup; it stays Markup (escapes
    add no HTML-special character) so it is not escaped twice.
    """
    if isinstance(value, Markup):
        return Markup(visible(str(value), keep="\n\t"))
    return visible(value, keep="\n\t") if isinstance(value, str) else value


def _rank(order: tuple[str, ...]):
    return lambda value: order.index(value) if value in order else len(order)


@lru_cache(maxsize=1)
def _environment() -> Environment:
    # One per process: building it compiles the template (25 ms), which a fleet of a
    # thousand host reports would pay a thousand times.
    env = Environment(
        finalize=finalize,
        loader=PackageLoader("hostaudit.reports", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(percent=percent, coverage_text=coverage_text, score_class=score_class,
                       message_parts=message_parts, nist_url=nist_url, cis_name=cis_name)
    env.globals.update(STATUS_LABELS=STATUS_LABELS, status_rank=_rank(STATUS_ORDER),
                       severity_rank=_rank(SEVERITY_ORDER))
    return env


def render(report: dict) -> str:
    """The report as one HTML document."""
    template = _environment().get_template("report.html.j2")
    sections = ordered_sections(report)
    return template.render(
        report=report,
        target_label=target_label(report["target"]),
        os_text=os_text(report["target"]),
        command_text=command_text(report["target"]),
        results=sorted_results(report["results"]),
        statuses=[s for s in STATUS_ORDER if report["counts"].get(s)],
        status_chips=status_chips(report["counts"]),
        gate_counts=gate_counts(report["results"]),
        severities=SEVERITY_ORDER,
        sections=[(name, data, section_score(data)) for name, data in sections],
        section_rank={name: index for index, (name, _) in enumerate(sections)},
        section_titles={name: data["title"] for name, data in sections},
        drift_labels=CHANGE_LABELS,
        what_changed=what_changed,
    )


def write(report: dict, path: str | os.PathLike) -> None:
    """Render ``report`` and write it atomically to ``path``."""
    write_atomic(path, render(report))
