"""The terminal view: score beside coverage, one row per section, failures with evidence."""

from __future__ import annotations

import io

from rich.console import Console
from test_report_json import sample_report

from hostaudit.reports.terminal import probe_progress, render


def rendered(report: dict) -> str:
    out = io.StringIO()
    render(report, Console(file=out, width=120, no_color=True))
    return out.getvalue()


def row_of(text: str, first_cell: str) -> list[str]:
    """The cells of the table row whose first cell is ``first_cell``."""
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("│┃ ").split("│")]
        if cells and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row {first_cell!r} in:\n{text}")


def test_header_names_target_and_baseline():
    text = rendered(sample_report())
    first = text.splitlines()[0]
    assert first.startswith("Audit of image /srv/golden  baseline gcux-qmail (sha256:abab")


def test_score_is_printed_with_its_coverage():
    text = rendered(sample_report())
    assert "Score 42.9 / 100   decided 4 of 7 selected controls (57.1%): 1 error" in text


def test_each_section_has_a_row_with_score_and_counts():
    text = rendered(sample_report())
    assert row_of(text, "mail") == ["mail", "66.7", "1", "1", "0", "0", "0"]
    assert row_of(text, "os") == ["os", "50", "1", "0", "1", "1", "0"]
    assert row_of(text, "boot") == ["boot", "0", "0", "1", "0", "0", "1"]


def test_failed_control_is_listed_with_its_first_evidence_line():
    lines = rendered(sample_report()).splitlines()
    head = next(i for i, line in enumerate(lines) if "boot.loader-password" in line)
    assert lines[head].split()[:3] == ["high", "fail", "boot.loader-password"]
    assert lines[head + 1].strip() == "/boot/grub/grub.cfg: no 'set superusers' line"


def test_findings_are_failures_then_errors_by_severity_and_omit_passes():
    text = rendered(sample_report())
    findings = text[text.index("Failed and errored controls"):]
    order = [cid for cid in ("boot.loader-password", "mail.databytes", "os.shell-timeout")]
    assert sorted(order, key=findings.index) == order
    assert "mail.relay" not in findings
    assert "os.history-size" not in findings


def test_markup_in_evidence_is_printed_literally():
    report = sample_report()
    report["results"][0]["evidence"][0]["text"] = "[bold]x[/bold]"
    assert "[bold]x[/bold]" in rendered(report)


def test_nothing_scored_says_so():
    report = sample_report()
    report["score"] = None
    assert "Score n/a (nothing scored)" in rendered(report)


def test_probe_progress_is_a_no_op_when_not_a_terminal():
    console = Console(file=io.StringIO(), stderr=True)
    with probe_progress(console, 3) as advance:
        advance("passwd")
    assert console.file.getvalue() == ""


def test_probe_progress_draws_on_a_terminal_console():
    out = io.StringIO()
    console = Console(file=out, stderr=True, force_terminal=True, width=80)
    with probe_progress(console, 2) as advance:
        advance("passwd")
        advance("group")
    assert "2/2" in out.getvalue()


HOSTILE = "/etc/x\x1b]0;pwned\x07\x1b[2J\u202e[link=http://evil]y[/link][bold]z\udcff\x9b"


def hostile_report() -> dict:
    report = sample_report()
    report["target"]["root"] = report["target"]["image"] = "/srv/\x1b[2Jgolden"
    failed = report["results"][0]
    failed["message"] = f"bad {HOSTILE}"
    failed["evidence"][0]["where"] = HOSTILE
    failed["evidence"][0]["text"] = "line\nScore 100 / 100"
    return report


def recorded(report: dict, **console) -> str:
    recorder = Console(record=True, width=200, file=io.StringIO(), **console)
    render(report, recorder)
    return recorder.export_text(styles=True)


def test_hostile_text_cannot_act_on_the_terminal():
    for options in ({"no_color": True}, {"force_terminal": True, "color_system": "truecolor"}):
        text = recorded(hostile_report(), **options)
        # Our own styles are SGR sequences (ESC [ ... m); nothing else may reach the terminal.
        for sequence in ("\x1b]", "\x1b[2J", "\x07", "\u202e", "\x9b", "\udcff"):
            assert sequence not in text, (options, sequence)


def test_hostile_text_is_shown_as_escapes_and_markup_literally():
    text = rendered(hostile_report())
    shown = "/etc/x\\x1b]0;pwned\\x07\\x1b[2J\\u202e[link=http://evil]y[/link][bold]z\\xff\\x9b"
    assert f"bad {shown}" in text
    assert f"{shown}: line\\nScore 100 / 100" in text
    assert text.splitlines()[0].startswith("Audit of image /srv/\\x1b[2Jgolden")


def test_progress_descriptions_are_not_markup():
    out = io.StringIO()
    console = Console(file=out, stderr=True, force_terminal=True, width=80)
    with probe_progress(console, 1) as advance:
        advance("[red]x\x1b[2J")
    assert "[red]x\\x1b[2J" in out.getvalue()
