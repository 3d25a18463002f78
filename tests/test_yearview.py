"""The year-end view: a year's quarters on record rolled up (latest status, status at each quarter, outturn)."""

from __future__ import annotations

import datetime as dt

import docx
import openpyxl
import pytest

from actionplan.check import check_workbook
from actionplan.report import YEAR_KPI_HEADER, YEAR_MILESTONE_HEADER, write_report
from actionplan.warehouse import open_warehouse
from actionplan.warehouse.consolidate import facts_from_warehouse
from actionplan.warehouse.inbox import Inbox
from actionplan.warehouse.load import load_inbox
from actionplan.yearview import CARRIED_FORWARD, COMPLETED_IN_YEAR, OUTTURN, status_column
from tests.conftest import action, canonical_workbook

Q1, Q2, Q3 = "2024/25 Q1", "2024/25 Q2", "2024/25 Q3"


def _kpi(actual):
    return ["P1", "Invoices paid in 30 days", "Higher is better", "%", "R Khan", "95%", actual, None, None]


# Finance reports three quarters; Legal only the first, so its Q1 return is its latest in the year.
FINANCE = {
    Q1: [
        action("F1", status="G", update="Started"),
        action("F2", status="A", update="Supplier slow"),
        action("F3", status="B", update="Done early"),
    ],
    Q2: [
        action("F1", status="A", update="Slipping"),
        action("F2", status="G", update="Back on track"),
        action("F3", status="B", update="Done early"),
    ],
    Q3: [
        action("F1", status="B", update="Completed in December"),
        action("F2", status="R", update="Supplier failed; re-tendering now"),
        action("F3", status="B", update="Done early"),
    ],
}
ACTUALS = {Q1: "90%", Q2: "93%", Q3: "97%"}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("year")
    inbox = Inbox(root / "inbox", root / "archive")
    start = dt.datetime(2024, 7, 10, tzinfo=dt.UTC)
    for i, period in enumerate((Q1, Q2, Q3)):
        paths = [
            canonical_workbook(
                root / f"finance-{i}.xlsx",
                "Finance",
                FINANCE[period],
                period=period,
                kpis=[_kpi(ACTUALS[period])],
            )
        ]
        if period == Q1:
            paths.append(
                canonical_workbook(
                    root / "legal.xlsx",
                    "Legal",
                    [action("L1", status="A", update="Late"), action("L2", status="B", update="Done")],
                    period=period,
                )
            )
        for path in paths:
            data = path.read_bytes()
            sub = check_workbook(data, path.name)
            assert sub.accepted, sub.errors
            inbox.submit(sub, data, submitted_by="officer", now=start + dt.timedelta(days=91 * i))
    wh = open_warehouse(str(root / "warehouse.duckdb"))
    load_inbox(inbox, wh)
    yield wh
    wh.close()


@pytest.fixture(scope="module")
def year(warehouse):
    return facts_from_warehouse(warehouse, "2024/25", generated_at=dt.datetime(2025, 4, 20, 9, 0))


def test_yearview_latest_quarter_of_each_department(year):
    assert (year.period, year.period_end) == ("2024/25", dt.date(2025, 3, 31))
    rows = {r["Department"]: r for r in year.summary.to_dict("records")}
    assert [rows["Finance"][c] for c in ("Blue", "Green", "Amber", "Red", "Total")] == [2, 0, 0, 1, 3]
    assert [rows["Legal"][c] for c in ("Blue", "Green", "Amber", "Red", "Total")] == [1, 0, 1, 0, 2]
    assert rows["Council total"]["Total"] == 5
    assert year.missing == []
    assert dict(zip(year.submissions["Department"], year.submissions["Latest quarter"], strict=True)) == {
        "Finance": Q3,
        "Legal": Q1,
    }


def test_yearview_status_at_each_quarter_completed_and_carried_forward(year):
    columns = [
        "Ref",
        status_column(Q1),
        status_column(Q2),
        status_column(Q3),
        "Status",
        COMPLETED_IN_YEAR,
        CARRIED_FORWARD,
    ]
    got = [tuple(None if v != v else v for v in r) for r in year.actions[columns].itertuples(index=False)]
    assert got == [
        ("F1", "G", "A", "B", "B", True, False),
        ("F2", "A", "G", "R", "R", False, True),
        ("F3", "B", "B", "B", "B", True, False),
        ("L1", "A", None, None, "A", False, True),
        ("L2", "B", None, None, "B", True, False),
    ]
    assert year.trend_periods == [Q1, Q2, Q3]
    exported = year.export()
    assert (exported["completed_in_year"], exported["carried_forward"]) == (3, 2)


def test_yearview_kpi_actuals_by_quarter_and_outturn(year):
    kpi = year.kpis.iloc[0]
    assert [kpi[Q1], kpi[Q2], kpi[Q3], kpi[OUTTURN]] == [90.0, 93.0, 97.0, 97.0]
    assert (kpi["Previous actual"], kpi["Direction"], kpi["Performance"]) == (90.0, "↑ improving", "within")


def test_yearview_quarters_keep_their_own_view(warehouse):
    q3 = facts_from_warehouse(warehouse, Q3)
    assert status_column(Q1) not in q3.actions.columns and OUTTURN not in q3.kpis.columns
    assert q3.missing == ["Legal"]
    assert "completed_in_year" not in q3.export()
    assert q3.trend_periods == [Q1, Q2, Q3]


def test_yearview_report_shows_the_quarters(year, tmp_path):
    out = write_report(year, tmp_path / "year.docx")
    document = docx.Document(str(out))
    tables = [[[c.text for c in row.cells] for row in t.rows] for t in document.tables]
    milestones = [rows for rows in tables if tuple(rows[0]) == YEAR_MILESTONE_HEADER]
    assert [(r[0], r[4], r[5]) for rows in milestones for r in rows[1:]] == [
        ("F1", "B", "G A B"),
        ("F2", "R", "A G R"),
        ("F3", "B", "B B B"),
        ("L1", "A", "A · ·"),
        ("L2", "B", "B · ·"),
    ]
    (kpis,) = [rows for rows in tables if tuple(rows[0]) == YEAR_KPI_HEADER]
    assert kpis[1] == [
        "P1",
        "Invoices paid in 30 days",
        "Higher is better",
        "95%",
        "97%",
        "●",
        "↑ improving",
        "90% → 93% → 97%",
    ]
    text = [p.text for p in document.paragraphs]
    assert (
        "The year from 2024/25 Q1, 2024/25 Q2, 2024/25 Q3: 3 actions and milestones completed in year; 2 "
        "carried forward (not complete at the year end)."
    ) in text


def test_yearview_consolidate_flow_writes_the_year_rollup(home, tmp_path, warehouse):
    # The flow on its own copy of the warehouse (it loads and writes it), run by Prefect as the CLI runs it.
    import shutil

    from actionplan.runs import run_flow

    home.mkdir(parents=True, exist_ok=True)
    warehouse.execute("CHECKPOINT")
    shutil.copyfile(warehouse_path(warehouse), home / "warehouse.duckdb")
    result = run_flow("consolidate", period="2024/25")
    assert result["path"] == str(home / "rollups" / "rollup-2024-25.xlsx")
    assert result["facts"]["completed_in_year"] == 3
    ws = openpyxl.load_workbook(result["path"], read_only=True)["Actions"]
    header = next(ws.iter_rows(values_only=True))
    assert [
        h for h in header if str(h).startswith("Status at") or h in (COMPLETED_IN_YEAR, CARRIED_FORWARD)
    ] == [status_column(Q1), status_column(Q2), status_column(Q3), COMPLETED_IN_YEAR, CARRIED_FORWARD]


def warehouse_path(wh) -> str:
    return wh.query("SELECT path FROM duckdb_databases() WHERE database_name = current_database()")["path"][0]
