"""The embedded warehouse: one DuckDB file, one writing process at a time."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd

from actionplan.errors import WarehouseUnavailable

from .base import TABLES, Warehouse


class DuckDBWarehouse(Warehouse):
    """Warehouse in a DuckDB file (or ':memory:' for tests of the SQL alone)."""

    def __init__(self, path: str | Path, read_only: bool = False, wait_seconds: float = 0.0) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                self.con = duckdb.connect(self.path, read_only=read_only and Path(self.path).exists())
                break
            except duckdb.IOException as exc:
                # DuckDB allows one writing process per file: another ingest or consolidate holds it.
                if time.monotonic() >= deadline:
                    raise WarehouseUnavailable(
                        f"The warehouse {self.path} is in use by another process (an ingest or consolidation "
                        f"is running). Try again in a minute. ({str(exc).splitlines()[0][:160]})"
                    ) from None
                time.sleep(0.2)

    def execute(self, sql: str, params: tuple | list = ()) -> None:
        self.con.execute(sql, list(params))

    def query(self, sql: str, params: tuple | list = ()) -> pd.DataFrame:
        return self.con.execute(sql, list(params)).df()

    def rows(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        return self.con.execute(sql, list(params)).fetchall()

    def insert_frame(self, table: str, frame: pd.DataFrame) -> None:
        columns = ", ".join(name for name, _ in TABLES[table])
        self.con.register("_incoming", frame)
        try:
            self.con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM _incoming")
        finally:
            self.con.unregister("_incoming")

    @contextmanager
    def loading_many(self) -> Iterator[None]:
        # DuckDB checkpoints (writes the WAL into the file) at any commit that finds the WAL over 16 MB: a quarter's
        # 50 submissions paid for several, half the time of their commits. One checkpoint at the end instead; each
        # commit is still durable in the WAL, which a crash meanwhile replays on the next open.
        self.con.execute("SET checkpoint_threshold = '16GB'")
        try:
            yield
        finally:
            self.con.execute("RESET checkpoint_threshold")
            try:
                self.con.execute("CHECKPOINT")
            # Another transaction of this process still open: the next commit or close checkpoints.
            except duckdb.Error:
                pass

    @contextmanager
    def _outer_transaction(self) -> Iterator[None]:
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        else:
            self.con.execute("COMMIT")

    def close(self) -> None:
        self.con.close()
