"""The terminal view (rich): score with its coverage, sections, then what failed and why.

Every value from the report goes into rich as ``Text``, never as markup, so a path such as
``/etc/[bold]`` prints as it is; and through ``terminal_text`` first, so an ESC, a bidi
override or an undecodable byte in a target's file name shows as ``\\x1b``, ``\\u202e``,
``\\xff`` instead of acting on the terminal.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from hostaudit.visible import terminal_text
from hostaudit.reports.present import (
    coverage_text,
    ordered_sections,
    percent,
    score_class,
    sorted_results,
    target_label,
)

SCORE_STYLES = {"good": "bold green", "fair": "bold yellow", "poor": "bold red", "none": "bold"}
STATUS_STYLES = {"fail": "bold red", "error": "yellow"}
SEVERITY_STYLES = {"high": "bold red", "medium": "yellow", "low": "cyan", "info": "dim"}


def _safe(value) -> str:
    """A report value as terminal text: nothing in it can act on the terminal."""
    return terminal_text(str(value))


def _first_evidence(result: dict) -> str:
    if not result["evidence"]:
        return result["message"]
    e = result["evidence"][0]
    where = f"{e['where']}:{e['line']}" if e["line"] is not None else e["where"]
    return f"{where}: {e['text']}" if e["text"] else where


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
    text = Text("Score ")
    text.append(percent(score), style=SCORE_STYLES[score_class(score)])
    text.append(" / 100" if score is not None else " (nothing scored)")
    text.append("   ")
    text.append(coverage_text(report["coverage"]))
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
    table = Table(title="Sections", title_justify="left", expand=False)
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


def _findings(report: dict) -> list[Text]:
    """Failed and errored controls, worst first: a heading line, then the evidence indented.

    A list rather than a table, so it stays readable at 80 columns and in a cron mail.
    """
    lines: list[Text] = []
    for r in sorted_results(report["results"]):
        if r["status"] not in ("fail", "error"):
            continue
        head = Text()
        head.append(_safe(f"{r['severity']:<7}"), style=SEVERITY_STYLES.get(r["severity"], ""))
        head.append(_safe(f"{r['status']:<6}"), style=STATUS_STYLES.get(r["status"], ""))
        head.append(_safe(r["id"]), style="bold")
        head.append(_safe(f"  {r['message']}"))
        lines.append(head)
        if r["evidence"]:
            lines.append(Text(_safe(f"    {_first_evidence(r)}"),
                              style="dim" if r["status"] == "error" else ""))
    return lines


def render(report: dict, console: Console) -> None:
    """Print the report's summary on ``console`` (its colour and width are the caller's)."""
    console.print(_header(report))
    console.print(_score_line(report))
    for line in _waivers(report):
        console.print(line, overflow="fold")
    console.print()
    console.print(_sections_table(report))
    findings = _findings(report)
    if findings:
        console.print()
        console.print(Text("Failed and errored controls", style="bold"))
        for line in findings:
            console.print(line, overflow="fold")


def _no_op(name: str) -> None:
    """What ``probe_progress`` yields when there is no terminal to draw on."""


@contextmanager
def probe_progress(console: Console, total: int) -> Iterator[Callable[[str], None]]:
    """A transient progress bar on stderr while probes run; a no-op unless that is a terminal.

    ``with probe_progress(console, total) as advance: advance("passwd")``
    """
    bar_console = console if console.stderr else Console(
        stderr=True, no_color=console.no_color, color_system=console.color_system
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
