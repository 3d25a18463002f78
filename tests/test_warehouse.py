"""The warehouse on a real DuckDB file: migrations, idempotent loads, latest submission wins, the inbox."""

from __future__ import annotations

import datetime as dt

import pytest

from actionplan.check import check_workbook
from actionplan.warehouse import open_warehouse
from actionplan.warehouse.inbox import Inbox, submission_id
from actionplan.warehouse.load import load_inbox
from actionplan.warehouse.migrations import migrations, statements
from tests.conftest import GOOD_KPI, action, canonical_workbook


@pytest.fixture
def wh(tmp_path):
    w = open_warehouse(str(tmp_path / "warehouse.duckdb"))
    yield w
    w.close()


@pytest.fixture
def inbox(settings):
    return Inbox(settings.inbox_path, settings.archive_path)


def submit(inbox, path, by="tester", when=None, **kwargs):
    data = path.read_bytes()
    sub = check_workbook(data, path.name, **kwargs)
    return inbox.submit(sub, data, submitted_by=by, now=when)


def test_migrations_are_numbered_and_applied_once(tmp_path):
    ms = migrations()
    assert [m.version for m in ms] == list(range(1, len(ms) + 1))
    assert all(statements(m.sql) for m in ms)
    w = open_warehouse(str(tmp_path / "w.duckdb"))
    assert w.applied_migrations() == [m.version for m in ms]
    assert w.migrate() == []  # nothing left to apply
    w.close()
    again = open_warehouse(str(tmp_path / "w.duckdb"))
    assert again.migrate() == []
    assert set(again.submission_counts()) == {"submissions", "objectives", "actions", "kpis", "messages"}
    again.close()


def test_load_is_one_transaction_and_idempotent(tmp_path, inbox, wh):
    path = canonical_workbook(
        tmp_path / "f.xlsx", actions=[action("F1"), action("F2", lead=None)], kpis=[GOOD_KPI]
    )
    report = submit(inbox, path)
    assert report["accepted"] and report["new"]
    first = load_inbox(inbox, wh)
    assert len(first.loaded) == 1 and not first.failed
    assert wh.submission_counts() == {
        "submissions": 1,
        "objectives": 0,
        "actions": 2,
        "kpis": 1,
        "messages": 1,
    }
    # The same record again (a worker that died after the commit but before moving the file) is a no-op.
    record = inbox.read(next(inbox.loaded_dir.glob("*.json")))
    assert wh.load(record) is False
    assert wh.submission_counts()["actions"] == 2


def test_a_version_1_record_loads_the_same_as_its_version_2(tmp_path, inbox):
    """Records queued before tables were stored as columns (a dict per row) load to identical rows."""
    path = canonical_workbook(
        tmp_path / "f.xlsx", actions=[action("F1"), action("F2", lead=None, status="R")], kpis=[GOOD_KPI]
    )
    submit(inbox, path)
    record = inbox.read(inbox.pending()[0])
    assert record["version"] == 2 and record["actions"]["rows"] == 2
    old = {**record, "version": 1}
    for table in ("objectives", "actions", "kpis"):
        if record[table]:
            columns = record[table]["columns"]
            old[table] = [
                dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)
            ]
    loaded = {}
    for version, rec in (("v2", record), ("v1", old)):
        w = open_warehouse(str(tmp_path / f"{version}.duckdb"))
        assert w.load(rec)
        loaded[version] = {
            t: f.drop(columns=["loaded_at"], errors="ignore") for t, f in w.current(record["period"]).items()
        }
        w.close()
    for table, frame in loaded["v2"].items():
        assert frame.equals(loaded["v1"][table]), table
    assert list(loaded["v1"]["actions"]["ref"]) == ["F1", "F2"]


def test_failed_load_leaves_nothing_half_written(tmp_path, inbox, wh):
    path = canonical_workbook(tmp_path / "f.xlsx", actions=[action("F1"), action("F2")])
    submit(inbox, path)
    pending = inbox.pending()[0]
    record = inbox.read(pending)
    record["actions"]["columns"]["status"][1] = None  # violates NOT NULL after the first rows went in
    with pytest.raises(Exception):  # noqa: B017 - any database error will do; what matters is the rollback
        wh.load(record)
    assert wh.submission_counts() == {
        "submissions": 0,
        "objectives": 0,
        "actions": 0,
        "kpis": 0,
        "messages": 0,
    }
    assert load_inbox(inbox, wh).loaded == [record["id"]]  # the untouched record still loads


def test_identical_resubmission_is_one_submission(tmp_path, inbox, wh):
    path = canonical_workbook(tmp_path / "f.xlsx", actions=[action()])
    assert submit(inbox, path)["new"] is True
    assert submit(inbox, path)["new"] is False
    load_inbox(inbox, wh)
    assert submit(inbox, path)["new"] is False  # also once loaded
    assert load_inbox(inbox, wh).loaded == []
    assert wh.submission_counts()["submissions"] == 1
    data = path.read_bytes()
    assert wh.scalar("SELECT id FROM submissions") == submission_id(data, "Finance", "2024/25 Q2")


def test_rejected_submission_is_archived_and_never_reaches_the_warehouse(tmp_path, inbox, wh):
    bad = canonical_workbook(tmp_path / "bad.xlsx", actions=[action(due="31/11/17")])
    report = submit(inbox, bad)
    assert not report["accepted"]
    assert inbox.pending() == []
    rejected = inbox.rejected()
    assert len(rejected) == 1 and rejected[0]["report"]["errors"][0]["code"] == "impossible-date"
    assert (inbox.archive_dir / rejected[0]["raw"]).read_bytes() == bad.read_bytes()
    load_inbox(inbox, wh)
    assert wh.submission_counts()["submissions"] == 0


def test_latest_accepted_submission_is_current_and_earlier_ones_stay(tmp_path, inbox, wh):
    t0 = dt.datetime(2024, 10, 1, 9, 0, tzinfo=dt.UTC)
    submit(
        inbox,
        canonical_workbook(tmp_path / "v1.xlsx", actions=[action("F1", status="R", update="Late")]),
        when=t0,
    )
    submit(
        inbox,
        canonical_workbook(tmp_path / "v2.xlsx", actions=[action("F1", status="G"), action("F2")]),
        when=t0 + dt.timedelta(hours=2),
    )
    submit(inbox, canonical_workbook(tmp_path / "l.xlsx", "Legal", actions=[action("L1")]), when=t0)
    load_inbox(inbox, wh)
    current = wh.current("2024/25 Q2")
    assert list(current["submissions"]["department"]) == ["Finance", "Legal"]
    assert list(current["actions"]["ref"]) == ["F1", "F2", "L1"]
    assert list(current["actions"]["status"]) == ["G", "G", "G"]
    assert wh.submission_counts()["submissions"] == 3
    assert wh.departments() == ["Finance", "Legal"]
    assert wh.periods() == ["2024/25 Q2"]


def test_warehouse_locked_by_another_writer_says_so(tmp_path):
    import subprocess
    import sys

    from actionplan.errors import WarehouseUnavailable

    db = tmp_path / "locked.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb,time; c=duckdb.connect({str(db)!r}); print('ready', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(WarehouseUnavailable, match="in use by another process"):
            open_warehouse(str(db), wait_seconds=0.5)
    finally:
        holder.kill()
        holder.wait()


def test_every_attempt_is_audited(tmp_path, inbox):
    good = canonical_workbook(tmp_path / "f.xlsx", actions=[action()])
    bad = canonical_workbook(tmp_path / "b.xlsx", actions=[action(status="Greenish")])
    submit(inbox, good, by="anita")
    submit(inbox, good, by="anita")
    submit(inbox, bad, by="raj")
    log = inbox.audit_log()
    assert [(e["who"], e["outcome"], e["errors"]) for e in log] == [
        ("anita", "accepted", 0),
        ("anita", "duplicate", 0),
        ("raj", "rejected", 1),
    ]
    assert log[0]["submission_id"] == log[1]["submission_id"] and log[2]["submission_id"] is None
    assert log[0]["sha256"] == log[1]["sha256"] != log[2]["sha256"]


def test_a_load_of_many_checkpoints_once_at_the_end(tmp_path, inbox):
    """DuckDB's automatic checkpoints are put off while the inbox loads (one transaction per submission still) and
    done once after it: the WAL is empty then, the setting back to its default, and every submission is there."""
    import duckdb

    default = duckdb.connect().execute("SELECT current_setting('checkpoint_threshold')").fetchone()
    for n in range(3):
        path = canonical_workbook(tmp_path / f"d{n}.xlsx", department=f"Dept {n}", actions=[action(f"A{n}")])
        assert submit(inbox, path)["accepted"]
    path = tmp_path / "warehouse.duckdb"
    w = open_warehouse(str(path))
    seen = []
    real_load = w.load

    def load(record, frames=None):
        seen.append(w.scalar("SELECT current_setting('checkpoint_threshold')"))
        return real_load(record, frames)

    w.load = load
    try:
        result = load_inbox(inbox, w)
        assert len(result.loaded) == 3 and not result.failed
        assert set(seen) == {"14.9 GiB"}  # put off while the records load
        assert w.con.execute("SELECT current_setting('checkpoint_threshold')").fetchone() == default
        wal = tmp_path / "warehouse.duckdb.wal"
        assert not wal.exists() or wal.stat().st_size == 0  # checkpointed: the file holds it all
        assert w.submission_counts()["submissions"] == 3
    finally:
        w.close()
