"""report.html: self-contained, escaped, and the score never appears without its coverage."""

from __future__ import annotations

import re

from test_report_json import sample_report

from hostaudit.reports import html


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
    ids = re.findall(r'<td class="id mono">([^<]+)</td>', page)
    assert ids[:3] == ["boot.loader-password", "mail.databytes", "os.shell-timeout"]
    assert ids[-2:] == ["mail.relay", "os.ctrl-alt-del"]


def test_rows_carry_filter_attributes_and_filters_start_hidden_without_js():
    page = html.render(sample_report())
    assert 'data-status="fail" data-severity="medium" data-section="mail"' in page
    assert '<div class="filters" id="filters" hidden>' in page


def test_finding_details_show_evidence_expected_and_remediation():
    page = html.render(sample_report())
    row = page[page.index('<td class="id mono">boot.loader-password</td>'):]
    row = row[:row.index("</tr>")]
    assert "<details>" in row
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
    report["target"] = {"mode": "net", "kind": "net", "root": None, "address": "192.0.2.25"}
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
