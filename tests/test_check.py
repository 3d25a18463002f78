"""The Submit round trip's core: a workbook in, a report of errors and warnings with cells out."""

from __future__ import annotations

import datetime as dt

import pytest

from actionplan.check import check_workbook
from tests.conftest import GOOD_KPI, action, canonical_workbook


def check(path, **kwargs):
    return check_workbook(path.read_bytes(), path.name, **kwargs)


def lines(messages) -> list[str]:
    return [f"{m.code} {m}" for m in messages]


def test_check_contract_example_reports_impossible_date_and_unknown_status(tmp_path):
    wb = canonical_workbook(
        tmp_path / "bad.xlsx",
        actions=[["F1", "x", "x", "An action", "Someone", "31/11/17", None, "Greenish", None]],
    )
    sub = check(wb)
    assert not sub.accepted
    assert lines(sub.errors) == [
        "impossible-date Actions!F2 '31/11/17': not a real date (November has 30 days). Use dd/mm/yyyy.",
        "unknown-status Actions!H2 'Greenish': not a status word we recognise. Use B, G, A, R or blank "
        "(or Blue, Green, Amber, Red, Complete, On track, At risk, Off target, …).",
    ]


def test_check_accepts_clean_plan_with_counts(tmp_path):
    wb = canonical_workbook(
        tmp_path / "ok.xlsx",
        actions=[action("F1"), action("F2", status="Complete")],
        objectives=[["O1", "Balanced budget", "Money", "Finance", "A Jones", "G", "Fine"]],
        kpis=[GOOD_KPI],
    )
    sub = check(wb)
    assert sub.accepted, lines(sub.messages)
    assert sub.messages == []
    assert sub.report()["counts"] == {"objectives": 1, "actions": 2, "kpis": 1}
    assert (sub.department, sub.period, sub.layout) == ("Finance", "2024/25 Q2", "canonical")
    assert list(sub.actions["status"]) == ["G", "B"]


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            action(status=None),
            "no-status Actions!H2: no status given, so this item counts as not rated. "
            "Use B (complete), G (on track), A (at risk) or R (problem).",
        ),
        (
            action(due="TBC"),
            "no-date Actions!F2 'TBC': no date found, so this item has no due date and cannot be "
            "checked for being overdue. Use dd/mm/yyyy (or a month such as March 2025) once the date "
            "is known.",
        ),
        (
            action(lead=None),
            "no-lead-officer Actions!E2: no lead officer. Name the officer responsible for this item.",
        ),
        (
            action(status="Red", update=None),
            "no-progress-update Actions!I2: rated Red but has no progress update. "
            "Say what is happening and what will bring it back on track.",
        ),
        (
            action(due="31/03/2025", revised="01/01/2025"),
            "revised-before-due Actions!G2 '01/01/2025': the revised due date is earlier than the original due date "
            "(31/03/2025). Check both dates: a revised date normally moves a deadline later.",
        ),
    ],
)
def test_check_warnings_accept_and_name_the_cell(tmp_path, row, expected):
    sub = check(canonical_workbook(tmp_path / "w.xlsx", actions=[row]))
    assert sub.accepted
    assert lines(sub.warnings) == [expected]


def test_check_kpi_without_target_is_a_warning(tmp_path):
    kpi = ["K1", "Number of grants paid out", None, None, "R Khan", None, "42", None, None]
    sub = check(canonical_workbook(tmp_path / "k.xlsx", actions=[action()], kpis=[kpi]))
    assert sub.accepted
    assert lines(sub.warnings) == [
        "no-kpi-target KPIs!F2: no target set, so performance against target cannot be judged. "
        "Give a number, e.g. 95% or 1,200."
    ]
    assert sub.kpis.loc[0, "performance"] == "no data"


def test_check_duplicate_ref_names_every_row(tmp_path):
    sub = check(canonical_workbook(tmp_path / "d.xlsx", actions=[action("A1"), action("A2"), action("A1")]))
    assert lines(sub.errors) == [
        "duplicate-ref Actions!A2 'A1': this Ref is used more than once on the sheet (rows 2, 4). "
        "Give every row its own Ref.",
        "duplicate-ref Actions!A4 'A1': this Ref is used more than once on the sheet (rows 2, 4). "
        "Give every row its own Ref.",
    ]


def test_check_row_with_text_but_no_action_is_an_error(tmp_path):
    sub = check(canonical_workbook(tmp_path / "m.xlsx", actions=[action(), action("F2", text=None)]))
    assert lines(sub.errors) == [
        "missing-action Actions!D3 'F2': this row has text but no Action. Write the action or milestone in the "
        "Action column, or delete the row."
    ]


def test_check_missing_required_column(tmp_path):
    path = canonical_workbook(tmp_path / "c.xlsx", actions=[action()])
    import openpyxl

    wb = openpyxl.load_workbook(path)
    wb["Actions"]["H1"] = "Colour"
    wb.save(path)
    sub = check(path)
    assert [m.code for m in sub.errors] == ["missing-column"]
    assert "the required column 'Status' is missing" in sub.errors[0].message


def test_check_missing_department_and_unknown_period(tmp_path):
    sub = check(canonical_workbook(tmp_path / "p.xlsx", department=None, period="Autumn", actions=[action()]))
    assert sorted(m.code for m in sub.errors) == ["missing-department", "unknown-period"]
    period_error = next(m for m in sub.errors if m.code == "unknown-period")
    assert (period_error.sheet, period_error.cell, period_error.value) == ("Plan", "B3", "Autumn")


def test_check_without_plan_sheet_takes_department_and_period_from_submitter(tmp_path):
    path = canonical_workbook(tmp_path / "np.xlsx", actions=[action()], plan=False)
    assert {m.code for m in check(path).errors} == {"missing-period", "missing-department"}
    sub = check(path, department="Registrars", period="Q1 2024/25")
    assert sub.accepted and (sub.department, sub.period) == ("Registrars", "2024/25 Q1")


def test_check_wrong_department_for_signed_in_user(tmp_path):
    sub = check(canonical_workbook(tmp_path / "x.xlsx", actions=[action()]), expected_department="Registrars")
    assert [m.code for m in sub.errors] == ["wrong-department"]
    assert sub.errors[0].message.startswith(
        "this workbook is for 'Finance' but you are signed in for 'Registrars'"
    )


def test_check_empty_actions_sheet_is_valid(tmp_path):
    sub = check(
        canonical_workbook(
            tmp_path / "e.xlsx",
            actions=[],
            objectives=[["O1", "Balanced budget", None, None, "A Jones", "G", None]],
        )
    )
    assert sub.accepted and sub.report()["counts"] == {"objectives": 1, "actions": 0, "kpis": 0}


def test_check_no_usable_sheet(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "Notes"
    wb.active["A1"] = "Nothing to see"
    wb.save(tmp_path / "n.xlsx")
    sub = check(tmp_path / "n.xlsx")
    assert [m.code for m in sub.errors] == ["no-usable-sheet"]
    assert "'Notes'" in sub.errors[0].message


def test_check_derived_facts_overdue_slipped_exception(tmp_path):
    rows = [
        action("A1", due="30/06/2024", status="G"),  # overdue at 30/09/2024
        action("A2", due="30/06/2024", status="B"),  # complete, so not overdue
        action("A3", due="31/12/2024", revised="31/03/2025", status="A", update="Supplier late"),  # slipped
        action("A4", due="31/12/2024", status="R", update="Escalated"),  # Red
        action("A5", due="Aug-24", revised="31/12/2024", status="A", update=None),  # no update, slipped
    ]
    sub = check(canonical_workbook(tmp_path / "f.xlsx", actions=rows))
    a = sub.actions.set_index("ref")
    assert list(a["overdue"]) == [True, False, False, False, False]
    assert list(a["slipped"]) == [False, False, True, False, True]
    assert list(a["exception"]) == [True, False, False, True, True]
    assert a.loc["A1", "exception_reason"] == "overdue"
    assert a.loc["A5", "exception_reason"] == "no progress update"
    assert a.loc["A5", "due_date"] == dt.date(2024, 8, 31)
    assert a.loc["A5", "effective_due_date"] == dt.date(2024, 12, 31)
    assert a.loc["A5", "due_date_text"] == "Aug-24"


def test_check_keeps_original_text_and_extra_columns(tmp_path):
    import openpyxl

    path = canonical_workbook(
        tmp_path / "x.xlsx",
        actions=[
            action(
                due="By April 2025",
                status="Off target but recovery plans in place",
                update="<p>Consultation closed.</p><p>Report to <i>Cabinet</i> &amp; Council.</p>",
            )
        ],
    )
    wb = openpyxl.load_workbook(path)
    wb["Actions"]["J1"] = "Source"
    wb["Actions"]["J2"] = "AGS 2023/24"
    wb.save(path)
    sub = check(path)
    row = sub.actions.iloc[0]
    assert (row["status"], row["status_text"]) == ("A", "Off target but recovery plans in place")
    assert (row["due_date"], row["due_date_text"]) == (dt.date(2025, 4, 30), "By April 2025")
    assert row["progress_update"] == "Consultation closed.\nReport to Cabinet & Council."
    assert row["extra"] == {"Source": "AGS 2023/24"}


def test_check_repeated_header_and_blank_rows_are_skipped(tmp_path):
    from tests.conftest import ACTION_HEADER

    sub = check(
        canonical_workbook(
            tmp_path / "r.xlsx", actions=[action("A1"), [None] * 9, ACTION_HEADER, action("A2")]
        )
    )
    assert sub.accepted and list(sub.actions["ref"]) == ["A1", "A2"]
    assert list(sub.actions["row"]) == [2, 5]


def test_check_rows_without_ref_get_position_refs_and_a_warning(tmp_path):
    sub = check(canonical_workbook(tmp_path / "nr.xlsx", actions=[action(None), action("A2")]))
    assert list(sub.actions["ref"]) == ["R1", "A2"]
    assert [m.code for m in sub.warnings] == ["position-refs"]


def test_check_misspelt_heading_is_a_warning_not_silence(tmp_path):
    import openpyxl

    path = canonical_workbook(tmp_path / "ms.xlsx", actions=[action()])
    wb = openpyxl.load_workbook(path)
    wb["Actions"]["E1"] = "Led offcr"
    wb.save(path)
    sub = check(path)
    assert sub.accepted
    assert [(m.code, m.cell) for m in sub.warnings][:1] == [("unrecognised-column", "E1")]
    assert "not read as 'Lead officer'" in sub.warnings[0].message


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            action(due="30/06/2024", status="G"),
            "rag-check Actions!H2 'G': green but overdue. Check the status: the rollup shows it as you gave it, with "
            "this flag beside it.",
        ),
        (
            action(due="31/03/2025", status="Complete", update="Not yet signed off by Cabinet"),
            "rag-check Actions!H2 'Complete': blue (complete) but the update says 'not yet'. Check the status: the "
            "rollup shows it as you gave it, with this flag beside it.",
        ),
    ],
)
def test_check_rag_honesty_warns_but_keeps_the_status(tmp_path, row, expected):
    sub = check(canonical_workbook(tmp_path / "rag.xlsx", actions=[row]))
    assert sub.accepted
    assert lines(sub.warnings) == [expected]
    assert sub.actions.loc[0, "status"] in ("G", "B")


def test_check_honest_statuses_are_not_flagged(tmp_path):
    rows = [
        action("A1", due="31/03/2025", status="G"),
        action("A2", due="30/06/2024", status="B", update="Done"),
        action("A3", due="30/06/2024", status="A", update="Recovery plan agreed"),
    ]
    sub = check(canonical_workbook(tmp_path / "ok.xlsx", actions=rows))
    assert [m.code for m in sub.warnings] == []
