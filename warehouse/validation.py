"""The reference validation of a period as loaded: each current submission's record, as the ingest loaded it,
checked by Great Expectations over all departments at once (actionplan.checkpoint)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from actionplan.checkpoint import PeriodValidation, validate_period
from actionplan.councils import ALL_COUNCILS
from actionplan.validate import KINDS

from .base import Warehouse, record_table
from .inbox import Inbox


def current_of_period(wh: Warehouse, period: str, council: str) -> list[tuple[str, str]]:
    """The period's current submissions: (id, the department as the validation names it), in the warehouse's
    order: all a validation needs of the warehouse (the records themselves are read from the inbox)."""
    current = wh.current_submissions(period, council)
    return [
        (rid, f"{whose}: {department}" if council == ALL_COUNCILS else department)
        for rid, whose, department in zip(
            current["id"], current["council"], current["department"], strict=True
        )
    ]


def records_of(inbox: Inbox, current: list[tuple[str, str]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Each current submission's record as loaded (department, columns, messages, a frame per sheet kind), and
    the departments whose loaded record is not in the inbox's loaded folder."""
    found, missing = [], []
    for rid, name in current:
        record = inbox.loaded_record(rid)
        if record is None:
            missing.append(name)
            continue
        found.append(
            {
                "id": rid,
                "department": name,
                "columns": record.get("columns") or {},
                "messages": record.get("messages") or [],
                **{kind: pd.DataFrame(record_table(record.get(kind) or [])[1]) for kind in KINDS},
            }
        )
    return found, missing


def loaded_submissions(
    wh: Warehouse, inbox: Inbox, period: str, council: str
) -> tuple[list[dict[str, Any]], list[str]]:
    """The period's current submissions as loaded, and the departments whose loaded record is missing."""
    return records_of(inbox, current_of_period(wh, period, council))


def validate_loaded_period(
    wh: Warehouse,
    inbox: Inbox,
    period: str,
    council: str,
    *,
    docs_dir: Path | None = None,
    results_dir: Path | None = None,
    run_name: str | None = None,
) -> PeriodValidation:
    """Validate what is loaded for a council's period with GX, against what Submit found (see validate_period)."""
    records, missing = loaded_submissions(wh, inbox, period, council)
    return validate_period(
        records,
        period,
        council,
        docs_dir=docs_dir,
        results_dir=results_dir,
        run_name=run_name,
        unchecked=missing,
    )
