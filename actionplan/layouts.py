"""Layouts: declarative files saying how to find a plan's tables in a workbook and map their headers."""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import LayoutFileInvalid, UnknownLayout
from .model import ERROR, WARNING, Message
from .read import Book, Sheet, column_letter

# Canonical columns of each table kind: field id → the header printed in the template.
FIELDS: dict[str, dict[str, str]] = {
    "objectives": {"ref": "Ref", "objective": "Objective", "theme": "Theme", "delivered_by": "Delivered by",
                   "lead_officer": "Lead officer", "status": "Status", "commentary": "Commentary"},
    "actions": {"ref": "Ref", "objective": "Objective", "theme": "Theme", "action": "Action",
                "lead_officer": "Lead officer", "due_date": "Due date", "revised_due_date": "Revised due date",
                "status": "Status", "progress_update": "Progress update"},
    "kpis": {"ref": "Ref", "measure": "Measure", "polarity": "Polarity", "unit": "Unit",
             "lead_officer": "Lead officer", "target": "Target", "actual": "Actual", "tolerance": "Tolerance",
             "comment": "Comment"},
}
SHEET_TITLES = {"objectives": "Objectives", "actions": "Actions", "kpis": "KPIs"}
REQUIRED: dict[str, tuple[str, ...]] = {
    "objectives": ("objective",),
    "actions": ("action", "status"),
    "kpis": ("measure", "target", "actual"),
}

# Header synonyms every layout understands (the contract's table), per table kind because the same
# word means different things: "Target" is the objective in a plan but the number in a KPI table.
_LEAD = ("Responsible officer", "Responsibility", "Target leader", "SMT Lead", "Owner", "Lead", "Lead officer(s)")
_REF = ("Reference", "No.", "No", "ID", "Ref.")
_STATUS = ("RAGB", "RAG", "RAGB Rating", "RAG Rating", "RAG status", "Judgement of Progress", "Progress")
SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "objectives": {
        "ref": _REF, "objective": ("Outcome", "Workstream/Project", "Objective title"),
        "theme": ("Improvement Theme", "Priority", "Key Improvement Area"), "lead_officer": _LEAD,
        "status": _STATUS, "commentary": ("Comments", "Comment", "Progress update", "Achievements to date"),
    },
    "actions": {
        "ref": _REF, "theme": ("Improvement Theme", "Priority", "Key Improvement Area"),
        "objective": ("Outcome", "Target", "Workstream/Project"),
        "action": ("Milestone", "Milestones", "Task", "Actions for Implementation", "Key task", "Actions"),
        "lead_officer": _LEAD,
        "due_date": ("Timescale", "End date", "Deadline", "Target date", "Implementation date", "Due"),
        "revised_due_date": ("Revised target date", "Revised date", "New target date", "Revised deadline"),
        "status": _STATUS,
        "progress_update": ("Comments", "Commentary", "Progress Update", "Achievements to date", "Update"),
    },
    "kpis": {
        "ref": _REF + ("PI ref", "KPI ref"),
        "measure": ("Key Performance Measure", "Performance measure", "Performance indicator", "Indicator",
                    "KPI", "Measure description"),
        "lead_officer": _LEAD, "comment": ("Comments", "Commentary"),
        "target": ("Target value",), "actual": ("Actual value", "Outturn", "Result"),
        "tolerance": ("Tolerance %", "Target range"),
    },
}


def header_key(text: Any) -> str:
    """A header compared case-, space- and trailing-punctuation-insensitively."""
    return re.sub(r"\s+", " ", str(text)).strip().strip(":").strip().lower()


@dataclass(frozen=True)
class TableSpec:
    """Where one table kind lives and how its header is found."""

    kind: str
    sheets: tuple[str, ...]
    header_search_rows: int = 15
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)  # extra synonyms per field

    def header_names(self) -> dict[str, str]:
        """Every header this table understands → its field id."""
        names: dict[str, str] = {}
        for fid, title in FIELDS[self.kind].items():
            names[header_key(title)] = fid
            for syn in SYNONYMS[self.kind].get(fid, ()):
                names.setdefault(header_key(syn), fid)
        for fid, extra in self.columns.items():
            for syn in extra:
                names[header_key(syn)] = fid  # a layout's own words win over the base synonyms
        return names


@dataclass(frozen=True)
class Layout:
    """How to read one family of workbooks."""

    name: str
    description: str
    tables: tuple[TableSpec, ...]
    plan_sheet: str | None = "Plan"
    status_words: dict[str, str] = field(default_factory=dict)
    path: Path | None = None


@dataclass
class Table:
    """One table found in a sheet: its header row, mapped columns and the data rows under it."""

    kind: str
    sheet: str
    header_row: int  # 1-based Excel row
    columns: dict[str, int]  # field id → 0-based column
    extras: dict[int, str]  # 0-based column → header text of columns kept as they are
    rows: list[tuple[int, list[Any]]]  # (1-based Excel row, the row's values)

    def letter(self, fid: str) -> str | None:
        col = self.columns.get(fid)
        return None if col is None else column_letter(col)

    def mapped(self) -> dict[str, str]:
        """Field → the column letter it was read from."""
        return {fid: column_letter(col) for fid, col in self.columns.items()}


def layout_from_file(path: Path) -> Layout:
    """Read a layout file (TOML), checking every key so a council's typo is caught with a clear message."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise LayoutFileInvalid(f"Layout file {path} cannot be read: {exc}") from None
    try:
        tables = []
        for t in data.get("tables", []):
            kind = t["kind"]
            if kind not in FIELDS:
                raise LayoutFileInvalid(f"Layout file {path}: table kind '{kind}' is not one of "
                                        f"{', '.join(FIELDS)}.")
            columns = {}
            for fid, names in t.get("columns", {}).items():
                if fid not in FIELDS[kind]:
                    raise LayoutFileInvalid(f"Layout file {path}: '{fid}' is not a column of {kind} "
                                            f"({', '.join(FIELDS[kind])}).")
                columns[fid] = tuple([names] if isinstance(names, str) else names)
            tables.append(TableSpec(kind=kind, sheets=tuple(t.get("sheets", ["*"])),
                                    header_search_rows=int(t.get("header_search_rows", 15)), columns=columns))
        if not tables:
            raise LayoutFileInvalid(f"Layout file {path} names no [[tables]].")
        words = {str(k): str(v).upper() for k, v in data.get("status_words", {}).items()}
        bad = [v for v in words.values() if v not in ("B", "G", "A", "R", "-")]
        if bad:
            raise LayoutFileInvalid(f"Layout file {path}: status_words must map to B, G, A, R or -, not {bad[0]}.")
        return Layout(name=str(data.get("name") or path.stem), description=str(data.get("description", "")),
                      tables=tuple(tables), plan_sheet=data.get("plan", {}).get("sheet", "Plan"),
                      status_words=words, path=path)
    except KeyError as exc:
        raise LayoutFileInvalid(f"Layout file {path} is missing '{exc.args[0]}'.") from None


def load_layouts(dirs: list[Path]) -> dict[str, Layout]:
    """Every layout in the given folders, later folders overriding earlier ones by name."""
    layouts: dict[str, Layout] = {}
    for d in dirs:
        if not d.is_dir():
            continue
        for path in sorted(d.glob("*.toml")):
            layout = layout_from_file(path)
            layouts[layout.name] = layout
    return layouts


def layout_named(name: str, layouts: dict[str, Layout]) -> Layout:
    """The layout called name, or UnknownLayout listing the ones there are."""
    try:
        return layouts[name]
    except KeyError:
        raise UnknownLayout(f"There is no layout called '{name}'. Layouts: {', '.join(sorted(layouts))}.") from None


def choose_layout(book: Book, layouts: dict[str, Layout]) -> Layout:
    """The layout whose tables' headers match the workbook best (canonical wins ties)."""
    def score(layout: Layout) -> tuple[int, int]:
        total = 0
        for spec in layout.tables:
            for sheet in _sheets_for(book, spec):
                found = _find_header(sheet, spec)
                if found:
                    total += found[1]
        return total, layout.name == "canonical"

    return max(layouts.values(), key=score)


def _sheets_for(book: Book, spec: TableSpec) -> list[Sheet]:
    if "*" in spec.sheets:
        return list(book.sheets)
    found = []
    for name in spec.sheets:
        sheet = book.sheet(name)
        if sheet is not None and sheet not in found:
            found.append(sheet)
    return found


def _find_header(sheet: Sheet, spec: TableSpec) -> tuple[int, int, dict[str, int]] | None:
    """The 0-based header row, its score and field → column, when the sheet holds this table."""
    names = spec.header_names()
    best: tuple[int, int, dict[str, int]] | None = None
    for r, row in enumerate(sheet.rows[: spec.header_search_rows]):
        columns: dict[str, int] = {}
        for c, value in enumerate(row):
            if value is None or not isinstance(value, str):
                continue
            fid = names.get(header_key(value))
            if fid and fid not in columns:
                columns[fid] = c
        if len(columns) >= 2 and (best is None or len(columns) > best[1]):
            best = (r, len(columns), columns)
    return best


def tables_from_book(book: Book, layout: Layout) -> tuple[list[Table], list[Message]]:
    """Find each table the layout describes; say which required columns are missing or headers misspelt."""
    tables: list[Table] = []
    messages: list[Message] = []
    for spec in layout.tables:
        for sheet in _sheets_for(book, spec):
            found = _find_header(sheet, spec)
            if found is None:
                if "*" not in spec.sheets and any(v is not None for row in sheet.rows[:1] for v in row):
                    messages.append(Message(
                        ERROR, "missing-header", sheet.name, "A1", None,
                        f"no {SHEET_TITLES[spec.kind]} header row found. Row 1 should hold the column "
                        f"headings: {' | '.join(FIELDS[spec.kind].values())}."))
                continue
            r, _, columns = found
            header = sheet.rows[r]
            for fid in REQUIRED[spec.kind]:
                if fid not in columns:
                    messages.append(Message(
                        ERROR, "missing-column", sheet.name, f"{column_letter(len(header))}{r + 1}", None,
                        f"the required column '{FIELDS[spec.kind][fid]}' is missing. Add a column headed "
                        f"'{FIELDS[spec.kind][fid]}' to the header row (row {r + 1})."))
            extras = {}
            known = set(spec.header_names())
            canonical_titles = [t for t in FIELDS[spec.kind].values()]
            for c, value in enumerate(header):
                if value is None or c in columns.values():
                    continue
                extras[c] = str(value).strip()
                if header_key(value) not in known:
                    close = difflib.get_close_matches(str(value).strip(), canonical_titles, n=1, cutoff=0.8)
                    if close and _field_of(spec.kind, close[0]) not in columns:
                        messages.append(Message(
                            WARNING, "unrecognised-column", sheet.name, f"{column_letter(c)}{r + 1}",
                            str(value), f"this heading was not recognised, so the column is kept as an extra "
                            f"column and not read as '{close[0]}'. If it is meant to be '{close[0]}', "
                            f"rename the heading."))
            header_keys = [header_key(v) if v is not None else "" for v in header]
            rows = []
            for i in range(r + 1, len(sheet.rows)):
                row = sheet.rows[i]
                if not any(v is not None and (not isinstance(v, str) or v.strip()) for v in row):
                    continue
                # The header repeated at a printed page break is not an item.
                if [header_key(v) if v is not None else "" for v in row[: len(header_keys)]] == header_keys:
                    continue
                rows.append((i + 1, row))
            tables.append(Table(spec.kind, sheet.name, r + 1, columns, extras, rows))
    return tables, messages


def _field_of(kind: str, title: str) -> str:
    return next(fid for fid, t in FIELDS[kind].items() if t == title)
