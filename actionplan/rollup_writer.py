"""The council-wide rollup workbook (spec §7), written with xlsxwriter.

Colours are applied per cell as it is written (not by conditional formats) so they also print.
Department text is written as text, never as a formula (actionplan/xlsx.py).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from decimal import Decimal
from itertools import count, islice, repeat
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_rowcol_to_cell
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from actionplan import rows_helper, xlsx_rows
from actionplan.clock import DEFAULT_TIMEZONE, zone_named
from actionplan.columns import BY_HEADING, kind_of, rollup_headings
from actionplan.columns import (
    ROLLUP_SHEETS as ROLLUP_SHEETS,  # re-exported: the rollup writer names its sheets
)
from actionplan.councils import ALL_COUNCILS, ALL_COUNCILS_TOTAL, DEFAULT_COUNCIL
from actionplan.deflate import ParallelDeflateWorkbook
from actionplan.files import sweep_temp_files
from actionplan.model import RollupFacts
from actionplan.values import is_blank
from actionplan.vocabulary import STATUS_NAMES
from actionplan.xlsx import RAGB_COLOURS, SAFE_OPTIONS, Styles, write_atomically

# Columns of each rollup table (actionplan/columns.py), used when a frame arrives with no columns at all.
SUMMARY_COLUMNS = rollup_headings("summary")
OBJECTIVE_COLUMNS = rollup_headings("objectives")
EXCEPTION_COLUMNS = rollup_headings("exceptions")
ACTION_COLUMNS = rollup_headings("actions")
KPI_COLUMNS = rollup_headings("kpis")
KPI_COUNT_COLUMNS = rollup_headings("kpi_counts")
SUBMISSION_COLUMNS = rollup_headings("submissions")
CHANGE_COLUMNS = rollup_headings("changes")
DATA_QUALITY_COLUMNS = rollup_headings("data_quality")


COUNCIL_TOTAL = "Council total"
_TOTALS = {
    COUNCIL_TOTAL.lower(),
    ALL_COUNCILS_TOTAL.lower(),
}  # the combined rollup's tables end with the latter

NOT_RATED_COLOUR = "#A5A5A5"
# Performance cells use Excel's familiar good / neutral / bad cell styles, light enough to print.
PERFORMANCE_COLOURS = {
    "better": ("#C6EFCE", "#006100"),
    "within": ("#FFEB9C", "#9C5700"),
    "worse": ("#FFC7CE", "#9C0006"),
    "no data": ("#D9D9D9", "#000000"),
    "not due": ("#DDEBF7", "#1F4E78"),
    "data only": ("#F2F2F2", "#595959"),
}
PERFORMANCE_CHART_COLOURS = {
    "better": "#70AD47",
    "within": "#FFC000",
    "worse": "#C00000",
    "no data": "#A5A5A5",
    "not due": "#9DC3E6",
    "data only": "#D9D9D9",
}
MISSING_FILL = "#FCE4D6"
NOT_RATED_TEXT = "–"  # the spec prints "not rated" as an en dash

_SUMMARY_SERIES = (
    ("Blue", RAGB_COLOURS["B"][0]),
    ("Green", RAGB_COLOURS["G"][0]),
    ("Amber", RAGB_COLOURS["A"][0]),
    ("Red", RAGB_COLOURS["R"][0]),
    ("Not rated", NOT_RATED_COLOUR),
)
_HEADER_COLOURS = {
    "Blue": RAGB_COLOURS["B"],
    "Green": RAGB_COLOURS["G"],
    "Amber": RAGB_COLOURS["A"],
    "Red": RAGB_COLOURS["R"],
}

# How a column's cells are written, by its declared kind (anything undeclared: by the value's own type).
_DATE_COLUMNS = {h for h, c in BY_HEADING.items() if c.kind == "date"}
_DATETIME_COLUMNS = {h for h, c in BY_HEADING.items() if c.kind == "datetime"}
_FLAG_COLUMNS = {h for h, c in BY_HEADING.items() if c.kind == "flag"}
_PERCENT_COLUMNS = {h: c.number_format or "0%" for h, c in BY_HEADING.items() if c.kind == "percent"}
_WRAPPED_COLUMNS = {h for h, c in BY_HEADING.items() if c.wrap}
_WIDTHS = {h: c.width for h, c in BY_HEADING.items() if c.width is not None}

_EXCEL_EPOCH_ORDINAL = dt.date(1899, 12, 30).toordinal()  # serial 0; right for dates from 1 Mar 1900
_FIRST_SERIAL_DATE = dt.date(1900, 3, 1)  # before this Excel's phantom 29 Feb 1900 shifts serials
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_STATUS_LETTER_BY_NAME = {STATUS_NAMES[letter]: letter for letter in RAGB_COLOURS}
_BLANK = xlsx_rows.BLANK  # a cell with a format but no value (a highlighted empty cell)

# The zone aware times are shown in: the council's (RollupFacts.timezone), set while a rollup is written.
_ZONE: ContextVar[str] = ContextVar("zone", default=DEFAULT_TIMEZONE)


sweep_orphans = sweep_temp_files  # temp files of interrupted rollup writes


def write_rollup(facts: RollupFacts, path: Path) -> Path:
    """Write the council-wide rollup workbook for facts to path, atomically, and return path."""
    token = _ZONE.set(facts.timezone)
    try:
        return write_atomically(Path(path), lambda target, scratch: _build_rollup(facts, target, scratch))
    finally:
        _ZONE.reset(token)


# --- Formats -------------------------------------------------------------------------------------


# --- Cell values ---------------------------------------------------------------------------------


def _excel_serial(value: dt.date) -> float | None:
    """Return an Excel date serial for a date or datetime, or None when Excel cannot show it."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(zone_named(_ZONE.get())).replace(tzinfo=None)
        day = value.date()
        if day < _FIRST_SERIAL_DATE:
            return None
        seconds = value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
        return day.toordinal() - _EXCEL_EPOCH_ORDINAL + seconds / 86400
    if value < _FIRST_SERIAL_DATE:
        return None
    return value.toordinal() - _EXCEL_EPOCH_ORDINAL


def _dmy(value: dt.date) -> str:
    """Return a date as dd/mm/yyyy text (for dates Excel cannot hold as dates)."""
    return f"{value.day:02d}/{value.month:02d}/{value.year:04d}"


def _typed(value: Any) -> tuple[Any, str]:
    """Return a cell value as Excel will hold it (text or number, None for empty) and its kind."""
    if value.__class__ is str:
        return (value or None), "text"
    if is_blank(value):
        return None, "text"
    if isinstance(value, str):
        return (str(value) or None), "text"
    if isinstance(value, bool | np.bool_):
        return ("Yes" if value else "No"), "text"
    if isinstance(value, int | np.integer):
        return int(value), "number"
    if isinstance(value, float | np.floating | Decimal):
        number = float(value)
        # Excel has no infinity; show it as text rather than lose it.
        return (number, "number") if math.isfinite(number) else (str(number), "text")
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
        if value is pd.NaT:
            return None, "text"
    if isinstance(value, dt.datetime):
        serial = _excel_serial(value)
        if serial is None:
            return _dmy(value), "text"
        return serial, ("date" if serial == int(serial) else "datetime")
    if isinstance(value, dt.date):
        serial = _excel_serial(value)
        return (serial, "date") if serial is not None else (_dmy(value), "text")
    return str(value) or None, "text"


def _flag(value: Any) -> str | None:
    """Return "Yes" for a true flag and None (an empty cell) for false or missing."""
    if isinstance(value, str):
        return "Yes" if value.strip().lower() in {"yes", "y", "true", "1"} else None
    if is_blank(value):
        return None
    return "Yes" if bool(value) else None


def _cells(name: str, series: pd.Series, sheet: str) -> tuple[list[Any], list[Any]]:
    """Return a column's cell values and, for each, a key naming its look (see _format_for)."""
    raw = series.tolist()
    kind = kind_of(name, sheet)
    if kind == "submission_status":
        values = [_typed(v)[0] for v in raw]
        return values, [
            "missing" if isinstance(v, str) and v.lower() == "missing" else "text" for v in values
        ]
    if kind in ("status", "status_name") or name.lower().endswith(" rating"):
        # Changes name statuses in words ("Green → Red"); the Status columns hold the letters.
        letters = _STATUS_LETTER_BY_NAME if kind == "status_name" else {}
        values, keys = [], []
        for value in raw:
            if isinstance(value, str) and value in RAGB_COLOURS:
                values.append(value)
                keys.append(value)
            elif isinstance(value, str) and value in letters:
                values.append(value)
                keys.append(letters[value])
            elif isinstance(value, str) and value.strip() in {"-", NOT_RATED_TEXT}:
                values.append(NOT_RATED_TEXT)
                keys.append("centre")
            else:
                typed, kind = _typed(value)
                values.append(typed)
                keys.append(kind)
        return values, keys
    if kind == "performance":
        values = [_typed(v)[0] for v in raw]
        return values, [v if v in PERFORMANCE_COLOURS else "text" for v in values]
    if kind == "flag":
        return [_flag(v) for v in raw], ["centre"] * len(raw)
    # Plain numpy columns in one go; nullable and object columns cell by cell below.
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind == "b":
        return ["Yes" if v else "No" for v in raw], ["centre"] * len(raw)
    if isinstance(dtype, np.dtype) and dtype.kind in "iuf":
        kind = "percent" if name in _PERCENT_COLUMNS else "number"
        if dtype.kind == "f":
            values = [v if math.isfinite(v) else (None if math.isnan(v) else str(v)) for v in raw]
        else:
            values = raw
        return values, [kind if v.__class__ is not str else "text" for v in values]
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return _datetime_cells(name, series)
    if name in _DATE_COLUMNS and all(v is None or v.__class__ is dt.date for v in raw):
        # A column of dates (the facts hold them as Python dates): convert it at once, not cell by cell.
        try:
            return _datetime_cells(name, pd.to_datetime(series))
        except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
            pass  # a date pandas cannot hold (before 1677): the cell-by-cell path below writes it as text
    values, keys = [], []
    forced = "date" if name in _DATE_COLUMNS else "datetime" if name in _DATETIME_COLUMNS else None
    for value in raw:
        # Text and blanks first, inline: they are most cells of the big sheets.
        if value.__class__ is str:
            values.append(value or None)
            keys.append("text")
            continue
        if value is None or (value.__class__ is float and value != value):
            values.append(None)
            keys.append("text")
            continue
        typed, kind = _typed(value)
        if forced and kind in {"date", "datetime"}:
            kind = forced
        elif kind == "number" and name in _PERCENT_COLUMNS:
            kind = "percent"
        values.append(typed)
        keys.append(kind)
    return values, keys


def _datetime_cells(name: str, series: pd.Series) -> tuple[list[Any], list[Any]]:
    """Return datetime64 cells as Excel serials, computed for the whole column at once."""
    stamps = series
    if getattr(series.dt, "tz", None) is not None:
        stamps = series.dt.tz_convert(zone_named(_ZONE.get())).dt.tz_localize(None)
    serials = (stamps - pd.Timestamp("1899-12-30")) / pd.Timedelta(days=1)
    early = stamps < pd.Timestamp(_FIRST_SERIAL_DATE)
    values: list[Any] = [None if math.isnan(s) else s for s in serials.tolist()]
    if early.any():
        for i in np.flatnonzero(early.to_numpy()):
            values[i] = _dmy(stamps.iloc[i])
    if name in _DATE_COLUMNS:
        kind = "date"
    elif name in _DATETIME_COLUMNS or (stamps.dropna() != stamps.dropna().dt.normalize()).any():
        kind = "datetime"
    else:
        kind = "date"
    return values, [kind if not isinstance(v, str) else "text" for v in values]


def _format_for(
    styles: Styles, name: str, key: str, *, bold: bool = False, fill: str | None = None
) -> Format:
    """Return the format for a cell of column name whose look is key."""
    props: dict[str, Any] = {"valign": "top"}
    if key in RAGB_COLOURS:
        colour, font = RAGB_COLOURS[key]
        props.update(bg_color=colour, font_color=font, align="center", bold=True)
    elif key in PERFORMANCE_COLOURS:
        colour, font = PERFORMANCE_COLOURS[key]
        props.update(bg_color=colour, font_color=font)
    elif key == "centre":
        props["align"] = "center"
    elif key == "missing":
        props.update(bold=True, font_color="#C00000")
    elif key == "date":
        props.update(num_format="dd/mm/yyyy", align="left")
    elif key == "datetime":
        props.update(num_format="dd/mm/yyyy hh:mm", align="left")
    elif key == "percent":
        props["num_format"] = _PERCENT_COLUMNS.get(name, "0%")
    elif key == "text" and name in _WRAPPED_COLUMNS:
        props["text_wrap"] = True
    if bold:
        props.update(bold=True, top=1)
    if fill and "bg_color" not in props:
        props["bg_color"] = fill
    return styles(**props)


# --- Tables --------------------------------------------------------------------------------------


def _with_columns(frame: pd.DataFrame | None, columns: Sequence[str]) -> pd.DataFrame:
    """Return frame, or an empty frame with the sheet's usual columns when it has none."""
    if frame is None or len(frame.columns) == 0:
        return pd.DataFrame(columns=list(columns))
    return frame


def _write_table(
    ws: Worksheet,
    styles: Styles,
    first_row: int,
    frame: pd.DataFrame,
    sheet: str,
    *,
    header_formats: dict[str, Format] | None = None,
    total_row: bool = False,
    highlight: Sequence[bool] | None = None,
) -> int:
    """Write frame's header at first_row and its rows below it; return the last row written.

    total_row: the last row is a total (bold, rule above). highlight: rows to fill (missing).
    Rows go out strictly top to bottom, as constant_memory mode requires.
    """
    names = [str(c) for c in frame.columns]
    header_formats = header_formats or {}
    for c, name in enumerate(names):
        ws.write_string(first_row, c, name, header_formats.get(name) or styles.header())
        ws.set_column(c, c, _width(name))
    rows = len(frame)
    if rows == 0 or not names:
        return first_row
    lit_rows = [i for i, lit in enumerate(highlight or ()) if lit]
    values, formats = [], []
    for c, name in enumerate(names):
        cell_values, keys = _cells(name, frame.iloc[:, c], sheet)
        looks = {key: _format_for(styles, name, key) for key in set(keys)}
        column_formats = [looks[key] for key in keys]
        if total_row:
            column_formats[-1] = _format_for(styles, name, keys[-1], bold=True)
        for i in lit_rows:
            column_formats[i] = _format_for(styles, name, keys[i], fill=MISSING_FILL)
            if cell_values[i] is None:
                cell_values[i] = _BLANK  # so the highlight covers the row's empty cells too
        values.append(cell_values)
        formats.append(column_formats)
    heights = _row_heights(
        [(values[c], _width(name)) for c, name in enumerate(names) if name in _WRAPPED_COLUMNS]
    )
    if STREAMED_ROWS and xlsx_rows.supported(ws):
        xlsx_rows.write_rows(ws, first_row + 1, values, formats, list(islice(heights, rows)))
        return first_row + rows
    write_string, write_number, write_blank = _cell_writers(ws)
    # The hot loop: 120,000 actions are about two million cells, so keep it to the bare calls.
    rows_of_values, rows_of_formats = zip(*values, strict=True), zip(*formats, strict=True)
    for r, row_values, row_formats, height in zip(
        count(first_row + 1), rows_of_values, rows_of_formats, heights, strict=False
    ):
        if height:
            ws.set_row(r, height)  # before the row's cells: constant_memory writes rows as they finish
        for c, value in enumerate(row_values):
            if value is None:
                continue
            if value.__class__ is str:
                write_string(r, c, value, row_formats[c])
            elif value is _BLANK:
                write_blank(r, c, None, row_formats[c])
            else:
                write_number(r, c, value, row_formats[c])
    return first_row + rows


# Rows streamed as XML a column at a time (actionplan/xlsx_rows.py), the same bytes as the cell calls below write;
# False writes every cell through xlsxwriter (the tests compare the two).
STREAMED_ROWS = True

# xlsxwriter's public write_string/_number/_blank are its undecorated _write_* behind a decorator that reads A1
# notation: two Python calls of the five a cell costs. The rollup writes by row and column numbers only, so it
# calls the undecorated ones where the installed xlsxwriter has them (tests/test_workbooks.py proves the sheets
# come out byte for byte the same), and the public ones otherwise.
DIRECT_CELL_WRITES = True


def _cell_writers(ws: Worksheet) -> tuple[Any, Any, Any]:
    names = ("_write_string", "_write_number", "_write_blank")
    if DIRECT_CELL_WRITES and all(callable(getattr(ws, n, None)) for n in names):
        return tuple(getattr(ws, n) for n in names)
    return ws.write_string, ws.write_number, ws.write_blank


_LINE_HEIGHT = 15.0  # points per line of 11 pt text
_MAX_ROW_HEIGHT = 409.0  # Excel's limit


def _row_heights(wrapped: list[tuple[list[Any], float]]) -> Iterable[float | None]:
    """Row heights that show every line of wrapped text: Excel fits them on open, but printers and
    LibreOffice do not, and overlapping lines make a printed committee report unreadable."""
    if not wrapped:
        return repeat(None)
    # A column at a time (one comprehension each, most cells fit their width), then the most lines of each row.
    lines = [_lines(values, width) for values, width in wrapped]
    most = lines[0] if len(lines) == 1 else list(map(max, *lines))
    return [min(n * _LINE_HEIGHT, _MAX_ROW_HEIGHT) if n > 1 else None for n in most]


def _lines(values: list[Any], width: float) -> list[int]:
    """The lines each value of a column wraps to at a width (1 for a non-text value)."""
    per_line = max(width * 1.1, 1.0)  # about 1.1 characters of body text per unit of width
    return [
        sum(max(1, math.ceil(len(part) / per_line)) for part in value.split("\n"))
        if value.__class__ is str and (len(value) > width or "\n" in value)
        else 1
        for value in values
    ]


def _width(name: str) -> float:
    """Return a column's width in characters: set for known columns, else fitted to its name."""
    return _WIDTHS.get(name, min(max(len(name) + 2, 10), 40))


def _list_features(ws: Worksheet, header_row: int, last_row: int, columns: int) -> None:
    """Freeze panes below the header, filter the list and repeat the header on every printed page."""
    ws.freeze_panes(header_row + 1, 0)
    ws.autofilter(header_row, 0, last_row, max(columns - 1, 0))
    ws.repeat_rows(header_row)


def _print_setup(ws: Worksheet, facts: RollupFacts) -> None:
    """Landscape A4, one page wide, with the period and generation time in the footer."""
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.set_header(f'&L&"-,Bold"{_footer_text(_title(facts))} {_footer_text(facts.period)}&R&A')
    ws.set_footer(
        f"&L{_footer_text(facts.period)}&CPage &P of &N&RGenerated {_footer_text(_when(facts.generated_at))}"
    )


def _title(facts: RollupFacts) -> str:
    """What the rollup is called: the council's, a named council's, or every council's together."""
    if facts.council == ALL_COUNCILS:
        return "All councils action plan rollup"
    return (
        "Council action plan rollup"
        if facts.council == DEFAULT_COUNCIL
        else f"{facts.council} action plan rollup"
    )


def _footer_text(text: str) -> str:
    """Escape text for an Excel header or footer, where & starts a control code."""
    return text.replace("&", "&&")


def _day(value: dt.date) -> str:
    """Return a date as "30 Sep 2024" whatever the machine's locale."""
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"


def _when(value: dt.datetime) -> str:
    """Return a date and time as "15 Oct 2024 09:30", aware times in the council's zone."""
    if value.tzinfo is not None:
        value = value.astimezone(zone_named(_ZONE.get()))
    return f"{_day(value)} {value:%H:%M}"


# --- The rollup workbook -------------------------------------------------------------------------


def _build_rollup(facts: RollupFacts, target: str, scratch: str) -> None:
    """Write every sheet of the rollup into the file named target."""
    # constant_memory flushes each row as the next begins, so a 120,000-row Actions sheet costs
    # no more memory than a short one. Everything here writes rows in order; its one cost is that
    # charts get no cached values from cells, so each chart series carries its own (see _bar_chart).
    workbook = ParallelDeflateWorkbook(target, {**SAFE_OPTIONS, "constant_memory": True, "tmpdir": scratch})
    rows_helper.start()  # its start overlaps the first sheets; the big tables' rows are made there (xlsx_rows)
    try:
        workbook.set_properties(
            {
                "title": f"{_title(facts)} {facts.period}",
                "subject": f"Period ending {_day(facts.period_end)}",
                "comments": f"Generated {_when(facts.generated_at)} by actionplan",
            }
        )
        styles = Styles(workbook)
        _report_sheets(workbook)
        _summary_sheet(workbook, styles, facts)
        _objectives_sheet(workbook, styles, facts)
        _list_sheet(workbook, styles, facts, "Exceptions", facts.exceptions, EXCEPTION_COLUMNS)
        _list_sheet(workbook, styles, facts, "Actions", facts.actions, ACTION_COLUMNS)
        _kpis_sheet(workbook, styles, facts)
        submissions = _with_columns(facts.submissions, SUBMISSION_COLUMNS)
        missing = (
            [str(v).strip().lower() in ("missing", "returned") for v in submissions["Status"]]
            if "Status" in submissions.columns
            else None
        )
        _list_sheet(
            workbook, styles, facts, "Submissions", submissions, SUBMISSION_COLUMNS, highlight=missing
        )
        _list_sheet(workbook, styles, facts, "Changes", facts.changes, CHANGE_COLUMNS)
        _list_sheet(workbook, styles, facts, "Data quality", facts.data_quality, DATA_QUALITY_COLUMNS)
        _how_to_read_sheet(workbook, styles, facts)
        workbook.worksheets()[0].activate()
    except BaseException:
        _abandon(workbook)
        raise
    workbook.close()


def _report_sheets(workbook: Workbook) -> None:
    """Report each sheet as written (actionplan.progress): rows stream in sheet order under constant_memory, so a
    sheet is done when the next one is added, and the last when the workbook closes."""
    from . import progress

    add, close = workbook.add_worksheet, workbook.close
    progress.begin("sheets written", None)

    def _done() -> None:
        if workbook.worksheets():
            progress.advance("sheets written", workbook.worksheets()[-1].name)

    def add_worksheet(*args: Any, **kwargs: Any) -> Worksheet:
        _done()
        return add(*args, **kwargs)

    def closing() -> None:
        _done()
        close()

    workbook.add_worksheet = add_worksheet  # type: ignore[method-assign]
    workbook.close = closing  # type: ignore[method-assign]


def _abandon(workbook: Workbook) -> None:
    """Close the row files a workbook that will never be closed still holds open in scratch."""
    # xlsxwriter has no public abort; without this the scratch directory cannot be removed on
    # Windows and every failed run leaks file handles until garbage collection.
    for sheet in workbook.worksheets():
        try:
            sheet._opt_close()
        except Exception:  # best effort: this path is already failing
            pass


def _list_sheet(
    workbook: Workbook,
    styles: Styles,
    facts: RollupFacts,
    name: str,
    frame: pd.DataFrame,
    columns: Sequence[str],
    *,
    highlight: Sequence[bool] | None = None,
) -> Worksheet:
    """Add a sheet holding one list: header, rows, filter, frozen header, print setup."""
    ws = workbook.add_worksheet(name)
    _print_setup(ws, facts)
    frame = _with_columns(frame, columns)
    last = _write_table(ws, styles, 0, frame, name, highlight=highlight)
    _list_features(ws, 0, last, len(frame.columns))
    return ws


def _status_table(ws: Worksheet, styles: Styles, first_row: int, frame: pd.DataFrame, sheet: str) -> int:
    """Write a Department | Blue | … | % on track table, Council total row bold; return its last row."""
    headers = {name: styles.header(fill, font) for name, (fill, font) in _HEADER_COLOURS.items()}
    return _write_table(
        ws, styles, first_row, frame, sheet, header_formats=headers, total_row=_has_total(frame)
    )


def _has_total(frame: pd.DataFrame) -> bool:
    """Return True when a count table ends with its Council total row."""
    if len(frame) == 0 or len(frame.columns) == 0:
        return False
    last = frame.iloc[-1, 0]
    return isinstance(last, str) and last.strip().lower() in _TOTALS


def _owed_line(facts: RollupFacts) -> str:
    """'Missing: 2 of 9 departments; returned: Finance (please add the KPIs)'."""
    line = f"Missing: {len(facts.missing)} of {facts.expected} department{'s' if facts.expected != 1 else ''}"
    if facts.returned:
        line += "; returned: " + ", ".join(f"{d} ({c})" for d, c in sorted(facts.returned.items()))
    return line


def _summary_sheet(workbook: Workbook, styles: Styles, facts: RollupFacts) -> None:
    ws = workbook.add_worksheet("Summary")
    _print_setup(ws, facts)
    ws.hide_gridlines(2)
    title = styles(bold=True, font_size=14)
    lines = [
        f"Period ends {_day(facts.period_end)}",
        f"As at {_day(facts.as_at)}" if facts.as_at else "As at: not given",
        f"Generated {_when(facts.generated_at)}",
        f"Changes compared with {facts.previous_period}"
        if facts.previous_period
        else "Changes: no previous period on record",
        "Not submitted: " + (", ".join(str(d) for d in facts.missing) if facts.missing else "none"),
    ]
    if facts.expected:  # how many are owed, in words a committee paper can quote
        lines.append(_owed_line(facts))
    ws.write_string(0, 0, f"{_title(facts)} — {facts.period}", title)
    for row, line in enumerate(lines, start=1):
        ws.write_string(row, 0, line)
    header_row = len(lines) + 2
    if facts.councils is not None:  # the combined rollup: each council's totals above its departments
        header_row = _status_table(ws, styles, header_row, facts.councils, "Summary") + 2
    frame = _with_columns(facts.summary, SUMMARY_COLUMNS)
    last = _status_table(ws, styles, header_row, frame, "Summary")
    chart = _bar_chart(
        workbook,
        "Summary",
        frame,
        header_row,
        len(frame) - _has_total(frame),
        _SUMMARY_SERIES,
        f"Actions and milestones by status, {facts.period}",
    )
    if chart is not None:
        ws.insert_chart(last + 2, 0, chart)


def _bar_chart(
    workbook: Workbook,
    sheet: str,
    frame: pd.DataFrame,
    header_row: int,
    rows: int,
    series: Sequence[tuple[str, str]],
    title: str,
) -> Any:
    """Return a stacked bar chart of the named columns for the first rows of a table, or None."""
    columns = [str(c) for c in frame.columns]
    wanted = [(name, colour) for name, colour in series if name in columns]
    if rows <= 0 or not wanted or not columns:
        return None
    chart = workbook.add_chart({"type": "bar", "subtype": "stacked"})
    assert chart is not None  # xlsxwriter gives None only for a chart type it does not know
    first, last = header_row + 1, header_row + rows
    categories = [str(v) for v in frame.iloc[:rows, 0].tolist()]
    for name, colour in wanted:
        col = columns.index(name)
        numbers = [0 if is_blank(v) else v for v in frame.iloc[:rows, col].tolist()]
        chart.add_series(
            {
                "name": [sheet, header_row, col],
                "categories": [sheet, first, 0, last, 0],
                "values": [sheet, first, col, last, col],
                # constant_memory keeps no cells to cache from: give the chart its values directly so
                # viewers that do not recalculate charts (previews, some converters) still draw it.
                "categories_data": categories,
                "values_data": numbers,
                "name_data": [name],
                "fill": {"color": colour},
                "border": {"color": "#FFFFFF"},
                "gap": 60,
            }
        )
    chart.set_title({"name": title, "name_font": {"size": 12}})
    chart.set_y_axis({"reverse": True})  # departments read A–Z from the top, as in the table
    chart.set_x_axis({"major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 760, "height": min(180 + 26 * rows, 1400)})
    return chart


def _objectives_sheet(workbook: Workbook, styles: Styles, facts: RollupFacts) -> None:
    ws = workbook.add_worksheet("Objectives")
    _print_setup(ws, facts)
    last = _status_table(
        ws, styles, 0, _with_columns(facts.objectives_summary, SUMMARY_COLUMNS), "Objectives"
    )
    list_header = last + 2
    frame = _with_columns(facts.objectives, OBJECTIVE_COLUMNS)
    # Column widths follow the list (written second), which is what people scroll through.
    list_last = _write_table(ws, styles, list_header, frame, "Objectives")
    _list_features(ws, list_header, list_last, len(frame.columns))


def _kpis_sheet(workbook: Workbook, styles: Styles, facts: RollupFacts) -> None:
    ws = workbook.add_worksheet("KPIs")
    _print_setup(ws, facts)
    kpis = _with_columns(facts.kpis, KPI_COLUMNS)
    trend = [str(p) for p in facts.trend_periods if p in kpis.columns]
    if trend:
        kpis = kpis.assign(Trend=None)  # the header goes out with the rest: constant_memory cannot go back
    last = _write_table(ws, styles, 0, kpis, "KPIs")
    if trend and last > 0:
        # One sparkline per KPI over its actual in each period on record: the direction of travel at a glance.
        col = list(kpis.columns).index("Trend")
        first_col, last_col = list(kpis.columns).index(trend[0]), list(kpis.columns).index(trend[-1])
        # One group for them all: xlsxwriter rebuilds a group's style on every call (~1 ms), a call per KPI
        # cost 12 s for 10,000 KPIs; grouped, the sparklines are the same and the cost is one call.
        rows = range(1, last + 1)
        ws.add_sparkline(
            1,
            col,
            {
                "location": [xl_rowcol_to_cell(r, col) for r in rows],
                "range": [
                    f"KPIs!{xl_rowcol_to_cell(r, first_col)}:{xl_rowcol_to_cell(r, last_col)}" for r in rows
                ],
                "markers": True,
                "series_color": "#1F4E79",
            },
        )
    _list_features(ws, 0, last, len(kpis.columns))
    counts = _with_columns(facts.kpi_counts, KPI_COUNT_COLUMNS)
    counts_header = last + 2
    headers = {name: styles.header(fill, font) for name, (fill, font) in PERFORMANCE_COLOURS.items()}
    has_total = _has_total(counts)
    counts_last = _write_table(
        ws, styles, counts_header, counts, "KPIs", header_formats=headers, total_row=has_total
    )
    for c, name in enumerate(kpis.columns):  # the count table set widths too: the list's win
        ws.set_column(c, c, _width(str(name)))
    chart = _bar_chart(
        workbook,
        "KPIs",
        counts,
        counts_header,
        len(counts) - has_total,
        tuple(PERFORMANCE_CHART_COLOURS.items()),
        f"KPI performance, {facts.period}",
    )
    totals_last = counts_last
    if facts.kpi_totals is not None and not facts.kpi_totals.empty:
        # Below the counts: measures several departments report, added up from numerators and denominators.
        ws.write_string(
            counts_last + 2, 0, "Council totals from numerators and denominators", styles(bold=True)
        )
        totals_last = _write_table(ws, styles, counts_last + 3, facts.kpi_totals, "KPIs")
        for c, name in enumerate(kpis.columns):  # the list's widths win here too
            ws.set_column(c, c, _width(str(name)))
    if chart is not None:
        ws.insert_chart(totals_last + 2, 0, chart)


def _how_to_read_sheet(workbook: Workbook, styles: Styles, facts: RollupFacts) -> None:
    """The rules of the report in plain words, from the same constants as the numbers (facts.how_to_read)."""
    ws = workbook.add_worksheet("How to read this report")
    _print_setup(ws, facts)
    ws.hide_gridlines(2)
    ws.set_column(0, 0, 24)
    ws.set_column(1, 1, 100)
    title, section = styles(bold=True, font_size=14), styles(bold=True, font_size=12, bottom=1)
    term, text = styles(bold=True, valign="top"), styles(text_wrap=True, valign="top")
    ws.write_string(0, 0, f"How to read this report — {facts.period}", title)
    row = 2
    for name, explanation in facts.how_to_read:
        if not explanation:
            row += 1 if row > 2 else 0
            ws.write_string(row, 0, name, section)
        elif name in RAGB_COLOURS or name in _STATUS_LETTER_BY_NAME:
            letter = _STATUS_LETTER_BY_NAME.get(name, name)
            ws.write_string(row, 0, name, _format_for(styles, "Status", letter))
            ws.write_string(row, 1, explanation, text)
        else:
            ws.write_string(row, 0, name, term)
            ws.write_string(row, 1, explanation, text)
        height = next(iter(_row_heights([([explanation], 100.0)])))
        if height:
            ws.set_row(row, height)
        row += 1
