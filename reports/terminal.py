"""The terminal view (rich): what failed and why first, the summary last.

An administrator reads the end of the output: the findings scroll past, the summary (score,
coverage, counts by status and severity, the gate's verdict, where the reports were written)
stays on screen, as Lynis and OpenSCAP end.

Every value from the report goes into rich as ``Text``, never as markup, so a path such as
``/etc/[bold]`` prints as it is; and through ``terminal_text`` first, so an ESC, a bidi
override or an undecodable byte in a target's file name shows as ``\\x1b``, ``\\u202e``,
``\\xff`` instead of acting on the terminal.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import NamedTuple

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from hostaudit import baselines as shipped_baselines
from hostaudit.reports.present import (
    STATUS_LABELS,
    coverage_text,
    finding_message,
    gate_counts,
    ordered_sections,
    percent,
    score_class,
    severity_gate_text,
    short_where,
    shorten_lists,
    sorted_results,
    status_chips,
    target_label,
)
from hostaudit.visible import terminal_text

SCORE_STYLES = {"good": "bold green", "fair": "bold yellow", "poor": "bold red", "none": "bold"}
STATUS_STYLES = {"fail": "bold red", "error": "yellow"}
SEVERITY_STYLES = {"high": "bold red", "medium": "yellow", "low": "cyan", "info": "dim"}
SHIPPED_BASELINES = os.path.dirname(os.path.abspath(shipped_baselines.__file__))


class Gate(NamedTuple):
    """The gate's verdict as the summary states it: ``passed`` None when no gate was chosen."""

    passed: bool | None
    text: str


def _safe(value) -> str:
    """A report value as terminal text: nothing in it can act on the terminal."""
    return terminal_text(str(value))


def _evidence_line(e: dict, verbose: bool) -> str:
    where = e["where"] if verbose else short_where(e["where"])
    where = f"{where}:{e['line']}" if e["line"] is not None else where
    text = e["text"] if verbose else shorten_lists(e["text"] or "")
    return f"{where}: {text}" if text else where


def _header(report: dict) -> Text:
    baseline = report["baseline"]
    text = Text()
    text.append("Audit of ", style="bold")
    text.append(_safe(target_label(report["target"])), style="bold")
    text.append(_safe(f"  baseline {baseline['name']} ({baseline['digest'][:19]}…)"))
    text.append(_safe(f"  {report['tool']['name']} {report['tool']['version']}"), style="dim")
    return text


def _score_line(report: dict) -> Text:
    score = report["score"]
    text = Text()
    text.append(percent(score), style=SCORE_STYLES[score_class(score)])
    text.append(" / 100" if score is not None else " (nothing scored)")
    return text


def _waivers(report: dict) -> list[Text]:
    """Expired waivers first and loud (they waive nothing any more), then the others."""
    lines: list[Text] = []
    waivers = sorted(report.get("waivers", []), key=lambda w: w["status"] != "expired")
    for w in waivers:
        scope = ", ".join(f"{k} {v}" for k, v in sorted(w["match"].items()))
        scope = f" ({scope})" if scope else ""
        line = Text()
        if w["status"] == "expired":
            line.append("EXPIRED WAIVER ", style="bold red")
            line.append(_safe(f"{w['control']}{scope} expired on {w['expires']} and no longer "
                              f"applies ({w['approved_by']}: {w['reason']}; {w['source']})"))
        else:
            label = "waived " if w["status"] == "active" else "unused waiver "
            line.append(label, style="bold" if w["status"] == "active" else "dim")
            line.append(_safe(f"{w['control']}{scope} until {w['expires']} ({w['approved_by']}: "
                              f"{w['reason']})" + ("" if w["status"] == "active" else f": {w['note']}")))
        lines.append(line)
    return lines


def _sections_table(report: dict) -> Table:
    table = Table(expand=False)
    table.add_column("section")
    for name in ("score", "pass", "fail", "error", "n/a", "manual"):
        table.add_column(name, justify="right")
    for name, data in ordered_sections(report):
        counts = data["counts"]
        table.add_row(
            Text(_safe(name)),
            Text(percent(data["score"]), style=SCORE_STYLES[score_class(data["score"])]),
            str(counts["pass"]),
            str(counts["fail"]),
            str(counts["error"]),
            str(counts["not_applicable"]),
            str(counts["manual"]),
        )
    return table


def _unsettled(report: dict) -> list[dict]:
    """Failed and errored controls, worst first."""
    return [r for r in sorted_results(report["results"]) if r["status"] in ("fail", "error")]


def _hanging(console: Console, first: Text, body: Text, indent: int) -> list[Text]:
    """``body`` wrapped to the console's width after ``first`` (``indent`` cells wide), each
    wrapped line indented under the body instead of starting at column 0. Words too long for
    a line are folded; no line is padded with trailing blanks."""
    width = max(console.width - indent, 20)
    lines = []
    for index, line in enumerate(body.wrap(console, width, overflow="fold")):
        line.rstrip()
        lead = first if index == 0 else Text(" " * indent)
        lines.append(Text.assemble(lead, line))
    return lines


def _findings(report: dict, console: Console, verbose: bool = False) -> list[Text]:
    """Failed and errored controls, worst first: severity and status, then the ID and the
    message, wrapped under the message; then the evidence, indented under that. A list rather
    than a table, so it stays readable at 80 columns and in a cron mail. Without ``verbose``
    only the first evidence line, and long lists of places searched as a count."""
    lines: list[Text] = []
    for r in _unsettled(report):
        head = Text()
        head.append(_safe(f"{r['severity']:<7}"), style=SEVERITY_STYLES.get(r["severity"], ""))
        head.append(_safe(f"{r['status']:<6}"), style=STATUS_STYLES.get(r["status"], ""))
        head.append(" ")
        body = Text()
        body.append(_safe(r["id"]), style="bold")
        message = finding_message(r)
        body.append(_safe("  " + (message if verbose else shorten_lists(message))))
        lines += _hanging(console, head, body, len(head))
        for e in r["evidence"] if verbose else r["evidence"][:1]:
            evidence = Text(_safe(_evidence_line(e, verbose)), style="dim" if r["status"] == "error" else "")
            lines += _hanging(console, Text(" " * (len(head) + 2)), evidence, len(head) + 4)
    return lines


def _explain_hint(report: dict) -> str | None:
    """``hostaudit explain <id>`` for the worst finding, with the baseline file when it is not
    a shipped one (a site baseline's controls may differ)."""
    results = _unsettled(report)
    if not results:
        return None
    baseline = report["baseline"]
    shipped = os.path.isfile(os.path.join(SHIPPED_BASELINES, f"{os.path.basename(baseline['name'])}.yaml"))
    # files runs from the shipped root of the extends: chain to the site file last, the one
    # that defines the site's own controls.
    files = baseline.get("files") or []
    option = f" --baseline {files[-1]}" if files and not shipped else ""
    return f"hostaudit explain {results[0]['id']}{option} for details"


_LABEL_WIDTH = 12


def _labelled(console: Console, rows: Iterable[tuple[str, Text]]) -> list[Text]:
    """Label, then its value wrapped and indented under the value column."""
    lines: list[Text] = []
    for label, value in rows:
        lines += _hanging(console, Text(f"{label:<{_LABEL_WIDTH}}", style="bold"), value, _LABEL_WIDTH)
    return lines


def _paths(paths: Iterable[str]) -> list[Text]:
    """``Reports     /abs/report.json`` and the next path under it: never wrapped or folded,
    so that a path copies whole even where it is wider than the terminal."""
    return [Text.assemble(Text(f"{'Reports' if i == 0 else '':<{_LABEL_WIDTH}}", style="bold"),
                          _safe(os.path.abspath(p))) for i, p in enumerate(paths)]


def print_written(console: Console, paths: Iterable[str]) -> None:
    """The absolute paths of the files a run wrote, one per line (nothing when none)."""
    _print_lines(console, _paths(paths))


def _summary(report: dict, console: Console, gate: Gate | None, written: Iterable[str]) -> list[Text]:
    counts = ", ".join(f"{count} {STATUS_LABELS.get(status, status)}"
                       for status, count in status_chips(report["counts"]))
    by_severity = ", ".join(severity_gate_text(row) for row in gate_counts(report["results"]))
    rows = [("Score", _score_line(report)),
            ("Coverage", Text(_safe(coverage_text(report["coverage"])))),
            ("Results", Text(_safe(counts))),
            ("Fail+error", Text(_safe(by_severity)))]
    if gate is not None:
        style = "" if gate.passed is None else "bold green" if gate.passed else "bold red"
        rows.append(("Gate", Text(_safe(gate.text), style=style)))
    if report.get("drift"):
        rows.append(("Drift", Text(_safe(_drift_text(report["drift"])))))
    hint = _explain_hint(report)
    if hint:
        rows.append(("Details", Text(_safe(hint))))
    return _labelled(console, rows) + _paths(written)


def _drift_text(drift: dict) -> str:
    """One line for a run kept in a state directory: what changed since the last one."""
    if drift["previous"] is None:
        return "first run of this target: its history starts"
    since = f"since {drift['previous'].get('started')}"
    if not drift["changed"]:
        return f"nothing changed {since}"
    new = sum(c["change"] in ("new_failure", "new_error") for c in drift["controls"])
    return (f"{len(drift['controls'])} control(s) changed {since} ({new} newly failing or undecided), "
            f"{len(drift['facts'])} fact change(s): listed in the reports' drift section")


def _print_lines(console: Console, lines: Iterable[Text]) -> None:
    for line in lines:
        # Already wrapped to the width: printed as they are, never wrapped again.
        console.print(line, no_wrap=True, overflow="ignore", crop=False)


def render(report: dict, console: Console, *, gate: Gate | None = None, written: Iterable[str] = (),
           verbose: bool = False) -> None:
    """Print the report on ``console`` (its colour and width are the caller's): a header line,
    the failed and errored controls, the sections, and last the summary with the ``gate``
    verdict and the ``written`` report files. ``verbose``: every evidence line, full lists."""
    _print_lines(console, _hanging(console, Text(), _header(report), 2))
    # Waivers first: an expired one changes what the verdicts below mean.
    _print_lines(console, [wrapped for line in _waivers(report) for wrapped in _hanging(console, Text(), line, 4)])
    findings = _findings(report, console, verbose)
    if findings:
        console.print()
        console.print(Text("Failed and errored controls", style="bold"))
        _print_lines(console, findings)
    console.print()
    console.print(Text("Sections", style="bold"))
    console.print(_sections_table(report))
    console.print()
    _print_lines(console, _summary(report, console, gate, written))


def _no_op(name: str) -> None:
    """What ``probe_progress`` yields when there is no terminal to draw on."""


@contextmanager
def probe_progress(console: Console, total: int) -> Iterator[Callable[[str], None]]:
    """A transient progress bar on stderr while probes run; a no-op unless that is a terminal.

    ``with probe_progress(console, total) as advance: advance("passwd")``
    """
    bar_console = console if console.stderr else Console(
        stderr=True, no_color=console.no_color,
        color_system=console.color_system,  # type: ignore[arg-type]  # rich returns the Literal as str
    )
    if not bar_console.is_terminal or console.quiet:
        yield _no_op
        return
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=bar_console,
        transient=True,
    )
    task = progress.add_task("collecting facts", total=total)

    def advance(name: str) -> None:
        # The description column is markup: a name is escaped, never interpreted.
        progress.update(task, advance=1, description=escape(f"probed {_safe(name)}"))

    with progress:
        yield advance
