"""Two councils in one warehouse: seeded plans for each queued in one inbox, and a warehouse as migration 0001 made it.

Northfield has four departments and Eastmere three; the first three have the same names in both (Legal, HR &
Property; Finance; Chief Executive's Department). Each council's last department sends nothing in the last period,
so Northfield misses Adult Social Services and Eastmere misses Chief Executive's Department, which Northfield sent.
Eastmere submits an hour after Northfield, so its Finance is the later of the two.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

from actionplan.check import check_workbook
from actionplan.sample import write_council
from actionplan.vocabulary import period_from_text
from actionplan.warehouse import open_warehouse
from actionplan.warehouse.base import Warehouse, frame_for_table
from actionplan.warehouse.inbox import Inbox
from actionplan.warehouse.load import load_inbox
from actionplan.warehouse.migrations import migrations, statements

PERIODS = ("2024/25 Q1", "2024/25 Q2")
NORTH = "Northfield Borough Council"
EAST = "Eastmere & Vale District Council"
COUNCILS = {
    NORTH: {"departments": 4, "actions_total": 160, "seed": 11},
    EAST: {"departments": 3, "actions_total": 120, "seed": 12},
}
SHARED = ("Legal, HR & Property", "Finance", "Chief Executive's Department")
MISSING = {NORTH: ["Adult Social Services"], EAST: ["Chief Executive's Department"]}
T0 = dt.datetime(2024, 10, 14, 9, 0, tzinfo=dt.UTC)


def queue_councils(root: Path, councils: dict[str, dict[str, Any]] = COUNCILS) -> Inbox:
    """Write each council's seeded plans under root and queue them, stamped with their council, in one inbox."""
    inbox = Inbox(root / "inbox", root / "archive")
    for n, (council, sizes) in enumerate(councils.items()):
        written = write_council(root / "workbooks" / str(n), periods=PERIODS, **sizes)
        when = T0 + dt.timedelta(hours=n)
        for p, period in enumerate(PERIODS):
            for i, path in enumerate(written[period]):
                data = path.read_bytes()
                report = inbox.submit(
                    check_workbook(data, path.name),
                    data,
                    submitted_by=f"{council} officer",
                    council=council,
                    now=when + dt.timedelta(days=91 * p, minutes=i),
                )
                assert report["accepted"] and report["new"], report
    return inbox


def inbox_copy(root: Path, dest: Path) -> Inbox:
    """A private copy of a queued inbox, so each warehouse loads it afresh."""
    shutil.copytree(root / "inbox", dest / "inbox")
    return Inbox(dest / "inbox", dest / "archive")


def records(root: Path) -> list[dict[str, Any]]:
    return [
        json.loads(p.read_text(encoding="utf-8")) for p in sorted((root / "inbox" / "pending").glob("*.json"))
    ]


def loaded_warehouse(root: Path, url: str, dest: Path) -> str:
    """A warehouse at url holding every queued plan (loaded from a copy of the inbox); returns url."""
    wh = open_warehouse(url)
    try:
        result = load_inbox(inbox_copy(root, dest), wh)
        assert not result.failed, result.failed
    finally:
        wh.close()
    return url


# -- a warehouse as the code before councils made it ------------------------------------------------------------
def warehouse_at_0001(url: str) -> Warehouse:
    """A warehouse with migration 0001 applied and nothing after it, as every install before councils had."""
    wh = open_warehouse(url, migrate=False)
    wh.applied_migrations()  # creates schema_migrations
    first = migrations()[0]
    with wh.transaction():
        for statement in statements(first.sql):
            wh.execute(statement)
        wh.execute(
            "INSERT INTO schema_migrations VALUES (?, ?, ?)",
            (first.version, first.name, T0.replace(tzinfo=None)),
        )
    return wh


def load_as_0001(wh: Warehouse, record: dict[str, Any]) -> None:
    """Load a record the way the code before councils did (its SQL, word for word, on the 0001 schema)."""
    period = period_from_text(record["period"])
    submitted_at = dt.datetime.fromisoformat(record["submitted_at"]).replace(tzinfo=None)
    warnings = sum(1 for m in record["messages"] if m["level"] == "warning")
    as_at = dt.date.fromisoformat(record["as_at"][:10]) if record.get("as_at") else None
    with wh.transaction():
        wh.execute(
            "INSERT INTO departments VALUES (?, ?) ON CONFLICT DO NOTHING",
            (record["department"], submitted_at),
        )
        wh.execute(
            "INSERT INTO periods VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (period.label, period.start, period.end),
        )
        wh.execute(
            "INSERT INTO submissions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO NOTHING",
            (
                record["id"],
                record["sha256"],
                record["department"],
                period.label,
                record.get("file"),
                record.get("layout"),
                record.get("plan_title"),
                as_at,
                record.get("contact"),
                record.get("submitted_by"),
                submitted_at,
                T0.replace(tzinfo=None),
                "accepted",
                warnings,
                json.dumps(record.get("columns") or {}, ensure_ascii=False),
            ),
        )
        for table in ("objectives", "actions", "kpis", "messages"):
            if record.get(table):
                _insert_0001(wh, table, record[table], record["id"])


def _insert_0001(wh: Warehouse, table: str, rows: Any, submission_id: str) -> None:
    """A record's rows into a 0001 table: only the columns it had (later migrations added the KPI model's)."""
    had = list(wh.query(f"SELECT * FROM {table} WHERE 1 = 0").columns)
    frame = frame_for_table(table, rows, submission_id)
    frame = frame[[c for c in frame.columns if c in had]].astype(object)
    frame = frame.where(frame.notna(), None)
    marks = ", ".join("?" for _ in frame.columns)
    for values in frame.itertuples(index=False, name=None):
        wh.execute(f"INSERT INTO {table} ({', '.join(frame.columns)}) VALUES ({marks})", tuple(values))
