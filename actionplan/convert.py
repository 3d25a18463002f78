"""A department's own workbook → the canonical template filled with the same plan, for moving to the template.

The workbook is read and checked exactly as a submission is (its layout, normaliser and
validation), then the blank template is written (template.write_template) and its Plan,
Objectives, Actions and KPIs sheets are filled with openpyxl: text as text (never a formula),
dates as dates, statuses as B/G/A/R. Columns the template does not have are kept to the right.
What could not be read (an unknown status word, an impossible date) is written as it was, so the
checks point at it again in the new workbook.
"""

from __future__ import annotations

import datetime as dt
import io
from copy import copy
from pathlib import Path
from typing import Any

import pandas as pd

from .check import check_workbook
from .columns import BY_HEADING, template_fields
from .errors import ActionplanError
from .files import write_built
from .model import Submission
from .settings import Settings, load_settings
from .template import (
    TEMPLATE_ACTION_COLUMNS,
    TEMPLATE_KPI_COLUMNS,
    TEMPLATE_OBJECTIVE_COLUMNS,
    write_template,
)
from .vocabulary import DEFAULT_TOLERANCE

_PLAN_ROWS = {
    "department": 1,
    "plan_title": 2,
    "period": 3,
    "as_at": 4,
    "contact": 5,
}  # rows of the Plan sheet
_WRAPPED = {h for h, c in BY_HEADING.items() if c.template and c.wraps_in_template}


class NothingToConvert(ActionplanError):
    """The workbook has no plan rows that could be read, so there is nothing to put in the template."""


def convert_workbook(
    data: bytes,
    name: str,
    out: Path,
    *,
    layout: str | None = None,
    department: str | None = None,
    period: str | None = None,
    settings: Settings | None = None,
) -> Submission:
    """Read a workbook in any layout and write its plan into a new canonical template at out; return the check."""
    sub = check_workbook(data, name, department=department, period=period, layout=layout, settings=settings)
    if not any(sub.counts().values()):
        reasons = "; ".join(str(m) for m in sub.errors[:3]) or "no plan rows were found"
        raise NothingToConvert(f"{name}: nothing to convert ({reasons}).")
    template_from_submission(sub, Path(out), default_tolerance=(settings or load_settings()).tolerance)
    return sub


def template_from_submission(
    sub: Submission, path: Path, default_tolerance: float = DEFAULT_TOLERANCE
) -> Path:
    """Write the canonical template at path, filled with a submission's plan, objectives, actions and KPIs."""
    import openpyxl

    def build(scratch: Path) -> None:
        write_template(scratch, department=sub.department, period=sub.period)
        wb = openpyxl.load_workbook(io.BytesIO(scratch.read_bytes()))
        plan = wb["Plan"]
        for key, row in _PLAN_ROWS.items():
            value = getattr(sub, key)
            if value:
                _put(plan.cell(row, 2), value)
        _fill(wb["Objectives"], sub.objectives, TEMPLATE_OBJECTIVE_COLUMNS, _objective_row)
        _fill(wb["Actions"], sub.actions, TEMPLATE_ACTION_COLUMNS, _action_row)
        _fill(wb["KPIs"], sub.kpis, TEMPLATE_KPI_COLUMNS, lambda r: _kpi_row(r, default_tolerance))
        wb.active = wb.sheetnames.index("Actions")
        wb.save(scratch)

    return write_built(Path(path), build)


def _fill(ws, frame: pd.DataFrame, columns: tuple[str, ...], row_of) -> None:
    """Write one sheet's rows under the template's header, then any extra columns to its right."""
    if frame.empty:
        return
    records = frame.to_dict("records")
    extra_names: list[str] = []
    for record in records:
        for name in record.get("extra") or {}:
            if name not in extra_names and name not in columns:
                extra_names.append(name)
    for c, name in enumerate(extra_names, start=len(columns) + 1):
        header = ws.cell(1, c)
        _put(header, name)
        header.font = copy(ws.cell(1, 1).font)
        header.fill = copy(ws.cell(1, 1).fill)
        ws.column_dimensions[header.column_letter].width = 18
    for r, record in enumerate(records, start=2):
        values = row_of(record)
        for c, (column, value) in enumerate(zip(columns, values, strict=True), start=1):
            _put(ws.cell(r, c), value, wrap=column in _WRAPPED)
        extra = record.get("extra") or {}
        for c, name in enumerate(extra_names, start=len(columns) + 1):
            _put(ws.cell(r, c), extra.get(name))


def _put(cell, value: Any, wrap: bool = False) -> None:
    """Set a cell: dates as dates (dd/mm/yyyy), text always as text, even when it starts with "="."""
    from openpyxl.styles import Alignment

    if _missing(value):
        return
    if isinstance(value, pd.Timestamp):
        value = value.date()
    if isinstance(value, dt.date):
        cell.value = value
        cell.number_format = "dd/mm/yyyy"
        cell.alignment = Alignment(horizontal="left", vertical="top")
        return
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # openpyxl would store "=..." as a live formula
    cell.alignment = Alignment(wrap_text=wrap, vertical="top")


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _status(record: dict[str, Any]) -> Any:
    """B, G, A or R; blank when not rated; the word as written when it is not a status (so it is flagged again)."""
    status = record.get("status")
    if status in ("B", "G", "A", "R"):
        return status
    if status == "-":
        return None
    return record.get("status_text")


def _date(record: dict[str, Any], name: str) -> Any:
    """The date, or the text as written when it holds none (TBC) or cannot be a date (31/11/17)."""
    value = record.get(name)
    if not _missing(value):
        return value
    return record.get(f"{name}_text")


def _action_row(r: dict[str, Any]) -> list[Any]:
    return [
        r.get("ref"),
        r.get("objective"),
        r.get("theme"),
        r.get("action"),
        r.get("lead_officer"),
        _date(r, "due_date"),
        _date(r, "revised_due_date"),
        _status(r),
        r.get("progress_update"),
        *_recovery_cells(r),
    ]


def _recovery_cells(r: dict[str, Any]) -> list[Any]:
    """A recovery plan's cells (blank where the sheet had none)."""
    return [_given(r, "recovery_action"), _given(r, "recovery_owner"), _date(r, "recovery_date")]


def _given(r: dict[str, Any], name: str) -> Any:
    value = r.get(name)
    return None if _missing(value) else value


def _objective_row(r: dict[str, Any]) -> list[Any]:
    return [
        r.get("ref"),
        r.get("objective"),
        r.get("theme"),
        r.get("delivered_by"),
        r.get("lead_officer"),
        _status(r),
        r.get("commentary"),
    ]


def _kpi_row(r: dict[str, Any], default_tolerance: float) -> list[Any]:
    tolerance = r.get("tolerance")
    # The frame holds the council default where the KPI gave none: leave that blank, as it was.
    own = (
        None
        if tolerance is None or _missing(tolerance) or tolerance == default_tolerance
        else f"{float(tolerance) * 100:g}%"
    )
    return [
        r.get("ref"),
        r.get("measure"),
        r.get("polarity_text"),
        r.get("unit"),
        r.get("lead_officer"),
        r.get("target_text"),
        r.get("actual_text"),
        own,
        r.get("comment"),
        *(_given(r, name) for name in KPI_MODEL_FIELDS),
        *_recovery_cells(r),
    ]


# The KPI model's cells in the template's order (actionplan/columns.py): after Comment, the recovery plan apart.
_KPI_FIELDS = list(template_fields("kpis"))
KPI_MODEL_FIELDS = tuple(
    f for f in _KPI_FIELDS[_KPI_FIELDS.index("comment") + 1 :] if not f.startswith("recovery_")
)
