"""Rollup facts from a real warehouse holding two periods: summary, exceptions, KPIs, missing, changes, quality."""

from __future__ import annotations

import datetime as dt

import pytest

from actionplan.check import check_workbook
from actionplan.warehouse import open_warehouse
from actionplan.warehouse.consolidate import facts_from_warehouse
from actionplan.warehouse.inbox import Inbox
from actionplan.warehouse.load import load_inbox
from tests.conftest import action, canonical_workbook

KPIS = [
    [
        "K1",
        "% invoices paid in 30 days",
        "Higher is better",
        "%",
        "R Khan",
        "95%",
        "91%",
        None,
        None,
    ],  # worse
    ["K2", "Total % sickness absence", "Lower is better", "%", "R Khan", "4%", "3.5%", None, None],  # better
    ["K3", "Number of grants paid out", None, None, "R Khan", "1,000", "1,020", "5%", None],  # within
    [
        "K4",
        "Residents satisfied",
        None,
        "%",
        "R Khan",
        "Baseline year",
        "81% (interim)",
        None,
        None,
    ],  # no data
]


@pytest.fixture
def facts(tmp_path, settings):
    inbox = Inbox(settings.inbox_path, settings.archive_path)

    def send(name, dept, period, rows, when, kpis=None):
        path = canonical_workbook(tmp_path / name, dept, rows, period=period, kpis=kpis)
        data = path.read_bytes()
        report = inbox.submit(check_workbook(data, name), data, submitted_by=f"{dept} officer", now=when)
        assert report["accepted"], report["errors"]

    q1, q2 = dt.datetime(2024, 7, 10, tzinfo=dt.UTC), dt.datetime(2024, 10, 10, tzinfo=dt.UTC)
    send(
        "f1.xlsx",
        "Finance",
        "2024/25 Q1",
        [
            action("F1", status="G", due="31/12/2024", update="Tender issued"),
            action("F2", status="G", due="31/03/2025", update="Drafting"),
            action("F3", status="A", due="31/03/2025", update="Waiting for legal advice"),
            action("F4", status="G"),
        ],
        q1,
    )
    send("l1.xlsx", "Legal", "2024/25 Q1", [action("L1", status="G")], q1)
    send(
        "f2.xlsx",
        "Finance",
        "2024/25 Q2",
        [
            action(
                "F1", status="R", due="31/12/2024", update="Supplier withdrew; re-tendering in November"
            ),  # Green → Red
            action("F2", status="G", due="30/06/2025", update="Drafting well advanced"),  # due date moved
            action(
                "F3", status="A", due="31/03/2025", update="Waiting  for legal advice"
            ),  # stale (whitespace aside)
            action("F5", status="B", update="Done"),  # new; F4 removed
            action("F6", status="A", due="31/12/2024", update=None),  # exception: Amber, no update
            action("F7", status="G", due="30/06/2024"),  # exception: overdue
        ],
        q2,
        kpis=KPIS,
    )
    load_inbox(inbox, wh := open_warehouse(settings.warehouse_url))
    try:
        yield facts_from_warehouse(wh, "2024/25 Q2", generated_at=dt.datetime(2024, 10, 20, 9, 0))
    finally:
        wh.close()


def test_rollup_summary_counts_and_council_total(facts):
    rows = facts.summary.to_dict("records")
    assert rows == [
        {
            "Department": "Finance",
            "Blue": 1,
            "Green": 2,
            "Amber": 2,
            "Red": 1,
            "Not rated": 0,
            "Total": 6,
            "% complete": round(1 / 6, 4),
            "% on track": 0.5,
        },
        {
            "Department": "Council total",
            "Blue": 1,
            "Green": 2,
            "Amber": 2,
            "Red": 1,
            "Not rated": 0,
            "Total": 6,
            "% complete": round(1 / 6, 4),
            "% on track": 0.5,
        },
    ]


def test_rollup_missing_department_is_listed(facts):
    assert facts.missing == ["Legal"]
    subs = facts.submissions.set_index("Department")
    assert subs.loc["Legal", "Status"] == "missing" and subs.loc["Finance", "Status"] == "submitted"
    assert subs.loc["Finance", "Submitted by"] == "Finance officer"


def test_rollup_exceptions_red_first_with_reasons(facts):
    ex = facts.exceptions
    assert list(ex["Ref"]) == ["F1", "F6", "F7"]
    assert list(ex["Reason"]) == ["Red", "no progress update", "overdue"]


def test_rollup_kpi_performance_by_polarity_and_tolerance(facts):
    assert dict(zip(facts.kpis["Ref"], facts.kpis["Performance"], strict=True)) == {
        "K1": "worse",
        "K2": "better",
        "K3": "within",
        "K4": "no data",
    }
    finance = facts.kpi_counts.iloc[0].to_dict()
    assert finance == {
        "Department": "Finance",
        "better": 1,
        "within": 1,
        "worse": 1,
        "no data": 1,
        "Total": 4,
    }
    assert facts.kpis.set_index("Ref").loc["K4", "Target"] == "Baseline year"


def test_rollup_changes_against_previous_period_worst_first(facts):
    changes = [(r["Ref"], r["Change"], r["From"], r["To"]) for r in facts.changes.to_dict("records")]
    assert changes[0] == ("F1", "status", "Green", "Red")
    assert set(changes[1:]) == {
        ("F4", "removed", "Green", None),
        ("F2", "due date moved", "31/03/2025", "30/06/2025"),
        ("F5", "new", None, "Blue"),
        ("F6", "new", None, "Amber"),
        ("F7", "new", None, "Green"),
    }
    assert facts.previous_period == "2024/25 Q1"


def test_rollup_data_quality_includes_stale_commentary(facts):
    quality = facts.data_quality
    stale = quality[quality["Code"] == "stale-commentary"]
    assert list(stale["Department"]) == ["Finance"] and list(stale["Value"]) == ["Waiting for legal advice"]
    assert "no-progress-update" in set(quality["Code"])


@pytest.mark.parametrize(
    ("zone", "printed", "submitted"),
    [
        ("Europe/London", "20/10/2024 10:00", dt.datetime(2024, 10, 10, 1, 0)),  # BST: UTC+1
        ("America/New_York", "20/10/2024 05:00", dt.datetime(2024, 10, 9, 20, 0)),  # EDT: UTC-4
    ],
)
def test_rollup_times_are_shown_in_the_timezone_setting(tmp_path, settings, zone, printed, submitted):
    import openpyxl

    from actionplan.rollup_writer import write_rollup

    inbox = Inbox(settings.inbox_path, settings.archive_path)
    path = canonical_workbook(tmp_path / "f.xlsx", "Finance", [action("F1", status="G")], period="2024/25 Q2")
    data = path.read_bytes()
    inbox.submit(
        check_workbook(data, "f.xlsx"),
        data,
        submitted_by="officer",
        now=dt.datetime(2024, 10, 10, 0, 0, tzinfo=dt.UTC),
    )
    load_inbox(inbox, wh := open_warehouse(settings.warehouse_url))
    try:
        facts = facts_from_warehouse(
            wh, "2024/25 Q2", timezone=zone, generated_at=dt.datetime(2024, 10, 20, 9, 0, tzinfo=dt.UTC)
        )
    finally:
        wh.close()
    assert dict(facts.how_to_read)["Generated"] == f"{printed}."
    wb = openpyxl.load_workbook(write_rollup(facts, tmp_path / "rollup.xlsx"))
    subs = wb["Submissions"]
    header = [c.value for c in subs[1]]
    assert subs.cell(2, header.index("Submitted at") + 1).value == submitted


def test_settings_refuse_an_unknown_timezone():
    from actionplan.errors import StartupError
    from actionplan.settings import load_settings

    with pytest.raises(StartupError) as err:
        load_settings({"ACTIONPLAN_TIMEZONE": "Europe/Londn"})
    assert str(err.value) == (
        "ACTIONPLAN_TIMEZONE='Europe/Londn' is not a time zone this machine knows: use a name "
        "such as Europe/London."
    )
