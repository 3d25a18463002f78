"""Reading a workbook's tables with a layout: header rows (stacked, by period, under a title), the rows
under them (continued cells, sections, bold objectives, judgement marks), and the cell rules (a date
written after an officer's name, a status shown as a fill colour).
"""

import difflib
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .columns import SHEET_TITLES
from .headings import Guess, assign, fold
from .layouts import FIELDS, TEXT_FIELDS, Layout, TableSpec, header_key, is_title
from .model import ERROR, WARNING, Message
from .read import Book, Sheet, add_cell_styles, column_letter
from .values import date_from_value, text_from_value

_REF_LIKE = re.compile(r"^[A-Za-z]{0,4}[\s\-]?\d[\w.\-/]*$")
_BOLD_MARKUP = re.compile(r"<(?:b|strong)\b", re.IGNORECASE)
_LONGEST_HEADING = 80  # longer cells are data, never headings: not worth normalising when looking for headers


def cell_present(value: Any) -> bool:
    # values.present without its NaN test: cells read from a workbook are never NaN, and this runs per cell.
    return value is not None and (not isinstance(value, str) or bool(value.strip()))


@dataclass
class Item:
    """One item (action, objective or KPI) read from one or more rows: raw field values and extra columns."""

    row: int  # 1-based Excel row of its first row
    values: dict[str, Any]
    extra: dict[str, Any]
    by_period: dict[tuple[str, Any], Any] = field(
        default_factory=dict
    )  # ("quarter", 2) → that column's value


@dataclass
class Table:
    """One table found in a sheet: its header row, mapped columns and the items under it."""

    kind: str
    sheet: str
    header_row: int  # 1-based Excel row
    columns: dict[str, int]  # field id → 0-based column
    extras: dict[int, str]  # 0-based column → name of columns kept as they are
    items: list[Item] = field(default_factory=list)
    unrecognised: dict[int, str] = field(default_factory=dict)  # 0-based column → heading nobody knows
    ratings: dict[str, int] = field(default_factory=dict)  # extra name of a second status → its column
    headings: dict[int, str] = field(default_factory=dict)  # 0-based column → its heading as written
    readings: dict[int, Guess] = field(default_factory=dict)  # 0-based column → how its heading was matched
    ignored: dict[int, tuple[Guess, int]] = field(
        default_factory=dict
    )  # column → its reading, column that won
    periods: dict[int, tuple[str, Any]] = field(
        default_factory=dict
    )  # column → ("quarter", 2) / ("year", 2024)
    header_rows: int = 1  # rows of the header (a stacked header has two or three)

    def letter(self, fid: str) -> str | None:
        col = self.columns.get(fid)
        return None if col is None else column_letter(col)

    def mapped(self) -> dict[str, str]:
        """Field → the column letter it was read from."""
        return {fid: column_letter(col) for fid, col in self.columns.items()}


# --- Header rows ------------------------------------------------------------------------------------


@dataclass
class Header:
    """A row (or two or three stacked rows) read as one table's header."""

    spec: TableSpec
    sheet: str
    row: int  # 0-based, the header's first row
    columns: dict[str, int]
    split: dict[int, tuple[str, str]]
    ratings: dict[int, str]
    kept: dict[int, str]
    judgement: dict[int, str]  # 0-based column → its sub-heading (in the row below the header)
    recognised: int
    own: int
    complete: bool  # the required columns are all there
    depth: int = 1  # header rows: 2 or 3 for a stacked header (group headings merged over sub-headings)
    headings: dict[int, str] = field(default_factory=dict)  # 0-based column → heading ("Dates / Due date")
    readings: dict[int, Guess] = field(default_factory=dict)  # 0-based column → how its heading matched
    ignored: dict[int, tuple[Guess, int]] = field(default_factory=dict)  # column → (its reading, the winner)
    periods: dict[int, tuple[str, Any]] = field(default_factory=dict)  # column → ("quarter", n) / ("year", y)

    @property
    def first_data_row(self) -> int:
        return self.row + (2 if self.judgement else self.depth)

    def signature(self) -> tuple:
        return (id(self.spec), tuple(sorted(self.columns.items())), tuple(sorted(self.periods.items())))

    @cached_property
    def continuation_columns(self) -> tuple[list[int], set[int], set[int], set[int]]:
        """(identifying, text, mapped, date-text columns): asked once per row, computed once per table.

        Where a group column (Workstream) is filled only on a group's first row, a row with it and the
        identifying cells empty is decided before filling down: the filled-down value must not make
        the rest of a row split at a page break look like an item. Its dated milestones written as
        text continue the cell above too.
        """
        identify = [
            self.columns[f]
            for f in (*self.spec.identify_fields, *self.spec.fill_down)
            if f in self.columns and self.columns[f] not in self.split
        ]
        text_cols = (
            {c for f, c in self.columns.items() if f in TEXT_FIELDS} | set(self.split) | set(self.kept)
        )
        mapped = set(self.columns.values()) | set(self.judgement) | set(self.ratings) | set(self.periods)
        dates = (
            {c for f, c in self.columns.items() if f in ("due_date", "revised_due_date")}
            if self.spec.fill_down
            else set()
        )
        return list(dict.fromkeys(identify)), text_cols, mapped, dates


def _holds_two_known(row: list[Any], longest: int, known: set[str]) -> bool:
    """Whether two of a row's cells are headings in known (header_key): the test every row below a table's first
    header takes, so it stops at the second. A cell longer than longest is not folded: folding never makes a text
    much shorter than its spaces and punctuation, so a long action's text cannot be a heading."""
    found = 0
    for v in row:
        if isinstance(v, str) and len(v) <= longest and header_key(v) in known:
            found += 1
            if found == 2:
                return True
    return False


# A quarter's column ("Q2", "Quarter 2", "Qtr 2 Actual", "Jul-Sep", "Jul–Sep 2024"), matched on the folded heading.
_QUARTER_HEADING = re.compile(
    r"^(?:(?:actual|outturn|result|performance)\s+)?(?:q|qtr|quarter)\s*([1-4])"
    r"(?:\s+(?:apr|jul|oct|jan)[a-z]*\s+(?:to\s+)?(?:jun|sep|dec|mar)[a-z]*)?"
    r"(?:\s+(?:actual|outturn|result|performance|value|data))?(?:\s+(?:19|20)?\d\d(?:\s+(?:19|20)?\d\d)?)?$"
)
_QUARTER_MONTHS = re.compile(
    r"^(apr|jul|oct|jan)[a-z]*\s+(?:to\s+)?(jun|sep|dec|mar)[a-z]*(?:\s+(?:19|20)?\d\d(?:\s+\d\d)?)?$"
)
_QUARTER_OF_MONTHS = {("apr", "jun"): 1, ("jul", "sep"): 2, ("oct", "dec"): 3, ("jan", "mar"): 4}
# A financial year's column: "2024-25", "2024/25", "24/25", "2024/2025", "Target 2024/25".
_YEAR_HEADING = re.compile(r"^(?:targets?\s+)?((?:19|20)?\d\d)\s+((?:19|20)?\d\d)(?:\s+targets?)?$")


def period_of_heading(text: Any) -> tuple[str, Any] | None:
    """("quarter", 1–4) or ("year", first calendar year) for a heading naming one quarter or financial year."""
    if not isinstance(text, str | int) or (isinstance(text, str) and len(text) > 40):
        return None
    key = fold(text)
    m = _QUARTER_HEADING.match(key)
    if m:
        return ("quarter", int(m.group(1)))
    m = _QUARTER_MONTHS.match(key)
    if m and (m.group(1), m.group(2)) in _QUARTER_OF_MONTHS:
        return ("quarter", _QUARTER_OF_MONTHS[(m.group(1), m.group(2))])
    m = _YEAR_HEADING.match(key)
    if m:
        first, second = m.group(1), m.group(2)
        start = int(first) if len(first) == 4 else 2000 + int(first)
        end = int(second) if len(second) == 4 else (start // 100) * 100 + int(second)
        if end == start + 1:
            return ("year", start)
    return None


def _stacked_headings(sheet: Sheet, r: int, depth: int) -> dict[int, tuple[str, ...]]:
    """Per column, the heading texts of a header of depth rows: "Group / Sub" and "Sub" alone, or the one cell.

    A group heading is merged across its sub-headings, so its own row is empty to its right: an empty
    cell whose left neighbours up to a group heading are empty too, and which has a sub-heading below
    (as they all do), belongs to that group.
    """
    rows = [sheet.rows[r + d] if r + d < len(sheet.rows) else [] for d in range(depth)]
    width = max(len(row) for row in rows)
    out: dict[int, tuple[str, ...]] = {}
    for c in range(width):
        parts: list[str] = []
        for d, row in enumerate(rows):
            value = row[c] if c < len(row) else None
            if cell_present(value):
                parts.append(" ".join(str(value).split()))
                continue
            if d == depth - 1:
                continue
            below = rows[d + 1]
            g = c - 1
            while g >= 0 and not cell_present(row[g] if g < len(row) else None):
                g -= 1
            if g >= 0 and all(cell_present(below[k] if k < len(below) else None) for k in range(g, c + 1)):
                parts.append(" ".join(str(row[g]).split()))
        if parts:
            out[c] = (" / ".join(parts), parts[-1]) if len(parts) > 1 else (parts[0],)
    return out


def _is_stacked(sheet: Sheet, r: int) -> bool:
    """Whether row r holds a group heading merged over sub-headings in the row below (all short texts)."""
    if r + 1 >= len(sheet.rows):
        return False
    top, below = sheet.rows[r], sheet.rows[r + 1]
    if not all(
        isinstance(v, str | int) and len(str(v)) <= _LONGEST_HEADING for v in below if cell_present(v)
    ):
        return False
    for c in range(len(top) - 1):
        if (
            cell_present(top[c])
            and not cell_present(top[c + 1])
            and c + 1 < len(below)
            and cell_present(below[c])
            and cell_present(below[c + 1])
        ):
            return True
    return False


def _match_header(sheet: Sheet, r: int, spec: TableSpec, guess: bool = True) -> Header | None:
    """Row r (or rows r.. stacked) read as spec's header, when at least two of its cells name spec's columns."""
    single = match_rows(sheet, r, spec, 1, guess)
    if single is not None and single.judgement:
        return single
    best = single
    for depth in (2, 3):
        if not _is_stacked(sheet, r + depth - 2):
            break
        stacked = match_rows(sheet, r, spec, depth, guess)
        if stacked is not None and (
            best is None or (stacked.complete, stacked.recognised) > (best.complete, best.recognised)
        ):
            best = stacked
    return best


def match_rows(
    sheet: Sheet, r: int, spec: TableSpec, depth: int, guess: bool, least: int = 2
) -> Header | None:
    """The header of depth rows from row r: every heading scored, each field given to its best column."""
    matcher, own_names = spec.matcher, spec.own_names
    if depth == 1:
        texts = {c: (v,) for c, v in enumerate(sheet.rows[r]) if isinstance(v, str) and cell_present(v)}
    else:
        texts = _stacked_headings(sheet, r, depth)
    readings: dict[int, tuple[Guess, ...]] = {}
    periods: dict[int, tuple[str, Any]] = {}
    for c, forms in texts.items():
        found: dict[str, Guess] = {}
        if spec.kind == "kpis":
            period = period_of_heading(forms[-1])
            if period is not None:
                periods[c] = period
                continue
        for form in forms:
            for g in matcher.readings(form, guess):
                if not g.certain and ":" in g.target:
                    continue  # a layout's own split, rating or kept heading is named, never guessed
                if g.target not in found or g.score > found[g.target].score:
                    found[g.target] = g
        if found:
            readings[c] = tuple(sorted(found.values(), key=lambda g: -g.score))
    used, lost = assign(readings)
    columns: dict[str, int] = {}
    split: dict[int, tuple[str, str]] = {}
    ratings: dict[int, str] = {}
    kept: dict[int, str] = {}
    recognised = own = 0
    for c in sorted(used):
        g = used[c]
        kind, _, name = g.target.partition(":")
        if kind == "split":
            split[c] = spec.split[name]
        elif kind == "rating":
            ratings[c] = spec.ratings[name]
        elif kind == "keep":
            kept[c] = texts[c][0].strip()
        else:
            columns[g.target] = c
        recognised += 1
        own += g.certain and header_key(g.known) in own_names
    for c, (text_fid, date_fid) in split.items():
        for fid in (text_fid, date_fid):
            columns.setdefault(fid, c)
    # Columns per quarter are the Actual, per year the Target, where the table has no such column itself.
    quarters = {c: p for c, p in periods.items() if p[0] == "quarter"}
    years = {c: p for c, p in periods.items() if p[0] == "year"}
    periods = {}
    guessed_actual = "actual" in columns and not used[columns["actual"]].certain
    if (
        quarters
        and ("actual" not in columns or guessed_actual)
        and (len(quarters) >= 2 or guessed_actual or "target" in columns)
    ):
        # A quarter's own column is a better Actual than a heading only guessed to be one ("2023/24 Outturn").
        if guessed_actual:
            del used[columns.pop("actual")]
        periods.update(quarters)
    if years and "target" not in columns and (len(years) >= 2 or _under_targets(texts, years)):
        periods.update(years)
    recognised += bool(periods)
    if len(columns) + bool(periods) < least:
        return None
    if least and not periods and not any(g.certain for g in used.values()):
        return None  # guesses alone ("Action Plan | Status: draft" in a title block) never make a header
    lost_to = {g.target: c for c, g in used.items()}
    ignored = {c: (g, lost_to[g.target]) for c, g in lost.items() if g.target in lost_to}
    judgement: dict[int, str] = {}
    if (
        depth == 1
        and spec.judgement
        and "status" in columns
        and header_key(sheet.rows[r][columns["status"]]) == header_key(spec.judgement)
    ):
        c = columns["status"]
        below = sheet.rows[r + 1] if r + 1 < len(sheet.rows) else []
        # The heading is merged across its sub-columns, so the cells right of it in its own row are empty.
        while (
            c < len(below)
            and cell_present(below[c])
            and (c == columns["status"] or not cell_present(sheet.cell(r, c)))
        ):
            judgement[c] = text_from_value(below[c]) or ""
            c += 1
        if len(judgement) >= 2:
            recognised += 1
            own += 1
        else:
            judgement = {}
    have = (
        set(columns)
        | {"actual" for p in periods.values() if p[0] == "quarter"}
        | {"target" for p in periods.values() if p[0] == "year"}
    )
    complete = all(f in have for f in spec.required_fields)
    headings = {c: forms[0] for c, forms in texts.items()}
    return Header(
        spec,
        sheet.name,
        r,
        columns,
        split,
        ratings,
        kept,
        judgement,
        recognised,
        own,
        complete,
        depth=depth,
        headings=headings,
        readings=dict(used),
        ignored=ignored,
        periods=periods,
    )


def _under_targets(texts: dict[int, tuple[str, ...]], years: dict[int, tuple[str, Any]]) -> bool:
    return any(header_key(texts[c][0]).startswith("target") for c in years)


def find_headers(
    sheet: Sheet, specs: list[TableSpec], first_only: bool = False
) -> tuple[list[Header], list[Header]]:
    """The header rows of a sheet in order (each row given to the table it matches best), and partial ones.

    A table's first header must be within its header_search_rows; once one table is found on a sheet,
    further headers (a second table, or the header repeated at a page break) are found anywhere below.
    A partial header lacks a required column: it is kept to say which, when no table is found.
    Headings are guessed (contains, typo) only where a first header may be; further down a row must
    hold two headings known as they are, or as a header above on this sheet wrote them, to be a header.
    """
    found: list[Header] = []
    partial: list[Header] = []
    specs = [s for s in specs if s.looks_in(sheet)]
    if not specs:
        return found, partial
    zone = max(s.header_search_rows for s in specs)
    # first_only: only the rows where a first header may be (for scoring), without reading further down.
    limit = len(sheet.rows) if not first_only else zone
    known = set().union(*(s.known_headings for s in specs), *(s.names for s in specs))
    # Twice the longest known key: room for spaces, punctuation, a qualifier and an "as at" date around it.
    longest = min(_LONGEST_HEADING, 2 * max(map(len, known)) + 10)
    skip_to = 0
    for r in range(min(limit, len(sheet.rows))):
        if r < skip_to:
            continue
        searching = not found and r < zone
        if searching:
            if not _may_be_header(sheet.rows[r], specs):
                continue
        elif not _holds_two_known(sheet.rows[r], longest, known):
            continue
        best: Header | None = None
        for spec in specs:
            if not (found or partial) and r >= spec.header_search_rows:
                continue
            h = _match_header(sheet, r, spec)
            if h is None:
                continue
            if not (h.complete or spec.names_sheet(sheet)):
                if h.recognised >= 3:
                    partial.append(h)
                continue
            if best is None or (h.recognised, h.own) > (best.recognised, best.own):
                best = h
        if best is not None:
            found.append(best)
            partial = [p for p in partial if p.row != r]
            skip_to = best.first_data_row
            # The same header again at a page break is known by its own words, however far down.
            for c in best.readings:
                if c < len(sheet.rows[r]) and isinstance(sheet.rows[r][c], str):
                    known.add(header_key(sheet.rows[r][c]))
            for d in range(1, best.depth):
                known.update(header_key(v) for v in sheet.rows[r + d] if isinstance(v, str))
            longest = min(_LONGEST_HEADING, max(longest, 2 * max(map(len, known)) + 10))
    return found, partial


def _may_be_header(row: list[Any], specs: list[TableSpec]) -> bool:
    """Whether two cells of a row could name columns of one of specs (headings scored, guesses included)."""
    texts = [v for v in row if isinstance(v, str) and v.strip()]
    if len(texts) < 2:
        return False
    for spec in specs:
        matcher = spec.matcher
        if (
            sum(1 for v in texts if matcher.readings(v) or (spec.kind == "kpis" and period_of_heading(v)))
            >= 2
        ):
            return True
    # A group heading over sub-headings: its row alone may name only one column.
    return any(spec.matcher.readings(v) for spec in specs for v in texts)


# --- Reading tables ------------------------------------------------------------------------------------


def tables_from_book(book: Book, layout: Layout) -> tuple[list[Table], list[Message]]:
    """Find each table the layout describes and read its items; say what is missing, misspelt or unreadable."""
    tables: list[Table] = []
    messages: list[Message] = []
    if layout.ambiguous_with:
        others = ", ".join(f"'{n}'" for n in layout.ambiguous_with)
        messages.append(
            Message(
                WARNING,
                "ambiguous-layout",
                None,
                None,
                None,
                f"this workbook's headings match the '{layout.name}' layout and {others} equally well; it was read "
                f"with '{layout.name}'. If that is wrong, submit again choosing the layout (--layout NAME).",
            )
        )
    if layout.fills:
        add_cell_styles(book)  # from the file, or the fills the add-in sent (False without either)
    partials: list[Header] = []
    for sheet in book.sheets:
        found, partial = find_headers(sheet, list(layout.tables))
        partials.extend(partial)
        for spec in layout.tables:
            if (
                spec.names_sheet(sheet)
                and not any(h.spec is spec for h in found)
                and not any(h.spec is spec for h in partial)
                and any(v is not None for row in sheet.rows[:1] for v in row)
            ):
                messages.append(
                    Message(
                        ERROR,
                        "missing-header",
                        sheet.name,
                        "A1",
                        None,
                        f"no {SHEET_TITLES[spec.kind]} header row found. Row 1 should hold the column "
                        f"headings: {' | '.join(FIELDS[spec.kind].values())}.",
                    )
                )
        if found:
            # A near-miss header above the first one read: its rows cannot be read, so say why.
            for h in partial:
                if h.row < found[0].row and any(f.spec is h.spec for f in found):
                    _describe_header(sheet, h, messages)
                    break
            tables.extend(_read_sheet(book, sheet, layout, found, messages))
    if not tables and partials:
        # No complete table anywhere: read the best near-miss, so the department hears which column is missing.
        best = max(partials, key=lambda h: (h.recognised, h.own))
        sheet = next(s for s in book.sheets if s.name == best.sheet)
        same = [h for h in partials if h.sheet == best.sheet and h.signature() == best.signature()]
        tables.extend(_read_sheet(book, sheet, layout, same, messages))
    return tables, messages


def _describe_header(
    sheet: Sheet, h: Header, messages: list[Message]
) -> tuple[dict[int, str], dict[int, str]]:
    """Missing required columns (errors) and unrecognised headings (warnings when they look misspelt)."""
    spec = h.spec
    header = sheet.rows[h.row]
    have = (
        set(h.columns)
        | {"actual" for p in h.periods.values() if p[0] == "quarter"}
        | {"target" for p in h.periods.values() if p[0] == "year"}
    )
    for fid in spec.required_fields:
        if fid not in have:
            title = FIELDS[spec.kind][fid]
            messages.append(
                Message(
                    ERROR,
                    "missing-column",
                    sheet.name,
                    f"{column_letter(len(header))}{h.row + 1}",
                    None,
                    f"the required column '{title}' is missing. Add a column headed '{title}' to the header row "
                    f"(row {h.row + 1}).",
                )
            )
    for c, g in sorted(h.readings.items()):
        if g.certain or g.target not in FIELDS[spec.kind]:
            continue
        title = FIELDS[spec.kind][g.target]
        value = h.headings.get(c, "")
        if g.how == "typo":
            why = f"taking it for '{g.known}' misspelt. If that is right, correct the spelling"
        else:
            why = f"because it {g.how} '{g.known}'. If that is right, nothing needs doing"
        messages.append(
            Message(
                WARNING,
                "guessed-column",
                sheet.name,
                f"{column_letter(c)}{h.row + 1}",
                value,
                f"this heading was read as the '{title}' column, {why}; if not, rename the heading.",
            )
        )
    extras: dict[int, str] = {}
    unrecognised: dict[int, str] = {}
    used = set(h.columns.values()) | set(h.split) | set(h.judgement) | set(h.periods)
    known = spec.known_headings
    width = max([len(header), *(c + 1 for c in h.headings)])
    for c in range(width):
        value = h.headings.get(c) if h.depth > 1 else (header[c] if c < len(header) else None)
        if not cell_present(value) or c in used:
            continue
        name = h.ratings.get(c) or h.kept.get(c) or str(value).strip()
        extras[c] = name
        if c in h.ratings or c in h.kept or header_key(value) in known:
            continue
        unrecognised[c] = name
        close = difflib.get_close_matches(header_key(value), list(known), n=1, cutoff=0.8)
        if not close:
            continue
        meant = known[close[0]]
        fid = spec.names.get(close[0])
        if fid is not None and fid in h.columns:
            continue  # that column is already there; this one is an extra of the department's own
        if fid is None and close[0] not in {header_key(k) for k in (*spec.keep, *spec.ratings, *spec.split)}:
            continue
        what = f"'{FIELDS[spec.kind][fid]}'" if fid else f"'{meant}'"
        messages.append(
            Message(
                WARNING,
                "unrecognised-column",
                sheet.name,
                f"{column_letter(c)}{h.row + 1}",
                str(value),
                f"this heading was not recognised, so the column is kept as an extra column and not read as "
                f"{what}. If it is meant to be '{meant}', rename the heading.",
            )
        )
    for fid, name in spec.beside.items():
        col = h.columns.get(fid)
        if col is not None and not cell_present(sheet.cell(h.row, col + 1)):
            extras[col + 1] = name
    return extras, unrecognised


@dataclass
class _Raw:
    """An item's cells before they are read: its rows merged, and the headings it sits under."""

    row: int  # 0-based, its first row
    cells: list[Any]
    section: str | None
    group: str | None
    header: Header  # the header it was read under
    extras: dict[int, str]  # that header's extra columns


def _read_sheet(
    book: Book, sheet: Sheet, layout: Layout, headers: list[Header], messages: list[Message]
) -> list[Table]:
    """Read the rows under each header of a sheet: items, continuation rows, headings, repeated headers.

    Every header of the same table on a sheet (the header repeated at a page break, or the next
    team's table in a service plan) continues one Table; each stretch of rows is read with the
    columns of the header right above it.
    """
    tables: dict[int, tuple[Table, list[_Raw]]] = {}
    headings: dict[
        int, list[tuple[int, int, str]]
    ] = {}  # per table: (row, column, text) read as headings in it
    extras_of: dict[tuple, dict[int, str]] = {}
    header_rows = {r for h in headers for r in range(h.row, h.first_data_row)}
    section: str | None = None
    group: str | None = None
    if headers[0].spec.section_above_first_table:
        section = _section_above(sheet, headers[0].row, layout)
    for n, h in enumerate(headers):
        if h.signature() not in extras_of:
            # Only a table's first header is described to the department; a later one that differs
            # (a heading misspelt on one page only) is read as it is.
            said = messages if id(h.spec) not in tables else []
            extras, unrecognised = _describe_header(sheet, h, said)
            extras_of[h.signature()] = extras
            if id(h.spec) not in tables:
                tables[id(h.spec)] = (
                    Table(
                        h.spec.kind,
                        sheet.name,
                        h.row + 1,
                        dict(h.columns),
                        extras,
                        unrecognised=unrecognised,
                        ratings={name: c for c, name in h.ratings.items()},
                        headings=dict(h.headings),
                        readings=dict(h.readings),
                        ignored=dict(h.ignored),
                        periods=dict(h.periods),
                        header_rows=h.first_data_row - h.row,
                    ),
                    [],
                )
        raws = tables[id(h.spec)][1]
        end = headers[n + 1].row if n + 1 < len(headers) else len(sheet.rows)
        first_col = min(c for c, v in enumerate(sheet.rows[h.row]) if cell_present(v))
        for r in range(h.first_data_row, end):
            if r in header_rows:
                continue
            row = sheet.rows[r]
            # cell_present inlined: this runs for every cell of every sheet.
            filled = [c for c, v in enumerate(row) if v is not None and (v.__class__ is not str or v.strip())]
            if not filled or is_title(row[filled[0]], layout):
                continue
            if (
                len(filled) == 1
                and filled[0] <= first_col
                and isinstance(row[filled[0]], str)
                and not (h.columns.get("ref") == filled[0] and _REF_LIKE.match(row[filled[0]].strip()))
            ):
                # Right above a table it is a section heading, bold or not; inside one, bold makes it a
                # group heading (the rows' Objective) and plain a section heading (their Theme or team).
                text = text_from_value(row[filled[0]]) or ""
                inside = not _above_header(sheet, r, header_rows)
                if inside:
                    headings.setdefault(id(h.spec), []).append((r, filled[0], text))
                if inside and _is_bold(book, sheet, layout, r, filled[0]):
                    group = text
                else:
                    section, group = text, None
                continue
            if raws and (_continues(h, row, filled) or _kpi_split(h, row, filled, raws[-1].cells)):
                _merge(raws[-1].cells, row)
                continue
            raws.append(_Raw(r, list(row), section, group, h, extras_of[h.signature()]))
    out = []
    for key, (table, raws) in tables.items():
        table.items = _items(book, sheet, layout, table, raws, messages)
        # The template has no headings, and a table of headings alone has no items: either way such rows are
        # far more likely actions typed in the wrong column than headings, and must not vanish without a word.
        if headings.get(key) and (layout.name == "canonical" or not table.items):
            messages.append(_headings_note(sheet.name, table.kind, headings[key]))
        out.append(table)
    return out


def _headings_note(sheet: str, kind: str, rows: list[tuple[int, int, str]]) -> Message:
    """The warning for rows with text in their first cell only, read as headings inside a table."""
    r, c, text = rows[0]
    columns = sorted({column_letter(col) for _, col, _ in rows})
    where = f"column {columns[0]}" if len(columns) == 1 else "columns " + ", ".join(columns)
    n = len(rows)
    items = {"actions": "actions", "objectives": "objectives", "kpis": "KPIs"}[kind]
    main = FIELDS[kind]["action" if kind == "actions" else "objective" if kind == "objectives" else "measure"]
    return Message(
        WARNING,
        "heading-rows",
        sheet,
        f"{column_letter(c)}{r + 1}",
        text,
        f"{n} row{'s' if n != 1 else ''} {'have' if n != 1 else 'has'} text only in {where}: read as "
        f"heading{'s' if n != 1 else ''}; if {'they are' if n != 1 else 'it is'} {items}, fill the "
        f"{main} column.",
    )


def _above_header(sheet: Sheet, r: int, header_rows: set[int]) -> bool:
    """Whether the next non-blank row below r is a header row."""
    for below in range(r + 1, len(sheet.rows)):
        if any(cell_present(v) for v in sheet.rows[below]):
            return below in header_rows
    return False


def _section_above(sheet: Sheet, header_row: int, layout: Layout) -> str | None:
    for r in range(header_row - 1, -1, -1):
        filled = [v for v in sheet.rows[r] if cell_present(v)]
        if not filled:
            continue
        if len(filled) == 1 and cell_present(sheet.cell(r, 0)) and not is_title(filled[0], layout):
            return text_from_value(filled[0])
        return None
    return None


def _is_bold(book: Book, sheet: Sheet, layout: Layout, r: int, c: int) -> bool:
    value = sheet.cell(r, c)
    if isinstance(value, str) and _BOLD_MARKUP.search(value):
        return True
    if layout.bold != "font":
        return False
    if sheet.bold is None:
        add_cell_styles(book)  # only now, when a heading row is met: most workbooks never pay for openpyxl
    return sheet.is_bold(r, c)


def _continues(h: Header, row: list[Any], filled: list[int]) -> bool:
    """A continuation row: no identifying cell, and only text columns filled (a cell split at a page break)."""
    identify, text_cols, mapped, dates = h.continuation_columns
    if not identify or any(c in filled for c in identify):
        return False
    return all(
        c in text_cols or (c not in mapped) or (c in dates and isinstance(row[c], str)) for c in filled
    ) and any(isinstance(row[c], str) for c in filled)


def _kpi_split(h: Header, row: list[Any], filled: list[int], above: list[Any]) -> bool:
    """A KPI row split at a page break: no Ref (the row above has one), no number, only text columns filled.

    Word-born KPI tables put the last word of a measure and of its officer on a row of their own;
    a KPI's own row has its Ref, or a target or an actual.
    """
    ref = h.columns.get("ref")
    if (
        h.spec.kind != "kpis"
        or ref is None
        or ref in filled
        or not cell_present(above[ref] if ref < len(above) else None)
    ):
        return False
    _identify, text_cols, _mapped, _dates = h.continuation_columns
    return all(c in text_cols and isinstance(row[c], str) for c in filled)


def _merge(cells: list[Any], row: list[Any]) -> None:
    """Append a continuation row's text to the item above, cell by cell (a new paragraph each)."""
    if len(cells) < len(row):
        cells.extend([None] * (len(row) - len(cells)))
    for c, value in enumerate(row):
        if not cell_present(value):
            continue
        above = cells[c]
        if not cell_present(above):
            cells[c] = value
        elif isinstance(above, str) and isinstance(value, str):
            cells[c] = f"{above}\n{value}"


def _items(
    book: Book, sheet: Sheet, layout: Layout, table: Table, raws: list[_Raw], messages: list[Message]
) -> list[Item]:
    """Raw rows → items: split columns, judgement marks, fill colours, headings and merged cells applied."""
    fields = FIELDS[table.kind]
    blank_status: list[int] = []
    items: list[Item] = []
    previous: Item | None = None
    previous_section: str | None = None
    for raw in raws:
        cells, h = raw.cells, raw.header
        spec, status_col = h.spec, h.columns.get("status")
        values: dict[str, Any] = {}
        for fid, c in h.columns.items():
            if c in h.split or (fid == "status" and h.judgement):
                continue
            values[fid] = cells[c] if c < len(cells) else None
        for c, (text_fid, date_fid) in h.split.items():
            text, date = split_text_and_date(cells[c] if c < len(cells) else None)
            if h.columns.get(text_fid) == c:
                values[text_fid] = text
            if h.columns.get(date_fid) == c:
                values[date_fid] = date
        if h.judgement:
            values["status"] = _judgement(sheet, h, raw, messages)
        if layout.fills and status_col is not None and not cell_present(values.get("status")):
            if sheet.fills is not None:
                values["status"] = status_from_fill(sheet.fill(raw.row, status_col))
            else:
                blank_status.append(raw.row)
        extra = {
            name: cells[c] for c, name in raw.extras.items() if c < len(cells) and cell_present(cells[c])
        }
        same_section = previous is not None and raw.section == previous_section
        for fid in spec.fill_down:
            if not cell_present(values.get(fid)) and same_section and previous is not None:
                values[fid] = previous.values.get(fid)
        if raw.section:
            target = "theme" if spec.sections == "theme" else None
            if spec.sections == "team":
                extra["Team"] = raw.section
                target = "theme"
            if target in fields and not cell_present(values.get(target)):
                values[target] = raw.section
            elif target not in fields and spec.sections == "theme":
                extra.setdefault("Theme", raw.section)
        if raw.group and "objective" in fields and not cell_present(values.get("objective")):
            values["objective"] = raw.group
        by_period = {p: cells[c] for c, p in h.periods.items() if c < len(cells) and cell_present(cells[c])}
        item = Item(raw.row + 1, values, extra, by_period)
        items.append(item)
        previous, previous_section = item, raw.section
    if blank_status:
        letter = table.letter("status")
        rows = f"{letter}{blank_status[0] + 1}" + (
            f":{letter}{blank_status[-1] + 1}" if len(blank_status) > 1 else ""
        )
        why = (
            "which the Excel add-in cannot read"
            if book.source == "xlwings"
            else "and the colours could not be read from this file"
        )
        also = ", or upload the .xlsx file on the upload page" if book.source == "xlwings" else ""
        messages.append(
            Message(
                ERROR,
                "colour-only-status",
                sheet.name,
                f"{letter}{blank_status[0] + 1}",
                None,
                f"the Status cells ({rows}) hold no text. This plan shows its statuses as cell colours, {why}. "
                f"Choose B, G, A or R in each Status cell (Blue, Green, Amber or Red) and submit again{also}.",
            )
        )
    return items


def _judgement(sheet: Sheet, h: Header, raw: _Raw, messages: list[Message]) -> str | None:
    """The heading of the sub-column holding this row's mark ("*", "●", "▲", "?"), or None when unmarked."""
    marked = [c for c in h.judgement if c < len(raw.cells) and cell_present(raw.cells[c])]
    if len(marked) > 1:
        cells = ", ".join(f"{column_letter(c)}{raw.row + 1}" for c in marked)
        heads = " and ".join(h.judgement[c] for c in marked)
        messages.append(
            Message(
                ERROR,
                "two-judgements",
                sheet.name,
                f"{column_letter(marked[0])}{raw.row + 1}",
                None,
                f"this row is marked under both {heads} ({cells}). Put one mark per row, under the judgement "
                "that applies.",
            )
        )
    return h.judgement[marked[0]] if marked else None


# --- Cell rules --------------------------------------------------------------------------------------

_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?,?"
# Words that may lead into a date: "by end of June 2018", "w/c 6 Nov 17", "28th - 31st March 2017".
_DATE_LEAD = re.compile(
    rf"^(?:by|end|of|the|w/c|week|commencing|from|to|and|before|until|[-–—]|\d{{1,2}}"
    rf"(?:st|nd|rd|th)?,?|{_MONTH})$",
    re.IGNORECASE,
)
_NO_DATE_WORDS = re.compile(r"(?:tbc|tba|ongoing|on-going|on going|n/a)\W*$", re.IGNORECASE)


def split_text_and_date(value: Any) -> tuple[str | None, str | None]:
    """Split "Director of Children's Services  March 2018" into the officer and the date as written.

    The date is the shortest tail of the text that holds one, extended left over words that lead
    into a date ("by end of", "w/c", the start of a range); everything before it is the text.
    Without a date, a trailing TBC or Ongoing is the date part; otherwise it is all text.
    """
    text = text_from_value(value)
    if not text:
        return None, None
    starts = [m.start() for m in re.finditer(r"\S+", text)]
    tail_at = None
    for i in range(len(starts) - 1, -1, -1):
        found = date_from_value(text[starts[i] :])
        if found.date is not None or found.problem:
            tail_at = i
            break
    if tail_at is None:
        m = _NO_DATE_WORDS.search(text)
        if m is None or m.start() == 0:
            return (text, None) if m is None else (None, text)
        return text[: m.start()].rstrip(" -–—,;:\n") or None, text[m.start() :].strip()
    while tail_at > 0 and _DATE_LEAD.match(text[starts[tail_at - 1] :].split(None, 1)[0]):
        tail_at -= 1
    lead = text[: starts[tail_at]].rstrip(" -–—,;:\n") or None
    date = text[starts[tail_at] :].strip().lstrip("-–— ").strip()
    return lead, date or None


# Hue bands of the RAGB colours, in degrees; near shades (light or dark) fall in the same band.
_FILL_HUES = ((0, 15, "Red"), (15, 70, "Amber"), (70, 170, "Green"), (170, 260, "Blue"), (330, 361, "Red"))


def status_from_fill(rgb: str | None) -> str | None:
    """The status a cell's fill colour shows: Red, Amber (yellow to orange), Green or Blue; None when unfilled.

    White and greys (no colour to speak of) are no status; any other colour (purple, pink) is
    described, so validation names it as a status that is not recognised.
    """
    if not rgb or len(rgb) != 6:
        return None
    import colorsys

    try:
        r, g, b = (int(rgb[i : i + 2], 16) / 255 for i in (0, 2, 4))
    except ValueError:
        return None
    hue, saturation, value = colorsys.rgb_to_hsv(r, g, b)
    if saturation < 0.15 or value < 0.25:
        return None
    degrees = hue * 360
    for low, high, name in _FILL_HUES:
        if low <= degrees < high:
            return name
    return f"a purple or pink fill (#{rgb})"


# --- Reports -------------------------------------------------------------------------------------------


def field_letters(report: dict[str, list[str]], kind: str | None = None) -> dict[str, str]:
    """One sheet's entry of columns_report read back: field → the column letter it was read from (of one table
    kind, or of any, later tables winning)."""
    letters = {}
    for item in report.get("mapped", []):
        letter, _, qualified = item.partition(": ")
        table_kind, _, fid = qualified.partition(".")
        if kind is None or table_kind == kind:
            letters[fid] = letter
    return letters


def columns_report(tables: list[Table]) -> dict[str, dict[str, list[str]]]:
    """Per sheet, which columns were mapped to which field, which were kept as extras, and which nobody knew.

    Validation reads the letters of each field from "mapped"; where a sheet holds two tables (a
    service plan's tasks and KPIs) the actions table is listed last, so its letters win.
    """
    report: dict[str, dict[str, list[str]]] = {}
    for table in sorted(tables, key=lambda t: t.kind == "actions"):
        entry = report.setdefault(table.sheet, {"mapped": [], "extra": [], "unrecognised": []})
        entry["mapped"] += [
            f"{column_letter(c)}: {table.kind}.{fid}"
            for fid, c in sorted(table.columns.items(), key=lambda kv: kv[1])
        ]
        entry["extra"] += [f"{column_letter(c)}: {name}" for c, name in sorted(table.extras.items())]
        entry["unrecognised"] += [
            f"{column_letter(c)}: {name}" for c, name in sorted(table.unrecognised.items())
        ]
        # Only where there are any, so a plan read as written reports as before.
        guessed = [
            f"{column_letter(c)}: {' '.join(table.headings.get(c, '').split())} → {table.kind}.{g.target} "
            f"({g.how} '{g.known}', score {g.score})"
            for c, g in sorted(table.readings.items())
            if not g.certain and g.target in FIELDS[table.kind]
        ]
        ignored = [
            f"{column_letter(c)}: {' '.join(table.headings.get(c, '').split())} "
            f"({FIELDS[table.kind].get(g.target, g.target)} is read from {column_letter(winner)})"
            for c, (g, winner) in sorted(table.ignored.items())
        ]
        if guessed:
            entry.setdefault("guessed", []).extend(guessed)
        if ignored:
            entry.setdefault("ignored", []).extend(ignored)
    return report
