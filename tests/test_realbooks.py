"""Real council workbooks read as they are: headings as officers write them, stacked headers, KPI scorecards."""

from __future__ import annotations

import datetime as dt
import random
import subprocess
import sys

import openpyxl
import pytest

from actionplan.check import check_workbook
from actionplan.cli import main
from actionplan.headings import HeadingMatcher, core, fold
from tests.conftest import ACTION_HEADER
from tests.realbooks import (
    ROWS,
    clean_workbook,
    heading_variants,
    quarterly_scorecard,
    variant_workbook,
    yearly_scorecard,
)

COMPARED = [
    "ref",
    "objective",
    "theme",
    "action",
    "lead_officer",
    "due_date",
    "revised_due_date",
    "status",
    "progress_update",
]


def check(path, **kwargs):
    return check_workbook(path.read_bytes(), path.name, **kwargs)


@pytest.mark.parametrize(
    ("heading", "key", "heading_core"),
    [
        ("Lead Officer (as per 2023 plan)", "lead officer as per 2023 plan", "lead officer"),
        ("Progress Update – as at 30/9/24", "progress update as at 30 9 24", "progress update"),
        ("Status (RAG)", "status rag", "status"),
        ("Target date:", "target date", "target date"),
        ("Due date (dd/mm/yyyy)", "due date dd mm yyyy", "due date"),
        ("Due\ndate", "due date", "due date"),
        ("Update for Q2 – as at 30/9/24", "update for q2 as at 30 9 24", "update"),
        ("Progress to date", "progress to date", "progress to date"),
        ("Tolerance %", "tolerance %", "tolerance %"),
    ],
)
def test_headings_fold_and_core(heading, key, heading_core):
    assert (fold(heading), core(heading)) == (key, heading_core)


_KNOWN = {
    "Lead officer": "lead_officer",
    "Responsible officer": "lead_officer",
    "Status": "status",
    "Progress update": "progress_update",
    "Due date": "due_date",
    "Action": "action",
    "Ref": "ref",
}


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        ("Lead officer", [("lead_officer", 100, "exact")]),
        ("LEAD-OFFICER:", [("lead_officer", 100, "exact")]),
        ("Status (RAG)", [("status", 95, "qualifiers ignored")]),
        ("Responsible Oficer", [("lead_officer", 80, "typo")]),
        ("Status of the action", [("status", 85, "starts with"), ("action", 70, "contains")]),
        ("Proposed action", [("action", 70, "contains")]),
        ("Rf", []),
        ("Budget", []),
    ],
)
def test_headings_readings_are_scored(heading, expected):
    readings = HeadingMatcher(_KNOWN).readings(heading)
    assert [(g.target, g.score, g.how) for g in readings] == expected


def test_headings_guesses_are_not_made_where_a_header_is_not_looked_for():
    assert HeadingMatcher(_KNOWN).readings("Proposed action", guess=False) == ()


def test_layouts_plan_with_qualified_headings_is_accepted_with_its_commentary(tmp_path):
    headings = [
        "No.",
        "Objective",
        "Theme",
        "Action",
        "Lead Officer (as per 2023 plan)",
        "Target date:",
        "Revised date",
        "Status (RAG)",
        "Progress Update – as at 30/9/24",
    ]
    sub = check(variant_workbook(tmp_path / "ags.xlsx", headings))
    assert sub.accepted, [str(m) for m in sub.errors]
    assert list(sub.actions["progress_update"]) == [r[8] for r in ROWS]
    assert list(sub.actions["status"]) == ["A", "B", "G", "R"]
    assert not [m for m in sub.warnings if "no progress update" in m.message or m.code == "guessed-column"]
    assert sub.columns["AGS action plan"]["mapped"][-2:] == [
        "H: actions.status",
        "I: actions.progress_update",
    ]


def test_layouts_guessed_heading_is_a_warning_naming_it(tmp_path):
    headings = list(ACTION_HEADER)
    headings[4], headings[3] = "Responsible Oficer", "Proposed actions to address the issue"
    sub = check(variant_workbook(tmp_path / "g.xlsx", headings))
    assert sub.accepted
    assert [str(m) for m in sub.warnings if m.code == "guessed-column"] == [
        "AGS action plan!D3 'Proposed actions to address the issue': this heading was read as the 'Action' column, "
        "because it contains 'Actions'. If that is right, nothing needs doing; if not, rename the heading.",
        "AGS action plan!E3 'Responsible Oficer': this heading was read as the 'Lead officer' column, taking it for "
        "'Responsible officer' misspelt. If that is right, correct the spelling; if not, rename the heading.",
    ]
    assert list(sub.actions["lead_officer"]) == [r[4] for r in ROWS]
    assert sub.columns["AGS action plan"]["guessed"] == [
        "D: Proposed actions to address the issue → actions.action (contains 'Actions', score 70)",
        "E: Responsible Oficer → actions.lead_officer (typo 'Responsible officer', score 80)",
    ]


def test_layouts_two_headings_for_one_column_best_score_wins_the_other_is_kept(tmp_path):
    headings = [*ACTION_HEADER, "Lead officer (interim)"]
    rows = [[*r, "Someone else"] for r in ROWS]
    path = variant_workbook(tmp_path / "two.xlsx", headings, rows=rows)
    sub = check(path)
    assert list(sub.actions["lead_officer"]) == [r[4] for r in ROWS]
    assert sub.columns["AGS action plan"]["extra"] == ["J: Lead officer (interim)"]
    assert sub.columns["AGS action plan"]["ignored"] == [
        "J: Lead officer (interim) (Lead officer is read from E)"
    ]


def test_layouts_stacked_header_rows_are_never_items(tmp_path):
    sub = check(variant_workbook(tmp_path / "stacked.xlsx", list(ACTION_HEADER), stacked=True))
    clean = check(clean_workbook(tmp_path / "clean.xlsx"))
    assert sub.accepted, [str(m) for m in sub.errors]
    assert sub.actions[COMPARED].equals(clean.actions[COMPARED])
    assert list(sub.actions["row"]) == [5, 6, 7, 8]


def _variant_set(seed: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    headings, guessed = [], []
    for title in ACTION_HEADER:
        heading, guess = heading_variants(title, rng)
        headings.append(heading)
        if guess:
            guessed.append(heading)
    return headings, guessed


def test_variants_corpus_reads_every_variant_like_the_template(tmp_path):
    clean = check(clean_workbook(tmp_path / "clean.xlsx"))
    assert clean.accepted and not clean.warnings
    expected = clean.actions[COMPARED]
    seen: set[str] = set()
    for seed in range(80):
        headings, guessed = _variant_set(seed)
        seen.update(headings)
        path = variant_workbook(tmp_path / f"v{seed}.xlsx", headings, stacked=seed % 4 == 0)
        sub = check(path)
        assert sub.accepted, (headings, [str(m) for m in sub.errors])
        assert sub.actions[COMPARED].equals(expected), (headings, sub.columns)
        warned = [" ".join(m.value.split()) for m in sub.warnings if m.code == "guessed-column"]
        guessed = [" ".join(g.split()) for g in guessed]
        # A guessed sub-heading of a stacked header is named with its group ("Dates / Rvised date").
        assert all(any(w.split(" / ")[-1] == g for w in warned) for g in guessed), (headings, warned)
        assert [m.code for m in sub.warnings if m.code != "guessed-column"] == [], headings
    assert len(seen) > 500


def test_variants_corpus_reads_every_kpi_heading_variant_like_the_template(tmp_path):
    from tests.conftest import KPI_HEADER
    from tests.realbooks import KPI_SYNONYMS, kpi_variant_workbook

    fields = [
        "ref",
        "measure",
        "polarity",
        "unit",
        "lead_officer",
        "target",
        "actual",
        "tolerance",
        "comment",
        "performance",
    ]
    clean = check(kpi_variant_workbook(tmp_path / "clean.xlsx", list(KPI_HEADER)))
    assert clean.accepted and not clean.warnings
    for seed in range(40):
        rng = random.Random(1000 + seed)
        variants = [heading_variants(title, rng, KPI_SYNONYMS) for title in KPI_HEADER]
        headings = [h for h, _ in variants]
        sub = check(kpi_variant_workbook(tmp_path / f"k{seed}.xlsx", headings))
        assert sub.accepted, (headings, [str(m) for m in sub.errors])
        assert sub.kpis[fields].equals(clean.kpis[fields]), (headings, sub.columns)
        warned = {" ".join(m.value.split()) for m in sub.warnings if m.code == "guessed-column"}
        assert {" ".join(h.split()) for h, guess in variants if guess} <= warned, headings


def test_cli_layouts_shows_every_heading_with_its_score(tmp_path, home, capsys):
    headings = [
        "No.",
        "Objective",
        "Theme",
        "Action",
        "Lead Officer (as per 2023 plan)",
        "Target date:",
        "Revised date",
        "Status (RAG)",
        "Progress Update – as at 30/9/24",
        "Responsible Oficer",
    ]
    path = variant_workbook(tmp_path / "ags.xlsx", headings, rows=[[*r, None] for r in ROWS])
    assert main(["layouts", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2:] == [
        "  (a heading matched as written scores 100; any other score is shown with how it matched)",
        "  AGS action plan: actions table, header in row 3, 4 rows",
        "    A  No.                                      → Ref",
        "    B  Objective                                → Objective",
        "    C  Theme                                    → Theme",
        "    D  Action                                   → Action",
        "    E  Lead Officer (as per 2023 plan)          → Lead officer  (score 95: qualifiers ignored)",
        "    F  Target date:                             → Due date",
        "    G  Revised date                             → Revised due date",
        "    H  Status (RAG)                             → Status  (score 95: qualifiers ignored)",
        "    I  Progress Update – as at 30/9/24          → Progress update  (score 95: qualifiers ignored)",
        "    J  Responsible Oficer                         ignored: Lead officer is read from column E  (score 80: "
        "typo)",
    ]


def test_cli_layouts_explains_the_headings_when_no_table_is_read(tmp_path, home, capsys):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Tracker"
    ws.append(["Scheme", "Ward", "Lead officer", "Budget"])
    ws.append(["Resurface Station Road", "Central", "R Khan", "£250,000"])
    wb.save(tmp_path / "t.xlsx")
    assert main(["layouts", str(tmp_path / "t.xlsx")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-5:] == [
        "  Tracker: no table read; its likeliest header (row 1, objectives):",
        "    A  Scheme                                     not recognised: kept as an extra column",
        "    B  Ward                                       not recognised: kept as an extra column",
        "    C  Lead officer                             → Lead officer",
        "    D  Budget                                     not recognised: kept as an extra column",
    ]


# --- KPI scorecards --------------------------------------------------------------------------------------------


def test_kpis_quarterly_scorecard_reads_the_periods_quarter_as_actual(tmp_path):
    sub = check(quarterly_scorecard(tmp_path / "q.xlsx"))
    assert sub.accepted, [str(m) for m in sub.errors]
    kpis = sub.kpis.set_index("ref")
    assert list(kpis["target"]) == [90.0, 120.0, 90.0]
    assert list(kpis["actual"]) == [92.0, 141.0, 84.6]
    assert list(kpis["performance"]) == ["within", "worse", "worse"]
    assert [e["Performance symbol"] for e in kpis["extra"]] == ["★", "▲", "★"]
    assert [e["Actual 2024/25 Q1"] for e in kpis["extra"]] == ["88%", 130.0, "86%"]
    assert sub.columns["Scorecard"]["mapped"][-2:] == ["E: kpis.target", "G: kpis.actual"]
    assert [str(m) for m in sub.warnings if m.code == "kpi-symbol-differs"] == [
        "Scorecard!G3 '92% ★': this KPI is marked ★ (better than target) but its actual against its target of 90% "
        "is within tolerance of target (●). Check the actual, the target or the symbol; the rollup shows both.",
        "Scorecard!G5 '84.6%\n★': this KPI is marked ★ (better than target) but its actual against its target of "
        "90% is worse than target (▲). Check the actual, the target or the symbol; the rollup shows both.",
    ]


def test_kpis_scorecard_without_a_column_for_the_period_says_so(tmp_path):
    path = quarterly_scorecard(tmp_path / "q.xlsx")
    wb = openpyxl.load_workbook(path)
    wb["Scorecard"].delete_cols(8, 2)  # Q3 and Q4 not added yet
    wb["Plan"]["B3"] = "2024/25 Q3"
    wb.save(path)
    sub = check(path)
    assert [str(m) for m in sub.warnings if m.code == "no-column-for-period"] == [
        "Scorecard!F2: this table has a column for each of Q1, Q2 but none for Q3, the quarter of this submission "
        "(2024/25 Q3), so its KPIs have no Actual. Add a Q3 column, or check the period."
    ]
    assert sub.kpis["actual"].isna().all()
    assert [e["Actual 2024/25 Q2"] for e in sub.kpis["extra"]] == ["92%", "141", "84.6%"]
    years = yearly_scorecard(tmp_path / "y.xlsx")
    sub = check(years, period="2027/28 Q1")
    wb = openpyxl.load_workbook(years)
    wb["Plan"]["B3"] = "2027/28 Q1"
    wb.save(years)
    sub = check(years)
    assert [str(m) for m in sub.warnings if m.code == "no-column-for-period"] == [
        "Outcomes!F1: this table has a target column for each of 2024/25, 2025/26, 2026/27 but none for 2027/28, "
        "the year of this submission (2027/28 Q1), so its KPIs have no Target. Add a column for that year, or check "
        "the period."
    ]


def test_kpis_yearly_targets_under_a_merged_heading_read_the_periods_year(tmp_path):
    sub = check(yearly_scorecard(tmp_path / "y.xlsx"))
    assert sub.accepted, [str(m) for m in sub.errors]
    kpis = sub.kpis.set_index("ref")
    assert list(kpis["target"].fillna(-1)) == [63.0, 78.0, -1]
    assert list(kpis["actual"].fillna(-1)) == [61.0, 81.0, -1]
    assert list(kpis["performance"]) == ["worse", "better", "no data"]
    assert [e.get("Target 2025/26") for e in kpis["extra"]] == ["65%", "75%", "60%"]
    assert sub.columns["Outcomes"]["mapped"] == [
        "A: kpis.ref",
        "B: kpis.measure",
        "C: kpis.lead_officer",
        "D: kpis.actual",
        "F: kpis.target",
    ]


def test_kpis_scorecards_are_accepted_through_the_cli(tmp_path, home):
    for path in (quarterly_scorecard(tmp_path / "q.xlsx"), yearly_scorecard(tmp_path / "y.xlsx")):
        p = subprocess.run(
            [sys.executable, "-m", "actionplan", "validate", str(path)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert p.returncode == 0, p.stdout + p.stderr
        assert p.stdout.splitlines()[1].startswith("  Accepted with ")
        assert "3 KPIs" in p.stdout.splitlines()[1]


def test_kpis_scorecards_roll_up_with_target_actual_symbol_and_performance(tmp_path, settings):
    from actionplan.rollup_writer import write_rollup
    from actionplan.warehouse import open_warehouse
    from actionplan.warehouse.consolidate import facts_from_warehouse
    from actionplan.warehouse.inbox import Inbox
    from actionplan.warehouse.load import load_inbox

    inbox = Inbox(settings.inbox_path, settings.archive_path)
    for path in (quarterly_scorecard(tmp_path / "q.xlsx"), yearly_scorecard(tmp_path / "y.xlsx")):
        data = path.read_bytes()
        report = inbox.submit(
            check_workbook(data, path.name),
            data,
            submitted_by="officer",
            now=dt.datetime(2024, 10, 12, tzinfo=dt.UTC),
        )
        assert report["accepted"], report["errors"]
    wh = open_warehouse(settings.warehouse_url)
    try:
        load_inbox(inbox, wh)
        facts = facts_from_warehouse(wh, "2024/25 Q2", generated_at=dt.datetime(2024, 10, 20, 9, 0))
    finally:
        wh.close()
    out = write_rollup(facts, tmp_path / "rollup.xlsx")
    ws = openpyxl.load_workbook(out)["KPIs"]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    header_at = next(i for i, r in enumerate(rows) if r[:3] == ["Department", "Ref", "Measure"])
    header = rows[header_at]
    listed = {r[1]: dict(zip(header, r, strict=False)) for r in rows[header_at + 1 :] if r[1]}
    assert {
        k: (v["Target"], v["Actual"], v["Department's symbol"], v["Performance"])
        for k, v in listed.items()
        if k in ("HS1", "HS2", "E1")
    } == {"HS1": (90, 92, "★", "within"), "HS2": (120, 141, "▲", "worse"), "E1": (63, 61, None, "worse")}
    # The scorecard's Q1 column is that KPI's Q1 actual in the trend, as if Q1 had been submitted.
    assert listed["HS2"]["2024/25 Q1"] == 130 and listed["HS2"]["Previous actual"] == 130


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    from tests.test_service import LiveServer

    with LiveServer(tmp_path_factory.mktemp("realbooks") / "home") as server:
        yield server


@pytest.mark.parametrize("shape", ["quarterly", "yearly"])
def test_kpis_scorecards_are_accepted_by_the_upload_page_and_the_addin(live, tmp_path, shape):
    from actionplan.sample import xlwings_payload
    from tests.test_service import FakeExcel, actions_of, post_json, report_rows

    path = (quarterly_scorecard if shape == "quarterly" else yearly_scorecard)(tmp_path / f"{shape}.xlsx")
    key = live.token("Housing" if shape == "quarterly" else "Education")[1]
    uploaded = live.client.post(
        "/api/submissions?check_only=true",
        files={"file": (path.name, path.read_bytes())},
        headers={"Authorization": key},
    ).json()
    assert uploaded["accepted"] and uploaded["counts"]["kpis"] == 3, uploaded
    payload = xlwings_payload(path)
    excel = FakeExcel(payload).apply(actions_of(post_json(live, "/xlwings/check", payload, key)))
    rows = report_rows(excel)
    assert [r[3] for r in rows if r[3] and "marked" in r[3]] == [
        f"Warning: {m['message']}" for m in uploaded["warnings"] if m["code"] == "kpi-symbol-differs"
    ]
    assert len(rows) == len(uploaded["warnings"])
    assert not [r for r in rows if "required column" in str(r[3])]


@pytest.mark.parametrize(
    ("headings", "row"),
    [
        # A scrutiny recommendation tracker: no Status column.
        (
            ["Rec no", "Recommendation", "Action owner", "Target date", "Progress to date"],
            [
                "S1",
                "Publish ward-level crime data",
                "Community Safety Manager",
                "31/03/2025",
                "Data agreed with police",
            ],
        ),
        # An inspection improvement plan whose headings are questions.
        (
            ["Area for improvement", "What are we going to do?", "Who is responsible?", "By when?", "RAG"],
            ["Supervision", "Monthly case audits by team managers", "Head of Service", "Dec 2024", "A"],
        ),
        # An audit action log.
        (
            [
                "Ref",
                "Finding",
                "Priority",
                "Agreed action",
                "Responsible officer",
                "Agreed implementation date",
                "Management response",
                "Current status",
            ],
            [
                "IA-24-07",
                "Leavers keep system access",
                "High",
                "Monthly leavers report to IT",
                "HR Manager",
                "30/11/2024",
                "Report designed",
                "Amber",
            ],
        ),
    ],
)
def test_layouts_genres_no_layout_names_are_found_without_a_layout_file(tmp_path, headings, row):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(["Improvement plan – update for Overview and Scrutiny Committee"])
    ws.append(headings)
    ws.append(row)
    wb.save(tmp_path / "g.xlsx")
    sub = check(tmp_path / "g.xlsx", department="Children's Services", period="2024/25 Q2")
    assert sub.layout == "canonical"
    assert sub.accepted, [str(m) for m in sub.errors]
    assert (
        len(sub.actions) == 1
        and sub.actions["lead_officer"][0]
        == row[
            headings.index(
                next(
                    h for h in headings if h in ("Action owner", "Who is responsible?", "Responsible officer")
                )
            )
        ]
    )


# --- Word-born plans ---------------------------------------------------------------------------------------------


def test_layouts_row_split_at_a_page_break_under_a_blank_workstream_continues_the_row_above(tmp_path):
    from tests.familiar import PERFORMANCE_HEADER, PERFORMANCE_SUBHEADER

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Performance Plan"
    ws.append(["Regeneration Performance Plan 2024/25 Q2"])
    ws.append(PERFORMANCE_HEADER)
    ws.append(PERFORMANCE_SUBHEADER)
    ws.merge_cells("F2:I2")
    ws.append(
        [
            "Town centre renewal",
            "Open the new market hall",
            "Head of Regeneration",
            "Contractor appointed June 2024",
            "Contractor on site",
            None,
            "●",
            None,
            None,
        ]
    )
    # The rest of the row above, split at a page break: no Workstream, no Action.
    ws.append(
        [None, None, None, "Market hall open March 2025", "Stalls let to 30 traders", None, None, None, None]
    )
    ws.append(
        [
            None,
            "Let the vacant units",
            "Estates Manager",
            "December 2024",
            "Four of nine let",
            None,
            None,
            "▲",
            None,
        ]
    )
    wb.save(tmp_path / "p.xlsx")
    sub = check(tmp_path / "p.xlsx", department="Regeneration")
    assert sub.accepted, [str(m) for m in sub.errors]
    assert list(sub.actions["action"]) == ["Open the new market hall", "Let the vacant units"]
    assert list(sub.actions["objective"]) == ["Town centre renewal", "Town centre renewal"]
    assert sub.actions["progress_update"][0] == "Contractor on site\nStalls let to 30 traders"
    assert [str(d) for d in sub.actions["due_date"]] == ["2025-03-31", "2024-12-31"]


def test_normalise_several_dates_in_one_due_date_cell_use_the_latest_and_name_the_rest(tmp_path):
    rows = [[*ROWS[0][:5], "Done (March 2004) / By end 2005/06 / cleared July 2004", None, *ROWS[0][7:]]]
    sub = check(variant_workbook(tmp_path / "d.xlsx", list(ACTION_HEADER), rows=rows))
    assert [str(d) for d in sub.actions["due_date"]] == ["2006-03-31"]
    assert [str(m) for m in sub.warnings if m.code == "several-dates"] == [
        "AGS action plan!F4 'Done (March 2004) / By end 2005/06 / cleared July 2004': this cell names several dates; "
        "the latest, 31/03/2006, is read as the due date, not 'Done (March 2004)' or 'cleared July 2004'. If another "
        "is meant, keep only that date here."
    ]


def test_kpis_word_born_table_sections_repeated_header_split_rows_and_words_for_no_number(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Table 1"
    header = [
        "PI Ref",
        "Indicator",
        "Lead Officer",
        "2023/24 Outturn",
        "Target 2024/25",
        "Q2 Actual",
        "Comments",
    ]
    ws.append(["Performance report – Quarter 2 2024/25"])
    ws.append(header)
    ws.append(["LAA Indicators"])
    ws.append(
        [
            "NI 155",
            "Number of affordable homes delivered",
            "Head of Housing",
            180,
            200,
            "81% (interim figure subject to change)",
            "On track",
        ]
    )
    ws.append(["NI 156", "Number of households living in temporary", "Housing Options", 120, 110, 118, None])
    ws.append([None, "accommodation", "Manager", None, None, None, None])  # split at the page break
    ws.append(header)  # repeated at the top of the next page
    ws.append(["Local Indicators"])
    ws.append(
        [
            "LI 12",
            "Satisfaction with repairs",
            "Repairs Manager",
            "Baseline year",
            "-",
            "Data not available",
            "Survey in Q3",
        ]
    )
    wb.save(tmp_path / "w.xlsx")
    sub = check(tmp_path / "w.xlsx", department="Housing", period="2024/25 Q2")
    assert sub.accepted
    assert list(sub.kpis["ref"]) == ["NI 155", "NI 156", "LI 12"]
    assert sub.kpis["measure"][1] == "Number of households living in temporary\naccommodation"
    assert sub.kpis["lead_officer"][1] == "Housing Options\nManager"
    assert list(sub.kpis["actual"].fillna(-1)) == [81.0, 118.0, -1]
    assert list(sub.kpis["target"].fillna(-1)) == [200.0, 110.0, -1]
    assert [e["Theme"] for e in sub.kpis["extra"]] == ["LAA Indicators", "LAA Indicators", "Local Indicators"]
    # The canonical layout names rows read as section headings (main's heading-rows), so none vanishes unseen.
    assert [m.code for m in sub.messages] == ["heading-rows", "no-kpi-target"]


# --- Data quality ------------------------------------------------------------------------------------------------


def test_rollup_data_quality_names_the_stale_update_cell_and_every_items_ref(tmp_path, settings):
    from actionplan.warehouse import open_warehouse
    from actionplan.warehouse.consolidate import facts_from_warehouse
    from actionplan.warehouse.inbox import Inbox
    from actionplan.warehouse.load import load_inbox
    from tests.conftest import action, canonical_workbook

    inbox = Inbox(settings.inbox_path, settings.archive_path)
    for period, day in (("2024/25 Q1", 10), ("2024/25 Q2", 11)):
        path = canonical_workbook(
            tmp_path / f"{day}.xlsx",
            period=period,
            actions=[action("F1", status="A", update="Waiting for legal advice"), action("F2", lead=None)],
        )
        data = path.read_bytes()
        assert inbox.submit(
            check_workbook(data, path.name),
            data,
            submitted_by="officer",
            now=dt.datetime(2024, 10, day, tzinfo=dt.UTC),
        )["accepted"]
    wh = open_warehouse(settings.warehouse_url)
    try:
        load_inbox(inbox, wh)
        facts = facts_from_warehouse(wh, "2024/25 Q2", generated_at=dt.datetime(2024, 10, 20, 9, 0))
    finally:
        wh.close()
    quality = facts.data_quality
    assert list(quality.columns) == ["Department", "Ref", "Sheet", "Cell", "Value", "Code", "Message"]
    assert quality[["Sheet", "Cell", "Ref", "Code"]].values.tolist() == [
        ["Actions", "E3", "F2", "no-lead-officer"],
        ["Actions", "I2", "F1", "stale-commentary"],
        ["Actions", "I3", "F2", "stale-commentary"],
    ]


def test_read_damaged_part_is_a_plain_rejection_not_a_traceback(tmp_path):
    import io
    import zipfile

    source = clean_workbook(tmp_path / "clean.xlsx").read_bytes()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zout:
        for item in zin.infolist():
            zout.writestr(item.filename, zin.read(item.filename))
    data = bytearray(out.getvalue())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        info = z.getinfo("xl/_rels/workbook.xml.rels")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + 10] ^= (
        0x01  # a bit flipped after the CRC was written, as in tafia/calamine's tests/issue252.xlsx
    )
    sub = check_workbook(bytes(data), "issue252.xlsx")
    assert [str(m) for m in sub.messages] == [
        "workbook: issue252.xlsx is a damaged workbook (part xl/_rels/workbook.xml.rels: its stored checksum does not "
        "match its contents), so it was not read. If Excel opens it, save it again as a new .xlsx (File > Save As) "
        "and submit that; if not, submit an earlier copy."
    ]


def test_layouts_stacked_header_repeated_at_page_breaks_its_second_row_written_differently(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Plan 2024"
    top = ["Ref", "Action", "Lead officer", "Dates", None, "Status", "Progress update"]
    ws.append(top)
    ws.append([None, None, None, "Due date", "Revised due date", None, None])
    ws.append(["1", "Refresh the register", "Head of Audit", "31/03/2025", "30/06/2025", "A", "Draft to CMT"])
    ws.append(top)
    ws.append([None, None, None, "Due\ndate", "Revised due date (if any)", None, None])
    ws.append(["2", "Train managers", "J Smith", "30/06/2025", None, "G", "Sessions booked"])
    wb.save(tmp_path / "s.xlsx")
    sub = check(tmp_path / "s.xlsx", department="Chief Executive's", period="2024/25 Q2")
    assert sub.accepted and sub.messages == []
    assert list(sub.actions["ref"]) == ["1", "2"]
    assert [str(d) for d in sub.actions["revised_due_date"]] == ["2025-06-30", "None"]


def test_layouts_councils_own_layout_headings_are_matched_as_written_too(tmp_path, home, monkeypatch):
    from actionplan.check import available_layouts
    from actionplan.settings import load_settings
    from tests.test_layouts import HIGHWAYS

    folder = tmp_path / "council-layouts"
    folder.mkdir()
    (folder / "highways.toml").write_text(HIGHWAYS, encoding="utf-8")
    monkeypatch.setenv("ACTIONPLAN_LAYOUTS", str(folder))
    settings = load_settings()
    assert "highways" in available_layouts(settings)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Programme 2017-18"
    ws.append(["Highways capital programme 2017/18"])
    ws.append(
        [
            "Scheme ref.",
            "SCHEME",
            "Ward",
            "Project\nmanager",
            "Budget (£k)",
            "Completion (mm/yy)",
            "Delivery status:",
            "Latest position – as at 30/9/17",
        ]
    )
    ws.append(["HW1", "Resurface Station Road", "Central", "R Khan", "250", "Oct-17", "On site", "Started"])
    wb.save(tmp_path / "hw.xlsx")
    sub = check(tmp_path / "hw.xlsx", department="Highways", period="2017/18 Q2", settings=settings)
    assert sub.accepted and sub.layout == "highways"
    assert sub.columns["Programme 2017-18"]["mapped"] == [
        "A: actions.ref",
        "B: actions.action",
        "D: actions.lead_officer",
        "F: actions.due_date",
        "G: actions.status",
        "H: actions.progress_update",
    ]
    assert sub.actions.iloc[0]["extra"] == {"Ward": "Central", "Budget (£k)": "250"}


def test_layouts_title_block_of_guesses_alone_is_not_a_header(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Plan 2024"
    ws.append(["Action plan 2024/25", "Status of this plan: draft"])
    ws.append([])
    ws.append(list(ACTION_HEADER))
    ws.append(ROWS[0])
    wb.save(tmp_path / "t.xlsx")
    sub = check(tmp_path / "t.xlsx", department="Chief Executive's", period="2024/25 Q2")
    assert sub.accepted and [m.code for m in sub.messages] == []
    assert list(sub.actions["row"]) == [4]
