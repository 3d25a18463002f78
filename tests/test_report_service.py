"""GET /report/latest.docx on a live service: the council's report for admins, a department's own for its key."""

from __future__ import annotations

import io
import subprocess
import sys

import docx
import pytest

from actionplan.report import EXCEPTIONS_HEADING, HOW_TO_READ_HEADING
from actionplan.sample import xlwings_payload
from actionplan.warehouse import open_warehouse
from actionplan.warehouse.inbox import Inbox
from actionplan.warehouse.load import load_inbox
from tests.conftest import GOOD_KPI, action, canonical_workbook
from tests.test_service import LiveServer, actions_of, post_json

PERIOD = "2024/25 Q2"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """A service whose two departments' plans are loaded into its warehouse (as the ingest flow would)."""
    home = tmp_path_factory.mktemp("report-service") / "home"
    books = tmp_path_factory.mktemp("report-books")
    with LiveServer(home) as server:
        finance, legal = server.token("Finance")[1], server.token("Legal, HR & Property")[1]
        for key, path in (
            (
                finance,
                canonical_workbook(
                    books / "f.xlsx",
                    actions=[action("F1", status="R", update="Waiting"), action("F2")],
                    kpis=[GOOD_KPI],
                ),
            ),
            (legal, canonical_workbook(books / "l.xlsx", "Legal, HR & Property", actions=[action("L1")])),
        ):
            assert post_json(server, "/xlwings/submit", xlwings_payload(path), key).status_code == 200
        s = server.settings
        wh = open_warehouse(s.warehouse_url)
        load_inbox(Inbox(s.inbox_path, s.archive_path), wh)
        wh.close()
        server.keys = {"finance": finance, "legal": legal, "admin": server.token(admin=True)[1]}
        server.books = books
        yield server


def _sections(content: bytes) -> list[str]:
    document = docx.Document(io.BytesIO(content))
    return [p.text for p in document.paragraphs if p.style.name == "Heading 1"]


def test_report_service_admin_downloads_the_councils_report(service):
    r = service.client.get(
        f"/report/latest.docx?period={PERIOD}", headers={"Authorization": service.keys["admin"]}
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == DOCX
    assert r.headers["content-disposition"] == 'attachment; filename="committee-report-2024-25-Q2.docx"'
    assert _sections(r.content) == [
        "Summary",
        EXCEPTIONS_HEADING,
        "Finance",
        "Legal, HR & Property",
        HOW_TO_READ_HEADING,
    ]


def test_report_service_admin_downloads_one_departments_report(service):
    r = service.client.get(
        "/report/latest.docx?department=Legal, HR %26 Property",
        headers={"Authorization": service.keys["admin"]},
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"] == (
        'attachment; filename="committee-report-2024-25-Q2-legal--hr---property.docx"'
    )
    assert _sections(r.content) == [
        "Summary",
        EXCEPTIONS_HEADING,
        "Legal, HR & Property",
        HOW_TO_READ_HEADING,
    ]


def test_report_service_department_key_gets_its_own_report_only(service):
    headers = {"Authorization": service.keys["finance"]}
    r = service.client.get("/report/latest.docx", headers=headers)
    assert r.status_code == 200, r.text
    assert (
        r.headers["content-disposition"] == 'attachment; filename="committee-report-2024-25-Q2-finance.docx"'
    )
    assert _sections(r.content) == ["Summary", EXCEPTIONS_HEADING, "Finance", HOW_TO_READ_HEADING]
    r = service.client.get("/report/latest.docx?department=Legal, HR %26 Property", headers=headers)
    assert (r.status_code, r.json()) == (
        403,
        {"detail": "This key is Finance's: it can download only Finance's own report."},
    )


@pytest.mark.parametrize(
    ("query", "key", "status", "detail"),
    [
        (
            "",
            None,
            401,
            "No access key was sent. Type your department's access key into the actionplan pane.",
        ),
        ("?period=2024/25 Q9", "admin", 400, None),
        (
            "?department=Planning",
            "admin",
            400,
            "No department called 'Planning' submitted a plan for 2024/25 Q2. "
            "Departments that did: Finance, Legal, HR & Property.",
        ),
    ],
)
def test_report_service_refusals(service, query, key, status, detail):
    headers = {"Authorization": service.keys[key]} if key else {}
    r = service.client.get(f"/report/latest.docx{query}", headers=headers)
    assert r.status_code == status
    if detail:
        assert r.json()["detail"] == detail
    assert "Traceback" not in r.text


def test_report_service_busy_warehouse_sends_the_published_report_or_says_so(service):
    code = (
        "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('locked', flush=True); sys.stdin.read()"
    )
    p = subprocess.Popen(
        [sys.executable, "-c", code, service.settings.warehouse_url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert p.stdout.readline().strip() == "locked"
        headers = {"Authorization": service.keys["admin"]}
        r = service.client.get(f"/report/latest.docx?period={PERIOD}", headers=headers)
        assert r.status_code == 503
        assert r.json()["detail"].startswith("The committee report cannot be written just now (")
        assert r.json()["detail"].endswith(
            "). Try again in a minute; corporate performance can also publish it with `actionplan report`."
        )
        published = service.settings.rollups_path / "report-2024-25-Q2.docx"
        published.parent.mkdir(parents=True, exist_ok=True)
        published.write_bytes(b"PK published copy")
        r = service.client.get(f"/report/latest.docx?period={PERIOD}", headers=headers)
        assert (r.status_code, r.content) == (200, b"PK published copy")
    finally:
        p.stdin.close()
        p.wait(timeout=30)
        (service.settings.rollups_path / "report-2024-25-Q2.docx").unlink(missing_ok=True)


def test_report_service_addin_rollup_answer_names_the_report(service):
    from actionplan.rollup_writer import write_rollup
    from actionplan.warehouse.consolidate import facts_from_warehouse

    s = service.settings
    wh = open_warehouse(s.warehouse_url, read_only=True)
    try:
        write_rollup(facts_from_warehouse(wh, PERIOD), s.rollup_file(PERIOD))
    finally:
        wh.close()
    book = canonical_workbook(service.books / "mine.xlsx", actions=[action("F9")])
    alert = [
        a
        for a in actions_of(
            post_json(service, "/xlwings/rollup", xlwings_payload(book), service.keys["finance"])
        )
        if a["func"] == "alert"
    ][0]["args"][0]
    assert alert.endswith(
        f"Download the committee report for Finance from the service's page, or from "
        f"{s.service_url}/report/latest.docx?period=2024/25%20Q2 with your access key."
    )


def test_report_service_page_downloads_the_departments_report(service, tmp_path):
    from tests.test_pages import CHROMIUM, CHROMIUM_ARGS, _sign_in

    if not CHROMIUM.exists():
        pytest.skip("needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(accept_downloads=True).new_page()
            page.goto(service.url + "/")
            _sign_in(page, service.keys["finance"])
            page.locator("#status-table").wait_for()
            with page.expect_download() as download:
                page.get_by_role("button", name="Download the committee report").click()
            assert download.value.suggested_filename == "committee-report-2024-25-Q2-finance.docx"
            saved = tmp_path / "saved.docx"
            download.value.save_as(saved)
            page.get_by_text("Downloaded committee-report-2024-25-Q2-finance.docx.", exact=True).wait_for()
        finally:
            browser.close()
    assert _sections(saved.read_bytes()) == ["Summary", EXCEPTIONS_HEADING, "Finance", HOW_TO_READ_HEADING]
