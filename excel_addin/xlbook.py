"""xlwings JSON in, xlwings actions out: the "Submission report" sheet, cell colours, alerts and council sheets.

Uses xlwings' remote engine (`xw.Book(json=...)`), which needs XLWINGS_LICENSE_KEY=noncommercial before xlwings is
imported (the PolyForm Noncommercial licence allows it for government bodies). The engine keeps every book it
opens in one process-wide list and sends `app.alert` to the *active* book, so building a response holds a lock.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

REPORT_SHEET = "Submission report"
SUMMARY_SHEET = "Council summary"
EXCEPTIONS_SHEET = "Council exceptions"
OWN_ACTIONS_SHEET = "Our actions"
ALL_ACTIONS_SHEET = "Council actions"
# Sheets the service writes into a department's workbook: never read back as part of the plan.
OUR_SHEETS = (REPORT_SHEET, SUMMARY_SHEET, EXCEPTIONS_SHEET, OWN_ACTIONS_SHEET, ALL_ACTIONS_SHEET)
REPORT_HEADER = ("Sheet", "Cell", "Value", "Problem")

ERROR_FILL = "#FFC7CE"  # Excel's "light red fill"
WARNING_FILL = "#FFEB9C"  # Excel's "light yellow/amber fill"
HEADER_FILL = "#DDEBF7"
# Office.js rejects one request much over 5 MB; a council sheet larger than this is better downloaded.
MAX_ROWS_TO_EXCEL = 50_000

_CELL = re.compile(r"^\$?([A-Za-z]{1,3})\$?([0-9]{1,7})$")
_lock = threading.Lock()
_xw = None


class BadPayload(ValueError):
    """The request body is not the workbook JSON the actionplan add-in sends."""


def _xlwings():
    global _xw
    if _xw is None:
        os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
        import xlwings

        _xw = xlwings
    return _xw


def warm() -> None:
    """Import xlwings and its remote engine now rather than on the first department's request."""
    _xlwings()


def checked_payload(payload: Any) -> dict[str, Any]:
    """The payload when it has the shape of xlwings' workbook JSON; BadPayload with words for the user if not."""
    if not isinstance(payload, dict):
        raise BadPayload(
            "The request body must be a JSON object with the workbook's sheets (xlwings format)."
        )
    sheets = payload.get("sheets")
    if not isinstance(sheets, list) or not all(
        isinstance(s, dict) and isinstance(s.get("name"), str) for s in sheets
    ):
        raise BadPayload(
            "The workbook JSON has no 'sheets' list of {name, values}; update the actionplan add-in "
            "and try again."
        )
    for s in sheets:
        values = s.get("values", [[]])
        if not isinstance(values, list) or not all(isinstance(r, list) for r in values):
            raise BadPayload(f"Sheet '{s['name']}' has no 2-D 'values' list; update the actionplan add-in.")
    book = payload.get("book")
    if book is not None and not isinstance(book, dict):
        raise BadPayload("'book' must be an object with the workbook's name.")
    return payload


def plan_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload without the sheets this service wrote into the workbook (its report, the council sheets)."""
    ours = {name.casefold() for name in OUR_SHEETS}
    return {**payload, "sheets": [s for s in payload["sheets"] if str(s["name"]).casefold() not in ours]}


def styles_request(plan: dict[str, Any], settings: Any) -> dict[str, Any] | None:
    """An answer asking the add-in to send its cell fills and bold, when the plan's layout reads them and none came.

    The add-in sends values only at first (cell properties are slow to read from Excel); a plan whose layout
    reads colours or bold headings is sent again with them, for the plan's own sheets.
    """
    if any("fills" in s or "bold" in s for s in plan["sheets"]):
        return None
    from actionplan.check import available_layouts
    from actionplan.layout_choice import choose_layout
    from actionplan.read import book_from_xlwings

    chosen = choose_layout(book_from_xlwings(plan), available_layouts(settings))
    if not (chosen.fills or chosen.bold == "font"):
        return None
    names = [str(s["name"]) for s in plan["sheets"] if s.get("values") not in (None, [], [[]])]
    return {
        "actions": [
            {
                "func": "sendCellStyles",
                "args": [names],
                "values": None,
                "sheet_position": None,
                "start_row": None,
                "start_column": None,
                "row_count": None,
                "column_count": None,
            }
        ]
    }


def _remote_book(payload: dict[str, Any]):
    """An xlwings remote Book over a copy of the payload (the engine changes the dict it is given)."""
    xw = _xlwings()
    book = dict(payload.get("book") or {})
    book.setdefault("name", "workbook.xlsx")
    book.setdefault("selection", "A1")
    if not isinstance(book.get("active_sheet_index"), int):
        book["active_sheet_index"] = 0
    sheets = []
    for s in payload["sheets"]:
        sheets.append({"pictures": [], "tables": [], "names": [], **s, "values": s.get("values") or [[]]})
    # The engine only checks versions for Office Scripts/Google clients; the actions it is asked for here are
    # all understood by the actionplan add-in's own client, which calls itself Office.js.
    api = {"client": "Office.js", "version": xw.__version__, "book": book, "names": [], "sheets": sheets}
    return xw.Book(json=api)


def _finish(book) -> dict[str, Any]:
    from xlwings.pro._xlremote import get_range_api

    actions = copy.deepcopy(book.json())
    book.close()
    get_range_api.cache_clear()  # keyed by whole sheets' values: never let it grow across requests
    return actions


def _alert(book, prompt: str, title: str = "actionplan") -> None:
    # app.alert() would queue on the engine's *active* book; queue on this one.
    book.impl.append_json_action(func="alert", args=[prompt, title, "ok", "info", ""])


def as_text(value: Any) -> Any:
    """A value for a cell: text gets Excel's apostrophe prefix, so it stays text whatever it starts with."""
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value else ""
    return value


def _sheet(book, name: str):
    """The named sheet emptied (the same sheet is reused on every run, never duplicated), or a new one at the end."""
    for sheet in book.sheets:
        if sheet.name.casefold() == name.casefold():
            sheet.clear()
            return sheet
    return book.sheets.add(name, after=book.sheets[len(book.sheets) - 1])


def _cell(address: str | None) -> tuple[int, int] | None:
    """1-based (row, column) of an A1 cell address; None for anything else ("row 5", a range)."""
    m = _CELL.match(address or "")
    if not m:
        return None
    col = 0
    for ch in m.group(1).upper():
        col = col * 26 + ord(ch) - 64
    row = int(m.group(2))
    return (row, col) if row >= 1 and col <= 16384 else None


def _runs(rows: Iterable[int]) -> list[tuple[int, int]]:
    """Consecutive rows as (first, last) runs: one colour action per run instead of one per cell."""
    out: list[tuple[int, int]] = []
    for r in sorted(set(rows)):
        if out and r == out[-1][1] + 1:
            out[-1] = (out[-1][0], r)
        else:
            out.append((r, r))
    return out


def _previous_marks(payload: dict[str, Any]) -> set[tuple[str, int, int]]:
    """Cells coloured by the last report (listed in its table): their colour is taken off before re-colouring."""
    marks: set[tuple[str, int, int]] = set()
    for s in payload["sheets"]:
        if str(s["name"]).casefold() != REPORT_SHEET.casefold():
            continue
        in_table = False
        for row in s.get("values") or []:
            cells = [str(v).strip() if v is not None else "" for v in row[:4]]
            if tuple(c.casefold() for c in cells) == tuple(h.casefold() for h in REPORT_HEADER):
                in_table = True
                continue
            if in_table and len(cells) >= 2 and cells[0] and (rc := _cell(cells[1])):
                marks.add((cells[0].casefold(), *rc))
    return marks


@dataclass
class Outcome:
    """What a Check or Submit did, in the words of the report's title line and of the alert."""

    title: str
    alert: str
    details: list[tuple[str, Any]] = field(default_factory=list)


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def outcome_of(
    report: dict[str, Any], *, stored: bool, in_excel: bool = True, now: dt.datetime | None = None
) -> Outcome:
    """Title and alert for a report: "Accepted with 3 warnings" / "Rejected: 2 errors, nothing was stored"."""
    n_err, n_warn = len(report["errors"]), len(report["warnings"])
    fix = (
        f"Fix the cells coloured red (listed on the '{REPORT_SHEET}' sheet)"
        if in_excel
        else "Fix the errors listed below in your workbook"
    )
    c = report["counts"]
    counts = f"{_plural(c['actions'], 'action')}, {_plural(c['objectives'], 'objective')}, {_plural(c['kpis'], 'KPI')}"
    if stored:
        if report["accepted"]:
            title = f"Accepted with {_plural(n_warn, 'warning')}" if n_warn else "Accepted"
            tail = (
                "This is identical to the plan you already sent: it was not stored twice."
                if report.get("new") is False
                else f"Stored for the council rollup ({counts})."
            )
            alert = f"{title}. {tail}"
        else:
            title = f"Rejected: {_plural(n_err, 'error')}, nothing was stored"
            alert = f"{title}. {fix} and submit again."
    else:
        if report["accepted"]:
            title = f"Check passed with {_plural(n_warn, 'warning')}" if n_warn else "Check passed"
            alert = f"{title}. Nothing was submitted yet: {'press Submit' if in_excel else 'submit it'} when you are ready."
        else:
            also = f" and {_plural(n_warn, 'warning')}" if n_warn else ""
            title = f"Check found {_plural(n_err, 'error')}{also}"
            alert = f"{title}. {fix}, then {'press Submit' if in_excel else 'submit it'}. Nothing was stored."
    if n_warn and report["accepted"]:
        alert += (
            f" Warnings are coloured amber and listed on the '{REPORT_SHEET}' sheet."
            if in_excel
            else " Please look at the warnings listed below."
        )
    details: list[tuple[str, Any]] = [
        ("Department", as_text(report.get("department") or "not given")),
        ("Period", as_text(report.get("period") or "not given")),
        ("Read", as_text(f"{counts} (layout: {report.get('layout') or 'none'})")),
        ("Checked at", as_text((now or dt.datetime.now()).strftime("%d/%m/%Y %H:%M:%S"))),
    ]
    if report.get("submission_id"):
        details.append(("Submission id", as_text(report["submission_id"][:12])))
    return Outcome(title, alert, details)


def report_actions(
    payload: dict[str, Any], report: dict[str, Any], *, stored: bool, now: dt.datetime | None = None
) -> dict[str, Any]:
    """The actions that write the report sheet, colour the cells in error and warning, and show the alert."""
    outcome = outcome_of(report, stored=stored, now=now)
    messages = [("error", m) for m in report["errors"]] + [("warning", m) for m in report["warnings"]]
    table: list[list[Any]] = [list(REPORT_HEADER)]
    for level, m in messages:
        prefix = "Error: " if level == "error" else "Warning: "
        table.append(
            [
                as_text(m.get("sheet") or "workbook"),
                as_text(m.get("cell") or ""),
                as_text("" if m.get("value") is None else str(m["value"])),
                as_text(prefix + m["message"]),
            ]
        )
    if not messages:
        table.append(["", "", "", "No problems found."])
    top = 2 + len(outcome.details) + 1  # 1-based row of the table header
    n_err = len(report["errors"])
    with _lock:
        book = _remote_book(payload)
        try:
            positions = {s.name.casefold(): i for i, s in enumerate(book.sheets)}
            sheet = _sheet(book, REPORT_SHEET)
            sheet["A1"].value = [[outcome.title]]
            sheet["A1"].font.bold = True
            sheet["A1"].font.size = 14
            sheet["A2"].value = [[label, value] for label, value in outcome.details]
            sheet.range((2, 1), (1 + len(outcome.details), 1)).font.bold = True
            sheet.range((top, 1)).value = table
            header = sheet.range((top, 1), (top, 4))
            header.font.bold = True
            header.color = HEADER_FILL
            if n_err:
                sheet.range((top + 1, 1), (top + n_err, 4)).color = ERROR_FILL
            if len(messages) > n_err:
                sheet.range((top + n_err + 1, 1), (top + len(messages), 4)).color = WARNING_FILL
            for col, width in ((1, 18), (2, 9), (3, 32), (4, 100)):
                sheet.range((1, col)).column_width = width
            _colour_cells(book, positions, payload, messages)
            sheet.activate()
            _alert(book, outcome.alert)
        except BaseException:
            book.close()
            raise
        return _finish(book)


def _colour_cells(
    book, positions: dict[str, int], payload: dict[str, Any], messages: Sequence[tuple[str, dict[str, Any]]]
) -> None:
    """Fill each located cell light red (error) or light amber (warning); take the last report's fills off."""
    fills: dict[tuple[str, int, int], str] = {}
    for level, m in messages:
        rc = _cell(m.get("cell"))
        sheet = str(m.get("sheet") or "").casefold()
        if rc is None or sheet not in positions or sheet in {n.casefold() for n in OUR_SHEETS}:
            continue
        key = (sheet, *rc)
        if level == "error" or key not in fills:
            fills[key] = ERROR_FILL if level == "error" else WARNING_FILL
    stale = {k for k in _previous_marks(payload) if k not in fills and k[0] in positions}
    groups: dict[tuple[str, int, str | None], list[int]] = {}
    for sheet, row, col in stale:
        groups.setdefault((sheet, col, None), []).append(row)
    for (sheet, row, col), colour in fills.items():
        groups.setdefault((sheet, col, colour), []).append(row)
    # Clear first, then colour, each in sheet and column order so the actions read predictably.
    for key in sorted(groups, key=lambda k: (k[2] is not None, positions[k[0]], k[1], k[2] or "")):
        sheet, col, colour = key
        target = book.sheets[positions[sheet]]
        for first, last in _runs(groups[key]):
            target.range((first, col), (last, col)).color = colour


def _table_rows(frame, date_columns: Sequence[str]) -> tuple[list[str], list[list[Any]]]:
    """A frame as header + rows of cell values: text prefixed, dates as Excel serial numbers, flags as Yes/blank."""
    import math

    import pandas as pd

    columns = [str(c) for c in frame.columns]
    rows = []
    epoch = dt.date(1899, 12, 30)
    for record in frame.itertuples(index=False, name=None):
        row = []
        for name, value in zip(columns, record, strict=True):
            if (
                value is None
                or value is pd.NaT
                or value is pd.NA
                or (isinstance(value, float) and math.isnan(value))
            ):
                row.append("")
            elif isinstance(value, (bool,)) or type(value).__name__ == "bool_":
                row.append("Yes" if value else "")
            elif name in date_columns and isinstance(value, (dt.date, pd.Timestamp)):
                day = value.date() if isinstance(value, (dt.datetime, pd.Timestamp)) else value
                row.append((day - epoch).days)
            elif isinstance(value, (dt.date, pd.Timestamp)):
                row.append(
                    as_text(
                        value.strftime("%d/%m/%Y %H:%M")
                        if isinstance(value, dt.datetime)
                        else value.strftime("%d/%m/%Y")
                    )
                )
            elif hasattr(value, "item"):  # a numpy number
                value = value.item()  # pyright: ignore[reportAttributeAccessIssue]
                row.append("" if isinstance(value, float) and math.isnan(value) else value)
            elif isinstance(value, (int, float, str)):
                row.append(as_text(value) if isinstance(value, str) else value)
            else:  # anything else (Decimal, a list in an extra column) as its text
                row.append(as_text(str(value)))
        rows.append(row)
    return columns, rows


@dataclass
class CouncilSheet:
    """One council table to write into the workbook."""

    name: str
    title: str
    frame: Any  # pandas DataFrame
    date_columns: tuple[str, ...] = ()
    percent_columns: tuple[str, ...] = ()


def rollup_actions(payload: dict[str, Any], sheets: Sequence[CouncilSheet], alert: str) -> dict[str, Any]:
    """The actions that write the council rollup tables into their own sheets and say where they came from."""
    with _lock:
        book = _remote_book(payload)
        try:
            first = None
            for cs in sheets:
                sheet = _sheet(book, cs.name)
                first = first or sheet
                columns, rows = _table_rows(cs.frame, cs.date_columns)
                shown = rows[:MAX_ROWS_TO_EXCEL]
                title = cs.title
                if len(rows) > len(shown):
                    title += (
                        f" (first {len(shown):,} of {len(rows):,} rows: download the rollup workbook for all)"
                    )
                sheet["A1"].value = [[as_text(title)]]  # titles carry department names: text, never a formula
                sheet["A1"].font.bold = True
                sheet["A1"].font.size = 14
                sheet["A3"].value = [columns] + (shown or [[""] * len(columns)])
                header = sheet.range((3, 1), (3, max(1, len(columns))))
                header.font.bold = True
                header.color = HEADER_FILL
                for i, name in enumerate(columns, start=1):
                    width = (
                        14
                        if name in cs.date_columns or name in cs.percent_columns
                        else (60 if name in ("Action", "Progress update", "Objective", "Reason") else 22)
                    )
                    sheet.range((1, i)).column_width = width
                    if shown and name in cs.date_columns:
                        sheet.range((4, i), (3 + len(shown), i)).number_format = "dd/mm/yyyy"
                    if shown and name in cs.percent_columns:
                        sheet.range((4, i), (3 + len(shown), i)).number_format = "0%"
            if first is not None:
                first.activate()
            _alert(book, alert)
        except BaseException:
            book.close()
            raise
        return _finish(book)


def alert_actions(payload: dict[str, Any], prompt: str) -> dict[str, Any]:
    """Only an alert: for answers that change nothing in the workbook."""
    with _lock:
        book = _remote_book(payload)
        _alert(book, prompt)
        return _finish(book)
