"""The KPI model (issue 20) over a generated council's four quarters: each type, aggregation, frequency and rule,
triggered and avoided, through Submit, the warehouse and the rollup; and blank columns judged as before."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pandas as pd
import pytest

from actionplan.check import check_workbook
from actionplan.rollup_writer import write_rollup
from actionplan.rules import persistent_since, quarter_targets, year_to_date
from actionplan.sample import MODEL_SHARES, write_council
from actionplan.vocabulary import due_in, kpi_performance
from actionplan.warehouse import open_warehouse
from actionplan.warehouse.consolidate import facts_from_warehouse
from actionplan.warehouse.inbox import Inbox
from actionplan.warehouse.load import load_inbox

QUARTERS = ("2024/25 Q1", "2024/25 Q2", "2024/25 Q3", "2024/25 Q4")
FINANCE, LEGAL = "Finance", "Legal, HR & Property"


@pytest.fixture(scope="module")
def council(tmp_path_factory):
    """Four departments' returns for four quarters, the KPI model's sample KPIs in three, loaded and rolled up."""
    root = tmp_path_factory.mktemp("kpi-model")
    written = write_council(root / "plans", periods=QUARTERS, departments=4, actions_total=80, kpi_model=True)
    inbox = Inbox(root / "inbox", root / "archive")
    warned: dict[str, list] = {}
    start = dt.datetime(2024, 7, 10, tzinfo=dt.UTC)
    for i, period in enumerate(QUARTERS):
        for path in written[period]:
            data = path.read_bytes()
            sub = check_workbook(data, path.name)
            assert sub.accepted, sub.errors
            warned.setdefault(period, []).extend((sub.department, m) for m in sub.warnings)
            inbox.submit(sub, data, submitted_by="officer", now=start + dt.timedelta(days=91 * i))
    wh = open_warehouse(str(root / "warehouse.duckdb"))
    load_inbox(inbox, wh)
    facts = {
        p: facts_from_warehouse(wh, p, generated_at=dt.datetime(2025, 4, 20, 9, 0))
        for p in (*QUARTERS, "2024/25")
    }
    wh.close()
    return facts, warned, root


def _kpi(facts, period, department, ref):
    k = facts[period].kpis
    return k[(k["Department"] == department) & (k["Ref"] == ref)].iloc[0]


# (ref, period, Performance, YTD performance or None, Since or None): each rule triggered and avoided.
CASES = [
    # Goal post 85–95 %: 97 and 96 outside (worse), off target two quarters running from Q1; 90 inside (within)
    # ends the exception; 93 stays within.
    ("MK1", "2024/25 Q1", "worse", None, None),
    ("MK1", "2024/25 Q2", "worse", None, "2024/25 Q1"),
    ("MK1", "2024/25 Q3", "within", None, None),
    ("MK1", "2024/25 Q4", "within", None, None),
    # Data only: never rated, whatever its figures.
    ("MK2", "2024/25 Q1", "data only", None, None),
    ("MK2", "2024/25 Q2", "data only", None, None),
    ("MK2", "2024/25 Q4", "data only", None, None),
    # Annual: not due in Q1–Q3 (not "no data"), rated in Q4 (58 against 60: worse).
    ("MK3", "2024/25 Q1", "not due", None, None),
    ("MK3", "2024/25 Q2", "not due", None, None),
    ("MK3", "2024/25 Q3", "not due", None, None),
    ("MK3", "2024/25 Q4", "worse", None, None),
    # Half-yearly: due in Q2 and Q4 only.
    ("MK4", "2024/25 Q1", "not due", None, None),
    ("MK4", "2024/25 Q2", "better", None, None),
    ("MK4", "2024/25 Q3", "not due", None, None),
    ("MK4", "2024/25 Q4", "worse", None, None),
    # Cumulative, profiled targets 60/50/40/50, lower is better: each quarter against its own target; the year to
    # date is the sum of actuals against the sum of targets (113 vs 110 worse; 198 vs 200 within).
    ("MK5", "2024/25 Q1", "better", "better", None),
    ("MK5", "2024/25 Q2", "worse", "worse", None),
    ("MK5", "2024/25 Q3", "worse", "worse", "2024/25 Q2"),
    ("MK5", "2024/25 Q4", "better", "within", None),
    # Average, target 2.0 a quarter, lower is better: the year to date is the mean (2.0 within; 2.2 worse).
    ("MK6", "2024/25 Q1", "worse", "worse", None),
    ("MK6", "2024/25 Q2", "better", "within", None),
    ("MK6", "2024/25 Q3", "worse", "worse", None),
    # No data in Q1–Q3 (due, rated), then a figure.
    ("MK10", "2024/25 Q3", "no data", None, None),
    ("MK10", "2024/25 Q4", "better", None, None),
]


@pytest.mark.parametrize(("ref", "period", "performance", "ytd", "since"), CASES)
def test_kpi_model_cases(council, ref, period, performance, ytd, since):
    facts, _, _ = council
    for department in (FINANCE, LEGAL):
        row = _kpi(facts, period, department, ref)
        assert row["Performance"] == performance, (department, ref, period)
        assert _value(row.get("YTD performance")) == ytd, (department, ref, period)
        assert _value(row.get("Since")) == since, (department, ref, period)


def _value(cell):
    """A listing's cell with every kind of blank (None, NaN) as None."""
    return None if cell is None or (isinstance(cell, float) and cell != cell) else cell


def test_year_to_date_figures_and_quarter_targets(council):
    facts, _, _ = council
    mk5 = _kpi(facts, "2024/25 Q2", FINANCE, "MK5")
    assert (mk5["Quarter target"], mk5["Year to date"], mk5["YTD target"]) == (50, 113, 110)
    # The forecast outturn (190) against the year's target (60 + 50 + 40 + 50 = 200), lower is better.
    assert mk5["Forecast outturn"] == 190 and mk5["Forecast performance"] == "better"
    mk6 = _kpi(facts, "2024/25 Q3", FINANCE, "MK6")
    assert mk6["Year to date"] == pytest.approx(2.2) and mk6["YTD target"] == pytest.approx(2.0)
    # A snapshot or a measure without Aggregation has no year to date.
    assert pd.isna(_kpi(facts, "2024/25 Q2", FINANCE, "MK1")["Year to date"])


def test_council_percentage_is_recomputed_from_numerators_and_denominators(council):
    facts, _, _ = council
    totals = facts["2024/25 Q2"].kpi_totals.set_index("Measure")
    row = totals.loc["% of invoices paid within 30 days"]
    numerator = sum(n for n, _ in MODEL_SHARES.values())
    denominator = sum(d for _, d in MODEL_SHARES.values())
    mean = sum(100 * n / d for n, d in MODEL_SHARES.values()) / len(MODEL_SHARES)
    assert (row["Departments"], row["Numerator"], row["Denominator"]) == (3, numerator, denominator)
    assert row["Council figure"] == pytest.approx(100 * numerator / denominator, abs=1e-3)
    assert row["Mean of departments"] == pytest.approx(mean, abs=0.1)
    assert abs(row["Council figure"] - row["Mean of departments"]) > 10  # why it is recomputed
    assert facts["2024/25 Q2"].export()["kpi_totals"][0]["Council figure"] == row["Council figure"]


def test_not_due_and_data_only_are_counted_apart_from_no_data(council):
    facts, _, _ = council
    total = facts["2024/25 Q2"].kpi_counts.set_index("Department").loc["Council total"]
    # Per model department in Q2: MK3 (annual) not due, MK2 data only; none of the departments' own KPIs is either.
    assert (total["not due"], total["data only"]) == (2, 2)
    q1 = facts["2024/25 Q1"].kpi_counts.set_index("Department")
    assert q1.loc[FINANCE, "data only"] == 1 and q1.loc[FINANCE, "not due"] == 2  # MK3 and MK4 (half-yearly)
    assert q1.loc[FINANCE, "Total"] == sum(q1.loc[FINANCE, c] for c in q1.columns if c != "Total")
    # A department without the model's KPIs counts none of either, and no data stays no data.
    assert q1.loc["Chief Executive's Department", ["not due", "data only"]].tolist() == [0, 0]
    q4 = facts["2024/25 Q4"].kpi_counts.set_index("Department")
    assert "not due" not in q4.columns  # every measure is due in Q4: the column is left off


def _codes(warned, period, department):
    return [(m.code, m.cell) for d, m in warned[period] if d == department]


def test_plausibility_warnings_at_submit(council):
    _, warned, _ = council
    q1, q2 = _codes(warned, "2024/25 Q1", FINANCE), _codes(warned, "2024/25 Q2", FINANCE)
    implausible = [cell for c, cell in q2 if c == "implausible-kpi-actual"]
    assert implausible == [f"G{_row_of(council, FINANCE, 'MK8')}"]  # 73,390 against a target of 420
    assert not [c for c, _ in q1 if c == "implausible-kpi-actual"]  # 410 against 420 is plausible
    assert ("zero-kpi-target", f"F{_row_of(council, FINANCE, 'MK9')}") in q1
    # Data only and goal posts are never told they lack a target (MK1 and MK2 have none).
    no_target = {cell for c, cell in q1 if c == "no-kpi-target"}
    assert not no_target & {f"F{_row_of(council, FINANCE, r)}" for r in ("MK1", "MK2")}


def _row_of(council, department, ref):
    """The sheet row a KPI was read from (the model rows follow the department's own KPIs)."""
    facts, _, _ = council
    k = facts["2024/25 Q1"].kpis
    refs = list(k[k["Department"] == department]["Ref"])
    return 2 + refs.index(ref)


def test_implausible_message_names_the_cell_and_the_figures(council):
    _, warned, _ = council
    (message,) = [m for d, m in warned["2024/25 Q2"] if d == FINANCE and m.code == "implausible-kpi-actual"]
    assert message.sheet == "KPIs" and message.cell.startswith("G")
    assert message.message == (
        "the actual, 73390, is more than 10 times above its target (420). Check for a misplaced decimal point or "
        "a total typed for a rate; if the figure is right, say why in the Comment."
    )


def test_consolidation_warnings_no_data_running_and_recovery_plan(council):
    facts, _, _ = council
    q3 = facts["2024/25 Q3"].data_quality
    running = q3[(q3["Code"] == "kpi-no-data-running") & (q3["Ref"] == "MK10")]
    assert set(running["Department"]) == {FINANCE, LEGAL}
    finance = running[running["Department"] == FINANCE].iloc[0]
    assert (finance["Sheet"], finance["Cell"]) == (
        "KPIs",
        f"G{_row_of(council, FINANCE, 'MK10')}",
    )  # its Actual
    assert "no data for 3 periods running (2024/25 Q1, 2024/25 Q2, 2024/25 Q3)" in running["Message"].iloc[0]
    q2 = facts["2024/25 Q2"].data_quality
    assert q2[(q2["Code"] == "kpi-no-data-running") & (q2["Ref"] == "MK10")].empty  # two quarters only
    # MK5 persistent in Q3: Finance gave its recovery plan, Legal did not.
    plans = q3[(q3["Code"] == "no-recovery-plan") & (q3["Ref"] == "MK5")]
    assert list(plans["Department"]) == [LEGAL]
    assert plans["Cell"].iloc[0] == f"V{_row_of(council, LEGAL, 'MK5')}"  # its Recovery action
    assert (
        plans["Message"]
        .iloc[0]
        .endswith(
            "has no Recovery action, Recovery owner, Recovery date. Say what will bring it back on target, who leads "
            "it and by when."
        )
    )


def test_persistent_kpis_on_the_exceptions_sheet_with_since(council):
    facts, _, root = council
    ex = facts["2024/25 Q3"].exceptions
    kpis = ex[ex["Action"].astype(str).str.startswith("KPI: ")]
    assert set(zip(kpis["Department"], kpis["Ref"], kpis["Since"], strict=True)) >= {
        (FINANCE, "MK5", "2024/25 Q2"),
        (LEGAL, "MK5", "2024/25 Q2"),
    }
    finance = kpis[(kpis["Department"] == FINANCE) & (kpis["Ref"] == "MK5")].iloc[0]
    assert finance["Recovery owner"] == "Head of Customer Services"
    assert finance["Reason"] == "KPI worse than target 2 or more periods running (actual 45 against 40)"
    goal = facts["2024/25 Q2"].exceptions.set_index(["Department", "Ref"]).loc[(FINANCE, "MK1")]
    assert (goal["Since"], goal["Reason"]) == (
        "2024/25 Q1",
        "KPI worse than target 2 or more periods running (actual 96 outside 85–95)",
    )
    q4 = facts["2024/25 Q4"].exceptions
    assert "MK5" not in set(q4["Ref"])  # back on target: off the list
    book = openpyxl.load_workbook(write_rollup(facts["2024/25 Q3"], root / "rollup-q3.xlsx"), read_only=True)
    header = next(book["Exceptions"].iter_rows(max_row=1, values_only=True))
    assert {"Since", "Recovery action"} <= set(header)
    kpi_header = next(book["KPIs"].iter_rows(max_row=1, values_only=True))
    assert {"Type", "Aggregation", "Frequency", "Year to date", "YTD performance"} <= set(kpi_header)


def test_blank_model_columns_keep_the_kpis_sheet_as_it_was(council):
    facts, _, _ = council
    # Chief Executive's Department uses none of the model's columns: every KPI judged by Polarity and Target.
    k = facts["2024/25 Q2"].kpis
    own = k[k["Department"] == "Chief Executive's Department"]
    assert not own.empty
    for r in own.to_dict("records"):
        judged = kpi_performance(
            r["Target"] if isinstance(r["Target"], float) else None,
            r["Actual"] if isinstance(r["Actual"], float) else None,
            r["Polarity"],
            r["Tolerance"],
        )
        assert r["Performance"] == judged
        assert _value(r["Type"]) is None and _value(r["Aggregation"]) is None


@pytest.mark.parametrize(
    ("judgements", "since"),
    [
        ([("Q1", "worse")], None),
        ([("Q1", "worse"), ("Q2", "worse")], "Q1"),
        ([("Q1", "worse"), ("Q2", "no data"), ("Q3", "worse")], "Q1"),  # a gap neither ends nor adds
        ([("Q1", "worse"), ("Q2", "worse"), ("Q3", "no data")], "Q1"),  # stays until on target
        ([("Q1", "worse"), ("Q2", "worse"), ("Q3", "within")], None),
        ([("Q1", "worse"), ("Q2", "better"), ("Q3", "worse")], None),
        ([("Q1", "within"), ("Q2", "worse"), ("Q3", "worse")], "Q2"),
    ],
)
def test_persistent_since(judgements, since):
    assert persistent_since(judgements, "kpis") == since


@pytest.mark.parametrize(
    ("statuses", "since"),
    [
        ([("Q1", "R"), ("Q2", "R")], "Q1"),
        ([("Q1", "R"), ("Q2", "A"), ("Q3", "R")], "Q1"),
        ([("Q1", "R"), ("Q2", "R"), ("Q3", "G")], None),
        ([("Q1", "A"), ("Q2", "A")], None),
    ],
)
def test_persistent_since_for_actions(statuses, since):
    assert persistent_since(statuses, "actions") == since


@pytest.mark.parametrize(
    ("frequency", "quarter", "due"),
    [
        (None, 2, True),
        ("Quarterly", 3, True),
        ("Monthly", 1, True),
        ("Half-yearly", 1, False),
        ("half yearly", 2, True),
        ("Annual", 2, False),
        ("annually", 4, True),
        ("Annual", None, True),  # a whole-year return: everything is due
    ],
)
def test_due_in(frequency, quarter, due):
    assert due_in(frequency, quarter) is due


@pytest.mark.parametrize(
    ("kind", "bounds", "actual", "expected"),
    [
        ("Goal post", (85, 95), 85, "within"),
        ("Goal post", (85, 95), 95, "within"),
        ("Goal post", (85, 95), 84.9, "worse"),
        ("goalpost", (85, 95), 96, "worse"),
        ("Goal post", (85, None), 90, "no data"),
        ("Data only", (None, None), 90, "data only"),
        ("Lower is better", (None, None), 90, "better"),  # Type overrides Polarity (Higher is better below)
    ],
)
def test_kpi_performance_by_type(kind, bounds, actual, expected):
    assert kpi_performance(100, actual, "Higher is better", 0.025, kind, bounds) == expected


def test_year_to_date_by_aggregation():
    targets = quarter_targets("Cumulative", 200, [None, None, None, None])
    assert targets == [50, 50, 50, 50]
    assert year_to_date("Cumulative", [30, 25], targets[:2]) == (55, 100)
    assert year_to_date("Average", [2.1, 2.5], [2, 2]) == pytest.approx((2.3, 2.0))
    assert year_to_date("Snapshot", [1, 2], [1, 1]) is None
    assert year_to_date(None, [1, 2], [1, 1]) is None
    assert year_to_date("Cumulative", [30, None], [50, 50]) == (None, 100)


def test_type_against_polarity_and_unknown_words_at_submit(tmp_path):
    from actionplan.template import write_template

    path = write_template(tmp_path / "plan.xlsx", department="Finance", period="2024/25 Q2")
    wb = openpyxl.load_workbook(path)
    ws = wb["KPIs"]
    header = [c.value for c in ws[1]]
    row = dict.fromkeys(header)
    row.update(
        {
            "Ref": "K1",
            "Measure": "Sickness days per FTE",
            "Polarity": "Higher is better",
            "Lead officer": "Sam Okafor",
            "Target": 2,
            "Actual": 2.4,
            "Type": "Lower is better",
            "Aggregation": "Rolling",
        }
    )
    ws.append([row[h] for h in header])
    wb.save(path)
    sub = check_workbook(path.read_bytes(), path.name)
    assert sub.accepted, sub.errors
    by_code = {m.code: m for m in sub.warnings}
    conflict = by_code["kpi-type-polarity"]
    assert (conflict.sheet, conflict.cell, conflict.value) == ("KPIs", "J2", "Lower is better")
    assert conflict.message == (
        "the Type says Lower is better but the Polarity says Higher is better; the Type is used. Make them "
        "agree, or leave the Polarity blank."
    )
    assert sub.kpis.loc[0, "performance"] == "worse"  # lower is better: 2.4 against 2 is worse
    assert (by_code["unknown-aggregation"].cell, by_code["unknown-aggregation"].value) == ("M2", "Rolling")


def test_committee_report_counts_not_due_and_shows_since(council):
    import docx

    from actionplan.report import write_report

    facts, _, root = council
    document = docx.Document(str(write_report(facts["2024/25 Q2"], root / "report-q2.docx")))
    text = "\n".join(p.text for p in document.paragraphs)
    cells = "\n".join(c.text for t in document.tables for row in t.rows for c in row.cells)
    total = facts["2024/25 Q2"].kpi_counts.set_index("Department").loc["Council total"]
    assert f", {total['not due']} not due this quarter, {total['data only']} data only (never rated)." in text
    assert "○  not due: no result is due this quarter at this measure's frequency" in text
    assert "Since 2024/25 Q1." in cells  # MK1, off its band in Q1 and Q2
    assert "○" in cells  # MK2 and MK3 in the KPI tables


def test_year_view_rates_the_annual_measure(council):
    facts, _, _ = council
    year = facts["2024/25"].kpis
    annual = year[(year["Department"] == FINANCE) & (year["Ref"] == "MK3")].iloc[0]
    assert annual["Performance"] == "worse"  # its Q4 result, 58 against 60
