"""Load the inbox into the warehouse: one transaction per submission, idempotent on the submission id."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from actionplan import progress

from .base import Warehouse
from .inbox import Inbox


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


def load_inbox(inbox: Inbox, warehouse: Warehouse) -> LoadResult:
    """Load every pending record, oldest first; a record that fails stays pending and is reported."""
    result = LoadResult()
    pending = inbox.pending()
    progress.begin("departments written", len(pending))
    for path in pending:
        try:
            record = inbox.read(path)
        except FileNotFoundError:
            continue  # another worker took it
        except (OSError, json.JSONDecodeError) as exc:
            result.failed[path.stem] = f"record unreadable: {exc}"
            continue
        try:
            new = warehouse.load(record)
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
    return result
