"""The terminal view: score beside coverage, one row per section, failures with evidence."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console
from test_report_json import sample_report

from hostaudit.reports.terminal import Gate, print_written, probe_progress, render


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
    assert "Score       42.9 / 100\nCoverage    decided 4 of 7 selected controls (57.1%): 1 error" in text


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
    assert "/etc/grub.conf" not in "\n".join(lines)


def test_findings_are_failures_then_errors_by_severity_and_omit_passes():
    text = rendered(sample_report())
    findings = text[text.index("Failed and errored controls"):text.index("Sections")]
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
    assert "Score       n/a (nothing scored)" in rendered(report)


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


# The summary block and findings layout: what an administrator reads at the end of a run.

SEARCHED = ["/etc/sysctl.d/*.conf", "/run/sysctl.d/*.conf", "/usr/local/lib/sysctl.d/*.conf",
            "/usr/lib/sysctl.d/*.conf", "/lib/sysctl.d/*.conf", "/etc/sysctl.conf"]
READ = ["/usr/lib/sysctl.d/50-pid-max.conf", "/usr/lib/sysctl.d/99-protect-links.conf",
        "/etc/sysctl.d/99-sysctl.conf", "/etc/sysctl.conf"]
WRITTEN = ["/srv/audit/report.json", "/srv/audit/report.html"]


def sysctl_report() -> dict:
    """The sample plus a sysctl finding as the check words it: its key first, the places it
    searched in the message, the files it read as the evidence's location."""
    report = sample_report()
    report["results"].append({
        **report["results"][0], "id": "sysctl.net.ipv4.tcp_syncookies", "section": "sysctl",
        "severity": "medium", "status": "fail",
        "message": f"net.ipv4.tcp_syncookies: not set persistently (looked in {', '.join(SEARCHED)}); in force: 0",
        "evidence": [{"where": ", ".join(READ), "line": None, "text": "no setting"},
                     {"where": "/proc/sys/net/ipv4/tcp_syncookies", "line": None, "text": "in force: 0"}]})
    return report


def recorded_at(report: dict, width: int, **options) -> str:
    console = Console(record=True, width=width, file=io.StringIO(), no_color=True)
    render(report, console, **options)
    return console.export_text()


def test_summary_comes_last_after_findings_and_sections():
    lines = recorded_at(sample_report(), 80, written=WRITTEN).splitlines()
    summary = lines[len(lines) - lines[::-1].index(""):]
    labels = [line.split()[0] for line in summary if not line.startswith(" ")]
    assert labels == ["Score", "Coverage", "Results", "Fail+error", "Details", "Reports"]
    assert summary[-1].strip() == "/srv/audit/report.html"
    last_finding = max(i for i, line in enumerate(lines) if line.startswith("medium error  os.shell-timeout"))
    assert last_finding < lines.index("Sections") < len(lines) - len(summary)


def test_summary_counts_results_by_status():
    text = recorded_at(sample_report(), 80)
    assert "Results     2 fail, 1 error, 1 manual, 1 not applicable, 2 pass\n" in text


def test_summary_counts_failures_and_errors_per_severity_as_fail_on_does():
    text = recorded_at(sample_report(), 80)
    assert "Fail+error  1 high (1 fail), 2 medium (1 fail, 1 error), 0 low, 0 info\n" in text


def test_summary_states_the_gate_verdict():
    text = recorded_at(sample_report(), 80, gate=Gate(False, "failed: 1 control(s) of severity high"))
    assert "Gate        failed: 1 control(s) of severity high\n" in text


def test_summary_names_every_written_report():
    text = recorded_at(sample_report(), 80, written=WRITTEN)
    assert text.endswith("Reports     /srv/audit/report.json\n            /srv/audit/report.html\n")


def test_summary_points_at_explain_for_the_worst_finding():
    text = recorded_at(sample_report(), 80)
    assert "Details     hostaudit explain boot.loader-password for details\n" in text


def test_explain_hint_names_a_site_baseline_file():
    report = sample_report()
    report["baseline"].update(name="example-site", files=["/opt/hostaudit/baselines/gcux-qmail.yaml",
                                                         "/etc/hostaudit/site.yaml"])
    text = recorded_at(report, 120)
    assert "hostaudit explain boot.loader-password --baseline /etc/hostaudit/site.yaml for details" in text


def test_no_summary_hint_when_nothing_failed():
    report = sample_report()
    report["results"] = [r for r in report["results"] if r["status"] not in ("fail", "error")]
    assert "hostaudit explain" not in recorded_at(report, 80)


def test_message_does_not_repeat_the_control_id():
    text = recorded_at(sysctl_report(), 160)
    assert "sysctl.net.ipv4.tcp_syncookies  not set persistently" in text
    assert "net.ipv4.tcp_syncookies:" not in text


def test_places_searched_and_files_read_are_counted_unless_verbose():
    text = recorded_at(sysctl_report(), 160)
    assert "(looked in 6 places); in force: 0" in text
    assert "/usr/lib/sysctl.d/50-pid-max.conf and 3 more: no setting" in text
    assert "/run/sysctl.d" not in text and "99-protect-links" not in text


def test_verbose_lists_every_place_and_every_evidence_line():
    text = " ".join(recorded_at(sysctl_report(), 400, verbose=True).split())
    assert f"(looked in {', '.join(SEARCHED)}); in force: 0" in text
    assert f"{', '.join(READ)}: no setting" in text
    assert "/proc/sys/net/ipv4/tcp_syncookies: in force: 0" in text
    assert "/etc/grub.conf: absent" in text


def test_wrapped_lines_are_indented_under_their_finding():
    lines = recorded_at(sysctl_report(), 80, verbose=True).splitlines()
    start = next(i for i, line in enumerate(lines) if "sysctl.net.ipv4.tcp_syncookies" in line)
    block = lines[start:lines.index("Sections")]
    block = block[:next(i for i, line in enumerate(block[1:], 1) if not line.startswith(" ") or not line.strip())]
    assert len(block) > 4  # the message and the evidence wrapped at 80 columns
    assert all(line.startswith(" " * 14) for line in block[1:])


LONG = "/srv/" + "x" * 150 + "\x1b[2J\u202e"


@pytest.mark.parametrize("width", [80, 160])
def test_snapshot_fits_the_width_ends_with_summary_and_paths(width):
    report = sysctl_report()
    report["results"][0]["message"] = f"no GRUB password in {LONG} or {LONG}"
    report["results"][0]["evidence"][0]["where"] = LONG
    console = Console(record=True, width=width, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor")
    render(report, console, gate=Gate(True, "passed (--fail-on high)"), written=WRITTEN)
    plain, styled = console.export_text(), console.export_text(styles=True)
    lines = plain.splitlines()
    assert max(len(line) for line in lines) <= width
    assert [line.rstrip() for line in lines] == lines  # no padding to the width
    assert lines[-2:] == ["Reports     /srv/audit/report.json", "            /srv/audit/report.html"]
    assert lines[-4] == "Gate        passed (--fail-on high)"
    # Our own colours are SGR sequences; nothing else from the target acts on the terminal.
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]", re.sub(r"\x1b\[[0-9;]*m", "", styled))
    assert "\\x1b[2J\\u202e" in plain


def test_print_written_names_the_files_alone():
    console = Console(record=True, width=80, file=io.StringIO())
    print_written(console, WRITTEN)
    assert console.export_text() == "Reports     /srv/audit/report.json\n            /srv/audit/report.html\n"


def test_summary_of_a_drift_run_counts_what_changed():
    from test_report_html import _drifted

    text = " ".join(recorded_at(_drifted(), 200).split())
    assert ("Drift 1 control(s) changed since 2024-05-01T10:00:00+00:00 (1 newly failing or undecided), "
            "0 fact change(s): listed in the reports' drift section") in text


def test_summary_of_a_drift_run_without_changes_says_nothing_changed():
    from test_report_html import _drifted

    assert "Drift       nothing changed since 2024-05-01T10:00:00+00:00\n" in recorded_at(_drifted("pass"), 120)
