"""The department template (spec §2): the workbook departments fill in and submit.

Where departments type the statuses, conditional formats colour them (the rollup colours each cell as
it is written instead, so it also prints).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from actionplan.columns import BY_HEADING, template_headings
from actionplan.rules import kpi_model_explained
from actionplan.vocabulary import (
    AGGREGATIONS,
    DEFAULT_TOLERANCE,
    FREQUENCIES,
    HIGHER_IS_BETTER,
    KPI_TYPES,
    LOWER_IS_BETTER,
    STATUS_MEANINGS,
    STATUS_NAMES,
    STATUS_WORDS,
)
from actionplan.xlsx import RAGB_COLOURS, SAFE_OPTIONS, Styles, write_atomically

TEMPLATE_VERSION = 1
TEMPLATE_SHEETS = ("Instructions", "Plan", "Objectives", "Actions", "KPIs")
TEMPLATE_OBJECTIVE_COLUMNS = template_headings("objectives")
TEMPLATE_ACTION_COLUMNS = template_headings("actions")
TEMPLATE_KPI_COLUMNS = template_headings("kpis")
_DATE_COLUMNS = {h for h, c in BY_HEADING.items() if c.kind == "date"}


def write_template(path: Path, department: str | None = None, period: str | None = None) -> Path:
    """Write an empty department workbook (template version 1), prefilled with department and period."""
    return write_atomically(Path(path), lambda target, _: _build_template(target, department, period))


# --- The department template ---------------------------------------------------------------------

_TEMPLATE_ROWS = 2000  # validation, formats and colours reach row 2000
_STATUS_PROMPT = (
    "B = Blue (complete)\nG = Green (on track)\nA = Amber (at risk)\nR = Red (problem)\n"
    "Leave blank if not rated yet."
)
_STATUS_WARNING = (
    "That is not B, G, A or R. Words such as Complete, On track, At risk or Off target are "
    "accepted too; anything else is rejected when you submit. Keep it?"
)
_DATE_PROMPT = (
    "Type a date as dd/mm/yyyy, e.g. 31/03/2025. A month alone (March 2025) means the end of that "
    "month. TBC is allowed but will be flagged."
)


def _build_template(target: str, department: str | None, period: str | None) -> None:
    """Write the department template into the file named target."""
    workbook = xlsxwriter.Workbook(target, SAFE_OPTIONS)
    workbook.set_properties(
        {
            "title": "Action plan update",
            "subject": "Department action plan and KPIs",
            "comments": f"actionplan template version {TEMPLATE_VERSION}",
        }
    )
    workbook.set_custom_property("actionplan template version", TEMPLATE_VERSION)
    styles = Styles(workbook)
    instructions = _instructions_sheet(workbook, styles)
    _plan_sheet(workbook, styles, department, period)
    _entry_sheet(workbook, styles, "Objectives", TEMPLATE_OBJECTIVE_COLUMNS)
    _entry_sheet(workbook, styles, "Actions", TEMPLATE_ACTION_COLUMNS)
    _entry_sheet(workbook, styles, "KPIs", TEMPLATE_KPI_COLUMNS)
    # Excel remembers the sheet a workbook was saved on, so this only decides the first opening:
    # a new user starts on the instructions; afterwards they come back wherever they left off.
    instructions.activate()
    workbook.close()


def _plan_sheet(workbook: Workbook, styles: Styles, department: str | None, period: str | None) -> None:
    ws = workbook.add_worksheet("Plan")
    label = styles(bold=True, valign="top")
    entry = styles(bg_color="#FFF2CC", border=1, valign="top", text_wrap=True)
    note = styles(italic=True, font_color="#595959", valign="top", text_wrap=True)
    rows = (
        ("Department", department, "Required. Your department's name as the council knows it."),
        ("Plan", None, "Required. The title of your plan, e.g. Service Plan 2024/25."),
        (
            "Period",
            period,
            "Required. The quarter you are reporting on, e.g. 2024/25 Q2 (July to September).",
        ),
        ("As at", None, "Optional. The date this update was written, dd/mm/yyyy."),
        ("Contact", None, "Optional. Who to ask about this update (name, email or phone)."),
    )
    for r, (name, value, help_text) in enumerate(rows):
        ws.write_string(r, 0, name, label)
        if name == "As at":
            ws.write_blank(
                r,
                1,
                None,
                styles(bg_color="#FFF2CC", border=1, num_format="dd/mm/yyyy", align="left", valign="top"),
            )
        elif value:
            ws.write_string(r, 1, value, entry)
        else:
            ws.write_blank(r, 1, None, entry)
        ws.write_string(r, 2, help_text, note)
    ws.write_string(len(rows) + 1, 0, "Template version", label)
    ws.write_number(len(rows) + 1, 1, TEMPLATE_VERSION, styles(align="left"))
    ws.write_string(len(rows) + 1, 2, "Please leave this as it is.", note)
    ws.data_validation(3, 1, 3, 1, {"validate": "any", "input_title": "As at", "input_message": _DATE_PROMPT})
    ws.data_validation(
        2,
        1,
        2,
        1,
        {
            "validate": "any",
            "input_title": "Period",
            "input_message": "e.g. 2024/25 Q2. Q1 is April to June, Q4 January to March.",
        },
    )
    ws.set_column(0, 0, 18)
    ws.set_column(1, 1, 40)
    ws.set_column(2, 2, 70)
    _template_print_setup(ws)


def _template_print_setup(ws: Worksheet) -> None:
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.set_footer("&L&A&CPage &P of &N")


_TEMPLATE_WRAPPED = {h for h, c in BY_HEADING.items() if c.template and c.wraps_in_template}
_TEMPLATE_WIDTHS = {h: c.template_width for h, c in BY_HEADING.items() if c.template}


def _entry_sheet(workbook: Workbook, styles: Styles, name: str, columns: Sequence[str]) -> Worksheet:
    """Add a sheet for departments to fill in: header, widths, dropdowns and status colours."""
    ws = workbook.add_worksheet(name)
    last = _TEMPLATE_ROWS - 1  # zero-based: rows 2 to 2000
    for c, column in enumerate(columns):
        ws.write_string(0, c, column, styles.header())
        if column in _DATE_COLUMNS:
            body = styles(num_format="dd/mm/yyyy", align="left", valign="top")
        elif column == "Tolerance":
            body = styles(num_format="0.0%", valign="top")
        elif column == "Status":
            body = styles(align="center", valign="top")
        elif column in _TEMPLATE_WRAPPED:
            body = styles(text_wrap=True, valign="top")
        else:
            body = styles(valign="top")
        # The column format reaches every empty cell, so typed dates show as dd/mm/yyyy.
        ws.set_column(c, c, _TEMPLATE_WIDTHS.get(column, 15), body)
        if column == "Status":
            _status_rules(ws, workbook, styles, c, last)
        elif column == "Polarity":
            ws.data_validation(
                1,
                c,
                last,
                c,
                {
                    "validate": "list",
                    "source": [HIGHER_IS_BETTER, LOWER_IS_BETTER],
                    "ignore_blank": True,
                    "input_title": "Polarity",
                    "input_message": "Is a higher or a lower actual better? Blank means Higher is better.",
                    "error_type": "warning",
                    "error_title": "Polarity",
                    "error_message": f"Please choose {HIGHER_IS_BETTER} or {LOWER_IS_BETTER}.",
                },
            )
        elif column in _CHOICES:
            choices, prompt = _CHOICES[column]
            ws.data_validation(
                1,
                c,
                last,
                c,
                {
                    "validate": "list",
                    "source": list(choices),
                    "ignore_blank": True,
                    "input_title": column,
                    "input_message": prompt,
                    "error_type": "warning",
                    "error_title": column,
                    "error_message": f"Please choose {', '.join(choices[:-1])} or {choices[-1]}, or leave blank.",
                },
            )
        elif column in _DATE_COLUMNS:
            ws.data_validation(
                1, c, last, c, {"validate": "any", "input_title": column, "input_message": _DATE_PROMPT}
            )
        elif column == "Tolerance":
            ws.data_validation(
                1,
                c,
                last,
                c,
                {
                    "validate": "any",
                    "input_title": "Tolerance",
                    "input_message": f"How far from target still counts as on target, e.g. 5%. "
                    f"Blank means {DEFAULT_TOLERANCE:.1%}.",
                },
            )
        elif column == "Ref":
            ws.data_validation(
                1,
                c,
                last,
                c,
                {
                    "validate": "any",
                    "input_title": "Ref",
                    "input_message": "A short reference unique on this sheet, e.g. A1. Keep it the same every "
                    "quarter: it is how changes are tracked.",
                },
            )
    ws.freeze_panes(1, 0)
    ws.set_row(0, 30)
    _template_print_setup(ws)
    ws.repeat_rows(0)
    return ws


# The KPI model's dropdowns (Excel caps an input message at 255 characters).
_CHOICES: dict[str, tuple[tuple[str, ...], str]] = {
    "Type": (
        KPI_TYPES,
        "Blank: judged by Polarity. Goal post: on target inside Lower bound to Upper bound. Data only: "
        "reported, never rated.",
    ),
    "Aggregation": (
        AGGREGATIONS,
        "How the year adds up: Cumulative (sum of quarters), Snapshot (latest value), Average (mean of "
        "quarters). Blank: no year to date.",
    ),
    "Frequency": (
        FREQUENCIES,
        "How often a result is due. Half-yearly: Q2 and Q4; Annual: Q4. In other quarters it is 'not due'. "
        "Blank: quarterly.",
    ),
}


def _status_rules(ws: Worksheet, workbook: Workbook, styles: Styles, col: int, last: int) -> None:
    """Add the B/G/A/R dropdown and colour the status cells by any accepted word for each colour."""
    ws.data_validation(
        1,
        col,
        last,
        col,
        {
            "validate": "list",
            "source": ["B", "G", "A", "R"],
            "ignore_blank": True,
            "input_title": "Status",
            "input_message": _STATUS_PROMPT,
            # A warning, not a stop: Complete, On track and the other words of the spec are accepted too.
            "error_type": "warning",
            "error_title": "Status",
            "error_message": _STATUS_WARNING,
        },
    )
    cell = xl_rowcol_to_cell(1, col, row_abs=False, col_abs=True)
    for letter, (fill, font) in RAGB_COLOURS.items():
        # Excel's = ignores case; TRIM and SUBSTITUTE match the reader's space and comma folding.
        words = sorted(w for w, meant in STATUS_WORDS.items() if meant == letter)
        tests = ",".join(
            f'TRIM(SUBSTITUTE({cell},",",""))="{w.replace(chr(34), chr(34) * 2)}"' for w in words
        )
        ws.conditional_format(
            1,
            col,
            last,
            col,
            {
                "type": "formula",
                "criteria": f"=OR({tests})",
                "format": workbook.add_format({"bg_color": fill, "font_color": font, "bold": True}),
            },
        )


def _instructions_sheet(workbook: Workbook, styles: Styles) -> Worksheet:
    ws = workbook.add_worksheet("Instructions")
    ws.hide_gridlines(2)
    ws.set_column(0, 0, 24)
    ws.set_column(1, 1, 100)
    title = styles(bold=True, font_size=16)
    heading = styles(bold=True, font_size=12, font_color="#1F4E78", bottom=1)
    term = styles(bold=True, valign="top", text_wrap=True)
    text = styles(text_wrap=True, valign="top")
    row = 0
    ws.write_string(row, 0, "Action plan update: how to fill in this workbook", title)
    row += 2
    for section, entries in _INSTRUCTIONS:
        ws.write_string(row, 0, section, heading)
        ws.write_blank(row, 1, None, heading)
        row += 1
        for key, explanation in entries:
            if key in RAGB_COLOURS:
                fill, font = RAGB_COLOURS[key]
                ws.write_string(
                    row,
                    0,
                    key,
                    styles(bold=True, bg_color=fill, font_color=font, align="center", valign="top"),
                )
            else:
                ws.write_string(row, 0, key, term)
            ws.write_string(row, 1, explanation, text)
            row += 1
        row += 1
    _template_print_setup(ws)
    ws.set_portrait()
    return ws


def _status_line(letter: str) -> tuple[str, str]:
    words = sorted({w for w, meant in STATUS_WORDS.items() if meant == letter and len(w) > 1})
    return letter, (
        f"{STATUS_NAMES[letter]}: {STATUS_MEANINGS[letter]}. You may also write "
        + ", ".join(w.capitalize() for w in words)
        + "."
    )


_INSTRUCTIONS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "What this workbook is for",
        (
            (
                "",
                "Each quarter your department reports progress on its action plan and its key performance "
                "indicators (KPIs). Fill in the Plan sheet once, then update the Actions, Objectives and KPIs "
                "sheets every quarter and submit the workbook. The corporate performance team combines every "
                "department's workbook into one council-wide report.",
            ),
        ),
    ),
    (
        "The sheets",
        (
            (
                "Plan",
                "Who you are and which quarter you are reporting on. Department, Plan and Period are required.",
            ),
            ("Objectives", "Optional. Your plan's objectives, one per row, each with its own status."),
            (
                "Actions",
                "Required unless you only report objectives or KPIs. One row per action or milestone.",
            ),
            (
                "KPIs",
                "Optional. One row per performance indicator, with its target and this quarter's actual.",
            ),
            (
                "Your own sheets",
                "You may add sheets and columns of your own: they are kept with your submission "
                "and do not stop it being accepted. Please do not rename the column headings "
                "we provide (you may move them).",
            ),
        ),
    ),
    (
        "Actions columns",
        (
            (
                "Ref",
                "A short reference unique on the sheet, e.g. A1 or 2.3. Keep the same Ref for the same action "
                "every quarter: it is how the report shows what changed.",
            ),
            (
                "Objective",
                "The Ref of an objective on the Objectives sheet, or the objective's wording if you do "
                "not use that sheet.",
            ),
            ("Theme", "Optional grouping, e.g. a priority or improvement theme."),
            ("Action", "What will be done. Required on every row that has anything else in it."),
            ("Lead officer", "The person responsible. A blank lead officer is flagged as a warning."),
            ("Due date", "When the action is due to be complete."),
            (
                "Revised due date",
                "Only if the due date has moved: the new date. Keep the original Due date as it "
                "was, so slippage can be reported.",
            ),
            ("Status", "B, G, A or R (see Status below). Pick from the dropdown."),
            (
                "Progress update",
                "What has happened this quarter. Needed for every Amber or Red action; a "
                "commentary copied unchanged from last quarter is flagged.",
            ),
        ),
    ),
    (
        "Objectives columns",
        (
            (
                "Ref, Objective, Theme",
                "As for Actions: a unique Ref, the objective's wording, an optional theme.",
            ),
            ("Delivered by", "The team, service or partnership that delivers it."),
            ("Lead officer, Status", "As for Actions."),
            ("Commentary", "A short account of progress towards the objective."),
        ),
    ),
    (
        "Status",
        (
            _status_line("B"),
            _status_line("G"),
            _status_line("A"),
            _status_line("R"),
            (
                "(blank)",
                "Not rated yet. Accepted, but flagged as a warning. You may also write Not started or N/A.",
            ),
            (
                "Anything else",
                "A word not listed here (for example Greenish) is an error and the workbook is "
                "rejected until it is corrected. Upper or lower case does not matter.",
            ),
        ),
    ),
    (
        "Dates",
        (
            ("dd/mm/yyyy", "Type dates day first, e.g. 31/03/2025 or 31/03/25. Excel dates are fine."),
            (
                "Month only",
                "March 2025, Mar-25 or End of March 2025 all mean the last day of that month (31/03/2025).",
            ),
            (
                "TBC",
                "TBC, Ongoing and similar words are allowed but flagged as a warning, because nothing can be "
                "checked against them. Give a date as soon as you have one.",
            ),
            (
                "Impossible dates",
                "A date that does not exist, such as 31/11/2024, is an error: November has 30 days.",
            ),
        ),
    ),
    (
        "KPIs columns",
        (
            (
                "Ref, Measure",
                "A unique Ref and the indicator's name, e.g. % of invoices paid within 30 days.",
            ),
            (
                "Polarity",
                f"{HIGHER_IS_BETTER} (the default when blank) or {LOWER_IS_BETTER}, e.g. for sickness "
                "absence or complaints.",
            ),
            ("Unit", "Optional: %, £, days, number."),
            (
                "Target, Actual",
                "Numbers as you would write them: 95%, 42.3, 1,032,064, £500,000. Write N/A or "
                "leave blank when there is no figure; a KPI with no target is flagged.",
            ),
            (
                "Tolerance",
                f"How far from target still counts as on target, as a percentage of the target. "
                f"Blank means the council default of {DEFAULT_TOLERANCE:.1%}.",
            ),
            (
                "How KPIs are judged",
                "You do not fill this in: the council report shows each KPI as better than "
                "target (beyond the tolerance), within tolerance, worse than target, or no "
                "data (no number for target or actual).",
            ),
            ("Comment", "Anything the reader needs to understand the figure."),
            *kpi_model_explained(DEFAULT_TOLERANCE),
        ),
    ),
    (
        "Submitting",
        (
            (
                "Check",
                "In Excel, use the Action plan add-in: press Check to see any problems without sending "
                "anything. Each problem names the sheet and cell, e.g. Actions!F14, and says what would "
                "be accepted.",
            ),
            (
                "Submit",
                "Press Submit (or upload the file on the council's action plan upload page). You get a "
                "report straight away: errors mean nothing was accepted, so correct them and submit again; "
                "warnings are accepted and shown to the performance team.",
            ),
            (
                "Again?",
                "You can submit as often as you like before the deadline. The latest accepted workbook "
                "for the quarter is the one that counts.",
            ),
        ),
    ),
)
