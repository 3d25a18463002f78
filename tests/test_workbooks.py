"""The rollup and template workbooks, read back with openpyxl and, where it matters, as raw XML."""

from __future__ import annotations

import datetime as dt
import os
import re
import time
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from actionplan.model import RollupFacts
from actionplan.rollup_writer import ROLLUP_SHEETS, sweep_orphans, write_rollup
from actionplan.template import (
    TEMPLATE_ACTION_COLUMNS,
    TEMPLATE_KPI_COLUMNS,
    TEMPLATE_OBJECTIVE_COLUMNS,
    TEMPLATE_SHEETS,
    write_template,
)

SUMMARY_HEADER = [
    "Department",
    "Blue",
    "Green",
    "Amber",
    "Red",
    "Not rated",
    "Total",
    "% complete",
    "% on track",
]
NASTY = ["=cmd|' /C calc'!A0", "+1", "-2", "@SUM(1)", "\t=1+1", "\r=1+1"]
FILLS = {"B": "FF5B9BD5", "G": "FF70AD47", "A": "FFFFC000", "R": "FFC00000"}


def _summary(rows: list[tuple[str, int, int, int, int, int]]) -> pd.DataFrame:
    records = []
    for name, *counts in [
        *rows,
        ("Council total", *[sum(c) for c in zip(*[r[1:] for r in rows], strict=True)]),
    ]:
        total = sum(counts)
        records.append(
            dict(
                zip(
                    SUMMARY_HEADER,
                    [name, *counts, total, counts[0] / total, (counts[0] + counts[1]) / total],
                    strict=True,
                )
            )
        )
    return pd.DataFrame(records, columns=SUMMARY_HEADER)


@pytest.fixture
def facts() -> RollupFacts:
    actions = pd.DataFrame(
        [
            (
                "Finance",
                "F1",
                "Balanced budget",
                "Money",
                "Close the accounts",
                "Patel, Anita",
                dt.date(2024, 7, 31),
                None,
                "B",
                "Done",
                False,
                False,
                "31/07/2024",
                None,
                False,
            ),
            (
                "Finance",
                "F2",
                "Balanced budget",
                "Money",
                NASTY[0],
                NASTY[1],
                pd.Timestamp("2024-09-30"),
                dt.date(2024, 12, 31),
                "A",
                NASTY[2],
                False,
                True,
                "Sept. 2024",
                "31/12/2024",
                True,
            ),
            (
                "Finance",
                "F3",
                NASTY[3],
                "Money",
                "Audit sign-off",
                "R Khan",
                None,
                None,
                "R",
                NASTY[4],
                True,
                False,
                "TBC",
                None,
                True,
            ),
            (
                "Legal, HR & Property",
                "L1",
                "Constitution",
                "Governance",
                "Revise the scheme",
                "R Khan",
                pd.NaT,
                None,
                "G",
                NASTY[5],
                False,
                False,
                "Ongoing",
                None,
                False,
            ),
            (
                "Legal, HR & Property",
                "L2",
                "Constitution",
                "Governance",
                "Train members",
                None,
                dt.date(2025, 3, 31),
                None,
                "-",
                None,
                False,
                False,
                "March 2025",
                None,
                False,
            ),
        ],
        columns=[
            "Department",
            "Ref",
            "Objective",
            "Theme",
            "Action",
            "Lead officer",
            "Due date",
            "Revised due date",
            "Status",
            "Progress update",
            "Overdue",
            "Slipped",
            "Due date as written",
            "Revised due date as written",
            "Exception",
        ],
    )
    exceptions = actions[actions["Exception"]][
        [
            "Department",
            "Ref",
            "Objective",
            "Action",
            "Lead officer",
            "Due date",
            "Revised due date",
            "Status",
            "Progress update",
        ]
    ]
    exceptions = exceptions.assign(Reason=["Amber with no progress update", "Red"]).reset_index(drop=True)
    return RollupFacts(
        period="2024/25 Q2",
        period_end=dt.date(2024, 9, 30),
        as_at=dt.date(2024, 10, 4),
        generated_at=dt.datetime(2024, 10, 7, 9, 30),
        previous_period="2024/25 Q1",
        summary=_summary([("Finance", 1, 0, 1, 1, 0), ("Legal, HR & Property", 0, 1, 0, 0, 1)]),
        objectives_summary=_summary([("Finance", 0, 1, 0, 0, 0), ("Legal, HR & Property", 0, 0, 0, 0, 1)]),
        objectives=pd.DataFrame(
            [
                ("Finance", "O1", "Balanced budget", "Money", "Finance team", "Patel, Anita", "G", NASTY[0]),
                ("Legal, HR & Property", "O1", "Constitution", "Governance", None, "R Khan", "-", None),
            ],
            columns=[
                "Department",
                "Ref",
                "Objective",
                "Theme",
                "Delivered by",
                "Lead officer",
                "Status",
                "Commentary",
            ],
        ),
        exceptions=exceptions,
        actions=actions,
        kpis=pd.DataFrame(
            [
                (
                    "Finance",
                    "K1",
                    "% invoices paid in 30 days",
                    "Higher is better",
                    "%",
                    "R Khan",
                    95.0,
                    91.0,
                    0.025,
                    "worse",
                    NASTY[1],
                ),
                (
                    "Finance",
                    "K2",
                    "Sickness days",
                    "Lower is better",
                    "days",
                    None,
                    8.0,
                    7.0,
                    0.05,
                    "better",
                    None,
                ),
                (
                    "Legal, HR & Property",
                    "K1",
                    "Cases closed",
                    "Higher is better",
                    None,
                    None,
                    100.0,
                    99.0,
                    0.025,
                    "within",
                    None,
                ),
                (
                    "Legal, HR & Property",
                    "K2",
                    "New measure",
                    "Higher is better",
                    None,
                    None,
                    "Baseline year",
                    None,
                    0.025,
                    "no data",
                    None,
                ),
            ],
            columns=[
                "Department",
                "Ref",
                "Measure",
                "Polarity",
                "Unit",
                "Lead officer",
                "Target",
                "Actual",
                "Tolerance",
                "Performance",
                "Comment",
            ],
        ),
        kpi_counts=pd.DataFrame(
            [
                ("Finance", 1, 0, 1, 0, 2),
                ("Legal, HR & Property", 0, 1, 0, 1, 2),
                ("Council total", 1, 1, 1, 1, 4),
            ],
            columns=["Department", "better", "within", "worse", "no data", "Total"],
        ),
        submissions=pd.DataFrame(
            [
                (
                    "Finance",
                    "submitted",
                    dt.datetime(2024, 10, 3, 14, 5),
                    "anita.patel",
                    "finance.xlsx",
                    2,
                    "abc123",
                ),
                ("Housing", "missing", None, None, None, None, None),
                (
                    "Legal, HR & Property",
                    "submitted",
                    dt.datetime(2024, 10, 4, 9, 0),
                    "r.khan",
                    "legal.xlsx",
                    0,
                    "def456",
                ),
            ],
            columns=[
                "Department",
                "Status",
                "Submitted at",
                "Submitted by",
                "File",
                "Warnings",
                "Submission id",
            ],
        ),
        changes=pd.DataFrame(
            [("Finance", "Action", "F3", "Audit sign-off", "status", "Green", "Red")],
            columns=["Department", "Kind", "Ref", "Title", "Change", "From", "To"],
        ),
        data_quality=pd.DataFrame(columns=["Department", "Sheet", "Cell", "Value", "Code", "Message"]),
        missing=["Housing"],
    )


@pytest.fixture
def rollup(facts: RollupFacts, tmp_path: Path) -> Path:
    return write_rollup(facts, tmp_path / "rollup.xlsx")


@pytest.fixture
def book(rollup: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(rollup)


def _rows(ws) -> list[list]:
    return [list(r) for r in ws.iter_rows(values_only=True)]


def _column(ws, name: str, header_row: int = 1) -> list:
    header = [c.value for c in ws[header_row]]
    col = header.index(name) + 1
    return [ws.cell(row=r, column=col) for r in range(header_row + 1, ws.max_row + 1)]


# --- Rollup --------------------------------------------------------------------------------------


def test_write_rollup_sheets_in_order(book):
    assert (
        book.sheetnames
        == list(ROLLUP_SHEETS)
        == [
            "Summary",
            "Objectives",
            "Exceptions",
            "Actions",
            "KPIs",
            "Submissions",
            "Changes",
            "Data quality",
            "How to read this report",
        ]
    )


def test_write_rollup_summary_table(book):
    rows = _rows(book["Summary"])
    assert rows[0][0] == "Council action plan rollup — 2024/25 Q2"
    assert "Period ends 30 Sep 2024" in [r[0] for r in rows]
    assert "Not submitted: Housing" in [r[0] for r in rows]
    header = next(i for i, r in enumerate(rows) if r[0] == "Department")
    assert rows[header] == SUMMARY_HEADER
    body = [r for r in rows[header + 1 :] if r[0] is not None]
    assert [r[0] for r in body] == ["Finance", "Legal, HR & Property", "Council total"]
    assert body[-1][1:7] == [1, 1, 1, 1, 1, 5]
    ws = book["Summary"]
    total_row = header + len(body) + 1
    assert ws.cell(total_row, 1).font.b and ws.cell(total_row, 2).font.b
    assert ws.cell(total_row, 8).number_format == "0%"
    assert [ws.cell(header + 1, c).fill.fgColor.rgb for c in range(2, 6)] == list(FILLS.values())
    assert len(ws._charts) == 1


def test_write_rollup_status_cells_filled_by_colour(book):
    statuses = _column(book["Actions"], "Status")
    assert [c.value for c in statuses] == ["B", "A", "R", "G", "–"]
    assert [c.fill.fgColor.rgb for c in statuses[:4]] == [FILLS["B"], FILLS["A"], FILLS["R"], FILLS["G"]]
    assert statuses[4].fill.fill_type is None
    assert statuses[0].font.color.rgb == "FFFFFFFF"  # white on blue
    exceptions = _column(book["Exceptions"], "Status")
    assert [(c.value, c.fill.fgColor.rgb) for c in exceptions] == [("A", FILLS["A"]), ("R", FILLS["R"])]
    changes = book["Changes"]
    assert [changes["F2"].fill.fgColor.rgb, changes["G2"].fill.fgColor.rgb] == [FILLS["G"], FILLS["R"]]


def test_write_rollup_objectives_summary_then_list(book):
    rows = _rows(book["Objectives"])
    assert rows[0] == SUMMARY_HEADER
    assert rows[3][0] == "Council total" and rows[4] == [None] * len(rows[4])
    assert rows[5][:8] == [
        "Department",
        "Ref",
        "Objective",
        "Theme",
        "Delivered by",
        "Lead officer",
        "Status",
        "Commentary",
    ]
    assert [r[6] for r in rows[6:]] == ["G", "–"]
    ws = book["Objectives"]
    assert ws.freeze_panes == "A7"
    assert ws.auto_filter.ref == "A6:H8"
    assert ws.print_title_rows == "$6:$6"


def test_write_rollup_dates_are_dates(book):
    ws = book["Actions"]
    due = _column(ws, "Due date")
    assert [c.value for c in due] == [
        dt.datetime(2024, 7, 31),
        dt.datetime(2024, 9, 30),
        None,
        None,
        dt.datetime(2025, 3, 31),
    ]
    assert all(c.number_format == "dd/mm/yyyy" for c in due if c.value is not None)
    assert _column(ws, "Revised due date")[1].value == dt.datetime(2024, 12, 31)
    assert [c.value for c in _column(ws, "Due date as written")][:3] == ["31/07/2024", "Sept. 2024", "TBC"]
    submitted = _column(book["Submissions"], "Submitted at")
    assert submitted[0].value == dt.datetime(2024, 10, 3, 14, 5)
    assert submitted[0].number_format == "dd/mm/yyyy hh:mm"


def test_write_rollup_flags_and_numbers(book):
    ws = book["Actions"]
    assert [c.value for c in _column(ws, "Overdue")] == [None, None, "Yes", None, None]
    assert [c.value for c in _column(ws, "Exception")] == [None, "Yes", "Yes", None, None]
    kpis = book["KPIs"]
    assert [c.value for c in _column(kpis, "Target")][:4] == [95, 8, 100, "Baseline year"]
    assert _column(kpis, "Tolerance")[0].number_format == "0.0%"


def test_write_rollup_performance_words_coloured(book):
    cells = _column(book["KPIs"], "Performance")[:4]
    assert [c.value for c in cells] == ["worse", "better", "within", "no data"]
    assert [c.fill.fgColor.rgb for c in cells] == ["FFFFC7CE", "FFC6EFCE", "FFFFEB9C", "FFD9D9D9"]


def test_write_rollup_kpi_counts_below_list(book):
    rows = _rows(book["KPIs"])
    assert rows[5] == [None] * len(rows[5])
    assert rows[6][:6] == ["Department", "better", "within", "worse", "no data", "Total"]
    assert rows[9][:6] == ["Council total", 1, 1, 1, 1, 4]
    assert book["KPIs"].auto_filter.ref == "A1:K5"
    assert len(book["KPIs"]._charts) == 1


def test_write_rollup_missing_department_highlighted(book):
    ws = book["Submissions"]
    assert [c.value for c in _column(ws, "Status")] == ["submitted", "missing", "submitted"]
    assert {ws.cell(3, c).fill.fgColor.rgb for c in range(1, 8)} == {"FFFCE4D6"}
    assert ws.cell(2, 1).fill.fill_type is None


def test_write_rollup_text_stays_text(book):
    actions = _rows(book["Actions"])
    written = {v for row in actions for v in row if isinstance(v, str)}
    # A carriage return is stored as Excel's own escape _x000D_, which Excel reads back as CR.
    assert set(NASTY[:-1]) | {"_x000D_=1+1"} <= written
    assert NASTY[0] in {c for row in _rows(book["Objectives"]) for c in row}


def test_write_rollup_has_no_formula_in_any_sheet_xml(rollup):
    with zipfile.ZipFile(rollup) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml")]
        assert len(sheets) == 9
        for name in sheets:
            xml = archive.read(name).decode("utf-8")
            assert not re.search(r"<f[\s>/]", xml), name
        assert "calc" in "".join(archive.read(n).decode() for n in sheets)  # the text is there, as text


def test_write_rollup_lists_frozen_filtered_printable(book):
    for name in ("Exceptions", "Actions", "Submissions", "Changes", "Data quality"):
        ws = book[name]
        assert ws.freeze_panes == "A2", name
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:"), name
        assert ws.print_title_rows == "$1:$1", name
    assert book["Actions"].auto_filter.ref == "A1:O6"
    for ws in book.worksheets:
        assert ws.page_setup.orientation == "landscape", ws.title
        assert ws.page_setup.paperSize == 9
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.page_setup.fitToWidth in (None, 1) and ws.page_setup.fitToHeight == 0
        assert "2024/25 Q2" in ws.oddFooter.left.text
        assert "Generated 7 Oct 2024 09:30" in ws.oddFooter.right.text


def test_write_rollup_empty_list_keeps_clean_header(book):
    ws = book["Data quality"]
    assert _rows(ws) == [["Department", "Sheet", "Cell", "Value", "Code", "Message"]]
    assert ws.auto_filter.ref == "A1:F1"


def test_write_rollup_frame_without_columns_gets_usual_header(facts, tmp_path):
    facts.changes = pd.DataFrame()
    ws = openpyxl.load_workbook(write_rollup(facts, tmp_path / "r.xlsx"))["Changes"]
    assert _rows(ws) == [["Department", "Kind", "Ref", "Title", "Change", "From", "To"]]


def test_write_rollup_leaves_no_temp_file(rollup):
    assert sorted(p.name for p in rollup.parent.iterdir()) == ["rollup.xlsx"]


def test_write_rollup_failure_keeps_previous_file(facts, rollup):
    before = rollup.read_bytes()

    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("boom mid-write")

    facts.changes = pd.DataFrame(
        [("Finance", "Action", "F3", Unprintable(), "status", "Green", "Red")],
        columns=["Department", "Kind", "Ref", "Title", "Change", "From", "To"],
    )
    with pytest.raises(RuntimeError, match="boom mid-write"):
        write_rollup(facts, rollup)
    assert rollup.read_bytes() == before
    assert sorted(p.name for p in rollup.parent.iterdir()) == ["rollup.xlsx"]


def test_write_rollup_replaces_and_keeps_permissions(facts, rollup):
    rollup.chmod(0o640)
    facts.missing = []
    write_rollup(facts, rollup)
    assert rollup.stat().st_mode & 0o777 == 0o640
    assert "Not submitted: none" in [r[0] for r in _rows(openpyxl.load_workbook(rollup)["Summary"])]


def test_sweep_orphans_removes_only_old_temp_files(tmp_path):
    old, fresh = tmp_path / ".rollup.xlsx.1a2b.tmp", tmp_path / ".rollup.xlsx.3c4d.tmp"
    other, visible = tmp_path / "notes.tmp", tmp_path / "rollup.xlsx"
    for p in (old, fresh, other, visible):
        p.write_bytes(b"x")
    an_hour_ago = time.time() - 3600
    for p in (old, other, visible):
        os.utime(p, (an_hour_ago, an_hour_ago))
    assert sweep_orphans(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [".rollup.xlsx.3c4d.tmp", "notes.tmp", "rollup.xlsx"]


# --- Template ------------------------------------------------------------------------------------


@pytest.fixture
def template(tmp_path: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(
        write_template(tmp_path / "t.xlsx", department="=Finance", period="2024/25 Q2")
    )


def test_write_template_sheets_and_headers(template):
    assert (
        template.sheetnames
        == list(TEMPLATE_SHEETS)
        == ["Instructions", "Plan", "Objectives", "Actions", "KPIs"]
    )
    assert template.active.title == "Instructions"
    for name, header in (
        ("Objectives", TEMPLATE_OBJECTIVE_COLUMNS),
        ("Actions", TEMPLATE_ACTION_COLUMNS),
        ("KPIs", TEMPLATE_KPI_COLUMNS),
    ):
        assert [c.value for c in template[name][1]] == list(header)
        assert template[name].freeze_panes == "A2"
    assert [c.value for c in template["Actions"][1]] == [
        "Ref",
        "Objective",
        "Theme",
        "Action",
        "Lead officer",
        "Due date",
        "Revised due date",
        "Status",
        "Progress update",
        # The recovery plan of a persistent exception (issue 20), optional, after the columns departments know.
        "Recovery action",
        "Recovery owner",
        "Recovery date",
    ]


def test_write_template_plan_prefilled(template):
    labels = {r[0]: r[1] for r in _rows(template["Plan"]) if r[0]}
    assert labels["Department"] == "=Finance"  # text, not a formula
    assert template["Plan"]["B1"].data_type == "s"
    assert labels["Period"] == "2024/25 Q2"
    assert labels["Plan"] is None and "As at" in labels and "Contact" in labels
    assert labels["Template version"] == 1


def test_write_template_blank_plan_without_department(tmp_path):
    book = openpyxl.load_workbook(write_template(tmp_path / "t.xlsx"))
    assert book["Plan"]["B1"].value is None and book["Plan"]["B3"].value is None


@pytest.mark.parametrize(("sheet", "column"), [("Actions", "H"), ("Objectives", "F")])
def test_write_template_status_dropdown_warns(template, sheet, column):
    rules = [dv for dv in template[sheet].data_validations.dataValidation if dv.type == "list"]
    assert len(rules) == 1
    rule = rules[0]
    assert str(rule.sqref) == f"{column}2:{column}2000"
    assert rule.formula1 == '"B,G,A,R"'
    assert rule.errorStyle == "warning" and rule.allow_blank
    assert rule.prompt and "Blue" in rule.prompt
    formats = template[sheet].conditional_formatting
    assert [str(cf.sqref) for cf in formats] == [f"{column}2:{column}2000"]
    assert len(next(iter(formats)).rules) == 4


def test_write_template_polarity_dropdown_and_date_format(template):
    polarity = [dv for dv in template["KPIs"].data_validations.dataValidation if dv.type == "list"]
    assert [(str(dv.sqref), dv.formula1) for dv in polarity] == [
        ("C2:C2000", '"Higher is better,Lower is better"'),
        # The KPI model's dropdowns (issue 20): Type, Aggregation, Frequency.
        ("J2:J2000", '"Higher is better,Lower is better,Goal post,Data only"'),
        ("M2:M2000", '"Cumulative,Snapshot,Average"'),
        ("N2:N2000", '"Quarterly,Half-yearly,Annual,Monthly"'),
    ]
    # openpyxl keeps F:G (Due date, Revised due date) as one column range when they look the same.
    dates = template["Actions"].column_dimensions["F"]
    assert (dates.min, dates.max, dates.number_format) == (6, 7, "dd/mm/yyyy")


def test_write_template_instructions_explain_statuses_and_dates(template):
    text = "\n".join(str(v) for row in _rows(template["Instructions"]) for v in row if v)
    for phrase in (
        "Blue: complete",
        "Green: on track",
        "Amber: at risk",
        "Red: problem",
        "dd/mm/yyyy",
        "last day of that month",
        "TBC",
        "2.5%",
        "Lower is better",
        "Submit",
        "columns of your own",
    ):
        assert phrase in text, phrase


def test_write_template_filled_in_is_accepted(tmp_path):
    from actionplan.check import check_workbook

    path = write_template(tmp_path / "t.xlsx", department="Finance", period="2024/25 Q2")
    book = openpyxl.load_workbook(path)
    book["Plan"]["B2"] = "Service Plan 2024/25"
    book["Actions"].append(
        [
            "A1",
            "Balanced budget",
            "Money",
            "Close the accounts",
            "Patel, Anita",
            dt.datetime(2024, 7, 31),
            None,
            "B",
            "Done",
        ]
    )
    book["KPIs"].append(
        ["K1", "% invoices paid", "Higher is better", "%", "R Khan", "95%", "91%", None, None]
    )
    book.save(path)
    report = check_workbook(path.read_bytes(), path.name).report()
    assert (report["accepted"], report["department"], report["period"]) == (True, "Finance", "2024/25 Q2")
    assert report["counts"] == {"objectives": 0, "actions": 1, "kpis": 1}


@pytest.mark.parametrize(
    "days",
    [
        [dt.date(2024, 7, 31), None, dt.date(2025, 3, 31)],
        [
            dt.date(1899, 12, 31),
            dt.date(1900, 3, 1),
            None,
        ],  # before Excel's first reliable serial: written as text
        [dt.date(1066, 10, 14), dt.date(2024, 1, 1)],  # before what pandas can hold: the cell-by-cell path
        [None, None],
    ],
)
def test_date_columns_converted_at_once_match_cell_by_cell(days):
    from actionplan.rollup_writer import _cells, _typed

    values, keys = _cells("Due date", pd.Series(days, dtype=object), "Actions")
    expected = [_typed(d) for d in days]
    assert values == [v for v, _ in expected]
    assert [k for v, k in zip(values, keys, strict=True) if v is not None] == [
        k for v, k in expected if v is not None
    ]


def test_write_built_leaves_nothing_when_the_build_fails(tmp_path):
    from actionplan.files import write_built

    target = tmp_path / "rollup.xlsx"
    target.write_bytes(b"the old rollup")

    def broken(tmp):
        tmp.write_bytes(b"half a file")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_built(target, broken)
    assert target.read_bytes() == b"the old rollup"
    assert [p.name for p in tmp_path.iterdir()] == ["rollup.xlsx"]


def test_write_atomic_new_files_are_private_and_rewrites_keep_their_mode(tmp_path):
    from actionplan.files import write_atomic

    new = write_atomic(tmp_path / "tokens.json", b"{}")
    assert new.stat().st_mode & 0o777 == 0o600
    new.chmod(0o640)
    write_atomic(new, b"[]")
    assert new.stat().st_mode & 0o777 == 0o640 and new.read_bytes() == b"[]"
