"""Faults: processes really killed with SIGKILL mid-work; nothing lost, nothing half-written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import openpyxl
import pytest

from actionplan.check import check_workbook
from actionplan.warehouse import open_warehouse
from actionplan.warehouse.inbox import Inbox
from actionplan.warehouse.load import load_inbox
from tests.conftest import action, canonical_workbook

ROOT = Path(__file__).resolve().parents[2]


def _child(code: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


@pytest.fixture
def queued(tmp_path):
    """Twelve accepted submissions of 400 actions each, waiting in the inbox."""
    inbox = Inbox(tmp_path / "inbox", tmp_path / "archive")
    expected = {}
    for i in range(12):
        path = canonical_workbook(
            tmp_path / f"d{i}.xlsx",
            f"Department {i}",
            [action(f"A{j}", text=f"Action {j} of {i}") for j in range(400)],
        )
        data = path.read_bytes()
        report = inbox.submit(check_workbook(data, path.name), data, submitted_by="t")
        expected[report["submission_id"]] = 400
    return inbox, expected


def test_kill_during_ingest_leaves_each_submission_whole_or_absent(tmp_path, queued):
    inbox, expected = queued
    db = tmp_path / "warehouse.duckdb"
    child = _child(f"""
        from pathlib import Path
        from actionplan.warehouse import open_warehouse
        from actionplan.warehouse.inbox import Inbox
        inbox = Inbox(Path({str(tmp_path / "inbox")!r}), Path({str(tmp_path / "archive")!r}))
        wh = open_warehouse({str(db)!r})
        for path in inbox.pending():
            wh.load(inbox.read(path))
            inbox.mark_loaded(path)
            print("loaded", flush=True)
    """)
    for _ in range(3):
        assert child.stdout.readline().strip() == "loaded", child.stderr.read()
    child.send_signal(signal.SIGKILL)  # mid-way through the fourth (or later) transaction
    child.wait()

    wh = open_warehouse(str(db))
    try:
        counts = dict(
            wh.query(
                "SELECT s.id, count(a.ref) AS n FROM submissions s LEFT JOIN actions a "
                "ON a.submission_id = s.id GROUP BY s.id"
            ).values.tolist()
        )
        assert 3 <= len(counts) < len(expected)
        assert all(counts[sid] == expected[sid] for sid in counts)  # whole, never partial
        orphans = wh.scalar(
            "SELECT count(*) FROM actions WHERE submission_id NOT IN (SELECT id FROM submissions)"
        )
        assert orphans == 0
        result = load_inbox(inbox, wh)  # the next ingest completes the rest
        assert not result.failed
        final = dict(
            wh.query("SELECT submission_id, count(*) FROM actions GROUP BY submission_id").values.tolist()
        )
        assert final == expected
    finally:
        wh.close()


def test_kill_while_publishing_rollup_keeps_the_previous_one(tmp_path):
    from actionplan.rollup_writer import sweep_orphans

    target = tmp_path / "rollups" / "rollup.xlsx"
    target.parent.mkdir()
    make = """
        import datetime as dt, sys
        import pandas as pd
        from pathlib import Path
        from actionplan.rollup import facts_for_period
        from actionplan.rollup_writer import write_rollup
        n = int(sys.argv[1])
        actions = pd.DataFrame({
            "department": ["Finance"] * n, "sheet": "Actions", "row_number": range(2, n + 2),
            "ref": [f"A{i}" for i in range(n)], "objective": "O1", "theme": "T", "action": "Do a thing " * 8,
            "lead_officer": "R Khan", "due_date": dt.date(2025, 3, 31), "due_date_text": "31/03/2025",
            "revised_due_date": None, "revised_due_date_text": None, "effective_due_date": dt.date(2025, 3, 31),
            "status": "G", "status_text": "G", "progress_update": "Fine " * 30, "overdue": False,
            "slipped": False, "exception": False, "exception_reason": None})
        empty = pd.DataFrame(columns=["department", "ref", "status", "sheet", "row_number"])
        subs = pd.DataFrame([{"id": "x" * 64, "department": "Finance", "submitted_at": dt.datetime(2024, 10, 1),
                              "submitted_by": "t", "file_name": "f.xlsx", "warnings": 0, "as_at": None}])
        kpis = pd.DataFrame(columns=["department", "ref", "measure", "polarity", "unit", "lead_officer", "target",
                                     "target_text", "actual", "actual_text", "tolerance", "performance", "comment"])
        msgs = pd.DataFrame(columns=["department", "level", "sheet", "cell", "value", "code", "message"])
        current = {"submissions": subs, "actions": actions, "objectives": empty, "kpis": kpis, "messages": msgs}
        facts = facts_for_period("2024/25 Q2", current, None, known_departments=["Finance"])
        print("writing", flush=True)
        write_rollup(facts, Path(sys.argv[2]))
        print("done", flush=True)
    """
    first = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(make), "50", str(target)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert first.returncode == 0, first.stderr
    before = target.read_bytes()

    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(make), "150000", str(target)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout.readline().strip() == "writing", child.stderr.read()
    deadline = time.monotonic() + 60
    while not list(target.parent.glob(".*.tmp")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL  # it really died mid-write, not after finishing

    assert target.read_bytes() == before  # the previous rollup, untouched, still opens
    assert openpyxl.load_workbook(target, read_only=True).sheetnames[0] == "Summary"
    leftovers = list(target.parent.glob(".*.tmp"))
    assert leftovers  # the half-written file never took the published name
    for p in leftovers:
        os.utime(p, (time.time() - 3600, time.time() - 3600))
    assert sweep_orphans(target.parent) == len(leftovers)
    assert list(target.parent.iterdir()) == [target]


def test_inbox_sweeps_archive_temp_files_a_killed_writer_left(tmp_path):
    # A writer killed with SIGKILL between writing its temp file and renaming it leaves `.<sha>.xlsx.*.tmp`.
    archive = tmp_path / "archive"
    child = _child(f"""
        import time
        from pathlib import Path
        from actionplan.files import _reserve_temp
        _reserve_temp(Path({str(archive / ("a" * 64 + ".xlsx"))!r}), private=True).write_bytes(b"PK" + b"x" * 100_000)
        _reserve_temp(Path({str(archive / "rejected" / "r.json")!r}), private=True).write_bytes(b"{{}}")
        print("written", flush=True)
        time.sleep(600)
    """)
    assert child.stdout.readline().strip() == "written", child.stderr.read()
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    left = sorted(archive.rglob(".*.tmp"))
    assert [p.name.startswith(".") and p.name.endswith(".tmp") for p in left] == [True, True]
    Inbox(tmp_path / "inbox", archive)
    assert sorted(archive.rglob(".*.tmp")) == left  # younger than a minute: perhaps a live writer's, kept
    for p in left:
        os.utime(p, (time.time() - 120, time.time() - 120))
    Inbox(tmp_path / "inbox", archive)
    assert list(archive.rglob(".*.tmp")) == []
