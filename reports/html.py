"""report.html: one self-contained, autoescaped page (inline CSS and script, no network)."""

from __future__ import annotations

import os

from jinja2 import Environment, PackageLoader, StrictUndefined

from hostaudit.references import cis_name, nist_url
from hostaudit.reports.atomic import write_atomic
from hostaudit.reports.present import (
    SEVERITY_ORDER,
    STATUS_LABELS,
    STATUS_ORDER,
    coverage_text,
    ordered_sections,
    percent,
    score_class,
    sorted_results,
    target_label,
)

def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("hostaudit.reports", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(percent=percent, coverage_text=coverage_text, score_class=score_class)
    env.globals.update(STATUS_LABELS=STATUS_LABELS)
    env.filters.update(nist_url=nist_url, cis_name=cis_name)
    return env


def render(report: dict) -> str:
    """The report as one HTML document."""
    template = _environment().get_template("report.html.j2")
    return template.render(
        report=report,
        target_label=target_label(report["target"]),
        results=sorted_results(report["results"]),
        status_order=STATUS_ORDER,
        statuses=[s for s in STATUS_ORDER if report["counts"].get(s)],
        severities=SEVERITY_ORDER,
        sections=ordered_sections(report),
    )


def write(report: dict, path: str | os.PathLike) -> None:
    """Render ``report`` and write it atomically to ``path``."""
    write_atomic(path, render(report))
