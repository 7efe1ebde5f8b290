"""The waivers block of report.html in headless Chromium: expired first, no sideways scroll."""

import pytest
from test_report_html_browser import CHROMEDRIVER, CHROMIUM, SMALLEST, WIDE, browser, show, sideways_overflow  # noqa: F401
from test_report_json import sample_report

from hostaudit.reports import html

pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="headless Chromium is not installed")


def _waiver(status: str, **more) -> dict:
    return {"control": "net.tcp-ports", "reason": "legacy relay", "approved_by": "J. Doe",
            "expires": "2026-12-31", "match": {"port": 2525}, "source": "site.yaml:4",
            "status": status, "note": "", **more}


def test_waivers_block_shows_expired_first_and_never_widens_the_page(browser, tmp_path):
    report = sample_report()
    report["waivers"] = [
        _waiver("unused", note="not applied: the failure shows more than port 2525: " + "8" * 400),
        _waiver("expired", source="/srv/" + "s" * 300 + "/site.yaml:9"),
    ]
    path = tmp_path / "report.html"
    html.write(report, path)
    for width in (WIDE, SMALLEST):
        show(browser, path, width)
        assert sideways_overflow(browser) <= 0, width
        items = browser.execute_script(
            "return Array.prototype.map.call(document.querySelectorAll('.waivers li'),"
            " function (li) { return li.textContent; });")
        assert items[0].startswith("expired net.tcp-ports (port 2525): expired on 2026-12-31")
        assert items[1].startswith("unused net.tcp-ports (port 2525) until 2026-12-31")
