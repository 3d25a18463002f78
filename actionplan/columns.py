"""Every column of the template, the warehouse and the rollup, declared once: field, heading, kind, tables, look.

A column's line says what it is called in records and in the warehouse (`field`), what the template and the
rollup print (`heading`), what kind of value it holds (how it is stored and written), which template sheets,
warehouse tables and rollup sheets hold it, and its width. Field lists, the writers' formats, the rollup's
renames, `actionplan convert` and the warehouse's tables are all read from here (tables list their columns in
declaration order), so adding a rollup column is one line here (plus its tests; a stored field also needs a
migration).
"""

from __future__ import annotations

from dataclasses import dataclass

# Kinds: how a value is stored (SQL type) and how a writer shows it.
SQL_TYPES = {
    "text": "TEXT",
    "date": "DATE",
    "flag": "BOOLEAN",
    "number": "DOUBLE PRECISION",
    "percent": "DOUBLE PRECISION",
    "status": "TEXT",
    "performance": "TEXT",
    "integer": "INTEGER",
    "datetime": "TIMESTAMP",
    "count": "INTEGER",
}

ITEM_KINDS = ("objectives", "actions", "kpis")


@dataclass(frozen=True)
class Column:
    """One column: its record field, its printed heading, its kind, the tables that hold it and its look."""

    field: str | None  # name in records, frames and warehouse tables; None: a rollup figure only
    heading: str | None  # what the template and the rollup print; None: stored, never printed
    kind: str = "text"  # text, date, datetime, flag, number, percent, status, performance, integer, count
    template: tuple[str, ...] = ()  # template sheets (item kinds) with this column, in declaration order
    stored: tuple[str, ...] = ()  # warehouse item tables with this field
    rollup: tuple[str, ...] = ()  # rollup tables with this heading
    width: float | None = None  # rollup width in characters (None: fitted to the heading)
    template_width: float = 15
    wrap: bool = False  # long text: wrapped in the rollup (and in the template)
    template_wrap: bool | None = None  # the template's choice where it differs from the rollup's
    number_format: str | None = None  # percent and count columns: Excel's number format
    # A rollup column shown only when some row has a value in it: the KPI model's columns (Type, bounds, year to
    # date…) stay off a rollup whose returns never used them, so a council that does not is shown what it was.
    when_used: bool = False

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.kind]

    @property
    def wraps_in_template(self) -> bool:
        return self.wrap if self.template_wrap is None else self.template_wrap


_O, _A, _K = ("objectives",), ("actions",), ("kpis",)
_ITEMS = ("objectives", "actions", "kpis")
_STATUS_TABLES = ("summary", "objectives_summary", "kpi_counts")

COLUMNS: tuple[Column, ...] = (
    Column(
        "department",
        "Department",
        rollup=(
            "summary",
            "objectives_summary",
            "objectives",
            "exceptions",
            "actions",
            "kpis",
            "kpi_counts",
            "submissions",
            "changes",
            "data_quality",
        ),
        width=24,
    ),
    Column(None, "Kind", rollup=("changes",), width=12),
    Column(
        "ref",
        "Ref",
        template=_ITEMS,
        stored=_ITEMS,
        rollup=("objectives", "exceptions", "actions", "kpis", "changes", "data_quality"),
        width=9,
        template_width=8,
    ),
    Column(
        "measure",
        "Measure",
        template=_K,
        stored=_K,
        rollup=("kpis", "kpi_totals"),
        width=40,
        template_width=40,
        wrap=True,
    ),
    Column(
        "objective",
        "Objective",
        template=_O + _A,
        stored=_O + _A,
        rollup=("objectives", "exceptions", "actions"),
        width=30,
        template_width=35,
        wrap=True,
    ),
    Column(
        "theme",
        "Theme",
        template=_O + _A,
        stored=_O + _A,
        rollup=("objectives", "actions"),
        width=18,
        template_width=20,
        template_wrap=True,
    ),
    Column(
        "delivered_by",
        "Delivered by",
        template=_O,
        stored=_O,
        rollup=("objectives",),
        width=22,
        template_width=22,
        wrap=True,
    ),
    Column(
        "action",
        "Action",
        template=_A,
        stored=_A,
        rollup=("exceptions", "actions"),
        width=45,
        template_width=45,
        wrap=True,
    ),
    Column("polarity", "Polarity", template=_K, stored=_K, rollup=("kpis",), width=16, template_width=17),
    Column("unit", "Unit", template=_K, stored=_K, rollup=("kpis", "kpi_totals"), width=8, template_width=8),
    Column(
        "lead_officer",
        "Lead officer",
        template=_ITEMS,
        stored=_ITEMS,
        rollup=("objectives", "exceptions", "actions", "kpis"),
        width=20,
        template_width=20,
    ),
    Column(
        "due_date",
        "Due date",
        "date",
        template=_A,
        stored=_A,
        rollup=("exceptions", "actions"),
        width=12,
        template_width=13,
    ),
    Column(
        "revised_due_date",
        "Revised due date",
        "date",
        template=_A,
        stored=_A,
        rollup=("exceptions", "actions"),
        width=12,
        template_width=13,
    ),
    Column("effective_due_date", None, "date", stored=_A),
    Column(
        "target", "Target", "number", template=_K, stored=_K, rollup=("kpis",), width=11, template_width=11
    ),
    Column("target_text", None, stored=_K),
    Column(
        "actual", "Actual", "number", template=_K, stored=_K, rollup=("kpis",), width=11, template_width=11
    ),
    Column("actual_text", None, stored=_K),
    Column(
        "tolerance",
        "Tolerance",
        "percent",
        template=_K,
        stored=_K,
        rollup=("kpis",),
        width=10,
        template_width=11,
        number_format="0.0%",
    ),
    Column("performance", "Performance", "performance", stored=_K, rollup=("kpis",), width=12),
    # The department's own ★ ● ▲ beside the computed Performance: listed only where a department gave one.
    Column(None, "Department's symbol", width=11),
    Column(None, "Previous actual", "number", rollup=("kpis",), width=11),
    Column(None, "Direction", rollup=("kpis",), width=13),
    Column(
        "status",
        "Status",
        "status",
        template=_O + _A,
        stored=_O + _A,
        rollup=("objectives", "exceptions", "actions", "submissions"),
        width=8,
        template_width=9,
    ),
    Column("status_text", None, stored=_O + _A),
    Column(
        "commentary",
        "Commentary",
        template=_O,
        stored=_O,
        rollup=("objectives",),
        width=55,
        template_width=55,
        wrap=True,
    ),
    Column(
        "progress_update",
        "Progress update",
        template=_A,
        stored=_A,
        rollup=("exceptions", "actions"),
        width=55,
        template_width=60,
        wrap=True,
    ),
    Column(
        "comment", "Comment", template=_K, stored=_K, rollup=("kpis",), width=40, template_width=50, wrap=True
    ),
    # The KPI model (issue 20): all optional; blank keeps a KPI judged by Polarity, Target and Tolerance alone.
    Column(
        "kpi_type",
        "Type",
        template=_K,
        stored=_K,
        rollup=("kpis",),
        width=16,
        template_width=17,
        when_used=True,
    ),
    *(
        Column(
            f,
            h,
            "number",
            template=_K,
            stored=_K,
            rollup=("kpis",),
            width=11,
            template_width=11,
            when_used=True,
        )
        for f, h in (("lower_bound", "Lower bound"), ("upper_bound", "Upper bound"))
    ),
    *(
        Column(f, h, template=_K, stored=_K, rollup=("kpis",), width=12, template_width=13, when_used=True)
        for f, h in (("aggregation", "Aggregation"), ("frequency", "Frequency"))
    ),
    *(
        Column(
            f,
            h,
            "number",
            template=_K,
            stored=_K,
            rollup=("kpis", "kpi_totals") if f in ("numerator", "denominator") else ("kpis",),
            width=11,
            template_width=12,
            when_used=True,
        )
        for f, h in (
            ("numerator", "Numerator"),
            ("denominator", "Denominator"),
            *((f"target_q{q}", f"Target Q{q}") for q in (1, 2, 3, 4)),
            ("forecast_outturn", "Forecast outturn"),
        )
    ),
    # The target this period's actual was judged against: Target Qn where profiled, else Target (a quarter of it
    # for a cumulative measure).
    Column(
        "period_target", "Quarter target", "number", stored=_K, rollup=("kpis",), width=11, when_used=True
    ),
    Column(None, "Year to date", "number", rollup=("kpis",), width=11, when_used=True),
    Column(None, "YTD target", "number", rollup=("kpis",), width=11, when_used=True),
    Column(None, "YTD performance", "performance", rollup=("kpis",), width=12, when_used=True),
    # The forecast outturn against the year's target.
    Column(None, "Forecast performance", "performance", rollup=("kpis",), width=12, when_used=True),
    Column("exception_reason", "Reason", stored=_A, rollup=("exceptions",), width=34, wrap=True),
    # A persistent exception (off target two periods running, until back on target) and its recovery plan.
    Column(None, "Since", rollup=("exceptions", "kpis"), width=11, when_used=True),
    Column(
        "recovery_action",
        "Recovery action",
        template=_A + _K,
        stored=_A + _K,
        rollup=("exceptions",),
        width=40,
        template_width=40,
        wrap=True,
        when_used=True,
    ),
    Column(
        "recovery_owner",
        "Recovery owner",
        template=_A + _K,
        stored=_A + _K,
        rollup=("exceptions",),
        width=20,
        template_width=20,
        when_used=True,
    ),
    Column(
        "recovery_date",
        "Recovery date",
        "date",
        template=_A + _K,
        stored=_A + _K,
        rollup=("exceptions",),
        width=12,
        template_width=13,
        when_used=True,
    ),
    Column("recovery_date_text", None, stored=_A + _K),
    Column("overdue", "Overdue", "flag", stored=_A, rollup=("actions",), width=9),
    Column("slipped", "Slipped", "flag", stored=_A, rollup=("actions",), width=9),
    Column("due_date_text", "Due date as written", stored=_A, rollup=("actions",), width=16),
    Column("revised_due_date_text", "Revised due date as written", stored=_A, rollup=("actions",), width=16),
    Column("exception", "Exception", "flag", stored=_A, rollup=("actions",), width=10),
    Column("times_revised", "Times revised", "count", rollup=("actions",), width=9),
    Column("original_due_date", "Original due date", "date", rollup=("actions",), width=12),
    Column("rag_check", "RAG check", rollup=("actions",), width=34, wrap=True),
    # Counts by status and by performance (Summary, Objectives, KPIs sheets).
    *(
        Column(
            None,
            name,
            "count",
            rollup=("summary", "objectives_summary"),
            width=10 if name == "Not rated" else 9,
        )
        for name in ("Blue", "Green", "Amber", "Red", "Not rated")
    ),
    *(
        Column(None, name, "count", rollup=("kpi_counts",), width=9)
        for name in ("better", "within", "worse", "no data")
    ),
    *(
        Column(None, name, "count", rollup=("kpi_counts",), width=9, when_used=True)
        for name in ("not due", "data only")
    ),
    Column(None, "Total", "count", rollup=_STATUS_TABLES, width=9),
    Column(
        None, "% complete", "percent", rollup=("summary", "objectives_summary"), width=11, number_format="0%"
    ),
    Column(
        None, "% on track", "percent", rollup=("summary", "objectives_summary"), width=11, number_format="0%"
    ),
    # Council totals of measures reported with numerator and denominator (KPIs sheet, below the counts).
    # (Measure, Unit, Numerator and Denominator are the KPIs columns above, their rollup tables naming kpi_totals.)
    Column(None, "Departments", "count", rollup=("kpi_totals",), width=11),
    Column(None, "Council figure", "number", rollup=("kpi_totals",), width=11),
    Column(None, "Mean of departments", "number", rollup=("kpi_totals",), width=12),
    # Submissions, Changes, Data quality.
    Column(None, "Submitted at", "datetime", rollup=("submissions",), width=17),
    Column(None, "Submitted by", rollup=("submissions",), width=22),
    Column(None, "File", rollup=("submissions",), width=30, wrap=True),
    Column(None, "Warnings", "count", rollup=("submissions",), width=10),
    Column(None, "Submission id", rollup=("submissions",), width=24),
    Column(None, "Note", rollup=("submissions",), width=40, wrap=True),  # late by, a return's comment
    Column(None, "Title", rollup=("changes",), width=40, wrap=True),
    Column(None, "Change", rollup=("changes",), width=28, wrap=True),
    Column(None, "From", rollup=("changes",), width=14),
    Column(None, "To", rollup=("changes",), width=14),
    Column(None, "Sheet", rollup=("data_quality",), width=12),
    Column(None, "Cell", rollup=("data_quality",), width=8),
    Column(None, "Value", rollup=("data_quality",), width=26, wrap=True),
    Column(None, "Code", rollup=("data_quality",), width=20),
    Column(None, "Message", rollup=("data_quality",), width=70, wrap=True),
    Column(None, "Trend", width=16),  # the KPIs sheet's sparklines
)

BY_HEADING: dict[str, Column] = {c.heading: c for c in COLUMNS if c.heading}
# Where one heading means another thing on one rollup sheet: a submission's Status is a word ("missing"), not
# RAGB; Changes name statuses in words ("Green" → "Red").
SHEET_KINDS: dict[tuple[str, str], str] = {
    ("Submissions", "Status"): "submission_status",
    ("Changes", "From"): "status_name",
    ("Changes", "To"): "status_name",
}

# The sheets of the rollup workbook (tables above) and of the template, by the names they print.
ROLLUP_SHEETS = (
    "Summary",
    "Objectives",
    "Exceptions",
    "Actions",
    "KPIs",
    "Submissions",
    "Changes",
    "Data quality",
    "How to read this report",
)
SHEET_TITLES = {"objectives": "Objectives", "actions": "Actions", "kpis": "KPIs"}
# Stored in every item table around the fields: which submission, where in the workbook, what else it kept.
_ROW_KEY = (("submission_id", "TEXT"), ("sheet", "TEXT"), ("row_number", "INTEGER"))
_EXTRA = (("extra_json", "TEXT"),)


def rollup_headings(table: str, when_used: bool = False) -> tuple[str, ...]:
    """The headings of a rollup table, in order (e.g. rollup_headings("exceptions")); with when_used, also those
    shown only when some row has a value."""
    return tuple(
        c.heading for c in COLUMNS if table in c.rollup and c.heading and (when_used or not c.when_used)
    )


def used_only(table: str) -> tuple[str, ...]:
    """The headings of a rollup table shown only when some row has a value in them."""
    return tuple(c.heading for c in COLUMNS if table in c.rollup and c.heading and c.when_used)


def template_headings(kind: str) -> tuple[str, ...]:
    """The headings of a template sheet (objectives, actions or kpis), in order."""
    return tuple(c.heading for c in COLUMNS if kind in c.template and c.heading)


def template_fields(kind: str) -> dict[str, str]:
    """A template sheet's fields and the heading each is printed under, in order."""
    return {c.field: c.heading for c in COLUMNS if kind in c.template and c.field and c.heading}


def rollup_renames(table: str) -> dict[str, str]:
    """field → heading for a rollup table built from an item table (department first, as printed)."""
    return {c.field: c.heading for c in COLUMNS if table in c.rollup and c.field and c.heading}


def stored_columns(kind: str) -> tuple[tuple[str, str], ...]:
    """A warehouse item table's columns and SQL types (the migrations create them; inserts name every column)."""
    return (*_ROW_KEY, *((c.field, c.sql_type) for c in COLUMNS if kind in c.stored and c.field), *_EXTRA)


def kind_of(heading: str, sheet: str | None = None) -> str:
    """How a column's values are shown on a rollup sheet: its declared kind, unless the sheet says otherwise."""
    if sheet and (sheet, heading) in SHEET_KINDS:
        return SHEET_KINDS[sheet, heading]
    column = BY_HEADING.get(heading)
    return column.kind if column else "text"
