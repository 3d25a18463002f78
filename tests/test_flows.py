"""Real Prefect flow runs (a temporary local server): one smoke test per flow and one wiring test."""

from __future__ import annotations

import openpyxl
from actionplan.warehouse import open_warehouse
from actionplan.warehouse.inbox import Inbox

from actionplan.check import check_workbook
from tests.conftest import action, canonical_workbook


def _submit(settings, path):
    data = path.read_bytes()
    return Inbox(settings.inbox_path, settings.archive_path).submit(
        check_workbook(data, path.name, settings=settings), data, submitted_by="test")


def test_ingest_flow_loads_the_inbox(tmp_path, settings):
    from actionplan.flows.ingest import ingest

    _submit(settings, canonical_workbook(tmp_path / "f.xlsx", actions=[action("F1"), action("F2")]))
    result = ingest()
    assert len(result["loaded"]) == 1 and result["failed"] == {}
    assert ingest()["loaded"] == []  # nothing pending the second time
    wh = open_warehouse(settings.warehouse_url, read_only=True)
    assert wh.submission_counts()["actions"] == 2
    wh.close()


def test_consolidate_flow_writes_the_rollup(tmp_path, settings):
    from actionplan.flows.consolidate import consolidate

    _submit(settings, canonical_workbook(tmp_path / "f.xlsx", actions=[action("F1", status="R", update="Late")]))
    out = tmp_path / "rollup.xlsx"
    result = consolidate(period="Q2 2024/25", out=str(out))
    assert result["path"] == str(out) and result["loaded"] == 1
    assert result["facts"]["summary"][-1] == {
        "Department": "Council total", "Blue": 0, "Green": 0, "Amber": 0, "Red": 1, "Not rated": 0, "Total": 1,
        "% complete": 0.0, "% on track": 0.0}
    assert openpyxl.load_workbook(out).sheetnames == [
        "Summary", "Objectives", "Exceptions", "Actions", "KPIs", "Submissions", "Changes", "Data quality",
        "How to read this report"]


def test_deployments_wire_up(settings):
    from actionplan.flows.deployments import deployments

    ingest, consolidate = deployments(settings)
    assert (ingest.name, consolidate.name) == ("ingest", "consolidate")
    assert consolidate.concurrency_limit == 1
    assert consolidate.schedules[0].schedule.cron == settings.schedule
    assert consolidate.schedules[0].schedule.timezone == "Europe/London"
