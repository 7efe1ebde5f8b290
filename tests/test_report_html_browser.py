"""report.html in a real browser: headless Chromium (Debian's chromium and chromium-driver)
through Selenium. The page must fit from 420 px to wide screens without sideways scrolling,
its search, filters and sorting must change the rows shown, the URL fragment must carry and
restore that state, it must load nothing from anywhere, and the live report of this machine
must print on at most 15 A4 pages."""

from __future__ import annotations

import base64
import os
import re
import shutil

import pytest
from test_report_json import control_result, sample_report

from hostaudit.baseline import load
from hostaudit.model import Result, ev
from hostaudit.reports import html
from hostaudit.scan import TargetSpec, open_target, scan

webdriver = pytest.importorskip(
    "selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")
from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.print_page_options import PrintOptions  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="headless Chromium is not installed (apt-get install chromium chromium-driver)")

WIDE, NARROW, SMALLEST = 1400, 420, 360
MAX_PRINTED_PAGES = 15
SAMPLE_IDS = ["boot.loader-password", "mail.databytes", "os.shell-timeout", "boot.bios-password",
              "os.history-size", "mail.relay", "os.ctrl-alt-del"]


@pytest.fixture(scope="module")
def browser(request, tmp_path_factory):
    """One headless Chromium for the module, quit however the tests end. Its profile and
    the singleton socket it makes in TMPDIR stay in the test's own temporary directory."""
    scratch = tmp_path_factory.mktemp("chromium")
    options = webdriver.ChromeOptions()
    options.add_argument(f"--user-data-dir={scratch / 'profile'}")
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--disable-extensions", "--no-first-run"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        service = Service(CHROMEDRIVER, env={**os.environ, "TMPDIR": str(scratch)})
        driver = webdriver.Chrome(service=service, options=options)
    except WebDriverException as exc:
        pytest.skip(f"headless Chromium did not start: {exc.msg}")
    request.addfinalizer(driver.quit)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    return driver


@pytest.fixture(scope="module")
def sample_page(tmp_path_factory):
    """The sample report (every status, an evidence line that tries to inject markup)."""
    path = tmp_path_factory.mktemp("sample") / "report.html"
    html.write(sample_report(), path)
    return path


@pytest.fixture(scope="module")
def live_page(tmp_path_factory):
    """report.html of a live audit of this machine, as `hostaudit scan` writes it."""
    path = tmp_path_factory.mktemp("live") / "report.html"
    with open_target(TargetSpec(), invocation=["hostaudit", "scan"]) as target:
        report = scan(target, load("gcux-qmail")).report
    html.write(report, path)
    return path


def show(browser, path, width: int, fragment: str = "") -> None:
    browser.set_window_size(width, 900)
    browser.get(path.as_uri() + fragment)


def visible_ids(browser) -> list[str]:
    """IDs of the findings a reader sees, top to bottom."""
    return browser.execute_script(
        "return Array.prototype.filter.call(document.querySelectorAll('tbody.finding'),"
        " function (f) { return f.getClientRects().length > 0; })"
        ".map(function (f) { return f.dataset.id; });")


def sideways_overflow(browser) -> int:
    return browser.execute_script(
        "return document.documentElement.scrollWidth - window.innerWidth;")


def console_errors(browser) -> list[dict]:
    return [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


@pytest.mark.parametrize("width", [WIDE, NARROW, SMALLEST])
def test_live_report_never_scrolls_sideways_even_with_every_finding_open(browser, live_page, width):
    show(browser, live_page, width)
    assert browser.execute_script("return window.innerWidth") == width
    assert sideways_overflow(browser) <= 0
    browser.find_element(By.ID, "expand").click()
    assert browser.find_element(By.CSS_SELECTOR, "tbody.finding.open tr.more").is_displayed()
    assert sideways_overflow(browser) <= 0


def test_long_unbroken_words_from_the_target_do_not_widen_the_page(browser, tmp_path):
    # Every byte of a target is attacker-written: a path or line with no place to break.
    long = "/var/qmail/" + "x" * 400
    report = sample_report([control_result("mail.databytes", "medium", Result.failed(
        "limit " + "9" * 300, evidence=[ev(long, "y" * 400, 1)], expected="z" * 300))])
    report["target"]["hostname"] = "h" * 300
    path = tmp_path / "report.html"
    html.write(report, path)
    for width in (WIDE, SMALLEST):
        show(browser, path, width)
        browser.find_element(By.ID, "expand").click()
        assert sideways_overflow(browser) <= 0, width


def test_findings_are_cards_on_a_narrow_screen_and_a_table_on_a_wide_one(browser, sample_page):
    display = "return getComputedStyle(document.querySelector('#findings tr.row')).display;"
    show(browser, sample_page, NARROW)
    assert browser.execute_script(display) == "grid"
    show(browser, sample_page, WIDE)
    assert browser.execute_script(display) == "table-row"


@pytest.mark.parametrize("width", [WIDE, NARROW])
def test_an_opened_finding_spans_the_full_row(browser, sample_page, width):
    show(browser, sample_page, width)
    finding = browser.find_element(By.CSS_SELECTOR, 'tbody[data-id="mail.databytes"]')
    detail = finding.find_element(By.CSS_SELECTOR, "tr.more")
    assert not detail.is_displayed()
    finding.find_element(By.CSS_SELECTOR, ".toggle").click()
    assert detail.is_displayed()
    assert finding.find_element(By.CSS_SELECTOR, ".toggle").get_attribute("aria-expanded") == "true"
    row_width = finding.find_element(By.CSS_SELECTOR, "tr.row").rect["width"]
    assert detail.rect["width"] >= row_width - 1
    assert "&lt;script&gt;" not in detail.text and "<script>alert(1)</script>" in detail.text


@pytest.mark.parametrize("width", [WIDE, NARROW])
@pytest.mark.parametrize(("name", "value", "expected"), [
    ("status", "fail", ["boot.loader-password", "mail.databytes"]),
    ("status", "manual", ["boot.bios-password"]),
    ("severity", "medium", ["mail.databytes", "os.shell-timeout", "os.ctrl-alt-del"]),
    ("section", "os", ["os.shell-timeout", "os.history-size", "os.ctrl-alt-del"]),
])
def test_each_filter_shows_only_matching_findings(browser, sample_page, width, name, value, expected):
    show(browser, sample_page, width)
    assert visible_ids(browser) == SAMPLE_IDS
    Select(browser.find_element(By.CSS_SELECTOR, f'select[data-filter="{name}"]')).select_by_value(value)
    assert visible_ids(browser) == expected
    assert browser.find_element(By.ID, "shown").text == f"showing {len(expected)} of 7"


@pytest.mark.parametrize(("term", "expected"), [
    ("OS.SHELL", ["os.shell-timeout"]),                   # the ID, any case
    ("firmware", []),                                     # nothing
    ("title of mail", ["mail.databytes", "mail.relay"]),  # the title
    ("unreadable", ["os.shell-timeout"]),                 # the message
    ("superusers", ["boot.loader-password"]),             # the evidence
    ("<script>", ["mail.databytes"]),                     # evidence markup, as text
])
def test_search_looks_in_id_title_message_and_evidence(browser, sample_page, term, expected):
    show(browser, sample_page, WIDE)
    browser.find_element(By.ID, "q").send_keys(term)
    assert visible_ids(browser) == expected


def test_no_match_shows_a_row_saying_so_and_offers_to_show_all(browser, sample_page):
    show(browser, sample_page, NARROW)
    empty = browser.find_element(By.ID, "empty")
    assert not empty.is_displayed()
    browser.find_element(By.ID, "q").send_keys("no such finding")
    assert visible_ids(browser) == []
    assert empty.is_displayed() and "No findings match" in empty.text
    empty.find_element(By.CSS_SELECTOR, "button.clear").click()
    assert visible_ids(browser) == SAMPLE_IDS
    assert not empty.is_displayed()


@pytest.mark.parametrize("width", [WIDE, NARROW])
def test_sorting_by_id_orders_rows_and_a_second_click_reverses(browser, sample_page, width):
    show(browser, sample_page, width)
    header = browser.find_element(By.CSS_SELECTOR, 'th[data-key="id"]')
    header.find_element(By.CSS_SELECTOR, "button").click()
    assert visible_ids(browser) == sorted(SAMPLE_IDS)
    assert header.get_attribute("aria-sort") == "ascending"
    header.find_element(By.CSS_SELECTOR, "button").click()
    assert visible_ids(browser) == sorted(SAMPLE_IDS, reverse=True)
    assert header.get_attribute("aria-sort") == "descending"


def test_sorting_by_severity_puts_high_first_and_keeps_the_default_order_within(browser, sample_page):
    show(browser, sample_page, WIDE)
    browser.find_element(By.CSS_SELECTOR, 'th[data-key="severity"] button').click()
    assert visible_ids(browser) == ["boot.loader-password", "boot.bios-password", "mail.relay",
                                    "mail.databytes", "os.shell-timeout", "os.ctrl-alt-del",
                                    "os.history-size"]


def test_filters_search_and_sort_are_written_to_the_url_fragment(browser, sample_page):
    show(browser, sample_page, WIDE)
    Select(browser.find_element(By.CSS_SELECTOR, 'select[data-filter="section"]')).select_by_value("mail")
    browser.find_element(By.ID, "q").send_keys("data")
    browser.find_element(By.CSS_SELECTOR, 'th[data-key="title"] button').click()
    fragment = browser.execute_script("return location.hash")
    assert fragment == "#q=data&section=mail&sort=title"


def test_the_url_fragment_restores_filters_search_and_sort_on_load(browser, sample_page):
    show(browser, sample_page, NARROW, "#severity=high&sort=-id")
    assert Select(browser.find_element(By.CSS_SELECTOR, 'select[data-filter="severity"]')
                  ).first_selected_option.get_attribute("value") == "high"
    assert visible_ids(browser) == ["mail.relay", "boot.loader-password", "boot.bios-password"]
    show(browser, sample_page, NARROW, "#status=error&q=profile")
    assert browser.find_element(By.ID, "q").get_attribute("value") == "profile"
    assert visible_ids(browser) == ["os.shell-timeout"]


def test_an_unknown_value_in_the_fragment_is_ignored_not_an_empty_table(browser, sample_page):
    show(browser, sample_page, WIDE, "#status=bogus&sort=nothing")
    assert visible_ids(browser) == SAMPLE_IDS


def test_a_summary_chip_filters_the_findings(browser, sample_page):
    show(browser, sample_page, WIDE)
    browser.find_element(By.CSS_SELECTOR, 'a.chip[href="#status=error"]').click()
    assert visible_ids(browser) == ["os.shell-timeout"]


def test_interaction_logs_no_console_error_and_loads_nothing(browser, live_page):
    browser.get_log("browser")  # drop what earlier tests left
    show(browser, live_page, NARROW, "#status=fail&sort=-severity")
    browser.find_element(By.ID, "q").send_keys("etc")
    browser.find_element(By.CSS_SELECTOR, 'th[data-key="section"] button').click()
    browser.find_element(By.ID, "expand").click()
    browser.find_element(By.ID, "clear").click()
    assert console_errors(browser) == []
    loaded = browser.execute_script(
        "return performance.getEntries().map(function (e) { return e.entryType + ' ' + e.name; });")
    assert [entry for entry in loaded if entry.startswith("resource")] == []
    assert all(" file://" in entry for entry in loaded if entry.startswith("navigation"))


def test_live_report_prints_on_at_most_15_a4_pages(browser, live_page):
    show(browser, live_page, WIDE)
    options = PrintOptions()
    options.page_width, options.page_height = 21.0, 29.7
    options.background = True
    pdf = base64.b64decode(browser.print_page(options))
    assert pdf.startswith(b"%PDF")
    pages = page_count(pdf)
    assert 1 < pages <= MAX_PRINTED_PAGES


def test_printing_opens_failures_and_errors_only(browser, sample_page):
    show(browser, sample_page, WIDE)
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        opened = browser.execute_script(
            "return Array.prototype.filter.call(document.querySelectorAll('tbody.finding'),"
            " function (f) { return f.querySelector('tr.more').getClientRects().length > 0; })"
            ".map(function (f) { return f.dataset.id; });")
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    assert opened == ["boot.loader-password", "mail.databytes", "os.shell-timeout"]


def page_count(pdf: bytes) -> int:
    try:
        from io import BytesIO

        from pypdf import PdfReader
    except ImportError:
        return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))
    return len(PdfReader(BytesIO(pdf)).pages)
