"""Real Prefect flow runs (a temporary local server): one smoke test per flow and one wiring test."""

from __future__ import annotations

import json

import openpyxl

from actionplan.check import check_workbook
from actionplan.warehouse import open_warehouse
from actionplan.warehouse.inbox import Inbox
from tests.conftest import action, canonical_workbook


def _submit(settings, path):
    data = path.read_bytes()
    return Inbox(settings.inbox_path, settings.archive_path).submit(
        check_workbook(data, path.name, settings=settings), data, submitted_by="test"
    )


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

    _submit(
        settings, canonical_workbook(tmp_path / "f.xlsx", actions=[action("F1", status="R", update="Late")])
    )
    out = tmp_path / "rollup.xlsx"
    result = consolidate(period="Q2 2024/25", out=str(out))
    assert result["path"] == str(out) and result["loaded"] == 1
    assert result["facts"]["summary"][-1] == {
        "Department": "Council total",
        "Blue": 0,
        "Green": 0,
        "Amber": 0,
        "Red": 1,
        "Not rated": 0,
        "Total": 1,
        "% complete": 0.0,
        "% on track": 0.0,
    }
    assert openpyxl.load_workbook(out).sheetnames == [
        "Summary",
        "Objectives",
        "Exceptions",
        "Actions",
        "KPIs",
        "Submissions",
        "Changes",
        "Data quality",
        "How to read this report",
    ]


def test_deployments_wire_up(settings):
    from actionplan.flows.deployments import deployments

    ingest, consolidate = deployments(settings)
    assert (ingest.name, consolidate.name) == ("ingest", "consolidate")
    assert consolidate.concurrency_limit == 1
    assert consolidate.schedules[0].schedule.cron == settings.schedule
    assert consolidate.schedules[0].schedule.timezone == "Europe/London"


def _prefect_post(path: str, body: dict) -> list[dict]:
    """POST a filter to the Prefect API in use (the test's temporary server); its JSON answer."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        response = client._client.post(path, json=body)
        response.raise_for_status()
        return response.json()


def _runs_tagged(tag: str) -> list[dict]:
    return _prefect_post(
        "/flow_runs/filter",
        {"flow_runs": {"tags": {"all_": [tag]}}, "limit": 50, "sort": "EXPECTED_START_TIME_DESC"},
    )


def test_consolidate_flow_reports_what_gx_finds_and_submit_did_not(tmp_path, settings):
    from actionplan.flows.consolidate import consolidate

    _submit(
        settings, canonical_workbook(tmp_path / "f.xlsx", actions=[action("F1"), action("F2"), action("F3")])
    )
    # A record edited in the inbox after Submit checked it: row 3's status is no longer one the suite allows.
    (path,) = (settings.inbox_path / "pending").glob("*.json")
    record = json.loads(path.read_text(encoding="utf-8"))
    rows = record["actions"]["columns"]["row"]
    at = rows.index(3)
    record["actions"]["columns"]["status"][at] = "X"
    record["actions"]["columns"]["status_text"][at] = "Greenish"
    path.write_text(json.dumps(record), encoding="utf-8")

    result = consolidate(period="2024/25 Q2", out=str(tmp_path / "rollup.xlsx"))

    assert (tmp_path / "rollup.xlsx").exists()  # the rollup is built all the same
    message = (
        "actions suite, expect_column_values_to_be_in_set on status (unknown-status): Great Expectations "
        "found 1 row Submit did not report: Finance Actions!H3 'Greenish'. The loaded record differs from "
        "what was checked at Submit: check its inbox record, or resubmit the workbook."
    )
    assert result["validation"]["failed"] == (
        "Great Expectations validated 1 submission for 2024/25 Q2 (actions 3 rows): "
        f"disagrees with Submit on 1 expectation. {message}"
    )
    run = _runs_tagged("period:2024/25 Q2")[0]  # the latest
    assert (run["name"], set(run["tags"])) == (
        "consolidate 2024/25 Q2",
        {"council:default", "period:2024/25 Q2"},
    )
    tasks = _prefect_post(
        "/task_runs/filter",
        {"flow_runs": {"id": {"any_": [run["id"]]}}, "limit": 50, "sort": "EXPECTED_START_TIME_DESC"},
    )
    failed = [t for t in tasks if t["state"]["type"] == "FAILED"]
    assert [t["name"].rsplit("-", 1)[0] for t in failed] == ["validate-with-gx"]
    assert message in failed[0]["state"]["message"]


def _artifacts_of(flow_run_id: str) -> dict[str, dict]:
    found = _prefect_post(
        "/artifacts/filter",
        {"artifacts": {"flow_run_id": {"any_": [flow_run_id]}}, "limit": 50, "sort": "CREATED_DESC"},
    )
    return {a["key"]: a for a in found}


def test_consolidate_flow_publishes_its_artifacts(tmp_path, settings):
    from actionplan.flows.consolidate import consolidate

    _submit(
        settings,
        canonical_workbook(
            tmp_path / "f.xlsx",
            department="Legal",
            period="2023/24 Q4",
            actions=[action("L1", status="R", update="Late", lead=None)],
        ),
    )
    bad = canonical_workbook(
        tmp_path / "bad.xlsx",
        department="Legal",
        period="2023/24 Q4",
        actions=[action("L1", status="Greenish")],
    )
    _submit(settings, bad)
    result = consolidate(period="2023/24 Q4", out=str(tmp_path / "rollup.xlsx"))

    assert result["validation"]["agrees"] is True
    run = _runs_tagged("period:2023/24 Q4")[0]
    artifacts = _artifacts_of(run["id"])
    assert sorted(artifacts) == [
        "consolidate-default-2023-24-q4",
        "gx-validation-default-2023-24-q4",
        "ingest",
    ]
    ingest = artifacts["ingest"]
    assert ingest["type"] == "table"
    assert ingest["description"] == "1 department plan loaded (1 warning), 1 rejected at Submit."
    assert [
        (r["Department"], r["Outcome"], r["Warnings"], r["Errors"]) for r in json.loads(ingest["data"])
    ] == [("Legal", "loaded", 1, 0), ("Legal", "rejected at Submit", 0, 1)]
    summary = artifacts["consolidate-default-2023-24-q4"]
    assert summary["type"] == "markdown"
    assert summary["description"] == "Rollup 2023/24 Q4: 1 exception, 0 departments not submitted."
    lines = summary["data"].splitlines()
    assert lines[:6] == [
        "# Council rollup, 2023/24 Q4",
        "",
        "| Department | Blue | Green | Amber | Red | Not rated | Total | % complete |",
        "|---|---|---|---|---|---|---|---|",
        "| Legal | 0 | 0 | 0 | 1 | 0 | 1 | 0% |",
        "| Council total | 0 | 0 | 0 | 1 | 0 | 1 | 0% |",
    ]
    assert f"- **Rollup workbook:** {tmp_path / 'rollup.xlsx'}" in lines
    assert "- **Exceptions:** 1" in lines and "- **Departments not submitted:** 0" in lines
    gx = artifacts["gx-validation-default-2023-24-q4"]["data"].splitlines()
    assert gx[2] == (
        "Great Expectations validated 1 submission for 2023/24 Q4 (actions 1 row): agrees with Submit."
    )
    assert "| actions | 1 | 11 | 10 | 1 |" in gx


def test_a_council_script_without_a_main_guard_runs_once(tmp_path, settings):
    """The validation's own process is a fresh `python -m` interpreter, not a multiprocessing spawn: a council's
    script that calls the flow at its top level (no `if __name__ == "__main__":`) runs its body once."""
    import subprocess
    import sys

    _submit(settings, canonical_workbook(tmp_path / "f.xlsx", actions=[action("F1"), action("F2")]))
    script = tmp_path / "quarter.py"
    script.write_text(
        "from actionplan.flows.consolidate import consolidate\n"
        "print('script body ran')\n"
        "result = consolidate(period='2024/25 Q2')\n"
        "print('validation:', result['validation']['summary'])\n",
        encoding="utf-8",
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("script body ran") == 1
    assert "validation: Great Expectations validated 1 submission for 2024/25 Q2" in done.stdout


def test_the_facts_are_read_while_another_process_reads_the_warehouse(tmp_path, settings):
    """The consolidate flow hands the snapshots to the worker process right after the load, so the worker reads
    the DuckDB file (read-only) while the flow reads the period's facts: read_facts opens it read-only too, which
    DuckDB allows beside another process's read-only connection (a read-write one would wait, then fail)."""
    import subprocess
    import sys

    from actionplan.flows.consolidate import read_facts
    from actionplan.warehouse.load import load_inbox

    _submit(
        settings, canonical_workbook(tmp_path / "f.xlsx", actions=[action("F1"), action("F2", status="R")])
    )
    inbox = Inbox(settings.inbox_path, settings.archive_path)
    wh = open_warehouse(settings.warehouse_url)
    try:
        load_inbox(inbox, wh)
    finally:
        wh.close()
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from actionplan.warehouse import open_warehouse; "
            f"wh = open_warehouse({str(settings.warehouse_url)!r}, read_only=True); print('open', flush=True); "
            "sys.stdin.read(); wh.close()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout is not None and reader.stdout.readline().strip() == "open"
        facts = read_facts.fn(
            settings.warehouse_url, "2024/25 Q2", None, None, settings.tolerance, settings.council
        )
    finally:
        reader.communicate("", timeout=30)
    assert facts.period == "2024/25 Q2"
    assert len(facts.actions) == 2
