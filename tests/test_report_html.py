"""report.html: self-contained, escaped, and the score never appears without its coverage."""

from __future__ import annotations

import re

from test_report_json import control_result, sample_report

from hostaudit.model import Result
from hostaudit.reports import html
from hostaudit.reports.present import gate_counts, message_parts, section_score, status_chips


def finding(page: str, cid: str) -> str:
    """The markup of one finding: its row and its detail row."""
    start = page.rindex('<tbody class="finding ', 0, page.index(f'data-id="{cid}"'))
    return page[start:page.index("</tbody>", start)]


def test_evidence_with_markup_is_escaped():
    page = html.render(sample_report())
    assert "/var/qmail/control/&lt;script&gt;alert(1)&lt;/script&gt;:1" in page
    assert ": &lt;script&gt;alert(1)&lt;/script&gt;</li>" in page
    assert "<script>alert" not in page


def test_page_references_no_network_resource():
    page = html.render(sample_report())
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", page, re.I)
    assert "@import" not in page
    assert '<link rel="stylesheet"' not in page


def test_page_has_exactly_one_inline_script():
    page = html.render(sample_report())
    assert page.count("<script>") == 1
    assert "<script src" not in page


def test_coverage_sits_next_to_the_score():
    page = html.render(sample_report())
    summary = page[page.index('class="card summary"'):page.index('class="tallies"')]
    assert '<div class="value poor">42.9</div>' in summary
    coverage = "decided 4 of 7 selected controls (57.1%): 1 error, 1 not applicable, 1 manual"
    assert coverage in summary


def test_nothing_scored_shows_na_not_a_perfect_score():
    report = sample_report()
    report["score"], report["coverage"]["decided"] = None, 0
    page = html.render(report)
    assert '<div class="value none">n/a</div>' in page
    assert "nothing scored" in page


def test_header_names_target_baseline_digest_tool_and_date():
    page = html.render(sample_report())
    assert "<title>Audit of image /srv/golden against gcux-qmail</title>" in page
    assert "sha256:" + "ab" * 32 in page
    assert "hostaudit 0.1.0" in page
    assert "2024-05-01 10:00:00+00:00" in page


def test_failures_come_first_sorted_by_severity():
    page = html.render(sample_report())
    ids = re.findall(r'<td class="c-id mono">([^<]+)</td>', page)
    assert ids[:3] == ["boot.loader-password", "mail.databytes", "os.shell-timeout"]
    assert ids[-2:] == ["mail.relay", "os.ctrl-alt-del"]


def test_rows_carry_filter_attributes_and_filters_start_hidden_without_js():
    page = html.render(sample_report())
    assert 'data-status="fail" data-severity="medium" data-section="mail"' in page
    assert '<div class="tools" id="tools" hidden>' in page


def test_finding_details_show_evidence_expected_and_remediation():
    page = html.render(sample_report())
    row = finding(page, "boot.loader-password")
    assert '<tr class="more" id="d1">' in row
    assert '<span class="where">/boot/grub/grub.cfg</span>: no &#39;set superusers&#39; line' in row
    assert "<pre>password_pbkdf2 for a superuser</pre>" in row
    assert "<pre>echo fix &gt; /etc/somewhere</pre>" in row


def test_section_rows_show_score_and_coverage():
    page = html.render(sample_report())
    mail = page[page.index("<b>qmail</b>"):]
    mail = mail[:mail.index("</tr>")]
    assert '<b>66.7</b>' in mail
    assert "2 of 2 decided" in mail


def test_write_puts_the_page_on_disk(tmp_path):
    target = tmp_path / "report.html"
    html.write(sample_report(), target)
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_network_target_is_named_by_its_address():
    report = sample_report()
    report["target"] = {"mode": "net", "root": None, "address": "192.0.2.25"}
    page = html.render(report)
    assert "<h1>Audit of net 192.0.2.25</h1>" in page
    assert "None" not in page


def test_undecodable_bytes_and_controls_show_as_escapes():
    report = sample_report()
    report["results"][0]["evidence"][0]["where"] = "/etc/profile.d/bad\udcff\x1b]0;x\x07\u202e.sh"
    report["results"][0]["message"] = "multi\nline\tstays"
    page = html.render(report)
    assert "/etc/profile.d/bad\\xff\\x1b]0;x\\x07\\u202e.sh" in page
    assert "multi\nline\tstays" in page
    for raw in ("\udcff", "\x1b", "\x07", "\u202e"):
        assert raw not in page
    page.encode("utf-8")


def test_joined_values_are_escaped_once():
    report = sample_report()
    report["baseline"]["files"] = ["/srv/a&b.yaml", "/srv/c\x1b.yaml"]
    page = html.render(report)
    assert "Baseline files: /srv/a&amp;b.yaml, /srv/c\\x1b.yaml" in page


MANUAL_MESSAGE = (
    "This cannot be read from the running system; a person must check it.\n"
    "1. Reboot and enter the firmware setup.\n"
    "2. Confirm that setup asks for a password, and that the\n"
    "   password is not the root password.\n"
    "3. Record the date."
)


def test_manual_steps_are_split_from_the_lead_and_joined_across_lines():
    lead, steps = message_parts(MANUAL_MESSAGE)
    assert lead == "This cannot be read from the running system; a person must check it."
    assert steps == ["Reboot and enter the firmware setup.",
                     "Confirm that setup asks for a password, and that the password is not the root password.",
                     "Record the date."]


def test_message_without_a_first_step_has_no_steps():
    assert message_parts("port 25 open\n2. not a list") == ("port 25 open\n2. not a list", [])


def test_manual_steps_become_a_numbered_list_inside_the_details():
    report = sample_report([control_result("boot.bios-password", "high", Result.manual(MANUAL_MESSAGE))])
    row = finding(html.render(report), "boot.bios-password")
    summary = row[:row.index('<tr class="more"')]
    assert "a person must check it.</span></button>" in summary
    assert "Reboot" not in summary
    assert '<ol class="steps">' in row
    assert "<li>Confirm that setup asks for a password, and that the password is not the root password.</li>" in row
    assert row.count("<li>") == 3


def test_section_with_only_errors_and_manual_shows_a_dash_not_zero():
    report = sample_report([
        control_result("boot.loader-password", "high", Result.error("grub.cfg unreadable")),
        control_result("boot.bios-password", "high", Result.manual("look")),
        control_result("mail.relay", "high", Result.passed("closed")),
    ])
    assert report["sections"]["boot"]["score"] == 0.0
    page = html.render(report)
    boot = page[page.index('<tr data-section="boot">'):]
    boot = boot[:boot.index("</tr>")]
    assert '<td class="num none score" title="nothing in this section was decided"><b>&mdash;</b></td>' in boot
    assert "0 of 2 decided" in boot


def test_section_score_is_kept_when_something_was_decided():
    report = sample_report()
    assert section_score(report["sections"]["mail"]) == report["sections"]["mail"]["score"] == 66.7


def test_severity_counts_add_errors_to_failures_as_fail_on_does():
    report = sample_report()
    counts = {g["severity"]: (g["fail"], g["error"], g["total"]) for g in gate_counts(report["results"])}
    assert counts == {"high": (1, 0, 1), "medium": (1, 1, 2), "low": (0, 0, 0), "info": (0, 0, 0)}
    page = html.render(report)
    assert ('<b>2</b><span class="badge v-medium">medium</span><span class="split">1 fail, 1 error</span>'
            in page)


def test_a_status_nothing_produced_gets_no_chip_but_zero_failures_does():
    report = sample_report([control_result("mail.relay", "high", Result.passed("closed"))])
    assert status_chips(report["counts"]) == [("fail", 0), ("error", 0), ("pass", 1)]
    page = html.render(report)
    assert 'href="#status=waived"' not in page and 'href="#status=manual"' not in page
    assert '<a class="chip" href="#status=fail"><b>0</b>' in page


def test_header_names_os_kernel_host_user_and_command():
    report = sample_report()
    report["target"].update({
        "mode": "live", "root": "/", "hostname": "mail1",
        "os": {"name": "Debian GNU/Linux", "version": "12 (bookworm)",
               "pretty_name": "Debian GNU/Linux 12 (bookworm)"},
        "kernel": "6.1.0-18-amd64", "user": "root",
        "invocation": ["hostaudit", "scan", "--output", "/tmp/out dir", "--password=***"],
    })
    page = html.render(report)
    assert "<dt>Host</dt><dd>mail1</dd>" in page
    assert "<dt>System</dt><dd>Debian GNU/Linux 12 (bookworm)</dd>" in page
    assert '<dt>Kernel</dt><dd class="mono">6.1.0-18-amd64</dd>' in page
    assert "<dt>Run by</dt><dd>root</dd>" in page
    assert ('<dt>Command</dt><dd class="mono">hostaudit scan --output &#39;/tmp/out dir&#39; '
            "&#39;--password=***&#39;</dd>") in page


def test_unreadable_os_release_is_named_as_unknown_with_its_reason():
    report = sample_report()
    report["target"]["os"] = {"error": "cannot read /etc/os-release: Permission denied"}
    page = html.render(report)
    assert "<dt>System</dt><dd>unknown (cannot read /etc/os-release: Permission denied)</dd>" in page


def test_hostile_os_name_and_command_line_are_escaped():
    report = sample_report()
    report["target"]["os"] = {"pretty_name": "<img src=x onerror=alert(1)>"}
    report["target"]["invocation"] = ["hostaudit", "--only=<script>alert(2)</script>"]
    page = html.render(report)
    assert "<img src=x" not in page and "<script>alert(2)" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_every_finding_has_a_detail_row_spanning_all_columns():
    page = html.render(sample_report())
    assert page.count('<tr class="more"') == 7
    assert page.count('<td colspan="6"><div class="detail">') == 7


def test_no_match_row_is_present_and_hidden_until_filters_empty_the_table():
    page = html.render(sample_report())
    assert '<tbody class="empty" id="empty" hidden><tr><td colspan="6">No findings match' in page


def test_print_stylesheet_opens_only_failures_and_errors():
    page = html.render(sample_report())
    printed = page[page.index("@media print"):page.index("</style>")]
    assert ".findings tbody.finding tr.more { display: none !important; }" in printed
    assert ".findings tbody.fail tr.more, .findings tbody.error tr.more { display: table-row !important; }" in printed


def test_sort_ranks_follow_status_severity_and_section_order():
    page = html.render(sample_report())
    row = finding(page, "os.shell-timeout")
    assert 'data-rank-status="1" data-rank-severity="1" data-rank-section="2"' in row


def _drifted(change_to: str = "fail") -> dict:
    """sample_report kept in a state directory, after a run where mail.relay passed."""
    from hostaudit.compare import drift

    before, after = sample_report(), sample_report()
    next(r for r in before["results"] if r["id"] == "mail.relay")["status"] = "pass"
    next(r for r in after["results"] if r["id"] == "mail.relay")["status"] = change_to
    after["drift"] = drift(before, after, previous_file="runs/1.json.gz")
    return after


def test_drift_run_shows_what_changed_since_the_last_run():
    page = html.render(_drifted())
    card = page[page.index('aria-label="Since the last run"'):]
    card = card[:card.index("</section>")]
    assert "<h3>Since the last run (2024-05-01T10:00:00+00:00)</h3>" in card
    assert '<span class="badge s-fail">NEW FAILURE</span> <strong>mail.relay</strong> (high) pass → fail' in card


def test_drift_card_shows_what_changed_under_the_same_status():
    from hostaudit.compare import drift

    before, after = sample_report(), sample_report()
    next(r for r in after["results"] if r["id"] == "mail.databytes")["message"] = "databytes is 20000000"
    after["drift"] = drift(before, after)
    page = html.render(after)
    item = page[page.index("<strong>mail.databytes</strong>"):]
    assert item[:item.index("</li>")].endswith("fail → fail: databytes is 20000000<br>was: "
                                               + before["results"][2]["message"].splitlines()[0])


def test_report_without_history_has_no_drift_card():
    assert "Since the last run" not in html.render(sample_report())
