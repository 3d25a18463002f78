"""Load the inbox into the warehouse: one transaction per submission, idempotent on the submission id."""

from __future__ import annotations

import json
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from actionplan import progress

from .base import Warehouse, frame_for_table, record_table
from .inbox import Inbox

READ_AHEAD_BYTES = (
    64 << 20
)  # of record files read ahead at most (parsed, several times that): the rest as they load


@dataclass
class LoadResult:
    """What one pass over the inbox did."""

    loaded: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    # Per record loaded (or found already loaded): id, council, department, period, warnings, outcome.
    records: list[dict] = field(default_factory=list)

    def summary(self) -> str:
        text = f"{len(self.loaded)} loaded, {len(self.already)} already in the warehouse"
        return text + (f", {len(self.failed)} failed" if self.failed else "")


Prepared = tuple[dict[str, Any], dict[str, pd.DataFrame] | None]  # a record, and its tables as frames


def _prepare(path: Path, frames: bool) -> Prepared:
    record = json.loads(path.read_text(encoding="utf-8"))
    if not frames:
        return record, None
    try:
        return record, {
            table: frame_for_table(table, record.get(table), record["id"])
            for table in ("objectives", "actions", "kpis", "messages")
            if record_table(record.get(table) or [])[0]
        }
    except Exception:  # the load makes them again, and fails the record in its own words
        return record, None


class ReadAhead:
    """The inbox's pending records read (and, for a warehouse that loads frames, typed) ahead of their load, by a
    thread of this process: while it waits for Prefect's temporary server to start, one of its cores is idle.
    Reading a record has no effect, so one read ahead and never loaded (another worker took it) costs nothing
    but the reading; records of more than READ_AHEAD_BYTES in all are read when they load, as without this."""

    def __init__(self, inbox: Inbox, frames: bool) -> None:
        self.folder = inbox.pending_dir
        self._ahead: dict[Path, Future[Prepared]] = {}
        reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead")
        total = 0
        for path in inbox.pending():  # the order the load takes them in
            try:
                total += path.stat().st_size
            except OSError:
                continue
            if total > READ_AHEAD_BYTES:
                break
            self._ahead[path] = reader.submit(_prepare, path, frames)
        reader.shutdown(wait=False)

    def wait(self) -> None:
        """Return once every record taken on is read (for a caller that must know the reading is over)."""
        for future in list(self._ahead.values()):
            future.exception()

    def take(self, path: Path) -> Prepared | None:
        """A record read ahead (raising what reading it raised), or None when it was not."""
        future = self._ahead.pop(path, None)
        return None if future is None else future.result()


_ahead: ReadAhead | None = None
_ahead_lock = threading.Lock()


def read_ahead(inbox: Inbox, frames: bool) -> ReadAhead:
    """Begin reading the pending records for the next load_inbox of this inbox (frames: type them for loading)."""
    global _ahead
    with _ahead_lock:
        _ahead = ReadAhead(inbox, frames)
        return _ahead


def _taken(inbox: Inbox) -> ReadAhead | None:
    global _ahead
    with _ahead_lock:
        ahead, _ahead = _ahead, None
    return ahead if ahead is not None and ahead.folder == inbox.pending_dir else None


def load_inbox(inbox: Inbox, warehouse: Warehouse) -> LoadResult:
    """Load every pending record, oldest first; a record that fails stays pending and is reported."""
    result = LoadResult()
    ahead = _taken(inbox)
    pending = inbox.pending()
    progress.begin("departments written", len(pending))
    with warehouse.loading_many():
        _load_each(pending, ahead, inbox, warehouse, result)
    return result


def _load_each(
    pending: list[Path], ahead: ReadAhead | None, inbox: Inbox, warehouse: Warehouse, result: LoadResult
) -> None:
    for path in pending:
        try:
            record, frames = (ahead.take(path) if ahead else None) or (inbox.read(path), None)
        except FileNotFoundError:
            continue  # another worker took it
        except (OSError, json.JSONDecodeError) as exc:
            result.failed[path.stem] = f"record unreadable: {exc}"
            continue
        try:
            new = warehouse.load(record, frames)
        except Exception as exc:  # keep going: one bad record must not block the rest
            result.failed[record.get("id", path.stem)] = f"{type(exc).__name__}: {exc}"
            continue
        # Moved only after the commit: a crash in between leaves it pending, and reloading it is a no-op.
        inbox.mark_loaded(path)
        (result.loaded if new else result.already).append(record["id"])
        result.records.append(
            {
                "id": record["id"],
                "council": record.get("council"),
                "department": record.get("department"),
                "period": record.get("period"),
                "outcome": "loaded" if new else "already loaded",
                "warnings": sum(1 for m in record.get("messages") or [] if m.get("level") == "warning"),
            }
        )
        progress.advance("departments written", f"{record.get('department')}, {record.get('period')}")
