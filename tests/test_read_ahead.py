"""warehouse/load.ReadAhead: the pending records read and typed while Prefect's server starts load exactly as
records read by the load itself, a record that cannot load fails in the same words, and nothing is read twice."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd

from actionplan.check import check_workbook
from actionplan.warehouse import open_warehouse
from actionplan.warehouse.base import TABLES
from actionplan.warehouse.inbox import Inbox
from actionplan.warehouse.load import load_inbox, read_ahead
from tests.conftest import GOOD_KPI, action, canonical_workbook


def _workbooks(tmp_path):
    return [
        canonical_workbook(
            tmp_path / f"{department}.xlsx",
            department,
            [action(ref, status="R", update="Late: see the recovery plan") for ref in refs],
            kpis=[GOOD_KPI],
        ).read_bytes()
        for department, refs in (
            ("Finance", ["F1", "F2", "F3"]),
            ("Legal", ["L1"]),
            ("Housing", ["H1", "H2"]),
        )
    ]


def _home(tmp_path, settings, name, workbooks):
    inbox = Inbox(tmp_path / name / "inbox", tmp_path / name / "archive")
    for n, data in enumerate(workbooks):
        sub = check_workbook(data, f"plan-{n}.xlsx", settings=settings)
        inbox.submit(sub, data, submitted_by="test", now=dt.datetime(2024, 10, 1, 9, n, tzinfo=dt.UTC))
    # One record that cannot load: a due date no one could read.
    (broken,) = [p for p in inbox.pending() if json.loads(p.read_text())["department"] == "Legal"]
    record = json.loads(broken.read_text(encoding="utf-8"))
    record["actions"]["columns"]["due_date"][0] = "the thirty-first of March"
    broken.write_text(json.dumps(record), encoding="utf-8")
    return inbox


def _tables(url):
    wh = open_warehouse(url, read_only=True)
    try:
        return {
            table: wh.query(f"SELECT * FROM {table} ORDER BY ALL").drop(
                columns=["loaded_at"], errors="ignore"
            )
            for table in ("submissions", *TABLES)
        }
    finally:
        wh.close()


def _two_homes(tmp_path, settings, *names):
    workbooks = _workbooks(tmp_path)
    return [_home(tmp_path, settings, name, workbooks) for name in names]


def test_records_read_ahead_load_as_records_read_by_the_load(tmp_path, settings):
    plain, ahead = _two_homes(tmp_path, settings, "plain", "ahead")
    read_ahead(ahead, frames=True).wait()
    # Each pending record read ahead is now spoilt on disk: the load must use what was read before.
    for path in ahead.pending():
        path.write_text("{not json", encoding="utf-8")

    results = {}
    # The read-ahead serves the next load, if of its inbox: the one read ahead goes first.
    for name, inbox in (("ahead", ahead), ("plain", plain)):
        wh = open_warehouse(str(tmp_path / f"{name}.duckdb"))
        results[name] = load_inbox(inbox, wh)
        wh.close()
    assert len(results["ahead"].loaded) == len(results["plain"].loaded) == 2
    # The record that cannot load fails in the same words either way, and stays pending.
    assert list(results["ahead"].failed.values()) == list(results["plain"].failed.values())
    (why,) = results["plain"].failed.values()
    assert why.startswith("DateParseError")  # the load's own words for the date, not "record unreadable"
    ours, theirs = _tables(str(tmp_path / "ahead.duckdb")), _tables(str(tmp_path / "plain.duckdb"))
    for table in ours:
        pd.testing.assert_frame_equal(ours[table], theirs[table], check_dtype=True)
    assert len(ours["actions"]) == 5 and len(ours["kpis"]) == 2


def test_a_read_ahead_serves_one_load_of_its_own_inbox(tmp_path, settings):
    first, other = _two_homes(tmp_path, settings, "first", "other")
    read_ahead(first, frames=True)
    wh = open_warehouse(str(tmp_path / "other.duckdb"))
    assert len(load_inbox(other, wh).loaded) == 2  # another inbox's load reads its own records
    wh.close()
    wh = open_warehouse(str(tmp_path / "first.duckdb"))
    assert len(load_inbox(first, wh).loaded) == 2  # the read-ahead was dropped, not misapplied: read again
    wh.close()
