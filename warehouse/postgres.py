"""The warehouse at scale: PostgreSQL through psycopg 3, many ingest workers writing at once."""

from __future__ import annotations

import datetime as dt
import math
import re
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
import psycopg

from actionplan.councils import DEFAULT_COUNCIL
from actionplan.errors import WarehouseUnavailable
from actionplan.values import is_blank

from .base import TABLES, Warehouse, table_columns

# PostgreSQL type OIDs → how DuckDB hands the same column to pandas, so both backends give equal frames.
_DATES = {1082, 1114}  # date, timestamp (the schema has no timestamptz: times are stored in UTC, naive)
_INTS = {21: "int16", 23: "int32", 20: "int64"}
_FLOATS = {700, 701, 1700}  # real, double precision, numeric
_BOOL = 16

# Migrations from several workers starting at once must run one at a time: a session advisory lock.
_MIGRATE_LOCK = zlib.crc32(b"actionplan.migrate")

# '?' placeholders outside quoted literals and identifiers; '%' must be doubled for psycopg's '%s' style.
_LITERAL_OR_MARK = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?|%")


def _placeholders(sql: str) -> str:
    """The portable '?' SQL in psycopg's '%s' style (quoted text left alone)."""

    def swap(m: re.Match[str]) -> str:
        token = m.group(0)
        return "%s" if token == "?" else "%%" if token == "%" else token

    return _LITERAL_OR_MARK.sub(swap, sql)


def redacted(url: str) -> str:
    """The URL with its password hidden, fit for a message or a log."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def frame_from_cursor(cur: psycopg.Cursor) -> pd.DataFrame:
    """A query's rows as a frame typed the way DuckDB types the same columns (dates as datetime64[us])."""
    rows = cur.fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(cur.description)
    series = []
    for desc, values in zip(cur.description, columns, strict=True):
        oid, has_null = desc.type_code, any(v is None for v in values)
        if oid in _DATES:
            series.append(pd.Series(pd.to_datetime(list(values)), dtype="datetime64[us]"))
        elif oid in _INTS:
            dtype = _INTS[oid]
            series.append(pd.Series(values, dtype=dtype.capitalize() if has_null else dtype))
        elif oid in _FLOATS:
            series.append(pd.Series([None if v is None else float(v) for v in values], dtype="float64"))
        elif oid == _BOOL:
            series.append(pd.Series(values, dtype="boolean" if has_null else "bool"))
        else:
            series.append(pd.Series(values, dtype=None if values else object))
    frame = pd.concat(series, axis=1, ignore_index=True) if series else pd.DataFrame()
    frame.columns = [d.name for d in cur.description]  # by position: a query may repeat a name
    return frame


def _typed(value: Any, sql_type: str) -> Any:
    """One value typed as frame_for_table types it (a test holds the two paths to the same values)."""
    if sql_type == "BOOLEAN":
        return False if is_blank(value) else bool(value)
    if is_blank(value):
        return None
    if sql_type == "DATE":
        return dt.date.fromisoformat(value[:10]) if isinstance(value, str) else pd.Timestamp(value).date()
    if sql_type in ("DOUBLE PRECISION", "INTEGER"):
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        if math.isnan(number):
            return None
        return number if sql_type == "DOUBLE PRECISION" else int(number)
    return value


def copy_rows_from_record(table: str, rows: Any, submission_id: str) -> Iterator[tuple]:
    """A record's rows as COPY tuples, straight from the JSON values: no frame, a third of the time."""
    columns = table_columns(table, rows, submission_id)
    typed = [[_typed(v, sql_type) for v in columns[name]] for name, sql_type in TABLES[table]]
    return zip(*typed, strict=True)


def _copy_rows(table: str, frame: pd.DataFrame) -> Iterator[tuple]:
    """The frame's rows as plain Python values for COPY: NaN/NaT/NA → NULL, dates as dates."""
    columns = []
    for name, sql_type in TABLES[table]:
        col = frame[name]
        if sql_type == "DATE":
            columns.append([None if pd.isna(v) else pd.Timestamp(v).date() for v in col])
        else:
            columns.append(col.astype(object).where(col.notna(), None).tolist())
    return zip(*columns, strict=True)


class PostgresWarehouse(Warehouse):
    """Warehouse in a PostgreSQL database; loads are safe with many ingest workers at once."""

    param = "%s"

    def __init__(self, url: str, *, read_only: bool = False, connect_timeout: float = 10) -> None:
        self.url = url
        try:
            self.con = psycopg.connect(
                url,
                autocommit=True,
                connect_timeout=max(1, int(connect_timeout)),
                application_name="actionplan",
            )
        except psycopg.OperationalError as exc:
            reason = str(exc).strip().splitlines()[-1][:200] if str(exc).strip() else type(exc).__name__
            raise WarehouseUnavailable(
                f"The PostgreSQL warehouse {redacted(url)} cannot be reached: {reason}. Check that the server "
                "is running and that ACTIONPLAN_WAREHOUSE names the right host, port, database and user."
            ) from None
        if read_only:
            self.con.execute("SET default_transaction_read_only = on")

    def _sql(self, sql: str) -> str:
        return _placeholders(sql)

    def execute(self, sql: str, params: tuple | list = ()) -> None:
        # Without parameters psycopg sends the text as it is ('%' and '?' untouched).
        self.con.execute(self._sql(sql) if params else sql, list(params) if params else None)

    def query(self, sql: str, params: tuple | list = ()) -> pd.DataFrame:
        cur = self.con.execute(self._sql(sql) if params else sql, list(params) if params else None)
        return frame_from_cursor(cur)

    def rows(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        cur = self.con.execute(self._sql(sql) if params else sql, list(params) if params else None)
        return [tuple(row) for row in cur.fetchall()] if cur.description else []

    def insert_frame(self, table: str, frame: pd.DataFrame) -> None:
        self._copy(table, _copy_rows(table, frame))

    def insert_rows(self, table: str, rows: Any, submission_id: str) -> None:
        self._copy(table, copy_rows_from_record(table, rows, submission_id))

    def _copy(self, table: str, rows: Iterator[tuple]) -> None:
        columns = ", ".join(name for name, _ in TABLES[table])
        with self.con.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    @contextmanager
    def _outer_transaction(self) -> Iterator[None]:
        with self.con.transaction():  # commits, or rolls back on any exception (a dying worker too)
            yield

    def migrate(self) -> list[int]:
        """Apply pending migrations; workers starting together wait for each other instead of racing."""
        self.execute(f"SELECT pg_advisory_lock({_MIGRATE_LOCK})")
        try:
            return super().migrate()
        finally:
            self.execute(f"SELECT pg_advisory_unlock({_MIGRATE_LOCK})")

    # PostgreSQL sorts text by the database's collation (en_GB ignores punctuation); DuckDB and Python by
    # code point. Sorting again here keeps the rollup's row order the same on both backends.
    def departments(self, council: str = DEFAULT_COUNCIL) -> list[str]:
        return sorted(super().departments(council))

    def current(self, period: str, council: str = DEFAULT_COUNCIL) -> dict[str, pd.DataFrame]:
        out = super().current(period, council)
        for table, frame in out.items():
            keys = ["council", "department"] + (
                [] if table == "submissions" else ["seq"] if table == "messages" else ["sheet", "row_number"]
            )
            out[table] = (
                frame.sort_values(keys, kind="stable").reset_index(drop=True) if len(frame) else frame
            )
        return out

    def close(self) -> None:
        self.con.close()
