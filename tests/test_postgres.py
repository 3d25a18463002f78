"""The PostgreSQL warehouse on a real server this session starts: migrations, exactly-once loads, same rollup."""

from __future__ import annotations

import json
import multiprocessing
import random
import shutil
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from actionplan.check import check_workbook
from actionplan.councils import DEFAULT_COUNCIL
from actionplan.errors import WarehouseNeedsUpgrade, WarehouseUnavailable
from actionplan.sample import write_council
from actionplan.warehouse import open_warehouse
from actionplan.warehouse.base import record_table
from actionplan.warehouse.inbox import Inbox
from actionplan.warehouse.load import load_inbox
from actionplan.warehouse.migrations import migrations
from tests import councils, pgserver

PERIODS = ("2024/25 Q1", "2024/25 Q2")
EMPTY = {"submissions": 0, "objectives": 0, "actions": 0, "kpis": 0, "messages": 0}


@pytest.fixture(scope="session")
def pg_server():
    """One PostgreSQL server for the session, in a temp folder on a free loopback port."""
    bin_dir = pgserver.postgres_bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (no initdb/pg_ctl): apt-get install postgresql")
    with pgserver.running_postgres(bin_dir) as url:
        yield url


@pytest.fixture
def pg_url(pg_server):
    """A fresh, empty database for one test."""
    with pgserver.fresh_database(pg_server) as url:
        yield url


@pytest.fixture
def pg(pg_url):
    wh = open_warehouse(pg_url)
    yield wh
    wh.close()


@pytest.fixture(scope="module")
def council_inbox(tmp_path_factory) -> Path:
    """A seeded council's two quarters (7 plans, ~300 actions a quarter), checked and queued in an inbox."""
    root = tmp_path_factory.mktemp("council")
    written = write_council(root / "workbooks", periods=PERIODS, departments=4, actions_total=300)
    inbox = Inbox(root / "inbox", root / "archive")
    for paths in written.values():
        for path in paths:
            data = path.read_bytes()
            assert inbox.submit(check_workbook(data, path.name), data, submitted_by="test")["accepted"]
    return root


def inbox_copy(council_inbox: Path, dest: Path) -> Inbox:
    """A private copy of the council's pending inbox, so each test loads it afresh."""
    shutil.copytree(council_inbox / "inbox", dest / "inbox")
    return Inbox(dest / "inbox", dest / "archive")


def records(council_inbox: Path) -> list[dict]:
    return [
        json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((council_inbox / "inbox/pending").glob("*.json"))
    ]


def without_load_time(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return {name: f.drop(columns=["loaded_at"], errors="ignore") for name, f in frames.items()}


# -- the SQL dialect ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("portable", "psycopg_style"),
    [
        ("SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = %s AND b = %s"),
        ("SELECT '?' , ? FROM t", "SELECT '?' , %s FROM t"),  # a literal question mark stays
        ("SELECT 'it''s ?' || ?", "SELECT 'it''s ?' || %s"),  # doubled quote inside a literal
        (
            "SELECT \"odd?name\" FROM t WHERE x LIKE '5%' AND y = ?",
            "SELECT \"odd?name\" FROM t WHERE x LIKE '5%' AND y = %s",
        ),
        ("SELECT 100 % 7 + ?", "SELECT 100 %% 7 + %s"),  # modulo must be escaped for psycopg
    ],
)
def test_placeholders_portable_to_psycopg(portable, psycopg_style):
    from actionplan.warehouse.postgres import _placeholders

    assert _placeholders(portable) == psycopg_style


ODD_ROWS = {  # values a record could carry that the typing must treat the same on both paths
    "actions": [
        {
            "row": 7,
            "ref": 12,
            "status": "G",
            "due_date": "2024-07-31T00:00:00",
            "revised_due_date": None,
            "overdue": None,
            "slipped": 1,
            "exception": False,
            "extra": {"Notes": "ok"},
        }
    ],
    "kpis": [
        {
            "row": 3.0,
            "ref": "K1",
            "performance": "within",
            "target": "95",
            "actual": float("nan"),
            "tolerance": 0.025,
            "comment": float("nan"),
        }
    ],
}


def test_copy_rows_from_record_match_the_frame_path(council_inbox):
    from actionplan.warehouse.base import TABLES, frame_for_table
    from actionplan.warehouse.postgres import _copy_rows, copy_rows_from_record

    for record in [*records(council_inbox), {"id": "odd", **ODD_ROWS}]:
        for table in TABLES:
            rows = record.get(table) or []
            direct = list(copy_rows_from_record(table, rows, record["id"]))
            assert direct == list(_copy_rows(table, frame_for_table(table, rows, record["id"]))), table


def test_unreachable_server_says_so_without_the_password():
    url = f"postgresql://ap:s3cret@127.0.0.1:{pgserver.free_port()}/actionplan"
    with pytest.raises(WarehouseUnavailable, match="cannot be reached") as caught:
        open_warehouse(url)
    assert "s3cret" not in str(caught.value) and "ap:***@127.0.0.1" in str(caught.value)


# -- schema ------------------------------------------------------------------------------------------------
def test_postgres_migrations_applied_once(pg_url):
    versions = [m.version for m in migrations()]
    # Several workers starting at once on an empty database: the advisory lock makes them take turns.
    with ThreadPoolExecutor(4) as pool:
        applied = list(pool.map(lambda _: _migrate(pg_url), range(4)))
    assert sorted(applied, key=len) == [[], [], [], versions]
    wh = open_warehouse(pg_url)
    assert wh.applied_migrations() == versions and wh.migrate() == []
    assert wh.submission_counts() == EMPTY
    wh.close()


def _migrate(url: str) -> list[int]:
    wh = open_warehouse(url, migrate=False)
    try:
        return wh.migrate()
    finally:
        wh.close()


# -- loading -----------------------------------------------------------------------------------------------
def test_postgres_load_is_idempotent(council_inbox, pg):
    record = records(council_inbox)[0]
    assert pg.load(record) is True
    counts = pg.submission_counts()
    assert counts["submissions"] == 1 and counts["actions"] == record["actions"]["rows"] > 0
    assert pg.load(record) is False  # a worker that died after the commit, retried
    assert pg.submission_counts() == counts


def test_postgres_failed_load_leaves_nothing_half_written(council_inbox, pg):
    record = records(council_inbox)[0]
    record["actions"]["columns"]["status"][-1] = None  # violates NOT NULL after the other rows went in
    with pytest.raises(Exception):  # noqa: B017 - any database error will do; what matters is the rollback
        pg.load(record)
    assert pg.submission_counts() == EMPTY
    record["actions"]["columns"]["status"][-1] = "G"
    assert pg.load(record) is True


def test_postgres_same_record_from_many_threads_loads_once(council_inbox, pg_url):
    record = records(council_inbox)[0]
    barrier = threading.Barrier(6)

    def load() -> bool:
        wh = open_warehouse(pg_url)
        try:
            barrier.wait(timeout=30)
            return wh.load(record)
        finally:
            wh.close()

    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(lambda _: load(), range(6)))
    assert outcomes.count(True) == 1
    wh = open_warehouse(pg_url)
    assert wh.submission_counts()["actions"] == record["actions"]["rows"]
    wh.close()


def _load_inbox_in_a_process(url: str, inbox_dir: str, archive_dir: str) -> tuple[list[str], list[str], dict]:
    wh = open_warehouse(url)
    try:
        result = load_inbox(Inbox(Path(inbox_dir), Path(archive_dir)), wh)
    finally:
        wh.close()
    return result.loaded, result.already, result.failed


def test_postgres_workers_loading_one_inbox_load_each_submission_once(council_inbox, tmp_path, pg_url):
    inbox = inbox_copy(council_inbox, tmp_path)
    expected = records(council_inbox)
    open_warehouse(pg_url).close()  # migrated once, so the workers race on the data, not the schema
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(4, mp_context=ctx) as pool:
        futures = [
            pool.submit(
                _load_inbox_in_a_process, pg_url, str(inbox.pending_dir.parent), str(inbox.archive_dir)
            )
            for _ in range(4)
        ]
        results = [f.result(timeout=120) for f in futures]
    loaded = [rid for r in results for rid in r[0]]
    assert all(r[2] == {} for r in results)
    assert sorted(loaded) == sorted(r["id"] for r in expected)  # each exactly once, none lost
    assert inbox.pending() == [] and len(list(inbox.loaded_dir.glob("*.json"))) == len(expected)
    wh = open_warehouse(pg_url)
    counts = wh.submission_counts()
    wh.close()
    assert counts == {
        "submissions": len(expected),
        **{
            t: sum(record_table(r[t])[0] for r in expected)
            for t in ("objectives", "actions", "kpis", "messages")
        },
    }


def _load_then_hang(url: str, record: dict, started) -> None:
    """Load a record but stop dead after the first rows are written, as a worker killed mid-load would."""
    from actionplan.warehouse.postgres import PostgresWarehouse

    original = PostgresWarehouse.insert_rows

    def insert_then_hang(self, *args):
        original(self, *args)
        started.set()
        threading.Event().wait(120)

    PostgresWarehouse.insert_rows = insert_then_hang
    open_warehouse(url).load(record)


def test_postgres_worker_killed_mid_load_is_retried(council_inbox, pg_url):
    record = records(council_inbox)[0]
    open_warehouse(pg_url).close()
    ctx = multiprocessing.get_context("spawn")
    started = ctx.Event()
    dying = ctx.Process(target=_load_then_hang, args=(pg_url, record, started))
    dying.start()
    try:
        assert started.wait(60), "the first worker never got as far as writing rows"
        # A second worker takes the same record: the database holds it until the first one's fate is known.
        with ThreadPoolExecutor(1) as pool:
            retry = pool.submit(lambda: _load_one(pg_url, record))
            with pytest.raises(TimeoutError):
                retry.result(timeout=1)
            dying.kill()
            assert retry.result(timeout=60) is True
    finally:
        dying.kill()
        dying.join(10)
    wh = open_warehouse(pg_url)
    assert wh.submission_counts()["actions"] == record["actions"]["rows"]
    wh.close()


def _load_one(url: str, record: dict) -> bool:
    wh = open_warehouse(url)
    try:
        return wh.load(record)
    finally:
        wh.close()


# -- same results ------------------------------------------------------------------------------------------
def test_postgres_current_frames_equal_duckdb(council_inbox, pg, tmp_path):
    duck = open_warehouse(str(tmp_path / "w.duckdb"))
    shuffled = records(council_inbox)
    random.Random(7).shuffle(shuffled)
    for record in shuffled:
        assert pg.load(record) and duck.load(record)
    assert pg.submission_counts() == duck.submission_counts()
    assert pg.departments() == duck.departments() and pg.periods() == duck.periods()
    for period in PERIODS:
        ours, theirs = without_load_time(pg.current(period)), without_load_time(duck.current(period))
        for table in ours:
            pd.testing.assert_frame_equal(ours[table], theirs[table], obj=f"{period} {table}")
    duck.close()


TYPED_ROW = (
    "SELECT CAST(1 AS INTEGER) AS i, CAST(NULL AS INTEGER) AS i_null, count(*) AS n, "
    "CAST('2024-07-31' AS DATE) AS d, CAST(NULL AS DATE) AS d_null, "
    "CAST('2024-07-31 09:30:00' AS TIMESTAMP) AS ts, TRUE AS b, CAST(NULL AS BOOLEAN) AS b_null, "
    "CAST(1.5 AS DOUBLE PRECISION) AS f, CAST(NULL AS DOUBLE PRECISION) AS f_null, "
    "CAST('x' AS TEXT) AS t, CAST(NULL AS TEXT) AS t_null, CAST(? AS TEXT) AS p FROM periods"
)


def test_postgres_query_types_equal_duckdb(pg, tmp_path):
    duck = open_warehouse(str(tmp_path / "w.duckdb"))
    pd.testing.assert_frame_equal(pg.query(TYPED_ROW, ("50%?",)), duck.query(TYPED_ROW, ("50%?",)))
    empty = "SELECT * FROM actions WHERE submission_id = ?"
    pd.testing.assert_frame_equal(pg.query(empty, ("none",)), duck.query(empty, ("none",)))
    duck.close()


def _export(monkeypatch, capsys, warehouse_url: str, period: str, *options: str) -> str:
    from actionplan.cli import main

    monkeypatch.setenv("ACTIONPLAN_WAREHOUSE", warehouse_url)
    assert main(["export", "--period", period, *options]) == 0
    return capsys.readouterr().out


def test_postgres_export_json_equals_duckdb(council_inbox, tmp_path, pg_url, home, monkeypatch, capsys):
    duck_url = str(tmp_path / "warehouse.duckdb")
    for url, folder in ((duck_url, tmp_path / "duck"), (pg_url, tmp_path / "pg")):
        wh = open_warehouse(url)
        load_inbox(inbox_copy(council_inbox, folder), wh)
        wh.close()
    for period in PERIODS:
        from_duckdb = _export(monkeypatch, capsys, duck_url, period)
        from_postgres = _export(monkeypatch, capsys, pg_url, period)
        assert from_postgres == from_duckdb
        facts = json.loads(from_postgres)
        assert facts["period"] == period and facts["summary"][-1]["Total"] > 0


# -- several councils ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def two_councils(tmp_path_factory) -> Path:
    """Two councils' plans (both with a Finance), queued in one inbox with their council."""
    root = tmp_path_factory.mktemp("two-councils")
    councils.queue_councils(root)
    return root


def test_postgres_two_councils_export_json_equals_duckdb(
    two_councils, tmp_path, pg_url, home, monkeypatch, capsys
):
    duck_url = councils.loaded_warehouse(two_councils, str(tmp_path / "warehouse.duckdb"), tmp_path / "duck")
    councils.loaded_warehouse(two_councils, pg_url, tmp_path / "pg")
    pg = open_warehouse(pg_url, read_only=True)
    try:
        assert pg.councils() == [councils.EAST, councils.NORTH]
        assert pg.departments(councils.EAST) == sorted(councils.SHARED)
    finally:
        pg.close()
    for period in councils.PERIODS:
        for council in (councils.NORTH, councils.EAST, "all"):
            from_duckdb = _export(monkeypatch, capsys, duck_url, period, "--council", council)
            from_postgres = _export(monkeypatch, capsys, pg_url, period, "--council", council)
            assert from_postgres == from_duckdb, (period, council)
    combined = json.loads(from_postgres)
    assert [r["Council"] for r in combined["councils"]] == [
        councils.EAST,
        councils.NORTH,
        "All councils total",
    ]
    assert combined["missing"] == [
        f"{councils.EAST} — Chief Executive's Department",
        f"{councils.NORTH} — Adult Social Services",
    ]


def test_postgres_warehouse_from_0001_upgrades_in_place(tmp_path, pg_url, home, monkeypatch, capsys):
    root = tmp_path / "single"
    councils.queue_councils(root, {DEFAULT_COUNCIL: {"departments": 3, "actions_total": 90, "seed": 5}})
    old = councils.warehouse_at_0001(pg_url)
    for record in councils.records(root):
        councils.load_as_0001(old, {k: v for k, v in record.items() if k != "council"})
    before = old.submission_counts()
    old.close()
    with pytest.raises(WarehouseNeedsUpgrade):
        open_warehouse(pg_url, read_only=True)
    wh = open_warehouse(pg_url, migrate=False)
    try:
        assert wh.migrate() == [2, 3] and wh.submission_counts() == before
        assert wh.councils() == [DEFAULT_COUNCIL]
        assert sorted(wh.query("SELECT id FROM submissions")["id"]) == sorted(
            r["id"] for r in councils.records(root)
        )
    finally:
        wh.close()
    duck_url = councils.loaded_warehouse(root, str(tmp_path / "fresh.duckdb"), tmp_path / "fresh")
    for period in councils.PERIODS:
        assert _export(monkeypatch, capsys, pg_url, period) == _export(monkeypatch, capsys, duck_url, period)
