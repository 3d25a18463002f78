"""Great Expectations as the validation of record (actionplan.checkpoint), its Data Docs site, and the site served
to admins at /data-docs/ and read back in headless Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from actionplan.check import check_workbook
from actionplan.checkpoint import NoDataDocs, data_docs_index
from actionplan.warehouse import open_warehouse
from actionplan.warehouse.inbox import Inbox
from actionplan.warehouse.load import load_inbox
from actionplan.warehouse.validation import validate_loaded_period
from tests.conftest import GOOD_KPI, action, canonical_workbook
from tests.test_pages import CHROMIUM, CHROMIUM_ARGS
from tests.test_service import LiveServer


def _submit_and_load(settings, *paths):
    inbox = Inbox(settings.inbox_path, settings.archive_path)
    for path in paths:
        data = path.read_bytes()
        assert inbox.submit(check_workbook(data, path.name, settings=settings), data, submitted_by="test")[
            "accepted"
        ]
    wh = open_warehouse(settings.warehouse_url)
    try:
        load_inbox(inbox, wh)
    finally:
        wh.close()
    return inbox


def _validate(settings, inbox, period="2024/25 Q2"):
    wh = open_warehouse(settings.warehouse_url)
    try:
        return validate_loaded_period(
            wh,
            inbox,
            period,
            settings.council,
            docs_dir=settings.data_docs_path(period, settings.council),
            results_dir=settings.validations_path(period, settings.council),
        )
    finally:
        wh.close()


def _two_departments(tmp_path):
    # The same Refs in two departments: unique on each sheet, so not a duplicate when validated together.
    finance = canonical_workbook(
        tmp_path / "finance.xlsx", actions=[action("A1"), action("A2", lead=None)], kpis=[GOOD_KPI]
    )
    legal = canonical_workbook(
        tmp_path / "legal.xlsx",
        department="Legal",
        actions=[
            action("A1", status="R", update="Late"),
            action("A2", lead=None),
            action("A3", lead=None),
            action("A4", due='<img src=x onerror="document.title=1">'),
        ],
    )
    return finance, legal


def test_validate_period_agrees_with_submit_over_departments_at_once(tmp_path, settings):
    inbox = _submit_and_load(settings, *_two_departments(tmp_path))
    outcome = _validate(settings, inbox)
    assert outcome.summary() == (
        "Great Expectations validated 2 submissions for 2024/25 Q2 (actions 6 rows, "
        "kpis 1 row): agrees with Submit."
    )
    assert outcome.suites["actions"] == {"rows": 6, "expectations": 11, "met": 9, "not met": 2}
    assert outcome.docs_index == str(settings.home_path / "data-docs" / "2024-25-Q2" / "index.html")
    assert (
        data_docs_index(settings, "Q2 2024/25", settings.council)
        == settings.data_docs_path("2024/25 Q2") / "index.html"
    )
    (stored,) = settings.validations_path("2024/25 Q2").glob("*.json")
    assert str(stored) == outcome.results_file


def test_the_results_file_holds_what_gx_found_and_the_docs_name_rows_not_a_pandas_query(
    tmp_path, settings, monkeypatch
):
    """The results file holds each suite's result as GX serialised it for its own store (the same content as
    converting the result again), and neither it nor the Data Docs carry GX's pandas query for the failing rows
    (`df.filter(items=[…])`, as long as the list of rows itself, over a frame no reader has): the rows are
    named by where they are."""
    import json

    from actionplan import checkpoint

    converted = {}
    run = checkpoint.run_checkpoints

    def keeping(batches, *args, **kwargs):  # the results as GX returned them, converted the old way
        results = run(batches, *args, **kwargs)
        (serialised,) = [a for a in args if isinstance(a, dict)]  # GX's store's own JSON of each, taken
        assert set(serialised) == set(results) and all(isinstance(v, str) for v in serialised.values())
        converted.update(
            {k: json.loads(json.dumps(r.to_json_dict(), default=str)) for k, r in results.items()}
        )
        return results

    monkeypatch.setattr(checkpoint, "run_checkpoints", keeping)
    outcome = _validate(settings, _submit_and_load(settings, *_two_departments(tmp_path)))
    stored = json.loads(Path(outcome.results_file).read_text(encoding="utf-8"))["results"]
    assert set(stored) == {"actions", "kpis"}
    for kind, result in stored.items():
        assert result == converted[kind]
        assert result["meta"]["checkpoint_id"]  # marked by the checkpoint after its store had the result
    lead = next(
        r["result"]
        for r in stored["actions"]["results"]
        if r["expectation_config"]["kwargs"].get("column") == "lead_officer"
        and r["expectation_config"]["type"] == "expect_column_values_to_not_be_null"
    )
    assert [item["where"] for item in lead["unexpected_index_list"]] == [
        "Finance · Actions row 3",
        "Legal · Actions row 3",
        "Legal · Actions row 4",
    ]
    assert "unexpected_index_query" not in lead
    pages = list(Path(outcome.docs_index).parent.glob("validations/**/*.html"))
    assert pages and not any("df.filter(" in p.read_text(encoding="utf-8") for p in pages)
    assert any("Legal · Actions row 4" in p.read_text(encoding="utf-8") for p in pages)


def test_validate_period_names_what_submit_reported_and_the_record_no_longer_has(tmp_path, settings):
    import json

    finance, legal = _two_departments(tmp_path)
    inbox = _submit_and_load(settings, finance, legal)
    # Legal's record edited after loading: a lead officer filled in that Submit had reported missing.
    for path in inbox.loaded_dir.glob("*.json"):
        record = json.loads(path.read_text(encoding="utf-8"))
        if record["department"] == "Legal":
            record["actions"]["columns"]["lead_officer"][1] = "Jo Bloggs"
            path.write_text(json.dumps(record), encoding="utf-8")
    (d,) = _validate(settings, inbox).disagreements
    assert d.message() == (
        "actions suite, expect_column_values_to_not_be_null on lead_officer (no-lead-officer): Submit reported 1 "
        "row Great Expectations did not find: Legal Actions!E3. The loaded record differs from what was checked "
        "at Submit: check its inbox record, or resubmit the workbook."
    )


def _validate_in_worker(settings, inbox, period="2024/25 Q2", **where):
    from actionplan.warehouse.validation import current_of_period, validate_in_worker

    wh = open_warehouse(settings.warehouse_url)
    try:
        current = current_of_period(wh, period, settings.council)
    finally:
        wh.close()
    return validate_in_worker(
        inbox,
        current,
        period,
        settings.council,
        docs_dir=where.get("docs_dir", settings.data_docs_path(period, settings.council)),
        results_dir=where.get("results_dir", settings.validations_path(period, settings.council)),
    )


def test_validation_in_its_own_process_finds_what_it_finds_in_this_one(tmp_path, settings):
    """The consolidate flow validates in a process of its own (python -m actionplan.warehouse.validation) while it
    writes the rollup: the same findings, disagreements included, the same Data Docs, its own results file."""
    import json

    finance, legal = _two_departments(tmp_path)
    inbox = _submit_and_load(settings, finance, legal)
    for path in inbox.loaded_dir.glob("*.json"):  # a disagreement to carry across, as in the test above
        record = json.loads(path.read_text(encoding="utf-8"))
        if record["department"] == "Legal":
            record["actions"]["columns"]["lead_officer"][1] = "Jo Bloggs"
            path.write_text(json.dumps(record), encoding="utf-8")
    here = _validate(settings, inbox).as_dict()
    there = _validate_in_worker(settings, inbox).as_dict()
    assert there["results_file"] != here["results_file"]
    stored = json.loads(Path(there["results_file"]).read_text(encoding="utf-8"))
    assert stored["validation"] == there
    assert set(stored["results"]) == {"actions", "kpis"}
    del here["results_file"], there["results_file"]
    assert there == here
    assert len(there["disagreements"]) == 1 and there["agrees"] is False
    assert Path(there["docs_index"]).is_file()


def test_one_validation_process_serves_every_run_and_one_killed_meanwhile_is_replaced(tmp_path, settings):
    """start_worker (as the consolidate flow begins) starts the validation's process early, so GX is imported
    while the inbox loads; the same process then takes every job this process has (GX imported once). One that
    died waiting is replaced by a new one."""
    from actionplan.warehouse import validation

    inbox = _submit_and_load(settings, *_two_departments(tmp_path))
    validation.stop_worker()
    validation.start_worker()
    worker = validation._worker
    assert worker is not None and worker.alive()
    first = _validate_in_worker(settings, inbox)
    second = _validate_in_worker(settings, inbox)
    assert validation._worker is worker and worker.alive()  # the same process, still waiting for work
    worker.proc.kill()
    worker.proc.wait()
    third = _validate_in_worker(settings, inbox)
    assert validation._worker is not worker and validation._worker.alive()
    assert (
        first.summary()
        == second.summary()
        == third.summary()
        == (
            "Great Expectations validated 2 submissions for 2024/25 Q2 (actions 6 rows, kpis 1 row): agrees with "
            "Submit."
        )
    )
    validation.stop_worker()
    assert validation._worker is None


def test_validation_in_its_own_process_that_fails_says_why(tmp_path, settings, monkeypatch):
    """An error in the validation's process reaches the flow in its own words; a process killed before it could
    say anything (out of memory, say) is named as such, with its exit code."""
    import sys

    from actionplan.errors import ActionplanError
    from actionplan.warehouse import validation
    from actionplan.warehouse.validation import ValidationWorkerFailed

    inbox = _submit_and_load(settings, *_two_departments(tmp_path))
    blocked = tmp_path / "results-is-a-file"
    blocked.write_text("not a folder")
    with pytest.raises(ActionplanError) as caught:
        _validate_in_worker(settings, inbox, results_dir=blocked / "2024-25-Q2")
    assert str(caught.value).startswith("FileExistsError: ") or str(caught.value).startswith(
        "NotADirectoryError: "
    ), caught.value
    killed = tmp_path / "python-killed"
    killed.write_text("#!/bin/sh\necho 'Killed' >&2\nkill -9 $$\n")
    killed.chmod(0o755)
    validation.stop_worker()  # the next job starts a process of its own: this one
    monkeypatch.setattr(sys, "executable", str(killed))
    with pytest.raises(ValidationWorkerFailed) as caught:
        _validate_in_worker(settings, inbox)
    assert str(caught.value) == (
        "the Great Expectations validation stopped (exit code -9) before it finished: Killed"
    )


def test_data_docs_index_before_any_run_says_how_to_build_it(settings):
    with pytest.raises(NoDataDocs) as caught:
        data_docs_index(settings, "2024/25 Q2", settings.council)
    assert str(caught.value) == (
        'No Data Docs for 2024/25 Q2 yet: `actionplan consolidate --period "2024/25 Q2"` '
        "validates the period with Great Expectations and builds them."
    )


def test_cli_docs_prints_the_site_path(tmp_path, settings, capsys):
    from actionplan.cli import main

    assert main(["docs", "--period", "2024/25 Q2"]) == 2
    assert capsys.readouterr().err == (
        'actionplan: No Data Docs for 2024/25 Q2 yet: `actionplan consolidate --period "2024/25 Q2"` validates '
        "the period with Great Expectations and builds them.\n"
    )
    _validate(settings, _submit_and_load(settings, *_two_departments(tmp_path)))
    assert main(["docs", "--period", "2024/25 Q2"]) == 0
    assert capsys.readouterr().out == f"{settings.home_path / 'data-docs' / '2024-25-Q2' / 'index.html'}\n"


@pytest.fixture
def served(tmp_path):
    with LiveServer(tmp_path / "home") as server:
        server.admin_key = server.token(admin=True)[1]
        server.finance_key = server.token("Finance")[1]
        inbox = _submit_and_load(server.settings, *_two_departments(tmp_path))
        _validate(server.settings, inbox)
        yield server


# Every Data Docs route (datadocs.ROUTES) by a concrete request: admins only, whatever the key's form.
DOCS_REQUESTS = {
    "/data-docs/session": ("POST", "/data-docs/session"),
    "/data-docs/sites.json": ("GET", "/data-docs/sites.json?period=2024/25 Q2"),
    "/data-docs/": ("GET", "/data-docs/"),
    "/data-docs/{site}/{path:path}": ("GET", "/data-docs/2024-25-Q2/index.html"),
}


def test_data_docs_matrix_covers_every_route(served):
    from actionplan.excel_addin.datadocs import ROUTES
    from actionplan.excel_addin.tokens import TokenStore

    assert set(DOCS_REQUESTS) == set(ROUTES)
    store = TokenStore.for_home(served.settings.home_path, served.settings.council)
    revoked, revoked_key = store.add(department="Finance")
    store.revoke(revoked.id)
    callers = {
        "none": None,
        "wrong": "0000.not-a-key",
        "revoked": revoked_key,
        "department": served.finance_key,
        "bearer": f"Bearer {served.admin_key}",
        "admin": served.admin_key,
    }
    for route, (method, url) in DOCS_REQUESTS.items():
        got = {}
        for who, key in callers.items():
            served.client.cookies.clear()
            got[who] = served.client.request(
                method, url, headers={"Authorization": key} if key else {}
            ).status_code
        assert got == {
            "none": 401,
            "wrong": 401,
            "revoked": 401,
            "department": 403,
            "bearer": 200,
            "admin": 200,
        }, route


def test_data_docs_route_admins_only(served):
    site = "/data-docs/2024-25-Q2/index.html"
    assert served.client.get(site).json() == {
        "detail": "No access key was sent. Type your department's access key into the actionplan pane."
    }
    refused = served.client.get(site, headers={"Authorization": f"Bearer {served.finance_key}"})
    assert (refused.status_code, refused.json()) == (
        403,
        {
            "detail": "The Data Docs need corporate performance's "
            "(admin) access key; a department's key cannot open them."
        },
    )
    admin = {"Authorization": f"Bearer {served.admin_key}"}
    page = served.client.get(site, headers=admin)
    assert page.status_code == 200 and "<title>Data Docs created by Great Expectations</title>" in page.text
    outside = served.client.get("/data-docs/2024-25-Q2/..%2F..%2Ftokens.json", headers=admin)
    assert outside.status_code == 404
    assert served.client.get("/data-docs/sites.json?period=2024/25 Q2", headers=admin).json() == {
        "sites": ["2024-25-Q2"],
        "period_site": "2024-25-Q2",
    }


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium")
def test_data_docs_read_back_in_chromium_from_the_status_page(served):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context()
        # The sites' Bootstrap and jQuery come from public CDNs, out of reach here: refuse them at once.
        context.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())
        page = context.new_page()
        page.goto(served.url + "/")
        page.get_by_label("Access key (from corporate performance)").fill(served.admin_key)
        page.get_by_role("button", name="Use this key").click()
        link = page.get_by_role(
            "link", name="Validation results for 2024/25 Q2 (Great Expectations Data Docs)"
        )
        link.click()
        page.wait_for_url("**/data-docs/2024-25-Q2/index.html")
        assert page.title() == "Data Docs created by Great Expectations"
        # The site's index lists its runs with a script from a CDN; the service's own list needs none.
        page.goto(served.url + "/data-docs/")
        page.get_by_role("link", name="actions", exact=True).click()
        page.wait_for_url("**/validations/actions/**")
        text = " ".join(page.locator("body").inner_text().split())
        # GX writes the cell's <img onerror=…> into the page as HTML; the policy lets no script run.
        assert page.locator("img[src=x]").count() >= 1 and page.title() != "1"
        browser.close()
    assert "Expectation Suite: actions" in text
    assert "Evaluated Expectations 11 Successful Expectations 9 Unsuccessful Expectations 2" in text
    assert (
        "lead_officer Status Expectation Observed Value values must never be null. 3 unexpected values found. "
        "50% of 6 total rows. Unexpected Value Count where null 3 Finance · Actions row 3, Legal · Actions row 3, "
        "Legal · Actions row 4"
    ) in text
