"""References: every shipped control names its document section and, where something truly
corresponds, NIST SP 800-53 rev. 5 IDs and CIS numbers (else a note says why); reports,
``controls`` and ``explain`` carry them; HTML links NIST IDs to CSRC, escaped."""

from __future__ import annotations

import io
import json
import re
import textwrap
from contextlib import redirect_stderr, redirect_stdout

import pytest
from test_report_json import control_result, sample_report

from hostaudit.baseline import load
from hostaudit.cli import main
from hostaudit.errors import InputError
from hostaudit.model import ControlResult, Result, Severity
from hostaudit.references import CIS_BENCHMARKS, NIST_ID, References, nist_url
from hostaudit.reports import html, json_report

NIST_FAMILIES = {"AC", "AT", "AU", "CA", "CM", "CP", "IA", "IR", "MA", "MP", "PE", "PL", "PM",
                 "PS", "PT", "RA", "SA", "SC", "SI", "SR"}

CONTROL = """\
    name: site
    controls:
      - id: boot.loader-password
        title: t
        section: boot
        severity: high
        modes: [live]
        rationale: r
"""


def _run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def _site(tmp_path, extra: str) -> str:
    path = tmp_path / "site.yaml"
    path.write_text(textwrap.dedent(CONTROL) + textwrap.indent(textwrap.dedent(extra), "    "))
    return str(path)


def _shipped():
    return load("gcux-qmail").controls


def _report_with(references: References) -> dict:
    result = ControlResult(id="sysctl.net.ipv4.tcp_syncookies", title="TCP SYN cookies are enabled",
                           section="sysctl", severity=Severity.MEDIUM, result=Result.passed("on"),
                           reference=references.document, references=references)
    return sample_report([result])


SYNCOOKIES = References(
    document="Protect against some Denial of Service/Malformed Packet attacks",
    nist_800_53=("CM-6(a)", "SC-5(1)", "SC-5(3)(a)"),
    cis={"debian12": ("3.3.10",)},
    cce_rules=("sysctl_net_ipv4_tcp_syncookies",),
)


def test_every_shipped_control_names_its_document_section():
    missing = [c.id for c in _shipped() if not c.references.document.strip()]
    assert missing == []


def test_every_shipped_nist_id_is_an_800_53_control_id():
    bad = [(c.id, n) for c in _shipped() for n in c.references.nist_800_53
           if not NIST_ID.match(n) or n.split("-")[0] not in NIST_FAMILIES]
    assert bad == []
    assert sum(bool(c.references.nist_800_53) for c in _shipped()) >= 25


def test_every_shipped_control_without_nist_or_cis_says_why():
    silent = [c.id for c in _shipped()
              if not (c.references.nist_800_53 and c.references.cis) and not c.references.note]
    assert silent == []


def test_shipped_nist_ids_name_the_compliance_as_code_rules_they_came_from():
    untraced = [c.id for c in _shipped() if c.references.nist_800_53 and not c.references.cce_rules]
    assert untraced == []


def test_shipped_cis_numbers_are_keyed_by_a_known_benchmark():
    benches = {b for c in _shipped() for b in c.references.cis}
    assert benches == set(CIS_BENCHMARKS) == {"debian12"}
    syncookies = load("gcux-qmail").control("sysctl.net.ipv4.tcp_syncookies").references
    assert syncookies.cis == {"debian12": ("3.3.10",)}
    assert syncookies.cce_rules == ("sysctl_net_ipv4_tcp_syncookies",)


def test_baseline_with_a_non_800_53_nist_id_is_refused(tmp_path):
    path = _site(tmp_path, """\
        references:
          nist_800_53: ["CM-6.1(iv)"]
          cis: {debian12: ["1.4.1"]}
    """)
    with pytest.raises(InputError, match=r"nist_800_53\[0\]: 'CM-6.1\(iv\)' does not match") as err:
        load(path)
    assert err.value.where.endswith("site.yaml:10")


def test_baseline_references_without_nist_or_cis_and_without_note_are_refused(tmp_path):
    path = _site(tmp_path, """\
        references:
          nist_800_53: ["CM-6(a)"]
    """)
    with pytest.raises(InputError, match="references without CIS numbers need a 'note'") as err:
        load(path)
    assert err.value.where.endswith("site.yaml:10")


def test_reference_and_references_document_that_differ_are_refused(tmp_path):
    path = _site(tmp_path, """\
        reference: "BIOS Configuration"
        references:
          document: "Install iptables"
          note: "nothing corresponds"
    """)
    with pytest.raises(InputError, match="gives its document section twice, differently") as err:
        load(path)
    assert err.value.where.endswith("site.yaml:11")


def test_older_reference_string_is_the_document_section(tmp_path):
    control = load(_site(tmp_path, 'reference: "BIOS Configuration"\n')).controls[0]
    assert control.reference == control.references.document == "BIOS Configuration"
    assert control.references.to_dict() == {"document": "BIOS Configuration", "nist_800_53": [],
                                             "cis": {}, "cce_rules": [], "note": None}
    assert control.references.compact() == "-"


def test_nist_url_points_at_the_base_control_on_csrc():
    assert nist_url("SC-5(3)(a)") == ("https://csrc.nist.gov/projects/risk-management/"
                                      "sp800-53-controls/release-search#/control?version=5.1&number=SC-5")


def test_nist_url_of_something_else_is_none():
    assert nist_url('AC-6" onclick="x') is None
    assert nist_url("CM-6.1(iv)") is None


def test_json_report_carries_references_per_result():
    report = _report_with(SYNCOOKIES)
    json_report.validate(report)
    result = report["results"][0]
    assert result["references"] == {
        "document": "Protect against some Denial of Service/Malformed Packet attacks",
        "nist_800_53": ["CM-6(a)", "SC-5(1)", "SC-5(3)(a)"],
        "cis": {"debian12": ["3.3.10"]},
        "cce_rules": ["sysctl_net_ipv4_tcp_syncookies"],
        "note": None,
    }
    assert result["reference"] == result["references"]["document"]


def test_result_without_references_reports_its_reference_as_the_document():
    report = sample_report([control_result("os.history-size", "low", Result.manual("look"),
                                           reference="Reduce information retained in history files")])
    json_report.validate(report)
    assert report["results"][0]["references"]["document"] == "Reduce information retained in history files"


def test_json_report_with_a_malformed_nist_id_is_invalid():
    report = _report_with(References(nist_800_53=("AC6",), note="x"))
    with pytest.raises(json_report.ReportInvalid) as err:
        json_report.validate(report)
    assert err.value.json_path == "$.results[0].references.nist_800_53[0]"


def test_image_scan_report_carries_the_shipped_references(tmp_root, tmp_path):
    code, _, _ = _run("scan", "--root", str(tmp_root.path), "-o", str(tmp_path), "--quiet",
                      "--only", "sysctl.net.ipv4.tcp_syncookies", "--format", "json")
    assert code in (0, 1)
    report = json.loads((tmp_path / "report.json").read_text())
    json_report.validate(report)
    refs = report["results"][0]["references"]
    assert refs["cis"] == {"debian12": ["3.3.10"]} and "SC-5(1)" in refs["nist_800_53"]


def test_html_links_each_nist_id_to_its_csrc_page():
    page = html.render(_report_with(SYNCOOKIES))
    assert ('<a href="https://csrc.nist.gov/projects/risk-management/sp800-53-controls/release-search'
            '#/control?version=5.1&amp;number=SC-5" rel="noopener noreferrer">SC-5(3)(a)</a>') in page
    assert "<dt>CIS Debian Linux 12 Benchmark v1.1.0</dt><dd>3.3.10</dd>" in page
    assert not re.search(r"<a [^>]*>3\.3\.10", page)  # CIS has no stable per-recommendation URL


def test_html_escapes_reference_text_and_never_links_a_non_id():
    hostile = References(document="<script>alert(1)</script>", nist_800_53=('AC-6"><b>x',),
                         note="see <img src=x onerror=alert(1)>")
    page = html.render(_report_with(hostile))
    assert "<dt>2002 document</dt><dd>&lt;script&gt;alert(1)&lt;/script&gt;</dd>" in page
    assert "<dt>Note</dt><dd>see &lt;img src=x onerror=alert(1)&gt;</dd>" in page
    assert "<dt>NIST SP 800-53 rev. 5</dt><dd>AC-6&#34;&gt;&lt;b&gt;x</dd>" in page
    assert "<script>alert" not in page and "<img" not in page


def test_html_nist_links_load_nothing():
    page = html.render(_report_with(SYNCOOKIES))
    # A link is followed only when clicked; nothing else may point off the page.
    assert not re.search(r"""<(?!a\s)[^>]*\b(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)


def test_controls_table_has_a_compact_references_column(monkeypatch):
    monkeypatch.setenv("COLUMNS", "130")  # below 100 columns the title gets the room
    code, out, _ = _run("controls")
    assert code == 0
    header = next(line for line in out.splitlines() if "severity" in line)
    assert "references" in header


def test_compact_references_shorten_long_nist_lists():
    refs = load("gcux-qmail").control("fs.mount-options.home").references
    assert refs.compact() == "NIST AC-6 AC-6(1) CM-6(a) +4; CIS debian12 1.1.2.3.2 1.1.2.3.3"
    assert load("gcux-qmail").control("mail.databytes").references.compact() == "none"


def test_controls_json_carries_the_full_references():
    _, out, _ = _run("controls", "--json")
    rows = {row["id"]: row for row in json.loads(out)}
    assert rows["boot.loader-password"]["references"] == {
        "document": "Operating System Installation: Boot Loader Password Configuration",
        "nist_800_53": ["CM-6(a)"], "cis": {"debian12": ["1.4.1"]},
        "cce_rules": ["grub2_password", "grub2_uefi_password"], "note": None,
    }
    assert rows["mail.databytes"]["references"]["note"].startswith("qmail-specific")


def test_explain_shows_a_references_block():
    _, out, _ = _run("explain", "os.shell-timeout")
    block = out[out.index("\nReferences\n"):]
    assert "  2002 document: Configure Automatic Logouts for Users" in block
    assert "  NIST SP 800-53 rev. 5: AC-2(5), AC-12, CM-6(a), SC-10" in block
    assert "  CIS Debian Linux 12 Benchmark v1.1.0: 5.4.3.2" in block
    assert "  ComplianceAsCode rules: accounts_tmout" in block


def test_explain_of_an_unmapped_control_says_none_and_why():
    _, out, _ = _run("explain", "ssh.port")
    block = out[out.index("\nReferences\n"):]
    assert "  NIST and CIS: none" in block and "  Note: Neither ComplianceAsCode" in block


def test_explain_json_carries_the_references():
    _, out, _ = _run("explain", "auth.shadow", "--json")
    refs = json.loads(out)["references"]
    assert refs["cis"] == {"debian12": ["7.1.5", "7.2.1"]} and "IA-5(h)" in refs["nist_800_53"]
