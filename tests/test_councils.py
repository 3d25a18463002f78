"""Several councils in one DuckDB warehouse: names, submission ids, the upgrade from 0001, scoped and combined rollups."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from actionplan.check import check_workbook
from actionplan.councils import ALL_COUNCILS, DEFAULT_COUNCIL, council_name, council_on_record
from actionplan.errors import StartupError, UnknownCouncil, WarehouseNeedsUpgrade
from actionplan.rollup_writer import write_rollup
from actionplan.settings import load_settings
from actionplan.warehouse import open_warehouse
from actionplan.warehouse.base import record_table
from actionplan.warehouse.consolidate import facts_from_warehouse
from actionplan.warehouse.inbox import Inbox, submission_id
from actionplan.warehouse.load import load_inbox
from tests.conftest import action, canonical_workbook
from tests.councils import (
    EAST,
    MISSING,
    NORTH,
    PERIODS,
    SHARED,
    load_as_0001,
    loaded_warehouse,
    queue_councils,
    records,
    warehouse_at_0001,
)

Q2 = PERIODS[-1]
COUNTS = ("Blue", "Green", "Amber", "Red", "Not rated", "Total")


# -- names -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        (NORTH, NORTH),
        ("  Eastmere &  Vale\tDistrict Council ", EAST),  # spacing collapsed
        ("Default", DEFAULT_COUNCIL),  # the single council, however it is typed
        ("St. Helens", "St. Helens"),
    ],
)
def test_council_name_as_stored(typed, stored):
    assert council_name(typed) == stored


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("  ", "a council needs a name (leave the setting out for a single council)"),
        ("All", "'All' is reserved for the combined rollup of every council (--council all)"),
        (
            "all councils",
            "'all councils' is reserved for the combined rollup of every council (--council all)",
        ),
        ("2024/25 Q2", "'2024/25 Q2' reads as a reporting period, not a council"),
        ("North\x00field", "a council's name cannot hold control characters"),
        ("N" * 101, "a council's name has at most 100 characters"),
    ],
)
def test_council_name_refused(typed, why):
    with pytest.raises(ValueError) as caught:
        council_name(typed)
    assert str(caught.value) == why


def test_council_setting_defaults_and_says_what_is_wrong():
    assert load_settings(environ={}).council == DEFAULT_COUNCIL
    assert load_settings(environ={"ACTIONPLAN_COUNCIL": f" {NORTH} "}).council == NORTH
    with pytest.raises(StartupError) as caught:
        load_settings(environ={"ACTIONPLAN_COUNCIL": "all"})
    assert str(caught.value) == (
        "ACTIONPLAN_COUNCIL='all' is not valid: 'all' is reserved for the combined rollup "
        "of every council (--council all)."
    )


@pytest.mark.parametrize(
    ("requested", "meant"),
    [
        (None, EAST),  # the configured council
        ("all", ALL_COUNCILS),
        (" ALL ", ALL_COUNCILS),
        ("northfield  borough council", NORTH),  # spelt as on record
        (EAST, EAST),
    ],
)
def test_council_on_record_means(requested, meant):
    assert council_on_record(requested, [NORTH, EAST], configured=EAST) == meant


def test_unknown_council_lists_the_councils_on_record():
    with pytest.raises(UnknownCouncil) as caught:
        council_on_record("Northfeld", [NORTH, EAST], configured=DEFAULT_COUNCIL)
    assert str(caught.value) == (
        "No council called 'Northfeld' is on record. Councils on record: 'Eastmere & Vale District Council', "
        "'Northfield Borough Council'. Use --council all for every council together."
    )
    with pytest.raises(UnknownCouncil) as caught:
        council_on_record("Northfeld", [], configured=DEFAULT_COUNCIL)
    assert str(caught.value) == (
        "No council called 'Northfeld' is on record. No council is on record yet. "
        "Use --council all for every council together."
    )


def test_rollup_files_of_councils_never_collide(settings):
    names = {
        c: settings.rollup_file(Q2, c).name
        for c in (
            DEFAULT_COUNCIL,
            ALL_COUNCILS,
            NORTH,
            EAST,
            "St Helens",
            "St. Helens",
            "St-Helens",
            "st helens",
        )
    }
    assert names[DEFAULT_COUNCIL] == "rollup-2024-25-Q2.xlsx"  # a single council's file keeps its name
    assert names[ALL_COUNCILS] == "rollup-all-councils-2024-25-Q2.xlsx"
    assert names[NORTH] == "rollup-Northfield+Borough+Council-2024-25-Q2.xlsx"
    assert names[EAST] == "rollup-Eastmere+%26+Vale+District+Council-2024-25-Q2.xlsx"
    assert len(set(names.values())) == len(names)
    assert settings.rollup_file("2024/25", NORTH).name == "rollup-Northfield+Borough+Council-2024-25.xlsx"


# -- submission ids ----------------------------------------------------------------------------------------------
def test_submission_id_of_the_default_council_is_the_id_from_before_councils():
    data = b"PK\x03\x04 a workbook"
    before = hashlib.sha256(data + b"\0Finance\0" + Q2.encode()).hexdigest()  # the rule before councils
    assert submission_id(data, "Finance", Q2) == submission_id(data, "Finance", Q2, DEFAULT_COUNCIL) == before
    north, east = submission_id(data, "Finance", Q2, NORTH), submission_id(data, "Finance", Q2, EAST)
    assert len({before, north, east}) == 3
    assert north == hashlib.sha256(data + b"\0Finance\0" + Q2.encode() + b"\0" + NORTH.encode()).hexdigest()


def test_identical_bytes_for_two_councils_are_two_submissions(tmp_path, settings):
    inbox = Inbox(settings.inbox_path, settings.archive_path)
    path = canonical_workbook(
        tmp_path / "finance.xlsx",
        actions=[action("F1"), action("F2", status="R", update="Waiting for audit")],
    )
    data = path.read_bytes()
    sub = check_workbook(data, path.name)
    first = inbox.submit(sub, data, submitted_by="north", council=NORTH)
    again = inbox.submit(sub, data, submitted_by="north", council=NORTH)
    east = inbox.submit(sub, data, submitted_by="east", council=EAST)
    assert (first["new"], again["new"], east["new"]) == (True, False, True)
    assert first["submission_id"] == again["submission_id"] != east["submission_id"]
    assert [e["council"] for e in inbox.audit_log()] == [NORTH, NORTH, EAST]
    wh = open_warehouse(str(tmp_path / "w.duckdb"))
    try:
        assert sorted(load_inbox(inbox, wh).loaded) == sorted([first["submission_id"], east["submission_id"]])
        assert inbox.submit(sub, data, submitted_by="east", council=EAST)["new"] is False  # also once loaded
        assert wh.submission_counts() == {
            "submissions": 2,
            "objectives": 0,
            "actions": 4,
            "kpis": 0,
            "messages": 0,
        }
        for council in (NORTH, EAST):
            current = wh.current(Q2, council)
            assert list(current["submissions"]["council"]) == [council]
            assert list(current["actions"]["ref"]) == ["F1", "F2"]
    finally:
        wh.close()


def test_record_without_a_council_loads_as_the_default_council(tmp_path, settings):
    inbox = Inbox(settings.inbox_path, settings.archive_path)
    path = canonical_workbook(tmp_path / "finance.xlsx", actions=[action("F1")])
    data = path.read_bytes()
    inbox.submit(check_workbook(data, path.name), data, submitted_by="before councils")
    record = inbox.read(inbox.pending()[0])
    del record["council"]  # as every record written before councils
    wh = open_warehouse(str(tmp_path / "w.duckdb"))
    try:
        assert wh.load(record) is True
        assert wh.query("SELECT council, department, id FROM submissions").to_dict("records") == [
            {"council": DEFAULT_COUNCIL, "department": "Finance", "id": submission_id(data, "Finance", Q2)}
        ]
        assert wh.councils() == [DEFAULT_COUNCIL] and wh.departments() == ["Finance"]
    finally:
        wh.close()


def test_record_with_an_impossible_council_stays_pending_and_is_reported(tmp_path, settings):
    inbox = Inbox(settings.inbox_path, settings.archive_path)
    path = canonical_workbook(tmp_path / "finance.xlsx", actions=[action("F1")])
    data = path.read_bytes()
    report = inbox.submit(check_workbook(data, path.name), data, submitted_by="x", council=NORTH)
    pending = inbox.pending()[0]
    record = inbox.read(pending)
    pending.write_text(json.dumps({**record, "council": "all"}), encoding="utf-8")
    wh = open_warehouse(str(tmp_path / "w.duckdb"))
    try:
        result = load_inbox(inbox, wh)
        assert result.failed == {
            report["submission_id"]: "ValueError: 'all' is reserved for the combined rollup "
            "of every council (--council all)"
        }
        assert inbox.pending() == [pending] and wh.submission_counts()["submissions"] == 0
    finally:
        wh.close()


# -- two councils in one warehouse -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def queued(tmp_path_factory) -> Path:
    """Both councils' plans for two quarters, checked and queued in one inbox (the folder holding it)."""
    root = tmp_path_factory.mktemp("two-councils")
    queue_councils(root)
    return root


@pytest.fixture(scope="module")
def warehouse_url(queued, tmp_path_factory) -> str:
    """A DuckDB warehouse holding both councils (tests only read it)."""
    dest = tmp_path_factory.mktemp("two-councils-duckdb")
    return loaded_warehouse(queued, str(dest / "warehouse.duckdb"), dest)


@pytest.fixture
def wh(warehouse_url):
    w = open_warehouse(warehouse_url, read_only=True)
    yield w
    w.close()


def _actions_in(queued: Path, council: str, period: str) -> int:
    return sum(
        record_table(r["actions"])[0]
        for r in records(queued)
        if r["council"] == council and r["period"] == period
    )


def test_warehouse_keeps_two_councils_finance_apart(wh):
    assert wh.councils() == [EAST, NORTH]
    assert wh.departments(NORTH) == sorted([*SHARED, "Adult Social Services"])
    assert wh.departments(EAST) == sorted(SHARED)
    assert wh.departments() == [] and wh.periods() == []  # nothing belongs to the default council here
    assert wh.periods(NORTH) == wh.periods(EAST) == wh.periods(ALL_COUNCILS) == list(PERIODS)


def test_each_council_has_its_own_current_finance(wh):
    # Eastmere's Finance came an hour after Northfield's: it must not replace it (the partition by council).
    both = wh.current_submissions(Q2, ALL_COUNCILS)
    assert [(c, d) for c, d in zip(both["council"], both["department"], strict=True)] == [
        (EAST, "Finance"),
        (EAST, "Legal, HR & Property"),
        (NORTH, "Chief Executive's Department"),
        (NORTH, "Finance"),
        (NORTH, "Legal, HR & Property"),
    ]
    for council in (NORTH, EAST):
        mine = wh.current_submissions(Q2, council)
        assert set(mine["council"]) == {council}
        assert sorted(mine["department"]) == sorted(set(wh.departments(council)) - set(MISSING[council]))
        assert set(mine["id"]) <= set(both["id"])


@pytest.mark.parametrize("council", [NORTH, EAST])
def test_each_councils_rollup_holds_only_its_own(wh, queued, council):
    facts = facts_from_warehouse(wh, Q2, council=council)
    submitted = sorted(set(wh.departments(council)) - set(MISSING[council]))
    assert [r for r in facts.summary["Department"]] == [*submitted, "Council total"]
    assert facts.missing == MISSING[council]
    assert sorted(facts.submissions["Department"]) == sorted(wh.departments(council))
    assert facts.summary.iloc[-1]["Total"] == len(facts.actions) == _actions_in(queued, council, Q2)
    assert set(facts.actions["Department"]) == set(submitted)
    assert facts.previous_period == PERIODS[0] and facts.council == council
    assert "councils" not in facts.export()  # a one-council export keeps its shape


def test_combined_rollup_labels_departments_and_its_totals_add_up(wh, queued):
    combined = facts_from_warehouse(wh, Q2, council=ALL_COUNCILS)
    north = facts_from_warehouse(wh, Q2, council=NORTH)
    east = facts_from_warehouse(wh, Q2, council=EAST)
    assert list(combined.summary["Department"]) == [
        *(f"{EAST} — {d}" for d in east.summary["Department"][:-1]),
        *(f"{NORTH} — {d}" for d in north.summary["Department"][:-1]),
        "All councils total",
    ]
    # Each council's row is that council's own total; the last row is their sum, and the Summary's too.
    by_council = {r["Council"]: r for r in combined.councils.to_dict("records")}
    assert list(by_council) == [EAST, NORTH, "All councils total"]
    for council, own in ((NORTH, north), (EAST, east)):
        assert {c: by_council[council][c] for c in COUNTS} == {c: own.summary.iloc[-1][c] for c in COUNTS}
    total = {c: by_council[NORTH][c] + by_council[EAST][c] for c in COUNTS}
    assert {c: by_council["All councils total"][c] for c in COUNTS} == total
    assert {c: combined.summary.iloc[-1][c] for c in COUNTS} == total
    assert total["Total"] == _actions_in(queued, NORTH, Q2) + _actions_in(queued, EAST, Q2)
    for table in ("objectives_summary", "kpi_counts"):
        counts = [c for c in getattr(combined, table).columns[1:] if not c.startswith("%")]
        ours, n, e = (getattr(f, table).iloc[-1] for f in (combined, north, east))
        assert ours.iloc[0] == "All councils total"
        assert [ours[c] for c in counts] == [n[c] + e[c] for c in counts]
    # Who has not submitted is per council: Eastmere's Chief Executive's Department is missing although
    # Northfield's sent its plan.
    assert combined.missing == [f"{EAST} — Chief Executive's Department", f"{NORTH} — Adult Social Services"]
    assert len(combined.exceptions) == len(north.exceptions) + len(east.exceptions)
    assert len(combined.changes) == len(north.changes) + len(east.changes)
    assert len(combined.data_quality) == len(north.data_quality) + len(east.data_quality)
    exported = combined.export()
    assert exported["councils"][-1]["Council"] == "All councils total"
    assert exported["missing"] == combined.missing


def test_combined_rollup_workbook_shows_councils(wh, tmp_path):
    facts = facts_from_warehouse(wh, Q2, council=ALL_COUNCILS)
    wb = openpyxl.load_workbook(write_rollup(facts, tmp_path / "all.xlsx"), read_only=True)
    summary = [list(r) for r in wb["Summary"].iter_rows(values_only=True)]
    assert summary[0][0] == f"All councils action plan rollup — {Q2}"
    header = next(i for i, r in enumerate(summary) if r[0] == "Council")
    assert [r[0] for r in summary[header + 1 : header + 4]] == [EAST, NORTH, "All councils total"]
    assert summary[header + 5][0] == "Department" and summary[header + 6][0] == f"{EAST} — Finance"
    submissions = {r[0]: r[1] for r in wb["Submissions"].iter_rows(min_row=2, values_only=True)}
    assert submissions[f"{EAST} — Chief Executive's Department"] == "missing"
    assert submissions[f"{NORTH} — Chief Executive's Department"] == "submitted"
    assert {r[0].split(" — ")[0] for r in wb["Actions"].iter_rows(min_row=2, values_only=True)} == {
        NORTH,
        EAST,
    }
    how = {r[0]: r[1] for r in wb["How to read this report"].iter_rows(values_only=True) if r[0]}
    assert how["Councils"].startswith(f"This rollup combines 2 councils: {EAST}, {NORTH}.")
    wb.close()


# -- the upgrade from migration 0001 -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def single_council(tmp_path_factory) -> Path:
    """One council's plans queued the way an install that never named its council queues them."""
    root = tmp_path_factory.mktemp("single-council")
    queue_councils(root, {DEFAULT_COUNCIL: {"departments": 4, "actions_total": 160, "seed": 11}})
    return root


def test_warehouse_from_0001_upgrades_in_place_keeping_everything(single_council, tmp_path):
    old_records = [{k: v for k, v in r.items() if k != "council"} for r in records(single_council)]
    url = str(tmp_path / "upgraded.duckdb")
    old = warehouse_at_0001(url)
    for record in old_records:
        load_as_0001(old, record)
    before = old.submission_counts()
    old.close()

    with pytest.raises(WarehouseNeedsUpgrade) as caught:  # reading never writes, so never upgrades
        open_warehouse(url, read_only=True)
    assert str(caught.value) == (
        "The warehouse was made by an earlier version of actionplan and needs upgrading "
        "(0002_council, 0003_kpi_model). Run `actionplan ingest` once (it upgrades the warehouse, keeping "
        "everything in it), then try again."
    )
    wh = open_warehouse(url, migrate=False)
    assert wh.migrate() == [2, 3] and wh.applied_migrations() == [1, 2, 3]
    assert wh.submission_counts() == before
    assert wh.councils() == [DEFAULT_COUNCIL]
    assert sorted(wh.query("SELECT id FROM submissions")["id"]) == sorted(r["id"] for r in old_records)
    # A resubmission of the same bytes is still recognised: its id did not change.
    assert all(wh.load(r) is False for r in records(single_council))
    upgraded = {p: facts_from_warehouse(wh, p).export() for p in PERIODS}
    wh.close()

    fresh = open_warehouse(
        loaded_warehouse(single_council, str(tmp_path / "fresh.duckdb"), tmp_path / "fresh")
    )
    try:
        assert fresh.submission_counts() == before
        for period in PERIODS:
            assert upgraded[period] == facts_from_warehouse(fresh, period).export()
    finally:
        fresh.close()


# -- the command line ------------------------------------------------------------------------------------------
def run(*args, env: dict[str, str]):
    p = subprocess.run(
        [sys.executable, "-m", "actionplan", *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=300,
    )
    assert "Traceback" not in p.stdout + p.stderr, p.stderr
    return p


def test_cli_export_and_consolidate_by_council(warehouse_url, home, tmp_path):
    env = {"ACTIONPLAN_HOME": str(home), "ACTIONPLAN_WAREHOUSE": warehouse_url, "ACTIONPLAN_COUNCIL": EAST}
    mine = json.loads(run("export", "--period", Q2, env=env).stdout)  # the configured council
    assert [r["Department"] for r in mine["summary"]] == ["Finance", "Legal, HR & Property", "Council total"]
    north = json.loads(
        run("export", "--period", Q2, "--council", "northfield borough council", env=env).stdout
    )
    assert north["missing"] == ["Adult Social Services"] and "councils" not in north
    combined = json.loads(run("export", "--period", Q2, "--council", "all", env=env).stdout)
    assert [r["Council"] for r in combined["councils"]] == [EAST, NORTH, "All councils total"]
    assert combined["summary"][-1]["Total"] == mine["summary"][-1]["Total"] + north["summary"][-1]["Total"]

    p = run("export", "--period", Q2, "--council", "Westmoor", env=env)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr == (
        f"actionplan: No council called 'Westmoor' is on record. Councils on record: '{EAST}', "
        f"'{NORTH}'. Use --council all for every council together.\n"
    )

    p = run("consolidate", "--period", Q2, "--council", "all", env=env)
    assert p.returncode == 0, p.stderr
    path = home / "rollups" / "rollup-all-councils-2024-25-Q2.xlsx"
    assert f"Rollup written: {path}" in p.stdout
    assert p.stdout.splitlines()[1] == f"All councils, {Q2} (period ends 2024-09-30)"
    assert f"{NORTH} — Finance" in p.stdout and "All councils total" in p.stdout
    assert (
        f"Not submitted: {EAST} — Chief Executive's Department, {NORTH} — Adult Social Services" in p.stdout
    )
    assert path.exists() and not (home / "rollups" / "rollup-2024-25-Q2.xlsx").exists()


# -- the service -----------------------------------------------------------------------------------------------
def test_service_stamps_its_council_and_shows_only_its_status_and_rollup(warehouse_url, tmp_path):
    from actionplan.excel_addin.tokens import TokenStore
    from tests.test_service import LiveServer

    shared_inbox = tmp_path / "shared-inbox"
    # Northfield's Registrars is waiting in the inbox both councils share: not Eastmere's business.
    north_plan = canonical_workbook(tmp_path / "registrars.xlsx", "Registrars", actions=[action("R1")])
    data = north_plan.read_bytes()
    Inbox(shared_inbox, tmp_path / "north-archive").submit(
        check_workbook(data, north_plan.name), data, submitted_by="north", council=NORTH
    )
    home = tmp_path / "shared-home"
    default_key = TokenStore.for_home(home).add(department="Finance")[
        1
    ]  # the default council's service's key
    with LiveServer(
        home, council=EAST, warehouse=warehouse_url, inbox=str(shared_inbox), publish_rollup=True
    ) as srv:
        key = srv.token("Finance")[1]
        headers = {"Authorization": key}
        refused = srv.client.get(f"/api/status?period={Q2}", headers={"Authorization": default_key})
        assert refused.status_code == 401  # a key opens its own council's service only
        status = srv.client.get(f"/api/status?period={Q2}", headers=headers).json()
        assert status["source"] == "warehouse and inbox"
        assert [d["department"] for d in status["departments"]] == sorted(SHARED)
        assert status["missing"] == MISSING[EAST] and status["periods"] == list(PERIODS)
        assert status["rollup_published"] is False

        book = canonical_workbook(tmp_path / "finance.xlsx", actions=[action("F1")], period="2024/25 Q3")
        sent = srv.client.post(
            "/api/submissions", files={"file": ("finance.xlsx", book.read_bytes())}, headers=headers
        ).json()
        assert sent["accepted"] and sent["submission_id"] == submission_id(
            book.read_bytes(), "Finance", "2024/25 Q3", EAST
        )
        record = Inbox(shared_inbox, tmp_path / "x").read(
            shared_inbox / "pending" / f"{sent['submission_id']}.json"
        )
        assert record["council"] == EAST
        q3 = srv.client.get("/api/status?period=2024/25 Q3", headers=headers).json()
        assert q3["missing"] == ["Chief Executive's Department", "Legal, HR & Property"]
        assert "Registrars" not in [d["department"] for d in q3["departments"]]

        # The download is Eastmere's own rollup, never the default council's file beside it.
        s = srv.settings
        s.rollups_path.mkdir(parents=True)
        s.rollup_file(Q2).write_bytes(b"not ours")
        wh = open_warehouse(warehouse_url, read_only=True)
        try:
            ours = write_rollup(facts_from_warehouse(wh, Q2, council=EAST), s.rollup_file(Q2, EAST))
        finally:
            wh.close()
        r = srv.client.get("/rollup/latest.xlsx", headers=headers)
        assert r.status_code == 200 and r.content == ours.read_bytes()
        status = srv.client.get(f"/api/status?period={Q2}", headers=headers).json()
        assert status["rollup_published"] is True


def test_consolidate_deployment_of_each_council(settings):
    from actionplan.flows.deployments import deployments

    _, default = deployments(settings)
    _, north = deployments(load_settings(environ={"ACTIONPLAN_COUNCIL": NORTH}))
    assert (default.name, default.parameters) == ("consolidate", {"council": DEFAULT_COUNCIL})
    assert (north.name, north.parameters) == ("consolidate-northfield-borough-council", {"council": NORTH})


def test_token_cli_issues_keys_of_the_configured_council(home):
    env = {"ACTIONPLAN_HOME": str(home), "ACTIONPLAN_COUNCIL": EAST}
    p = run("token", "add", "--department", "Finance", env=env)
    assert p.returncode == 0 and f"Token for Finance of {EAST} (id " in p.stdout
    assert (home / "tokens-Eastmere+%26+Vale+District+Council.json").exists() and not (
        home / "tokens.json"
    ).exists()
    assert "Finance" in run("token", "list", env=env).stdout
    assert "No access keys yet" in run("token", "list", env={"ACTIONPLAN_HOME": str(home)}).stdout
