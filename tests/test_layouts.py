"""Familiar layouts: five shapes councils really use read like the template, wrong ones named by cell, new ones by file."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest

from actionplan import tables as tables_module
from actionplan.check import available_layouts, check_workbook, check_xlwings
from actionplan.cli import main
from actionplan.convert import NothingToConvert, convert_workbook
from actionplan.errors import LayoutFileInvalid, UnknownLayout
from actionplan.layouts import layout_from_file, title_match
from actionplan.read import Book, Sheet
from actionplan.settings import load_settings
from actionplan.tables import split_text_and_date, status_from_fill
from tests.conftest import action, canonical_workbook
from tests.familiar import (
    FROM_SUBMITTER,
    SHAPES,
    colour_rag_workbook,
    familiar_workbook,
    plan_for,
    service_plan_workbook,
    template_workbook,
)

ROW_FIELDS = [
    "ref",
    "theme",
    "objective",
    "action",
    "lead_officer",
    "due_date",
    "revised_due_date",
    "status",
    "progress_update",
]
KPI_FIELDS = ["ref", "measure", "lead_officer", "target", "actual", "performance"]


def check(path: Path, **kwargs):
    return check_workbook(path.read_bytes(), path.name, **kwargs)


def submitter(plan) -> dict:
    """Department and period for shapes whose workbook does not say them (the add-in or --department)."""
    return {"department": plan.department, "period": plan.period} if plan.shape in FROM_SUBMITTER else {}


def rows(frame, fields=ROW_FIELDS) -> list[dict]:
    return [{k: (None if v != v else v) for k, v in r.items()} for r in frame[fields].to_dict("records")]


def expected_rows(plan) -> list[dict]:
    """The rows the plan means, straight from its definition."""
    return [
        {
            "ref": i.ref,
            "theme": i.theme,
            "objective": i.objective,
            "action": i.action,
            "lead_officer": i.lead,
            "due_date": i.due,
            "revised_due_date": i.revised,
            "status": i.status,
            "progress_update": i.progress,
        }
        for i in plan.items
    ]


@pytest.fixture(params=SHAPES)
def shape(request):
    return request.param


@pytest.fixture
def both(shape, tmp_path):
    """One plan, written in its familiar shape and typed into the template, each checked."""
    plan = plan_for(shape)
    familiar = familiar_workbook(plan, tmp_path / f"{shape}.xlsx")
    template = template_workbook(plan, tmp_path / f"{shape}-template.xlsx")
    return plan, check(familiar, **submitter(plan)), check(template), familiar


# --- The five shapes ----------------------------------------------------------------------------------


def test_layouts_familiar_shape_reads_the_same_rows_as_the_template(both):
    plan, familiar, template, _ = both
    assert familiar.accepted, [str(m) for m in familiar.errors]
    assert template.accepted, [str(m) for m in template.errors]
    assert (familiar.layout, template.layout) == (plan.shape, "canonical")
    assert (familiar.department, familiar.period) == (plan.department, "2017/18 Q2")
    assert rows(familiar.actions) == rows(template.actions) == expected_rows(plan)
    assert list(familiar.actions["overdue"]) == list(template.actions["overdue"])
    if plan.kpis:
        assert rows(familiar.kpis, KPI_FIELDS) == rows(template.kpis, KPI_FIELDS)


def test_layouts_warnings_of_the_familiar_shape_are_the_template_warnings_plus_refs(both):
    plan, familiar, template, _ = both
    codes = [m.code for m in familiar.warnings if m.code != "position-refs"]
    assert sorted(codes) == sorted(m.code for m in template.warnings)
    assert any(m.code == "position-refs" for m in familiar.warnings) == (
        plan.shape in ("governance", "performance", "service_plan")
    )


def test_layouts_tracker_title_page_breaks_and_split_comments(tmp_path):
    plan = plan_for("tracker")
    sub = check(familiar_workbook(plan, tmp_path / "t.xlsx"))
    # Title rows 1-2, header row 3; the header again after every fourth item (rows 8 and 13).
    assert list(sub.actions["row"]) == [4, 5, 6, 7, 10, 11, 12, 13, 16, 17]
    spilled = sub.actions.iloc[3]
    assert spilled["progress_update"] == plan.items[3].progress and "\n" in spilled["progress_update"]
    assert sub.plan_title == "Children's Services Improvement Plan 2017/18 Q2"
    assert sub.columns["Improvement Plan"] == {
        "mapped": [
            "A: actions.ref",
            "B: actions.theme",
            "C: actions.objective",
            "E: actions.action",
            "G: actions.due_date",
            "I: actions.lead_officer",
            "J: actions.status",
            "K: actions.revised_due_date",
            "L: actions.progress_update",
        ],
        "extra": ["D: Source", "F: Officer or Member action", "H: Member Lead"],
        "unrecognised": [],
    }
    assert set(sub.actions.iloc[0]["extra"]) >= {"Officer or Member action", "Member Lead"}


def test_layouts_governance_split_column_second_rating_html_and_group_headings(tmp_path):
    plan = plan_for("governance")
    sub = check(familiar_workbook(plan, tmp_path / "g.xlsx"), **submitter(plan))
    assert [e["Arrangements rating"] for e in sub.actions["extra"]] == [i.rating for i in plan.items]
    assert list(sub.actions["lead_officer"]) == [i.lead for i in plan.items]
    assert list(sub.actions["due_date"]) == [i.due for i in plan.items]
    first = sub.actions.iloc[0]
    assert first["objective"] == "Objective 1: Members are well supported"  # from the <b> heading row
    assert "<" not in "".join(sub.actions["progress_update"].dropna())
    assert sub.columns["AGS Action Plan"]["mapped"][2:4] == ["C: actions.lead_officer", "C: actions.due_date"]
    assert sub.columns["AGS Action Plan"]["extra"] == ["F: Arrangements rating"]


def test_layouts_governance_unknown_second_rating_is_an_error_naming_the_cell(tmp_path):
    plan = plan_for("governance")
    path = familiar_workbook(plan, tmp_path / "g.xlsx")
    wb = openpyxl.load_workbook(path)
    wb.active["F4"] = "Greenish"
    wb.save(path)
    sub = check(path, **submitter(plan))
    assert [(m.code, m.cell, m.value) for m in sub.errors] == [("unknown-status", "F4", "Greenish")]
    assert sub.errors[0].message.startswith(
        "not a status word we recognise in 'Arrangements rating'. Use B, G"
    )


def test_layouts_performance_marks_milestones_and_merged_workstreams(tmp_path):
    plan = plan_for("performance")
    sub = check(familiar_workbook(plan, tmp_path / "p.xlsx"))
    several = next(i for i, item in enumerate(plan.items) if len(item.milestones) > 1)
    assert sub.actions.iloc[several]["due_date"] == max(d for _, d in plan.items[several].milestones)
    assert sub.columns["Performance Plan"]["mapped"][-1] == "F: actions.status"
    assert set(sub.actions["theme"]) == {
        "Priority 1: A cleaner, greener borough",
        "Priority 2: Homes and jobs",
    }


def test_layouts_performance_two_marks_in_one_row_is_an_error_naming_both_cells(tmp_path):
    path = familiar_workbook(plan_for("performance"), tmp_path / "p.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    ws["F7"], ws["H7"] = "X", "X"
    wb.save(path)
    sub = check(path)
    assert [str(m) for m in sub.errors] == [
        "Performance Plan!F7: this row is marked under both * and ▲ (F7, H7). Put one mark per row, under the "
        "judgement that applies."
    ]


def test_layouts_service_plan_sections_are_teams_of_one_department(tmp_path):
    plan = plan_for("service_plan")
    sub = check(familiar_workbook(plan, tmp_path / "s.xlsx"))
    assert sub.department == "Finance"  # the workbook's department; each section is a team within it
    assert [e["Team"] for e in sub.actions["extra"]] == [i.theme for i in plan.items]
    assert [e["Team"] for e in sub.kpis["extra"]] == [k.team for k in plan.kpis]
    assert [e["Performance symbol"] for e in sub.kpis["extra"]] == [k.symbol for k in plan.kpis]
    assert len(sub.kpis) == len(plan.kpis) and len(sub.actions) == len(plan.items)


def test_layouts_service_plan_not_yet_monitored_is_accepted_as_not_rated(tmp_path):
    plan = plan_for("service_plan")
    sub = check(service_plan_workbook(plan, tmp_path / "s.xlsx", monitored=False))
    assert sub.accepted and sub.layout == "service_plan"
    assert set(sub.actions["status"]) == {"-"}
    assert sum(m.code == "no-status" for m in sub.warnings) == len(plan.items)


def test_layouts_colour_only_statuses_come_from_fills_and_bold_rows_are_objectives(tmp_path):
    plan = plan_for("colour_rag")
    sub = check(familiar_workbook(plan, tmp_path / "c.xlsx"), **submitter(plan))
    assert list(sub.actions["status"]) == [i.status for i in plan.items]
    assert list(sub.actions["status_text"]) == [
        {"B": "Blue", "G": "Green", "A": "Amber", "R": "Red"}[i.status] for i in plan.items
    ]
    assert list(sub.actions["objective"]) == [i.objective for i in plan.items]


def test_layouts_colour_not_red_amber_green_or_blue_is_an_error_naming_the_cell(tmp_path):
    plan = plan_for("colour_rag")
    sub = check(
        colour_rag_workbook(plan, tmp_path / "c.xlsx", fill_status={"ASC2": "7030A0"}), **submitter(plan)
    )
    assert [str(m) for m in sub.errors] == [
        "Action Plan 2017-18!E5 'a purple or pink fill (#7030A0)': not a status word we recognise. Use B, G, A, R "
        "or blank (or Blue, Green, Amber, Red, Complete, On track, At risk, Off target, …)."
    ]


def _payload(path: Path) -> dict:
    """What the Excel add-in sends for a workbook: values only, dates as ISO text, no colours."""
    wb = openpyxl.load_workbook(path)
    sheets = []
    for ws in wb.worksheets:
        values = [
            ["" if v is None else (v.isoformat() if isinstance(v, dt.datetime) else v) for v in row]
            for row in ws.iter_rows(values_only=True)
        ]
        sheets.append({"name": ws.title, "values": values})
    return {
        "client": "Office.js",
        "version": "0.37.8",
        "book": {"name": path.name},
        "names": [],
        "sheets": sheets,
    }


def test_layouts_colour_only_from_the_addin_asks_for_the_status_dropdown(tmp_path):
    plan = plan_for("colour_rag")
    sub = check_xlwings(_payload(familiar_workbook(plan, tmp_path / "c.xlsx")), **submitter(plan))
    assert sub.layout == "colour_rag"
    assert [str(m) for m in sub.errors] == [
        "Action Plan 2017-18!E4: the Status cells (E4:E13) hold no text. This plan shows its statuses as cell "
        "colours, which the Excel add-in cannot read. Choose B, G, A or R in each Status cell (Blue, Green, Amber "
        "or Red) and submit again, or upload the .xlsx file on the upload page."
    ]


@pytest.mark.parametrize("shape", [s for s in SHAPES if s != "colour_rag"])  # colours cannot travel as values
def test_layouts_other_shapes_from_the_addin_read_as_from_the_file(tmp_path, shape):
    plan = plan_for(shape)
    path = familiar_workbook(plan, tmp_path / f"{shape}.xlsx")
    sub = check_xlwings(_payload(path), **submitter(plan))
    assert sub.accepted and sub.layout == shape
    assert rows(sub.actions) == expected_rows(plan)


# --- Choosing, forcing and adding layouts ---------------------------------------------------------------


def test_layouts_template_is_never_read_as_a_familiar_layout(tmp_path, shape):
    plan = plan_for(shape)
    assert check(template_workbook(plan, tmp_path / "t.xlsx")).layout == "canonical"


def test_layouts_forced_layout_and_unknown_name(tmp_path):
    plan = plan_for("tracker")
    path = familiar_workbook(plan, tmp_path / "t.xlsx")
    forced = check(path, layout="canonical", department=plan.department, period=plan.period)
    assert forced.layout == "canonical" and forced.accepted  # the contract's synonyms read it too (no title)
    assert rows(forced.actions) == expected_rows(plan)
    assert "Officer or Member action" in json.dumps(forced.columns["Improvement Plan"]["unrecognised"])
    with pytest.raises(
        UnknownLayout, match="There is no layout called 'trackr'. Layouts: canonical, colour_rag"
    ):
        check(path, layout="trackr")


HIGHWAYS = """
# A council's own layout: no Python needed.
name = "highways"
description = "Highways capital programme"

[status_words]
"On site" = "G"
"Programmed" = "G"
"Delayed" = "A"

[[tables]]
kind = "actions"
keep = ["Ward", "Budget"]

[tables.columns]
ref = "Scheme ref"
action = "Scheme"
lead_officer = "Project manager"
due_date = "Completion"
status = "Delivery status"
progress_update = "Latest position"
"""


def _highways_workbook(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Programme"
    ws.append(
        [
            "Scheme ref",
            "Scheme",
            "Ward",
            "Project manager",
            "Budget",
            "Completion",
            "Delivery status",
            "Latest position",
        ]
    )
    ws.append(
        ["HW1", "Resurface Station Road", "Central", "R Khan", "£250,000", "Oct-17", "On site", "Started"]
    )
    ws.append(
        ["HW2", "New crossing, Mill Lane", "North", "A Jones", "£40,000", "March 2018", "Programmed", None]
    )
    ws.append(
        ["HW3", "Bridge joint repairs", "East", "A Jones", "£95,000", "31/12/2017", "Delayed", "Utilities"]
    )
    wb.save(path)
    return path


def test_layouts_new_layout_file_in_the_settings_folder_is_picked_up(tmp_path, home, monkeypatch):
    book = _highways_workbook(tmp_path / "hw.xlsx")
    before = check(book, department="Highways", period="2017/18 Q2", settings=load_settings())
    assert not before.accepted and before.layout != "highways"
    folder = tmp_path / "council-layouts"
    folder.mkdir()
    (folder / "highways.toml").write_text(HIGHWAYS, encoding="utf-8")
    monkeypatch.setenv("ACTIONPLAN_LAYOUTS", str(folder))
    settings = load_settings()
    assert "highways" in available_layouts(settings)
    sub = check(book, department="Highways", period="2017/18 Q2", settings=settings)
    assert sub.accepted and sub.layout == "highways"
    assert list(sub.actions["status"]) == ["G", "G", "A"]
    assert list(sub.actions["due_date"]) == [
        dt.date(2017, 10, 31),
        dt.date(2018, 3, 31),
        dt.date(2017, 12, 31),
    ]
    assert sub.actions.iloc[0]["extra"] == {"Ward": "Central", "Budget": "£250,000"}
    wb = openpyxl.load_workbook(book)
    wb.active["G4"] = "Stalled"
    wb.save(book)
    stalled = check(book, department="Highways", period="2017/18 Q2", settings=settings)
    assert [str(m) for m in stalled.errors] == [
        "Programme!G4 'Stalled': not a status word we recognise. Use B, G, A, R or blank (or Blue, Green, Amber, "
        "Red, Complete, On track, At risk, Off target, …)."
    ]


def test_layouts_equally_good_layouts_are_reported_as_ambiguous(tmp_path, home, monkeypatch):
    folder = tmp_path / "layouts"
    folder.mkdir()
    (folder / "highways.toml").write_text(HIGHWAYS, encoding="utf-8")
    (folder / "roads.toml").write_text(HIGHWAYS.replace('"highways"', '"roads"'), encoding="utf-8")
    monkeypatch.setenv("ACTIONPLAN_LAYOUTS", str(folder))
    sub = check(
        _highways_workbook(tmp_path / "hw.xlsx"),
        department="Highways",
        period="2017/18 Q2",
        settings=load_settings(),
    )
    assert sub.layout == "roads"
    assert [str(m) for m in sub.warnings][:1] == [
        "workbook: this workbook's headings match the 'roads' layout and 'highways' equally well; it was read "
        "with 'roads'. If that is wrong, submit again choosing the layout (--layout NAME)."
    ]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            'name = "x"\n[[tables]]\nkind = "actions"\ncolums = {action = "Task"}\n',
            "table 1: 'colums' is not a layout setting. Settings here: beside, columns, fill_down",
        ),
        (
            'name = "x"\n[[tables]]\nkind = "actions"\n[tables.columns]\nactoin = "Task"\n',
            "'actoin' is not a column of actions (ref, objective, theme, action",
        ),
        (
            'name = "x"\n[status_words]\n"Done-ish" = "Blue"\n[[tables]]\nkind = "actions"\n',
            "status_words must map to B, G, A, R or -, not BLUE",
        ),
        (
            'name = "x"\n[plan]\ntitles = ["Action plan"]\n[[tables]]\nkind = "actions"\n',
            "the title pattern 'Action plan' names neither {department} nor {period}",
        ),
        (
            'name = "x"\n[[tables]]\nkind = "risks"\n',
            "table kind 'risks' is not one of objectives, actions, kpis",
        ),
        ('name = "x"\n', "names no [[tables]]"),
    ],
)
def test_layout_file_mistakes_are_named(tmp_path, text, says):
    path = tmp_path / "x.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LayoutFileInvalid) as caught:
        layout_from_file(path)
    assert says in str(caught.value)


def test_layouts_every_shipped_layout_file_loads():
    names = set(available_layouts(load_settings(environ={})))
    assert names == {"canonical", *SHAPES}


# --- Wrong or ambiguous workbooks get messages that name cells ---------------------------------------------


def test_layouts_familiar_values_are_checked_like_the_template(tmp_path):
    path = familiar_workbook(plan_for("tracker"), tmp_path / "t.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    ws["G4"], ws["J5"] = "31/11/17", "Greenish"
    wb.save(path)
    sub = check(path)
    assert [f"{m.code} {m}" for m in sub.errors] == [
        "impossible-date Improvement Plan!G4 '31/11/17': not a real date (November has 30 days). Use dd/mm/yyyy.",
        "unknown-status Improvement Plan!J5 'Greenish': not a status word we recognise. Use B, G, A, R or blank "
        "(or Blue, Green, Amber, Red, Complete, On track, At risk, Off target, …).",
    ]


def test_layouts_misspelt_synonym_heading_is_a_warning_naming_the_cell(tmp_path):
    path = familiar_workbook(plan_for("tracker"), tmp_path / "t.xlsx")
    wb = openpyxl.load_workbook(path)
    wb.active["K3"] = "Revsd traget dte"
    wb.save(path)
    sub = check(path)
    assert sub.accepted and sub.layout == "tracker"
    assert [str(m) for m in sub.warnings if m.code == "unrecognised-column"] == [
        "Improvement Plan!K3 'Revsd traget dte': this heading was not recognised, so the column is kept as an "
        "extra column and not read as 'Revised due date'. If it is meant to be 'Revised target date', rename "
        "the heading."
    ]
    assert sub.columns["Improvement Plan"]["unrecognised"] == ["K: Revsd traget dte"]


def test_layouts_familiar_workbook_missing_its_status_column_is_told_which_and_where(tmp_path):
    plan = plan_for("governance")
    path = familiar_workbook(plan, tmp_path / "g.xlsx")
    wb = openpyxl.load_workbook(path)
    for row in wb.active.iter_rows():  # misspelt on the first page and on every repeat of the header
        if row[4].value == "RAGB Rating - Outcome":
            row[4].value = "RGAB Ratng - Outcm"
    wb.save(path)
    sub = check(path, **submitter(plan))
    assert sub.layout == "governance"
    assert [str(m) for m in sub.messages if m.code != "position-refs"] == [
        "AGS Action Plan!G2: the required column 'Status' is missing. Add a column headed 'Status' to the header "
        "row (row 2).",
        "AGS Action Plan!E2 'RGAB Ratng - Outcm': this heading was not recognised, so the column is kept as an "
        "extra column and not read as 'Status'. If it is meant to be 'RAGB Rating - Outcome', rename the heading.",
    ]


def test_layouts_header_misspelt_on_the_first_page_only_is_still_named(tmp_path):
    plan = plan_for("governance")
    path = familiar_workbook(plan, tmp_path / "g.xlsx")
    wb = openpyxl.load_workbook(path)
    wb.active["E2"] = "RGAB Ratng - Outcm"
    wb.save(path)
    sub = check(path, **submitter(plan))
    assert not sub.accepted
    assert [(m.code, m.cell) for m in sub.errors] == [("missing-column", "G2")]


def test_layouts_period_in_a_title_that_is_not_a_period_names_the_title_cell(tmp_path):
    path = familiar_workbook(plan_for("tracker"), tmp_path / "t.xlsx")
    wb = openpyxl.load_workbook(path)
    wb.active["A1"] = "Children's Services Improvement Plan 2017/19 Q2"
    wb.save(path)
    sub = check(path)
    assert [(m.code, m.sheet, m.cell, m.value) for m in sub.errors] == [
        ("unknown-period", "Improvement Plan", "A1", "2017/19 Q2")
    ]


# --- Rows that are not items, in any layout (the template too) -------------------------------------------


def test_layouts_template_continuation_section_and_bold_markup_rows(tmp_path):
    rows_in = [
        ["Priority 1: Money"] + [None] * 8,  # a section heading: the Theme of the rows below
        action("F1", theme=None, objective=None, update="First paragraph"),
        [None] * 8 + ["second paragraph, after a page break"],  # continuation: no Ref, no Action
        ["<b>Balanced budget by 2019</b>"] + [None] * 8,  # a group heading: the Objective below
        action("F2", theme=None, objective=None),
        ["F3", None, None, None, None, None, None, "G", None],  # a Ref with no Action: still an item
    ]
    sub = check(canonical_workbook(tmp_path / "c.xlsx", actions=rows_in))
    a = sub.actions.set_index("ref")
    assert a.loc["F1", "progress_update"] == "First paragraph\nsecond paragraph, after a page break"
    assert list(a["theme"]) == ["Priority 1: Money"] * 3
    assert [x if isinstance(x, str) else None for x in a["objective"]] == [
        None,
        "Balanced budget by 2019",
        "Balanced budget by 2019",
    ]
    assert [(m.code, m.cell) for m in sub.errors] == [("missing-action", "D7")]


def test_layouts_template_never_opens_the_file_for_styles(tmp_path, monkeypatch):
    def refuse(book):
        raise AssertionError("the template path must not read cell styles")

    monkeypatch.setattr(tables_module, "add_cell_styles", refuse)
    sub = check(canonical_workbook(tmp_path / "c.xlsx", actions=[["Heading"] + [None] * 8, action("F1")]))
    assert sub.layout == "canonical" and sub.accepted


# --- Cell rules --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lead", "date"),
    [
        ("Director of Children's Services  March 2018", "Director of Children's Services", "March 2018"),
        ("Head of Audit\n31/03/2018", "Head of Audit", "31/03/2018"),
        ("Chief Executive – by end of June 2018", "Chief Executive", "by end of June 2018"),
        ("Chief Finance Officer (S151) Sept. 2017", "Chief Finance Officer (S151)", "Sept. 2017"),
        ("Monitoring Officer, 28th - 31st March 2017", "Monitoring Officer", "28th - 31st March 2017"),
        (
            "Head of Legal &amp; Democratic Services w/c 6 Nov 17",
            "Head of Legal & Democratic Services",
            "w/c 6 Nov 17",
        ),
        ("Head of HR Ongoing", "Head of HR", "Ongoing"),
        ("Head of HR", "Head of HR", None),
        ("March 2018", None, "March 2018"),
        ("<p>Director of Finance</p><p>31/11/17</p>", "Director of Finance", "31/11/17"),
        (None, None, None),
    ],
)
def test_split_text_and_date(text, lead, date):
    assert split_text_and_date(text) == (lead, date)


@pytest.mark.parametrize(
    ("rgb", "status"),
    [
        ("FF0000", "Red"),
        ("C00000", "Red"),
        ("FFC7CE", "Red"),
        ("FFC000", "Amber"),
        ("FFFF00", "Amber"),
        ("FFEB9C", "Amber"),
        ("F4B084", "Amber"),
        ("00B050", "Green"),
        ("92D050", "Green"),
        ("C6EFCE", "Green"),
        ("00B0F0", "Blue"),
        ("5B9BD5", "Blue"),
        ("0070C0", "Blue"),
        ("FFFFFF", None),
        ("D9D9D9", None),
        ("DDEBF7", None),
        ("000000", None),
        (None, None),
        ("7030A0", "a purple or pink fill (#7030A0)"),
    ],
)
def test_status_from_fill(rgb, status):
    assert status_from_fill(rgb) == status


@pytest.mark.parametrize(
    ("title", "department", "period"),
    [
        ("Children's Services Improvement Plan 2017/18 Q2", "Children's Services", "2017/18 Q2"),
        ("CHILDREN'S SERVICES – IMPROVEMENT PLAN: Q2 2017-18", "CHILDREN'S SERVICES", "Q2 2017-18"),
        (
            "Legal, HR & Property Improvement Plan Tracker 2018/2019 Quarter 3",
            "Legal, HR & Property",
            "2018/2019 Quarter 3",
        ),
        ("Improvement Plan 2017/18 Q2", None, None),  # no department before the words: not this pattern
    ],
)
def test_title_patterns_find_department_and_period(title, department, period):
    tracker = available_layouts(load_settings(environ={}))["tracker"]
    book = Book("t.xlsx", [Sheet("Plan tracker", [[title], ["Ref", "Milestones", "Status"]])])
    found = title_match(book, tracker, {"Plan tracker": 1})
    assert found.get("department") == department
    assert (found.get("period") or (None,))[0] == period


# --- Convert and the command line ---------------------------------------------------------------------------


def test_convert_familiar_workbook_to_template_reads_the_same(tmp_path, shape):
    plan = plan_for(shape)
    familiar = familiar_workbook(plan, tmp_path / f"{shape}.xlsx")
    out = tmp_path / "converted.xlsx"
    before = convert_workbook(familiar.read_bytes(), familiar.name, out, **submitter(plan))
    after = check(out)
    assert after.layout == "canonical" and after.accepted
    assert (after.department, after.period) == (plan.department, plan.period)
    assert rows(after.actions) == rows(before.actions) == expected_rows(plan)
    assert not any(m.code == "position-refs" for m in after.warnings)  # refs are written in
    if plan.kpis:
        assert rows(after.kpis, KPI_FIELDS) == rows(before.kpis, KPI_FIELDS)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Instructions", "Plan", "Objectives", "Actions", "KPIs"]
    assert wb["Actions"].data_validations.dataValidation, "the template's dropdowns survive"


def test_convert_writes_text_as_text_and_dates_as_dates(tmp_path):
    path = canonical_workbook(
        tmp_path / "c.xlsx",
        actions=[
            action("F1", text='=HYPERLINK("http://evil","x")', due="Sept. 2024", update="+ awaiting"),
            action("F2", due="TBC", status="Greenish"),
        ],
    )
    out = tmp_path / "out.xlsx"
    sub = convert_workbook(path.read_bytes(), path.name, out)
    assert not sub.accepted  # converted anyway: the department fixes it in the new workbook
    ws = openpyxl.load_workbook(out)["Actions"]
    assert ws["D2"].data_type == "s" and ws["D2"].value.startswith("=HYPERLINK")
    assert ws["F2"].value == dt.datetime(2024, 9, 30) and ws["F2"].number_format == "dd/mm/yyyy"
    assert (ws["F3"].value, ws["H3"].value) == ("TBC", "Greenish")
    assert [m.code for m in check(out).errors] == ["unknown-status"]


def test_convert_nothing_to_convert(tmp_path):
    wb = openpyxl.Workbook()
    wb.active["A1"] = "Nothing to see"
    wb.save(tmp_path / "n.xlsx")
    with pytest.raises(NothingToConvert, match="n.xlsx: nothing to convert"):
        convert_workbook((tmp_path / "n.xlsx").read_bytes(), "n.xlsx", tmp_path / "out.xlsx")
    assert not (tmp_path / "out.xlsx").exists()


def test_cli_convert_and_layouts(tmp_path, home, capsys):
    import subprocess
    import sys

    plan = plan_for("service_plan")
    path = familiar_workbook(plan, tmp_path / "finance.xlsx")
    out = tmp_path / "finance-template.xlsx"
    p = subprocess.run(
        [sys.executable, "-m", "actionplan", "convert", str(path), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[:2] == [
        f"{path} — Finance, 2017/18 Q2 (layout: service_plan)",
        "  Accepted with 7 warnings: 0 objectives, 9 actions, 5 KPIs.",
    ]
    assert p.stdout.splitlines()[-1] == f"Template written: {out}"
    assert main(["layouts"]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in ("canonical", *SHAPES))
    assert main(["layouts", str(path)]) == 0
    explained = capsys.readouterr().out.splitlines()
    assert explained[0] == f"{path}: read with layout 'service_plan'"
    assert "  Service Plan: kpis table, header in row 9, 5 rows" in explained
    assert any(line.split() == ["A", "Task", "→", "Action"] for line in explained)
    assert any("19/20" in line and "not recognised" in line for line in explained)


# --- Roll-up --------------------------------------------------------------------------------------------


def test_layouts_five_shapes_roll_up_like_the_template(tmp_path, settings):
    from actionplan.warehouse import open_warehouse
    from actionplan.warehouse.consolidate import facts_from_warehouse
    from actionplan.warehouse.inbox import Inbox
    from actionplan.warehouse.load import load_inbox

    inbox = Inbox(settings.inbox_path, settings.archive_path)
    plans = [plan_for(shape) for shape in SHAPES]
    for plan in plans:
        path = familiar_workbook(plan, tmp_path / f"{plan.shape}.xlsx")
        data = path.read_bytes()
        sub = check_workbook(data, path.name, **submitter(plan))
        report = inbox.submit(
            sub, data, submitted_by=f"{plan.department} officer", now=dt.datetime(2017, 10, 12, tzinfo=dt.UTC)
        )
        assert report["accepted"], report["errors"]
    wh = open_warehouse(settings.warehouse_url)
    try:
        load_inbox(inbox, wh)
        facts = facts_from_warehouse(wh, "2017/18 Q2", generated_at=dt.datetime(2017, 10, 20, 9, 0))
        stored = wh.current("2017/18 Q2")["actions"]
    finally:
        wh.close()
    names = {"B": "Blue", "G": "Green", "A": "Amber", "R": "Red", "-": "Not rated"}
    summary = {r["Department"]: r for r in facts.summary.to_dict("records")}
    for plan in plans:
        counts = {name: sum(names[i.status] == name for i in plan.items) for name in names.values()}
        assert {k: summary[plan.department][k] for k in counts} == counts
        mine = facts.actions[facts.actions["Department"] == plan.department]
        assert list(mine["Ref"]) == [i.ref for i in plan.items]
        assert list(mine["Action"]) == [i.action for i in plan.items]
    assert summary["Council total"]["Total"] == sum(len(p.items) for p in plans)
    assert set(facts.kpis["Department"]) == {"Finance"} and len(facts.kpis) == len(plans[3].kpis)
    governance = stored[stored["department"] == "Chief Executive's Department"]
    assert [json.loads(x)["Arrangements rating"] for x in governance["extra_json"]] == [
        i.rating for i in plans[1].items
    ]
    # The rollup shows the second rating beside the status, and the service plan's teams.
    columns = list(facts.actions.columns)
    assert columns[columns.index("Status") + 1 : columns.index("Status") + 3] == [
        "Arrangements rating",
        "Team",
    ]
    shown = facts.actions[facts.actions["Department"] == "Chief Executive's Department"]
    assert list(shown["Arrangements rating"]) == [i.rating for i in plans[1].items]
    assert facts.submissions.set_index("Department").loc["Finance", "Status"] == "submitted"
