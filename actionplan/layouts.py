"""Layouts: declarative files saying how to find a plan's tables in a workbook and what its headings mean.

A layout (templates/layouts/*.toml, or the council's own folder) names the sheets to look in, the
header words of each column beyond the synonyms every layout understands, and the rules of its
shape: which columns identify an item (so a row without them continues the item above), a column
holding an officer and a date, judgement marks in sub-columns, statuses shown as cell colours.
This module holds the layout files (their schema, loading, titles); actionplan/tables.py reads a
workbook's tables with one, and actionplan/layout_choice.py chooses the layout that fits a workbook.
"""

import re
import tomllib
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from .columns import ITEM_KINDS, template_fields
from .errors import LayoutFileInvalid, UnknownLayout
from .headings import HeadingMatcher, fold
from .read import Book, Sheet, column_letter
from .values import text_from_value

# Canonical columns of each table kind: field id → the header printed in the template (actionplan/columns.py).
FIELDS: dict[str, dict[str, str]] = {kind: template_fields(kind) for kind in ITEM_KINDS}
REQUIRED: dict[str, tuple[str, ...]] = {
    "objectives": ("objective",),
    "actions": ("action", "status"),
    "kpis": ("measure", "target", "actual"),
}
# The cells that make a row an item of its own; a row with none of them but text elsewhere continues the
# item above (a cell split at a printed page break). A layout may name others.
IDENTIFY: dict[str, tuple[str, ...]] = {
    "objectives": ("ref", "objective"),
    "actions": ("ref", "action"),
    "kpis": ("ref", "measure"),
}
# Fields whose text may run on into the next row when a cell is split at a printed page break.
TEXT_FIELDS = frozenset(
    {
        "objective",
        "theme",
        "action",
        "lead_officer",
        "progress_update",
        "delivered_by",
        "commentary",
        "measure",
        "comment",
        "recovery_action",
    }
)

# A recovery plan, on an action or a KPI off target: what will bring it back, who, by when.
_RECOVERY = {
    "recovery_action": ("Remedial action", "Recovery plan", "Recovery actions"),
    "recovery_owner": ("Recovery lead", "Recovery owner", "Improvement lead"),
    "recovery_date": ("Recovery by", "Recovery target date", "Back on track by"),
}

# Header synonyms every layout understands (the contract's table), per table kind because the same
# word means different things: "Target" is the objective in a plan but the number in a KPI table.
# Grown from real plans (governance action plans, scrutiny recommendation trackers, audit action logs,
# inspection improvement plans whose headings are questions), not from our template.
_LEAD = (
    "Responsible officer",
    "Responsibility",
    "Target leader",
    "SMT Lead",
    "Owner",
    "Lead",
    "Lead officer(s)",
    "Action owner",
    "Accountable officer",
    "Responsible manager",
    "Responsible person",
    "Lead manager",
    "Who",
    "Who is responsible",
    "Who will do it",
    "Who will lead",
    "By whom",
    "Officer",
)
_REF = (
    "Reference",
    "No.",
    "No",
    "ID",
    "Ref.",
    "Ref no",
    "Rec no",
    "Recommendation no",
    "Action ref",
    "Action no",
    "Item",
    "#",
)
_STATUS = (
    "RAGB",
    "RAG",
    "RAGB Rating",
    "RAG Rating",
    "RAG status",
    "Judgement of Progress",
    "Progress",
    "BRAG",
    "Current status",
    "Overall status",
    "Status of action",
    "Progress status",
    "Rating",
)
_THEME = (
    "Improvement Theme",
    "Priority",
    "Key Improvement Area",
    "Priority area",
    "Service area",
    "Workstream",
    "Area",
    "Category",
)
SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "objectives": {
        "ref": _REF,
        "objective": ("Outcome", "Workstream/Project", "Objective title", "Aim", "Priority outcome"),
        "theme": _THEME,
        "lead_officer": _LEAD,
        "status": _STATUS,
        "commentary": ("Comments", "Comment", "Progress update", "Achievements to date"),
    },
    "actions": {
        "ref": _REF,
        "theme": _THEME,
        "objective": (
            "Outcome",
            "Target",
            "Workstream/Project",
            "Aim",
            "Expected outcome",
            "What we want to achieve",
            "Area for improvement",
            "Finding",
            "Issue identified",
            "Issue",
        ),
        "action": (
            "Milestone",
            "Milestones",
            "Task",
            "Actions for Implementation",
            "Key task",
            "Actions",
            "Agreed action",
            "Agreed actions",
            "Action required",
            "Action to be taken",
            "Actions to be taken",
            "Proposed action",
            "Planned action",
            "Improvement action",
            "Key actions",
            "Management action",
            "Recommendation",
            "What we will do",
            "What are we going to do",
            "What will we do",
            "What action will be taken",
            "Activity",
        ),
        "lead_officer": _LEAD,
        "due_date": (
            "Timescale",
            "End date",
            "Deadline",
            "Target date",
            "Implementation date",
            "Due",
            "Target completion date",
            "Completion date",
            "Agreed implementation date",
            "Date due",
            "Date for completion",
            "Timescales",
            "Timeframe",
            "When",
            "By when",
            "When will it be done",
        ),
        "revised_due_date": (
            "Revised target date",
            "Revised date",
            "New target date",
            "Revised deadline",
            "Revised implementation date",
            "Revised completion date",
            "Revised timescale",
        ),
        "status": _STATUS,
        "progress_update": (
            "Comments",
            "Commentary",
            "Progress Update",
            "Achievements to date",
            "Update",
            "Progress to date",
            "Current position",
            "Latest update",
            "Progress made",
            "Position statement",
            "Progress commentary",
            "Update on progress",
            "Officer comments",
            "Management response",
        ),
        **_RECOVERY,
    },
    "kpis": {
        "ref": _REF + ("PI ref", "KPI ref", "PI code"),
        "measure": (
            "Key Performance Measure",
            "Performance measure",
            "Performance indicator",
            "Indicator",
            "KPI",
            "Measure description",
            "PI description",
            "Description",
        ),
        "lead_officer": _LEAD,
        "comment": ("Comments", "Commentary"),
        "target": ("Target value", "Annual target"),
        "actual": ("Actual value", "Outturn", "Result"),
        "tolerance": ("Tolerance %", "Target range"),
        # The KPI model's columns, as performance systems (Pentana, Camms) and committee scorecards head them.
        "kpi_type": (
            "KPI type",
            "Measure type",
            "Indicator type",
            "PI type",
            "Scoring type",
            "Good performance",
        ),
        "lower_bound": ("Lower limit", "Lower threshold", "Band from", "Range from"),
        "upper_bound": ("Upper limit", "Upper threshold", "Band to", "Range to"),
        "aggregation": ("Calculation", "Cumulative or snapshot", "Accumulation"),
        "frequency": ("Collection frequency", "Reporting frequency", "How often"),
        "numerator": ("Numerator value",),
        "denominator": ("Denominator value",),
        **{f"target_q{q}": (f"Q{q} target", f"Target (Q{q})", f"Quarter {q} target") for q in (1, 2, 3, 4)},
        "forecast_outturn": ("Forecast", "Year end forecast", "Projected outturn", "Forecast year end"),
        **_RECOVERY,
    },
}

# A first-cell-only row that looks like a ref ("A1", "1.3.5", "114.07") is an item with nothing else
# filled in (an error the department should see), not a heading.


@lru_cache(maxsize=8192)
def header_key(text: Any) -> str:
    """A header compared with case, spaces, line breaks, punctuation and dashes folded (headings.fold)."""
    return fold(text)


def _base_names(kind: str) -> dict[str, str]:
    """The headers every layout understands for a table kind (titles and the contract's synonyms) → field."""
    names: dict[str, str] = {}
    for fid, title in FIELDS[kind].items():
        names[header_key(title)] = fid
        for syn in SYNONYMS[kind].get(fid, ()):
            names.setdefault(header_key(syn), fid)
    return names


@dataclass(frozen=True)
class TableSpec:
    """Where one table kind lives, how its header is found and how its rows are read."""

    kind: str
    sheets: tuple[str, ...] = ("*",)
    header_search_rows: int = 15
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)  # the layout's own words per field
    keep: tuple[str, ...] = ()  # headings the layout knows and keeps as they are (extra columns)
    ratings: dict[str, str] = field(default_factory=dict)  # heading → name of a second status kept in extra
    split: dict[str, tuple[str, str]] = field(default_factory=dict)  # heading → (text field, date field)
    beside: dict[str, str] = field(default_factory=dict)  # field → name for the unheaded column right of it
    required: tuple[str, ...] | None = None  # None: the contract's required columns
    identify: tuple[str, ...] | None = None  # all empty, text elsewhere: a continuation row (None: IDENTIFY)
    sections: str = "theme"  # what a section heading names: "theme" or "team"
    section_above_first_table: bool = False  # the heading right above the first header is a section too
    fill_down: tuple[str, ...] = ()  # fields left blank under a vertically merged cell take the value above
    judgement: str | None = (
        None  # heading above mark sub-columns; the marked sub-column's heading is the status
    )

    @cached_property
    def names(self) -> dict[str, str]:
        """Every header this table maps to a field → its field id."""
        names = _base_names(self.kind)
        for fid, extra in self.columns.items():
            for syn in extra:
                names[header_key(syn)] = fid  # a layout's own words win over the base synonyms
        if self.judgement:
            names[header_key(self.judgement)] = "status"
        return names

    @cached_property
    def own_names(self) -> frozenset[str]:
        """Headers this layout reads differently from the base: the evidence that a workbook has its shape."""
        base = _base_names(self.kind)
        own = {
            header_key(s)
            for fid, syns in self.columns.items()
            for s in syns
            if base.get(header_key(s)) != fid
        }
        own |= {header_key(s) for s in (*self.keep, *self.ratings, *self.split)}
        return frozenset(own)

    @cached_property
    def known_headings(self) -> dict[str, str]:
        """Every heading this table knows (header key → the heading as written), for spelling suggestions."""
        known = {header_key(t): t for t in FIELDS[self.kind].values()}
        for syns in SYNONYMS[self.kind].values():
            known.update({header_key(s): s for s in syns})
        for syns in self.columns.values():
            known.update({header_key(s): s for s in syns})
        known.update({header_key(s): s for s in (*self.keep, *self.ratings, *self.split)})
        return known

    @cached_property
    def matcher(self) -> HeadingMatcher:
        """Scores a heading against every heading this table knows: fields, and the layout's split, rating and kept ones."""
        known: dict[str, str] = {}
        for heading in self.split:
            known[heading] = f"split:{heading}"
        for heading in self.ratings:
            known.setdefault(heading, f"rating:{heading}")
        for heading in self.keep:
            known.setdefault(heading, f"keep:{heading}")
        headings = self.known_headings
        for key, fid in self.names.items():
            known.setdefault(headings.get(key, key), fid)
        return HeadingMatcher(known)

    @property
    def required_fields(self) -> tuple[str, ...]:
        return REQUIRED[self.kind] if self.required is None else self.required

    @property
    def identify_fields(self) -> tuple[str, ...]:
        return IDENTIFY[self.kind] if self.identify is None else self.identify

    def names_sheet(self, sheet: Sheet) -> bool:
        """Whether this table names the sheet explicitly (not only through "*")."""
        return any(_sheet_key(name) == _sheet_key(sheet.name) for name in self.sheets if name != "*")

    def looks_in(self, sheet: Sheet) -> bool:
        return self.names_sheet(sheet) or ("*" in self.sheets and not sheet.hidden)


@dataclass(frozen=True)
class Layout:
    """How to read one family of workbooks."""

    name: str
    description: str
    tables: tuple[TableSpec, ...]
    plan_sheet: str | None = "Plan"
    titles: tuple[str, ...] = ()  # title-row patterns with {department} and {period}
    status_words: dict[str, str] = field(default_factory=dict)
    fills: bool = False  # the Status column's cell colour is the status
    bold: str = "font"  # group headings are bold by cell "font" (read on demand) or by "markup" only
    path: Path | None = None
    ambiguous_with: tuple[str, ...] = ()  # layouts that matched the workbook just as well

    @cached_property
    def title_patterns(self) -> tuple[re.Pattern[str], ...]:
        return tuple(_title_regex(t) for t in self.titles)


# --- Layout files ----------------------------------------------------------------------------------

_LAYOUT_KEYS = {"name", "description", "plan", "status_words", "tables", "fills", "bold"}
_PLAN_KEYS = {"sheet", "titles"}
_TABLE_KEYS = {
    "kind",
    "sheets",
    "header_search_rows",
    "columns",
    "keep",
    "ratings",
    "split",
    "beside",
    "required",
    "identify",
    "sections",
    "section_above_first_table",
    "fill_down",
    "judgement",
}


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise LayoutFileInvalid(f"{where} should be a text or a list of texts.")


def _unknown_keys(given: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise LayoutFileInvalid(
            f"{where}: '{unknown[0]}' is not a layout setting. Settings here: {', '.join(sorted(allowed))}."
        )


def _fields_of(kind: str, names: Any, where: str) -> tuple[str, ...]:
    fids = _strings(names, where)
    for fid in fids:
        if fid not in FIELDS[kind]:
            raise LayoutFileInvalid(
                f"{where}: '{fid}' is not a column of {kind} ({', '.join(FIELDS[kind])})."
            )
    return fids


def _table_from_toml(t: dict[str, Any], path: Path, n: int) -> TableSpec:
    where = f"Layout file {path}, table {n}"
    _unknown_keys(t, _TABLE_KEYS, where)
    kind = t["kind"]
    if kind not in FIELDS:
        raise LayoutFileInvalid(f"{where}: table kind '{kind}' is not one of {', '.join(FIELDS)}.")
    columns = {}
    for fid, names in t.get("columns", {}).items():
        _fields_of(kind, fid, f"{where}, columns")
        columns[fid] = _strings(names, f"{where}, columns.{fid}")
    split = {}
    for heading, into in t.get("split", {}).items():
        fids = _fields_of(kind, into, f"{where}, split")
        if len(fids) != 2:
            raise LayoutFileInvalid(
                f"{where}, split: '{heading}' should name two columns, the text before the "
                'date and the date, e.g. ["lead_officer", "due_date"].'
            )
        split[heading] = (fids[0], fids[1])
    beside = {}
    for fid, name in t.get("beside", {}).items():
        _fields_of(kind, fid, f"{where}, beside")
        beside[fid] = str(name)
    sections = str(t.get("sections", "theme"))
    if sections not in ("theme", "team"):
        raise LayoutFileInvalid(f'{where}: sections should be "theme" or "team", not \'{sections}\'.')
    return TableSpec(
        kind=kind,
        sheets=_strings(t.get("sheets", ["*"]), f"{where}, sheets"),
        header_search_rows=int(t.get("header_search_rows", 15)),
        columns=columns,
        keep=_strings(t.get("keep", []), f"{where}, keep"),
        ratings={str(k): str(v) for k, v in t.get("ratings", {}).items()},
        split=split,
        beside=beside,
        required=_fields_of(kind, t["required"], f"{where}, required") if "required" in t else None,
        identify=_fields_of(kind, t["identify"], f"{where}, identify") if "identify" in t else None,
        sections=sections,
        section_above_first_table=bool(t.get("section_above_first_table", False)),
        fill_down=_fields_of(kind, t.get("fill_down", []), f"{where}, fill_down"),
        judgement=str(t["judgement"]) if t.get("judgement") else None,
    )


def layout_from_file(path: Path) -> Layout:
    """Read a layout file (TOML), checking every key so a council's typo is caught with a clear message."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise LayoutFileInvalid(f"Layout file {path} cannot be read: {exc}") from None
    try:
        _unknown_keys(data, _LAYOUT_KEYS, f"Layout file {path}")
        plan = data.get("plan", {})
        _unknown_keys(plan, _PLAN_KEYS, f"Layout file {path}, [plan]")
        tables = [_table_from_toml(t, path, n) for n, t in enumerate(data.get("tables", []), start=1)]
        if not tables:
            raise LayoutFileInvalid(f"Layout file {path} names no [[tables]].")
        words = {str(k): str(v).upper() for k, v in data.get("status_words", {}).items()}
        bad = [v for v in words.values() if v not in ("B", "G", "A", "R", "-")]
        if bad:
            raise LayoutFileInvalid(
                f"Layout file {path}: status_words must map to B, G, A, R or -, not {bad[0]}."
            )
        bold = str(data.get("bold", "font"))
        if bold not in ("font", "markup"):
            raise LayoutFileInvalid(f'Layout file {path}: bold should be "font" or "markup", not \'{bold}\'.')
        titles = _strings(plan.get("titles", []), f"Layout file {path}, [plan] titles")
        for title in titles:
            if "{department}" not in title and "{period}" not in title:
                raise LayoutFileInvalid(
                    f"Layout file {path}: the title pattern '{title}' names neither "
                    "{department} nor {period}."
                )
        return Layout(
            name=str(data.get("name") or path.stem),
            description=str(data.get("description", "")),
            tables=tuple(tables),
            plan_sheet=plan.get("sheet", "Plan"),
            titles=titles,
            status_words=words,
            fills=bool(data.get("fills", False)),
            bold=bold,
            path=path,
        )
    except KeyError as exc:
        raise LayoutFileInvalid(f"Layout file {path} is missing '{exc.args[0]}'.") from None


def load_layouts(dirs: list[Path], skipped: list[str] | None = None) -> dict[str, Layout]:
    """Every layout in the given folders, later folders overriding earlier ones by name.

    With `skipped`, a file in a folder after the first (the council's own) that cannot be read is left out and
    why is added there: one typo in a council's layout must not stop every check. The built-in ones must load.
    """
    layouts: dict[str, Layout] = {}
    for n, d in enumerate(dirs):
        if not d.is_dir():
            continue
        for path in sorted(d.glob("*.toml")):
            try:
                layout = layout_from_file(path)
            except LayoutFileInvalid as exc:
                if skipped is None or n == 0:
                    raise
                skipped.append(
                    f"{exc} This layout was skipped; the others are in use. Correct the file and "
                    "restart the service (the command line reads it again each time)."
                )
                continue
            layouts[layout.name] = layout
    return layouts


def layout_named(name: str, layouts: dict[str, Layout]) -> Layout:
    """The layout called name, or UnknownLayout listing the ones there are."""
    try:
        return layouts[name]
    except KeyError:
        raise UnknownLayout(
            f"There is no layout called '{name}'. Layouts: {', '.join(sorted(layouts))}."
        ) from None


def _sheet_key(text: str) -> str:
    return "".join(str(text).split()).lower()


# --- Titles: department and period written above the header ----------------------------------------

_PERIOD_PATTERN = (
    r"(?P<period>(?:(?:q|quarter)\s*[1-4]\W*)?(?:19|20)\d\d\s*[/\-–]\s*(?:\d{2}|\d{4})"
    r"(?:\W*(?:q|quarter)\s*[1-4])?)"
)


def _title_regex(pattern: str) -> re.Pattern[str]:
    """A title pattern ("{department} Improvement Plan {period}", * for any words) as a regex.

    Words are matched case-insensitively with any spaces or punctuation between them, so a council
    writes the pattern as the title reads, without regex syntax.
    """
    out = []
    for part in re.split(r"(\{department\}|\{period\}|\*)", pattern):
        if part == "{department}":
            out.append(r"(?P<department>.+?)")
        elif part == "{period}":
            out.append(_PERIOD_PATTERN)
        elif part == "*":
            out.append(r".*?")
        else:
            words = re.findall(r"[\w']+", part)
            out.append(r"\W*" + r"\W+".join(re.escape(w) for w in words) + r"\W*" if words else r"\W*")
    return re.compile(r"^\W*" + "".join(out) + r"\W*$", re.IGNORECASE)


def title_match(book: Book, layout: Layout, above: dict[str, int]) -> dict[str, Any]:
    """Department, period and plan title from a title cell above a table's header, matching a title pattern.

    above maps a sheet name to the 0-based row of its first header: only the rows above it are
    titles (a Plan sheet's "Plan" value is not). Returns {"plan_title": text, "department": text,
    "period": (text, sheet, cell)} for the first cell that matches, or {} when none does.
    """
    if not layout.titles:
        return {}
    for sheet in book.sheets:
        for r, row in enumerate(sheet.rows[: above.get(sheet.name, 0)]):
            for c, value in enumerate(row):
                if not isinstance(value, str):
                    continue
                text = text_from_value(value)
                if not text:
                    continue
                flat = " ".join(text.split())
                for pattern in layout.title_patterns:
                    m = pattern.match(flat)
                    if m is None:
                        continue
                    found: dict[str, Any] = {"plan_title": flat}
                    groups = m.groupdict()
                    if groups.get("department"):
                        found["department"] = groups["department"].strip(" -–—:,")
                    if groups.get("period"):
                        found["period"] = (groups["period"].strip(), sheet.name, f"{column_letter(c)}{r + 1}")
                    return found
    return {}


def is_title(value: Any, layout: Layout) -> bool:
    if not layout.titles or not isinstance(value, str):
        return False
    flat = " ".join((text_from_value(value) or "").split())
    return any(p.match(flat) for p in layout.title_patterns)
