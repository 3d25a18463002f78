"""What a scrutiny committee asks, on four periods of data built to trigger each rule (and not to)."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import zipfile

import openpyxl
import pytest

from actionplan.check import check_workbook
from actionplan.rollup import CORRECTIVE_MIN_WORDS, STEADY_SHARE
from actionplan.warehouse import open_warehouse
from actionplan.warehouse.consolidate import facts_from_warehouse
from actionplan.warehouse.inbox import Inbox
from actionplan.warehouse.load import load_inbox
from tests.conftest import action, canonical_workbook

PERIODS = ("2024/25 Q1", "2024/25 Q2", "2024/25 Q3", "2024/25 Q4")


def _kpi(ref, measure, polarity, target, actual):
    return [ref, measure, polarity, "%", "R Khan", target, actual, None, None]


def _plans():
    """Per period: Finance's actions and KPIs. Each ref is built to trigger one rule, or to avoid it."""
    due = "31/03/2026"
    return {
        "2024/25 Q1": [
            action("S1", due="30/06/2025", status="G", update="Tender drafted"),
            action("S2", due="30/06/2025", status="G", update="Consultation planned"),
            action("H1", due="31/05/2024", status="G", update="Started"),
            action("H2", due=due, status="A", update="Supplier problems"),
            action("K1", due=due, status="G", update="Going well"),
        ],
        "2024/25 Q2": [
            action(
                "S1", due="30/06/2025", revised="30/09/2025", status="G", update="Tender delayed by legal"
            ),
            action("S2", due="30/06/2025", status="G", update="Consultation open"),
            action("H1", due="31/05/2024", status="G", update="Started"),
            action("H2", due=due, status="A", update="Supplier problems"),
            action("K1", due=due, status="G", update="Going well still"),
        ],
        "2024/25 Q3": [
            action("S1", due="30/06/2025", revised="31/12/2025", status="A", update="Tender re-issued"),
            action("S2", due="30/06/2025", status="G", update="Consultation closed"),
            action("H1", due="31/05/2024", status="G", update="Started"),
            action("H2", due=due, status="A", update="Supplier problems persist"),
            action("K1", due=due, status="G", update="Nearly there"),
        ],
        "2024/25 Q4": [
            # S1: revised in Q2, Q3 and Q4 → 3 revisions, Amber revised in each of the last three periods.
            action("S1", due="30/06/2025", revised="31/03/2026", status="A", update="Tender re-issued again"),
            # S2: never revised → no slip, no RAG check.
            action("S2", due="30/06/2025", status="G", update="Report to Cabinet in May"),
            # H1: Green while overdue (due before 31/03/2025) → RAG check.
            action("H1", due="31/05/2024", status="G", update="Started"),
            # H2: Blue but the update says it is not done → RAG check; unchanged text is not stale (Blue).
            action("H2", due=due, status="B", update="Delayed: supplier has not yet delivered"),
            # R1: Red with a real corrective action → exception (Red) but not 'without corrective action'.
            action(
                "R1",
                due=due,
                status="R",
                update="Budget shortfall; recovery plan agreed with the S151 officer",
            ),
            # R2: Red with a three-word update → Red without corrective action.
            action("R2", due=due, status="R", update="Being looked at"),
            # K1: Blue and honest.
            action("K1", due=due, status="B", update="Completed in March"),
        ],
    }


KPIS = {
    "2024/25 Q1": [
        _kpi("P1", "Invoices paid in 30 days", "Higher is better", "95%", "90%"),
        _kpi("P2", "Sickness absence", "Lower is better", "4%", "5%"),
        _kpi("P3", "Complaints answered on time", None, "90%", "88%"),
    ],
    "2024/25 Q2": [
        _kpi("P1", "Invoices paid in 30 days", "Higher is better", "95%", "92%"),
        _kpi("P2", "Sickness absence", "Lower is better", "4%", "4.5%"),
        _kpi("P3", "Complaints answered on time", None, "90%", "88%"),
    ],
    "2024/25 Q3": [
        _kpi("P1", "Invoices paid in 30 days", "Higher is better", "95%", "94%"),
        _kpi("P2", "Sickness absence", "Lower is better", "4%", "4.2%"),
        _kpi("P3", "Complaints answered on time", None, "90%", "89%"),
    ],
    # P1 improving (up, higher better); P2 worsening (up, lower better); P3 steady (moved < 0.5 %).
    "2024/25 Q4": [
        _kpi("P1", "Invoices paid in 30 days", "Higher is better", "95%", "96%"),
        _kpi("P2", "Sickness absence", "Lower is better", "4%", "4.6%"),
        _kpi("P3", "Complaints answered on time", None, "90%", "89.2%"),
    ],
}


@pytest.fixture(scope="module")
def warehouse_home(tmp_path_factory):
    root = tmp_path_factory.mktemp("committee")
    inbox = Inbox(root / "inbox", root / "archive")
    start = dt.datetime(2024, 7, 10, tzinfo=dt.UTC)
    for i, (period, rows) in enumerate(_plans().items()):
        path = canonical_workbook(
            root / f"finance-{i}.xlsx", "Finance", rows, period=period, kpis=KPIS[period]
        )
        legal = canonical_workbook(
            root / f"legal-{i}.xlsx", "Legal", [action("L1", due="31/03/2026")], period=period
        )
        for p in (path, legal):
            data = p.read_bytes()
            sub = check_workbook(data, p.name)
            assert sub.accepted, sub.errors
            inbox.submit(sub, data, submitted_by="officer", now=start + dt.timedelta(days=91 * i))
    wh = open_warehouse(str(root / "warehouse.duckdb"))
    load_inbox(inbox, wh)
    yield wh
    wh.close()


@pytest.fixture(scope="module")
def facts(warehouse_home):
    return facts_from_warehouse(warehouse_home, "2024/25 Q4", generated_at=dt.datetime(2025, 4, 20, 9, 0))


def _action(facts, ref):
    return facts.actions.set_index("Ref").loc[ref]


def test_slip_history_counts_revisions_across_periods(facts):
    s1, s2 = _action(facts, "S1"), _action(facts, "S2")
    assert (s1["Times revised"], s1["Original due date"], s1["Revised due date"]) == (
        3,
        dt.date(2025, 6, 30),
        dt.date(2026, 3, 31),
    )
    assert (s2["Times revised"], s2["Original due date"]) == (0, dt.date(2025, 6, 30))
    reason = facts.exceptions.set_index("Ref").loc["S1", "Reason"]
    assert "due date revised 3 times" in reason
    assert "S2" not in set(facts.exceptions["Ref"])


def test_rag_checks_flag_but_never_change_the_status(facts):
    checks = dict(zip(facts.actions["Ref"], facts.actions["RAG check"], strict=True))
    assert checks["H1"] == "Green but overdue"
    assert checks["S1"] == "Amber but the due date was revised in each of the last three periods"
    assert checks["H2"] == "Blue (complete) but the update says 'not yet'"
    for ref in ("S2", "K1", "R1", "R2"):
        assert checks[ref] is None or checks[ref] != checks[ref], ref  # None or NaN: no flag
    assert (_action(facts, "H1")["Status"], _action(facts, "H2")["Status"]) == ("G", "B")
    quality = facts.data_quality[facts.data_quality["Code"] == "rag-check"]
    # Green-but-overdue and Blue-but-not-done were warned at submission (value as written); the slip
    # pattern only shows across periods, so consolidation adds it.
    assert sorted(zip(quality["Cell"], quality["Value"], strict=True)) == [
        ("H4", "G"),
        ("H5", "B"),
        ("row 2", "Amber"),
    ]


def test_red_without_corrective_action_is_an_exception(facts):
    reasons = facts.exceptions.set_index("Ref")["Reason"]
    assert reasons["R2"] == "Red, Red without corrective action"
    assert reasons["R1"] == "Red"
    assert (
        len("Being looked at".split())
        < CORRECTIVE_MIN_WORDS
        <= len("Budget shortfall; recovery plan agreed with the S151 officer".split())
    )


def test_stale_commentary_only_for_items_not_complete(facts):
    stale = facts.data_quality[facts.data_quality["Code"] == "stale-commentary"]
    # H1 unchanged since Q3; H2 kept its text but is now Blue; Legal's L1 says "On track" every quarter.
    assert sorted(zip(stale["Department"], stale["Value"], strict=True)) == [
        ("Finance", "Started"),
        ("Legal", "On track"),
    ]


def test_kpi_direction_of_travel_honours_polarity(facts):
    kpis = facts.kpis.set_index("Ref")
    assert dict(kpis["Direction"]) == {"P1": "↑ improving", "P2": "↓ worsening", "P3": "→ steady"}
    assert kpis.loc["P1", "Previous actual"] == 94.0
    assert abs(89.2 - 89) / 89 <= STEADY_SHARE
    assert facts.trend_periods == list(PERIODS)
    assert [kpis.loc["P2", p] for p in PERIODS] == [5.0, 4.5, 4.2, 4.6]


def test_changes_work_for_any_two_periods(warehouse_home):
    against_q1 = facts_from_warehouse(warehouse_home, "2024/25 Q4", against="2024/25 Q1")
    changes = {(r["Ref"], r["Change"]): (r["From"], r["To"]) for r in against_q1.changes.to_dict("records")}
    assert changes[("H2", "status")] == ("Amber", "Blue")
    assert changes[("S1", "revised due date moved")] == ("none", "31/03/2026")
    assert against_q1.previous_period == "2024/25 Q1"


def test_how_to_read_is_made_from_the_settings_in_force(warehouse_home):
    strict = facts_from_warehouse(warehouse_home, "2024/25 Q4", tolerance=0.05)
    text = dict(strict.how_to_read)
    assert text["Tolerance"].startswith("5 % unless the KPI gives its own")
    assert text["Not submitted"] == "Every known department submitted."
    assert text["Overdue"] == "Effective due date before the end of the period (31/03/2025) and not Blue."


def test_rollup_workbook_shows_the_committee_columns(facts, tmp_path):
    from actionplan.rollup_writer import write_rollup

    out = write_rollup(facts, tmp_path / "rollup.xlsx")
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[-1] == "How to read this report"
    header = [c.value for c in next(wb["Actions"].iter_rows(max_row=1))]
    assert {"Times revised", "Original due date", "RAG check"} <= set(header)
    kpi_header = [c.value for c in next(wb["KPIs"].iter_rows(max_row=1))]
    assert kpi_header[-1] == "Trend" and {"Previous actual", "Direction", *PERIODS} <= set(kpi_header)
    with zipfile.ZipFile(out) as z:
        kpi_xml = z.read("xl/worksheets/sheet5.xml").decode()
    # One small line per KPI, in its row's Trend cell, over that row's actuals by period.
    sparklines = re.findall(
        r"<x14:sparkline><xm:f>KPIs!\$?(\w+?)\$?(\d+):\$?(\w+?)\$?(\d+)</xm:f>"
        r"<xm:sqref>(\w+?)(\d+)</xm:sqref></x14:sparkline>",
        kpi_xml,
    )
    assert sorted(int(s[1]) for s in sparklines) == list(range(2, 2 + len(facts.kpis)))
    trend = openpyxl.utils.get_column_letter(len(kpi_header))
    first = openpyxl.utils.get_column_letter(kpi_header.index(PERIODS[0]) + 1)
    last = openpyxl.utils.get_column_letter(kpi_header.index(PERIODS[-1]) + 1)
    assert all(s[1] == s[3] == s[5] and (s[0], s[2], s[4]) == (first, last, trend) for s in sparklines)
    assert wb["Summary"]._charts and wb["KPIs"]._charts


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (libreoffice-calc) is not installed")
def test_rollup_prints_to_pdf(facts, tmp_path):
    from actionplan.pdf import pdf_from_workbook
    from actionplan.rollup_writer import write_rollup

    pdf = pdf_from_workbook(write_rollup(facts, tmp_path / "rollup.xlsx"))
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 10_000


@pytest.mark.parametrize(
    ("status", "overdue", "update", "times", "plan", "history"),
    [
        ("R", False, "Supplier withdrew; re-tendering in November with two bidders", 0, ["Red"], []),
        ("R", True, "Being looked at", 0, ["Red", "overdue"], ["Red without corrective action"]),
        ("A", False, None, 0, ["no progress update"], []),
        ("G", True, "On plan", 2, ["overdue"], ["due date revised 2 times"]),
        ("B", False, "Done", 1, [], []),  # never overdue: Blue is done
        ("G", False, "On plan", 0, [], []),
    ],
)
def test_exception_rules_in_one_place(status, overdue, update, times, plan, history):
    from actionplan.rules import (
        history_exception_reasons,
        plan_exception_reasons,
        reasons_from_stored,
        stored_reasons,
    )

    assert plan_exception_reasons(status, overdue, update) == plan
    assert history_exception_reasons(status, update, times) == history
    assert reasons_from_stored(stored_reasons(plan + history)) == plan + history


def test_rollup_cells_are_the_same_written_by_the_direct_calls(facts, tmp_path, monkeypatch):
    """The rollup's cell writes skip xlsxwriter's A1-notation decorator (rollup_writer.DIRECT_CELL_WRITES): every
    sheet comes out byte for byte as the public write_string/_number/_blank calls write it, sparklines and all."""
    from actionplan import rollup_writer

    def sheets(path):
        with zipfile.ZipFile(path) as z:
            # docProps/core.xml holds the time of writing; everything else must match.
            return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}

    monkeypatch.setattr(rollup_writer, "DIRECT_CELL_WRITES", False)
    public = sheets(rollup_writer.write_rollup(facts, tmp_path / "public.xlsx"))
    monkeypatch.setattr(rollup_writer, "DIRECT_CELL_WRITES", True)
    direct = sheets(rollup_writer.write_rollup(facts, tmp_path / "direct.xlsx"))
    assert sorted(direct) == sorted(public)
    different = [name for name in public if public[name] != direct[name]]
    assert different == []
    kpis = direct["xl/worksheets/sheet5.xml"].decode()
    assert kpis.count("<x14:sparkline>") == len(facts.kpis) > 0
    assert len(facts.actions) > 0 and b"<c r=" in direct["xl/worksheets/sheet4.xml"]


# Text that makes xlsxwriter change what it writes: XML characters, control characters and its own _xHHHH_
# escapes, edge whitespace, the two non-characters, emoji (two UTF-16 units), a string over Excel's limit.
HOSTILE_TEXT = [
    'Budget & <risks> "agreed"',
    "tab\there\nnew line",
    "bell\x07 and nul\x00 and _x0041_ literal",
    "  leading spaces",
    "trailing tab\t",
    "non-characters \ufffe\uffff",
    "emoji 🚧 roadworks",
    "=SUM(A1:A9)",
    "x" * 40000,
    "🚧" * 20000,
    "",
]


def _parts(path):
    with zipfile.ZipFile(path) as z:
        # docProps/core.xml holds the time of writing; everything else must match.
        return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}


def _hostile(facts, rows=0):
    import dataclasses

    import pandas as pd

    copies = -(-max(rows, len(HOSTILE_TEXT)) // len(facts.actions))
    actions = pd.concat([facts.actions] * copies, ignore_index=True)
    update, ref = (list(actions.columns).index(name) for name in ("Progress update", "Ref"))
    for i, text in enumerate(HOSTILE_TEXT):
        actions.iloc[i, update] = text
        actions.iloc[-1 - i, ref] = text  # and in a column that does not wrap
    return dataclasses.replace(facts, actions=actions)


@pytest.mark.parametrize(
    "hostile, rows",
    [(False, 0), (True, 0), (True, 4500)],
    ids=["committee data", "hostile text", "three blocks of rows"],
)
def test_streamed_rows_are_the_bytes_xlsxwriter_cell_calls_write(facts, tmp_path, monkeypatch, hostile, rows):
    """The rollup's tables are streamed as XML a column at a time (actionplan/xlsx_rows.py): every part of the
    workbook (sheets, styles, charts, sparklines) is byte for byte what xlsxwriter's own cell calls write."""
    from actionplan import rollup_writer

    if hostile:
        facts = _hostile(facts, max(rows, len(HOSTILE_TEXT)))
        assert len(facts.actions) >= max(rows, len(HOSTILE_TEXT))
    monkeypatch.setattr(rollup_writer, "STREAMED_ROWS", False)
    cells = _parts(rollup_writer.write_rollup(facts, tmp_path / "cells.xlsx"))
    monkeypatch.setattr(rollup_writer, "STREAMED_ROWS", True)
    streamed = _parts(rollup_writer.write_rollup(facts, tmp_path / "streamed.xlsx"))
    assert sorted(streamed) == sorted(cells)
    assert [name for name in cells if cells[name] != streamed[name]] == []
    actions = streamed["xl/worksheets/sheet4.xml"].decode()
    assert actions.count("<row ") == len(facts.actions) + 1
    assert 'ht="' in actions  # wrapped progress updates get their heights, as before
    if hostile:
        assert "_x0007_" in actions and "_x005F_x0041_" in actions and "&amp; &lt;risks&gt;" in actions
        assert '<t xml:space="preserve">  leading spaces</t>' in actions


def test_text_that_looks_like_rich_text_is_written_as_text(facts, tmp_path):
    """xlsxwriter's constant_memory mode writes any string beginning "<r>" and ending "</r>" raw, as rich-text XML:
    a progress update reading "<r>a & b</r>" made a rollup no one could open. The streamed rows escape it."""
    import dataclasses

    from actionplan import rollup_writer

    actions = facts.actions.copy()
    texts = ["<r>a & b</r>", "<r><t>looks rich</t></r>"]
    column = list(actions.columns).index("Progress update")
    for i, text in enumerate(texts):
        actions.iloc[i, column] = text
    path = rollup_writer.write_rollup(dataclasses.replace(facts, actions=actions), tmp_path / "r.xlsx")
    sheet = openpyxl.load_workbook(path)["Actions"]
    heading = [c.value for c in sheet[1]].index("Progress update") + 1
    assert [sheet.cell(row=2 + i, column=heading).value for i in range(len(texts))] == texts


def test_snapshots_are_what_every_row_as_a_dict_gave(warehouse_home):
    """snapshots_of_period reads only the columns it keeps, column by column; the same snapshots as converting
    every row of the actions to a dict (how it was written before), on a warehouse with slips over periods."""
    import pandas as pd

    from actionplan.rollup import slip_history
    from actionplan.warehouse.consolidate import as_registered, department_spelling
    from actionplan.warehouse.snapshot import snapshots_of_period

    def by_rows(wh, period):
        spelling = department_spelling(None, wh.departments())
        on_record = wh.periods()[: wh.periods().index(period) + 1]
        history = [(p, as_registered(wh.current(p), spelling, {})[0]["actions"]) for p in on_record[-3:]]
        slips, last, out = slip_history(history), len(history) - 1, {}
        for r in history[-1][1].to_dict("records"):
            flags = dict(slips.get((r["department"], str(r["ref"])), {}).get("changes", []))
            due = r["effective_due_date"]
            out.setdefault(r["department"], {})[str(r["ref"])] = {
                "status": r["status"],
                "update": r["progress_update"] if isinstance(r["progress_update"], str) else None,
                "due": None if due is None or pd.isna(due) else str(pd.Timestamp(due).date()),
                "revised": [flags.get(last - 1), flags.get(last)],
            }
        return out

    for period in warehouse_home.periods():
        expected = by_rows(warehouse_home, period)
        assert snapshots_of_period(warehouse_home, period) == expected
    assert any(any(a["revised"] != [None, None] for a in d.values()) for d in expected.values())
    assert any(a["due"] for d in expected.values() for a in d.values())


def test_the_snapshot_revision_flags_are_the_last_two_periods_of_the_slip_history():
    """_revised reads only the end of an action's slip changes; the same flags as the dict of them all, on every
    history of up to three periods, a ref twice in a plan (two entries for a period) included."""
    import itertools

    from actionplan.warehouse.snapshot import _revised

    histories = 0
    for last in range(3):
        for indexes in itertools.chain.from_iterable(
            itertools.combinations_with_replacement(range(last + 1), n) for n in range(1, 5)
        ):
            for flags in itertools.product([False, True], repeat=len(indexes)):
                changes = list(zip(indexes, flags, strict=True))
                whole = dict(changes)
                assert _revised(changes, last) == [whole.get(last - 1), whole.get(last)], changes
                histories += 1
    assert histories > 500
