"""The upload and status page in a real browser (Debian's headless Chromium driven by Playwright)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import action, canonical_workbook
from tests.test_service import LiveServer

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path("/tmp/actionplan-pages.png")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)"
)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    # A council that publishes its rollup to departments (publish_rollup): the page's download button works for them.
    with LiveServer(tmp_path_factory.mktemp("pages") / "home", publish_rollup=True) as server:
        server.keys = {"finance": server.token("Finance")[1]}
        server.token("Children's Services")
        yield server


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, site):
    context = browser.new_context(viewport={"width": 1200, "height": 900}, accept_downloads=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    pg.goto(site.url + "/")
    yield pg
    context.close()
    assert not errors, errors


def _sign_in(page, key):
    page.get_by_label("Access key (from corporate performance)").fill(key)
    page.get_by_role("button", name="Use this key").click()
    page.get_by_text("Signed in for Finance.").wait_for()


def test_page_upload_shows_the_report_and_status_shows_who_is_missing(page, site, tmp_path):
    assert page.title() == "Action plan returns – actionplan"
    assert page.locator("h1").count() == 1
    _sign_in(page, site.keys["finance"])
    table = page.locator("#status-table")
    table.wait_for()
    missing = table.locator("tr", has_text="Children's Services")
    assert "Missing" in missing.inner_text()

    bad = canonical_workbook(
        tmp_path / "finance-q2.xlsx",
        actions=[
            action("F1", due="31/11/24", status="Greenish"),
            action("F2", lead=None, update='<img src=x onerror="document.title=1">'),
        ],
    )
    page.get_by_label("Workbook (.xlsx or .xlsm)").set_input_files(str(bad))
    page.get_by_role("button", name="Check only").click()
    title = page.locator("#report-title")
    title.wait_for()
    assert title.inner_text() == "Check found 2 errors and 1 warning"
    rows = page.locator("#report tbody tr")
    assert rows.count() == 3
    assert rows.nth(0).inner_text().split("\t")[:4] == ["Error", "Actions", "F2", "31/11/24"]
    assert page.locator("#report img").count() == 0 and page.title() != "1"  # workbook text is never HTML

    good = canonical_workbook(
        tmp_path / "finance-q2.xlsx", actions=[action("F1", status="G"), action("F2", lead=None)]
    )
    page.get_by_label("Workbook (.xlsx or .xlsm)").set_input_files(str(good))
    page.get_by_role("button", name="Submit", exact=True).click()
    page.get_by_text("Accepted with 1 warning", exact=True).wait_for()
    assert "Stored for the council rollup" in page.locator("#report").inner_text()
    finance = page.locator("#status-table tr", has_text="Finance")
    finance.get_by_text("Submitted").wait_for()
    assert "Accepted" in finance.inner_text() and "Finance (key" in finance.inner_text()
    assert len(site.pending()) == 1

    button = page.get_by_role("button", name="Download the council rollup for 2024/25 Q2")
    assert button.is_disabled()  # nothing to download yet, and the page says why
    page.get_by_text("No council rollup has been published for 2024/25 Q2 yet.", exact=False).wait_for()
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    # Once corporate performance has published one (any workbook at the rollup's place will do for the page),
    # the button downloads it.
    published = site.settings.rollup_file("2024/25 Q2")
    published.parent.mkdir(parents=True, exist_ok=True)
    published.write_bytes(good.read_bytes())
    page.locator("#status-form").get_by_role("button", name="Show").click()
    page.wait_for_function("!document.getElementById('rollup').disabled")
    with page.expect_download() as download:
        button.click()
    assert download.value.suggested_filename.endswith(".xlsx")
    page.get_by_text("Downloaded ", exact=False).wait_for()


def test_page_with_a_wrong_key_says_so(page):
    page.get_by_label("Access key (from corporate performance)").fill("0000.wrong")
    page.get_by_role("button", name="Use this key").click()
    page.locator("#status .notice").wait_for()
    assert page.locator("#status .notice").inner_text().startswith("This access key is not recognised.")


def test_page_forget_key_signs_out(page, site):
    _sign_in(page, site.keys["finance"])
    page.get_by_role("button", name="Forget key").click()
    assert page.locator("#who").inner_text().startswith("Not signed in.")
    assert page.evaluate("localStorage.getItem('actionplan.accessKey')") is None


def test_page_status_says_which_kpis_are_not_due_this_quarter(page, site, tmp_path):
    """An annual measure with no Q2 result is 'not due' on the status page once loaded, not a gap in the return."""
    import openpyxl

    from actionplan.warehouse import open_warehouse
    from actionplan.warehouse.inbox import Inbox
    from actionplan.warehouse.load import load_inbox

    path = canonical_workbook(
        tmp_path / "finance-kpis.xlsx",
        actions=[action("F1", status="G")],
        kpis=[["K1", "Residents satisfied with the council", "Higher is better", "%", "R Khan", "70%", None]],
    )
    wb = openpyxl.load_workbook(path)
    wb["KPIs"].cell(row=1, column=10, value="Frequency")
    wb["KPIs"].cell(row=2, column=10, value="Annual")  # the residents' survey: reported in Q4 only
    wb.save(path)
    with path.open("rb") as f:
        r = site.client.post(
            "/api/submissions",
            files={"file": (path.name, f)},
            headers={"Authorization": site.keys["finance"]},
        )
    assert r.status_code == 200 and r.json()["accepted"], r.json()
    s = site.settings
    wh = open_warehouse(s.warehouse_url)
    try:
        load_inbox(Inbox(s.inbox_path, s.archive_path), wh)
    finally:
        wh.close()

    _sign_in(page, site.keys["finance"])
    finance = page.locator("#status-table tr", has_text="Finance")
    finance.get_by_text("1 KPI not due this quarter", exact=False).wait_for()
    assert "Missing" not in finance.inner_text()
