"""Tests for the seeded sample-workbook generator."""

import datetime
import random
from collections import Counter

import openpyxl
import pytest

from actionplan.sample import (
    ACTION_COLUMNS,
    DEPARTMENTS,
    KPI_COLUMNS,
    OBJECTIVE_COLUMNS,
    council_plans,
    plan_for,
    write_council,
    write_plan,
)

# Spec §1: every way a status may be written, case- and space-insensitive.
STATUS_WORDS = {
    "b": "B", "blue": "B", "complete": "B", "completed": "B", "done": "B", "achieved": "B", "*": "B",
    "g": "G", "green": "G", "on target": "G", "on track": "G", "●": "G",
    "a": "A", "amber": "A", "off target but recovery plans in place": "A", "at risk": "A",
    "some slippage": "A",
    "r": "R", "red": "R", "off target": "R", "behind schedule": "R", "poor": "R", "▲": "R",
    "": "N", "?": "N", "unknown": "N", "n/a": "N", "not started": "N",
}  # fmt: skip


def canonical(status):
    return STATUS_WORDS[" ".join(str(status or "").split()).lower()]


@pytest.fixture(scope="module")
def council():
    return council_plans(actions_total=900, seed=7)


@pytest.fixture(scope="module")
def first_quarter(council):
    return council["2024/25 Q1"]


@pytest.fixture(scope="module")
def second_quarter(council):
    return council["2024/25 Q2"]


def test_plan_for_same_seed_gives_equal_plans():
    one = plan_for("Finance", "2024/25 Q2", 120, random.Random(3))
    two = plan_for("Finance", "2024/25 Q2", 120, random.Random(3))
    assert one == two
    assert one != plan_for("Finance", "2024/25 Q2", 120, random.Random(4))


def test_plan_for_gives_exactly_n_actions_with_objective_refs():
    plan = plan_for("Registrars", "Q3 2024/25", 57, random.Random(1))
    assert plan.period == "2024/25 Q3"
    assert len(plan.actions) == 57
    assert 3 <= len(plan.objectives) <= 8
    objective_refs = {row[0] for row in plan.objectives}
    assert {row[1] for row in plan.actions} <= objective_refs


def test_council_plans_same_seed_gives_equal_values(council):
    assert council_plans(actions_total=900, seed=7) == council
    assert council_plans(actions_total=900, seed=8) != council


def test_council_plans_totals_near_actions_total(first_quarter, second_quarter):
    sizes = [len(plan.actions) for plan in first_quarter]
    assert sum(sizes) == 900
    assert max(sizes) > 1.5 * min(sizes)  # departments differ in size
    # The last quarter lacks one department, so it is short by about that department's share.
    assert 0.75 * 900 < sum(len(plan.actions) for plan in second_quarter) < 1.05 * 900


def test_council_plans_last_department_missing_in_last_period(first_quarter, second_quarter):
    assert [plan.department for plan in first_quarter] == list(DEPARTMENTS[:9])
    assert [plan.department for plan in second_quarter] == list(DEPARTMENTS[:8])


def test_council_plans_refs_unique_per_sheet(council):
    for plans in council.values():
        for plan in plans:
            for rows in (plan.objectives, plan.actions, plan.kpis):
                refs = [row[0] for row in rows]
                assert len(refs) == len(set(refs)), plan.department


def test_council_plans_mix_ref_styles_and_statuses(first_quarter):
    for plan in first_quarter:
        styles = {
            "dotted" if ref.count(".") == 2 else "legacy" if "." in ref else "letter"
            for ref, *_ in plan.actions
        }
        assert len(styles) >= 2, plan.department
    statuses = Counter(canonical(row[7]) for plan in first_quarter for row in plan.actions)
    total = sum(statuses.values())
    for letter, share in {"B": 0.20, "G": 0.45, "A": 0.20, "R": 0.10, "N": 0.05}.items():
        assert abs(statuses[letter] / total - share) < 0.05, letter


def test_council_plans_statuses_are_all_in_the_vocabulary(council):
    for plans in council.values():
        for plan in plans:
            for row in plan.actions:
                canonical(row[7])
            for row in plan.objectives:
                canonical(row[5])


def test_plan_for_clean_has_letters_and_excel_dates():
    plan = plan_for("Finance", "2024/25 Q2", 200, random.Random(5), messy=False)
    assert {row[7] for row in plan.actions} <= {"B", "G", "A", "R"}
    assert all(isinstance(row[5], datetime.datetime) for row in plan.actions)
    assert all(row[4] for row in plan.actions)
    assert all(row[8] for row in plan.actions if row[7] in ("A", "R"))


def test_plan_for_continues_previous(first_quarter, second_quarter):
    for before, after in zip(first_quarter, second_quarter, strict=False):
        old = {row[0]: row for row in before.actions}
        new = {row[0]: row for row in after.actions}
        kept = old.keys() & new.keys()
        assert len(kept) >= 0.9 * len(old)
        assert old.keys() - new.keys() and new.keys() - old.keys()  # a few removed, a few added
        assert [row[0] for row in after.objectives] == [row[0] for row in before.objectives]
        assert [row[0] for row in after.kpis] == [row[0] for row in before.kpis]
    pairs = [
        (old_row, row)
        for before, after in zip(first_quarter, second_quarter, strict=False)
        for old_row in before.actions
        for row in after.actions
        if row[0] == old_row[0]
    ]
    open_rows = [(o, n) for o, n in pairs if canonical(n[7]) != "B" and o[8]]
    stale = [(o, n) for o, n in open_rows if o[8] == n[8]]
    assert 0.05 < len(stale) / len(open_rows) < 0.3
    moved = [(o, n) for o, n in pairs if canonical(o[7]) != canonical(n[7])]
    assert moved


def test_write_plan_reads_back_headers_and_rows(tmp_path, second_quarter):
    plan = second_quarter[0]
    path = write_plan(plan, tmp_path / "sub" / "plan.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Plan", "Objectives", "Actions", "KPIs"]
    labels = [row[0] for row in book["Plan"].iter_rows(values_only=True)]
    assert labels == ["Department", "Plan", "Period", "As at", "Contact"]
    assert book["Plan"]["B1"].value == plan.department
    for name, header, rows in (
        ("Objectives", OBJECTIVE_COLUMNS, plan.objectives),
        ("Actions", ACTION_COLUMNS, plan.actions),
        ("KPIs", KPI_COLUMNS, plan.kpis),
    ):
        sheet_rows = list(book[name].iter_rows(values_only=True))
        assert sheet_rows[0] == header
        assert len(sheet_rows) == len(rows) + 1
    # A progress update starting with '=' is stored as text, never as a live formula.
    plan.actions[0][8] = "=SUM(A1:A2) was the old formula"
    book = openpyxl.load_workbook(write_plan(plan, tmp_path / "bait.xlsx", write_only=True))
    assert book["Actions"]["I2"].data_type == "s"
    assert book["Actions"]["I2"].value == "=SUM(A1:A2) was the old formula"


def test_write_council_writes_one_file_per_department_and_period(tmp_path):
    written = write_council(tmp_path, departments=3, actions_total=60, seed=1)
    assert list(written) == ["2024/25 Q1", "2024/25 Q2"]
    assert [path.relative_to(tmp_path).as_posix() for path in written["2024/25 Q2"]] == [
        "2024-25-q2/legal-hr-and-property.xlsx",
        "2024-25-q2/finance.xlsx",
    ]
    assert all(path.exists() for paths in written.values() for path in paths)
