"""GX's validation begins before the inbox is loaded, on the submissions that will then be current
(warehouse/validation.predicted_current); the flow keeps it only when the guess was right, and otherwise validates
what the load made current, leaving no results of the wrong guess behind."""

from __future__ import annotations

import datetime as dt
import json

from actionplan.check import check_workbook
from actionplan.warehouse import open_warehouse
from actionplan.warehouse.inbox import Inbox
from actionplan.warehouse.load import load_inbox
from actionplan.warehouse.validation import current_of_period, predicted_current
from tests.conftest import action, canonical_workbook

UTC = dt.UTC


def _submit(settings, tmp_path, department, period="2024/25 Q2", at=None, ref="F1", status="G"):
    path = canonical_workbook(
        tmp_path / f"{department}-{period[-2:]}-{ref}.xlsx",
        department,
        [action(ref, status=status)],
        period=period,
    )
    data = path.read_bytes()
    report = Inbox(settings.inbox_path, settings.archive_path).submit(
        check_workbook(data, path.name, settings=settings),
        data,
        submitted_by="test",
        now=at or dt.datetime(2024, 10, 1, 9, tzinfo=UTC),
    )
    assert report["accepted"], report
    return report["submission_id"]


def test_the_guess_is_what_the_load_makes_current(tmp_path, settings):
    inbox = Inbox(settings.inbox_path, settings.archive_path)
    wh = open_warehouse(settings.warehouse_url)
    wh.migrate()
    # On record already: Finance and Legal for Q2, Finance for Q1.
    _submit(settings, tmp_path, "Finance", at=dt.datetime(2024, 10, 1, 9, tzinfo=UTC))
    _submit(settings, tmp_path, "Legal", at=dt.datetime(2024, 10, 1, 9, tzinfo=UTC))
    _submit(settings, tmp_path, "Finance", period="2024/25 Q1", at=dt.datetime(2024, 7, 1, tzinfo=UTC))
    load_inbox(inbox, wh)
    # Pending: Finance again, later, spelled as its department was not; Legal resubmitted with an earlier time (it
    # stays current as it was); a new department; another period's return.
    _submit(settings, tmp_path, "FINANCE", at=dt.datetime(2024, 10, 3, 9, tzinfo=UTC), ref="F2")
    _submit(settings, tmp_path, "Legal", at=dt.datetime(2024, 9, 30, 9, tzinfo=UTC), ref="L2")
    _submit(settings, tmp_path, "Housing", at=dt.datetime(2024, 10, 2, 9, tzinfo=UTC))
    _submit(settings, tmp_path, "Housing", period="2024/25 Q3", at=dt.datetime(2025, 1, 2, tzinfo=UTC))

    guess = predicted_current(wh, inbox, "2024/25 Q2", "default")
    load_inbox(inbox, wh)
    after = current_of_period(wh, "2024/25 Q2", "default")
    wh.close()
    assert guess == after
    assert [name for _, name in after] == ["Finance", "Housing", "Legal"]


def _tasks_of_latest_run():
    from tests.test_flows import _prefect_post, _runs_tagged

    run = _runs_tagged("period:2024/25 Q2")[0]
    tasks = _prefect_post(
        "/task_runs/filter",
        {"flow_runs": {"id": {"any_": [run["id"]]}}, "limit": 50, "sort": "EXPECTED_START_TIME_ASC"},
    )
    return {t["name"].rsplit("-", 1)[0]: t for t in tasks}, tasks


def test_the_validation_runs_beside_the_load(tmp_path, settings):
    from actionplan.flows.consolidate import consolidate

    _submit(settings, tmp_path, "Finance")
    result = consolidate(period="2024/25 Q2", out=str(tmp_path / "rollup.xlsx"))
    assert result["validation"]["agrees"] is True
    named, tasks = _tasks_of_latest_run()
    assert [t["name"].rsplit("-", 1)[0] for t in tasks].count("validate-with-gx") == 1
    # Begun before the load ended: it was handed its job before the load began.
    assert named["validate-with-gx"]["start_time"] < named["load-inbox"]["end_time"]
    assert len(list(settings.validations_path("2024/25 Q2").glob("*.json"))) == 1


def test_a_wrong_guess_is_validated_again_and_its_results_removed(tmp_path, settings):
    from actionplan.flows.consolidate import consolidate

    _submit(settings, tmp_path, "Finance")
    broken = _submit(settings, tmp_path, "Legal")
    # Legal's record cannot load (a date no one wrote), so it will not be current: the guess included it.
    path = settings.inbox_path / "pending" / f"{broken}.json"
    record = json.loads(path.read_text(encoding="utf-8"))
    record["actions"]["columns"]["due_date"][0] = "the thirty-first of March"
    path.write_text(json.dumps(record), encoding="utf-8")

    result = consolidate(period="2024/25 Q2", out=str(tmp_path / "rollup.xlsx"))

    assert result["loaded"] == 1
    assert result["validation"]["summary"].startswith(
        "Great Expectations validated 1 submission for 2024/25 Q2"
    ), result["validation"]
    _, tasks = _tasks_of_latest_run()
    assert [t["name"].rsplit("-", 1)[0] for t in tasks].count("validate-with-gx") == 2
    (kept,) = settings.validations_path("2024/25 Q2").glob("*.json")  # the wrong guess's results are gone
    assert json.loads(kept.read_text(encoding="utf-8"))["validation"]["submissions"] == 1
