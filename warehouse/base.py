"""The warehouse interface: migrations, loading a submission record in one transaction, reading a period back."""

from __future__ import annotations

import datetime as dt
import json
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from actionplan.columns import ITEM_KINDS, stored_columns
from actionplan.councils import ALL_COUNCILS, DEFAULT_COUNCIL, council_name
from actionplan.values import is_blank
from actionplan.vocabulary import period_from_text

from .migrations import Migration, migrations, statements

# Table → (column, SQL type) in insert order; the record's field is the column name except row_number.
TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    **{kind: stored_columns(kind) for kind in ITEM_KINDS},  # declared in actionplan/columns.py
    "messages": (
        ("submission_id", "TEXT"),
        ("seq", "INTEGER"),
        ("level", "TEXT"),
        ("code", "TEXT"),
        ("sheet", "TEXT"),
        ("cell", "TEXT"),
        ("value", "TEXT"),
        ("message", "TEXT"),
    ),
}

# The current data of a council's department for a period is its latest accepted submission; earlier ones stay for
# audit. Partitioned by council too: two councils' Finance are two departments, each with its own latest return.
CURRENT_SUBMISSIONS = """
SELECT s.* FROM submissions s
JOIN (SELECT id, row_number() OVER (PARTITION BY council, department
                                    ORDER BY submitted_at DESC, loaded_at DESC, id) AS rn
      FROM submissions WHERE period = ?) latest
  ON latest.id = s.id AND latest.rn = 1
"""


def current_submissions(council: str) -> tuple[str, tuple[str, ...]]:
    """CURRENT_SUBMISSIONS for one council (or ALL_COUNCILS) and the parameters it takes after the period."""
    if council == ALL_COUNCILS:
        return CURRENT_SUBMISSIONS, ()
    return CURRENT_SUBMISSIONS + "WHERE s.council = ?\n", (council,)


def record_table(value: Any) -> tuple[int, dict[str, list[Any]]]:
    """A record's table as (row count, field → values), whichever way it was stored: version 2 keeps columns,
    version 1 a dict per row (a field a row lacks is None)."""
    if isinstance(value, dict):
        columns = value.get("columns") or {}
        return int(value.get("rows", len(next(iter(columns.values()), [])))), columns
    rows = value or []
    fields = dict.fromkeys(k for row in rows for k in row)
    return len(rows), {k: [row.get(k) for row in rows] for k in fields}


def table_columns(table: str, value: Any, submission_id: str) -> dict[str, list[Any]]:
    """The table's columns, in order, with a record's values (not yet typed): the record's field names are
    the columns' names, except row_number (the record's row), seq, submission_id and extra_json."""
    n, fields = record_table(value)
    out: dict[str, list[Any]] = {}
    for name, _ in TABLES[table]:
        if name == "submission_id":
            out[name] = [submission_id] * n
        elif name == "row_number":
            out[name] = fields.get("row") or [None] * n
        elif name == "seq":
            out[name] = list(range(1, n + 1))
        elif name == "extra_json":
            out[name] = [
                json.dumps(v, ensure_ascii=False) if v else None for v in fields.get("extra") or [None] * n
            ]
        else:
            out[name] = fields.get(name) or [None] * n
    return out


def _iso_day(value: Any) -> Any:
    return value[:10] if isinstance(value, str) else value


def frame_for_table(table: str, rows: Any, submission_id: str) -> pd.DataFrame:
    """A record's table as a frame with exactly the table's columns, in order, typed for loading.

    Typed column by column on plain lists and built once: pandas operations cost about 0.1 ms each
    whatever their size, which for a table of twenty-odd columns was most of a submission's load.
    """
    columns = table_columns(table, rows, submission_id)
    typed: dict[str, Any] = {}
    for name, sql_type in TABLES[table]:
        values = columns[name]
        if sql_type == "DATE":
            typed[name] = (
                pd.to_datetime(pd.Series([_iso_day(v) for v in values], dtype=object))
                .astype("datetime64[us]")
                .to_numpy()
            )
        elif sql_type == "BOOLEAN":
            typed[name] = np.array([False if is_blank(v) else bool(v) for v in values], dtype=bool)
        elif sql_type == "DOUBLE PRECISION":
            typed[name] = (
                pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").astype("float64").to_numpy()
            )
        elif sql_type == "INTEGER":
            typed[name] = (
                pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").astype("Int64").array
            )
        else:
            # is_blank inlined (text from JSON is a string or None; a version-1 record may carry NaN).
            typed[name] = np.array(
                [None if v is None or (v.__class__ is float and v != v) or v is pd.NA else v for v in values],
                dtype=object,
            )
    return pd.DataFrame(typed, copy=False)


class Warehouse(ABC):
    """A SQL warehouse behind one interface; DuckDB by default, PostgreSQL at scale."""

    param = "?"

    @abstractmethod
    def execute(self, sql: str, params: tuple | list = ()) -> None: ...

    @abstractmethod
    def query(self, sql: str, params: tuple | list = ()) -> pd.DataFrame: ...

    @abstractmethod
    def insert_frame(self, table: str, frame: pd.DataFrame) -> None: ...

    @abstractmethod
    def _outer_transaction(self) -> Any:
        """A context manager: begin; commit on success, roll back on any exception."""

    _depth = 0

    @contextmanager
    def loading_many(self) -> Iterator[None]:
        """Around a load of many submissions (one transaction each): a backend may put off work it would
        otherwise repeat at every commit. Nothing here; DuckDB checkpoints once, at the end."""
        yield

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction; nested calls join the outer one (a load inside a caller's transaction)."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._depth = 1
        try:
            with self._outer_transaction():
                yield
        finally:
            self._depth = 0

    @abstractmethod
    def close(self) -> None: ...

    def _sql(self, sql: str) -> str:
        return sql if self.param == "?" else sql.replace("?", self.param)

    def rows(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        """A small query's rows as tuples (a backend may skip building a frame for them)."""
        return list(self.query(sql, params).itertuples(index=False, name=None))

    def scalar(self, sql: str, params: tuple | list = ()) -> Any:
        found = self.rows(sql, params)
        return found[0][0] if found else None

    # -- schema -------------------------------------------------------------------------------------
    def applied_migrations(self) -> list[int]:
        self.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
            "name TEXT NOT NULL, applied_at TIMESTAMP NOT NULL)"
        )
        return [
            int(v) for v in self.query("SELECT version FROM schema_migrations ORDER BY version")["version"]
        ]

    def pending_migrations(self) -> list[Migration]:
        """The migrations not applied yet, found without writing (a read-only connection can ask)."""
        try:
            done = {int(v) for v in self.query("SELECT version FROM schema_migrations")["version"]}
        except Exception:  # no schema_migrations table: nothing applied (the driver's error type differs)
            done = set()
        return [m for m in migrations() if m.version not in done]

    def migrate(self) -> list[int]:
        """Apply every migration not yet applied, each in its own transaction; returns the versions applied."""
        done = set(self.applied_migrations())
        applied = []
        for m in migrations():
            if m.version in done:
                continue
            with self.transaction():
                for statement in statements(m.sql):
                    self.execute(statement)
                self.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                    (m.version, m.name, dt.datetime.now(dt.UTC).replace(tzinfo=None)),
                )
            applied.append(m.version)
        return applied

    # -- loading ------------------------------------------------------------------------------------
    def has_submission(self, submission_id: str) -> bool:
        return self.scalar("SELECT count(*) FROM submissions WHERE id = ?", (submission_id,)) > 0

    def load(self, record: dict[str, Any], frames: dict[str, pd.DataFrame] | None = None) -> bool:
        """Load one accepted submission record in one transaction; False when it was already loaded. frames: its
        tables as frame_for_table makes them, where they were made already (load.ReadAhead)."""
        rid = record["id"]
        period = period_from_text(record["period"])
        if period is None:
            raise ValueError(f"submission {rid} has an unrecognised period {record['period']!r}")
        # A record written before councils existed has none: it is the default council's (its id says so too).
        council = council_name(record.get("council") or DEFAULT_COUNCIL)
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        submitted_at = dt.datetime.fromisoformat(record["submitted_at"]).replace(tzinfo=None)
        with self.transaction():
            if self.has_submission(rid):
                return False
            # ON CONFLICT: with many ingest workers (PostgreSQL) another may insert the same key meanwhile; the
            # database then makes this one wait for that commit, and the submission insert below is the guard.
            department = self.department_on_record(council, record["department"])
            self.execute(
                "INSERT INTO departments (council, name, first_seen) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (council, department, submitted_at),
            )
            self.execute(
                "INSERT INTO periods VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (period.label, period.start, period.end),
            )
            warnings = sum(1 for m in record["messages"] if m["level"] == "warning")
            as_at = dt.date.fromisoformat(record["as_at"][:10]) if record.get("as_at") else None
            inserted = self.rows(
                "INSERT INTO submissions (id, sha256, council, department, period, file_name, layout, plan_title, "
                "as_at, contact, submitted_by, submitted_at, loaded_at, outcome, warnings, columns_json) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING id",
                (
                    rid,
                    record["sha256"],
                    council,
                    department,
                    period.label,
                    record.get("file"),
                    record.get("layout"),
                    record.get("plan_title"),
                    as_at,
                    record.get("contact"),
                    record.get("submitted_by"),
                    submitted_at,
                    now,
                    "accepted",
                    warnings,
                    json.dumps(record.get("columns") or {}, ensure_ascii=False),
                ),
            )
            if not inserted:  # another worker loaded it between the check above and here
                return False
            for table in ("objectives", "actions", "kpis", "messages"):
                made = (frames or {}).get(table)
                if made is not None:
                    self.insert_frame(table, made)
                    continue
                rows = record.get(table) or []
                if record_table(rows)[0]:
                    self.insert_rows(table, rows, rid)
        return True

    def department_on_record(self, council: str, name: str) -> str:
        """The spelling a council's department is on record under ('FINANCE' is the Finance already there), or the
        name itself for a department new to the warehouse."""
        from actionplan.register import fold_name

        wanted = fold_name(name)
        for known in self.departments(council):
            if fold_name(known) == wanted:
                return known
        return name

    def insert_rows(self, table: str, rows: Any, submission_id: str) -> None:
        """Insert a record's rows into a table; a backend with a faster path than a frame overrides this."""
        self.insert_frame(table, frame_for_table(table, rows, submission_id))

    # -- reading ------------------------------------------------------------------------------------
    def councils(self) -> list[str]:
        """Every council on record (one with a department that has submitted), A–Z."""
        names = self.query("SELECT DISTINCT council FROM departments")["council"]
        return sorted(names, key=lambda n: (n.casefold(), n))

    def departments(self, council: str = DEFAULT_COUNCIL) -> list[str]:
        """The departments a council expects: every one that has ever submitted for it."""
        return [
            name
            for (name,) in self.rows(
                "SELECT name FROM departments WHERE council = ? ORDER BY name", (council,)
            )
        ]

    def departments_by_council(self) -> dict[str, list[str]]:
        """Every council on record and its departments."""
        return {council: self.departments(council) for council in self.councils()}

    def periods(self, council: str = DEFAULT_COUNCIL) -> list[str]:
        """The periods a council (or ALL_COUNCILS) has submissions for, oldest first."""
        if council == ALL_COUNCILS:
            frame = self.query("SELECT period FROM periods ORDER BY end_date, start_date DESC")
        else:
            frame = self.query(
                "SELECT period FROM periods WHERE period IN (SELECT period FROM submissions "
                "WHERE council = ?) ORDER BY end_date, start_date DESC",
                (council,),
            )
        return list(frame["period"])

    def kpi_performance_counts(self, submission_ids: list[str]) -> dict[str, dict[str, int]]:
        """submission → {performance: KPIs} for the submissions given (better, …, not due, data only)."""
        if not submission_ids:
            return {}
        marks = ", ".join("?" for _ in submission_ids)
        found = self.query(
            f"SELECT submission_id, performance, COUNT(*) AS n FROM kpis WHERE submission_id IN ({marks}) "
            "GROUP BY submission_id, performance",
            list(submission_ids),
        )
        out: dict[str, dict[str, int]] = {}
        for sid, performance, n in zip(found["submission_id"], found["performance"], found["n"], strict=True):
            out.setdefault(str(sid), {})[str(performance)] = int(n)
        return out

    def current_submissions(self, period: str, council: str = DEFAULT_COUNCIL) -> pd.DataFrame:
        """The current submission of each of a council's departments (every council's: ALL_COUNCILS) for a period."""
        sql, params = current_submissions(council)
        return self.query(sql + "ORDER BY s.council, s.department", (period, *params))

    def current(self, period: str, council: str = DEFAULT_COUNCIL) -> dict[str, pd.DataFrame]:
        """The latest accepted submission of each department of a council (or ALL_COUNCILS) for the period, with
        its rows and messages."""
        out = {"submissions": self.current_submissions(period, council)}
        sql, params = current_submissions(council)
        for table in ("objectives", "actions", "kpis", "messages"):
            order = "t.seq" if table == "messages" else "t.sheet, t.row_number"
            out[table] = self.query(
                f"SELECT c.council, c.department, t.* FROM {table} t JOIN ({sql}) c "
                f"ON c.id = t.submission_id ORDER BY c.council, c.department, {order}",
                (period, *params),
            )
        return out

    def submission_counts(self) -> dict[str, int]:
        return {t: int(self.scalar(f"SELECT count(*) FROM {t}")) for t in ("submissions", *TABLES)}
