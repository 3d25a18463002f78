"""Corporate performance's quarter with real parts: the register, deadlines, returns, the submissions on file and
reminders, through a live service on loopback, a DuckDB file, real Prefect flow runs and a real SMTP server."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
import json
import socket

import openpyxl
import pytest

from actionplan.check import check_workbook
from actionplan.cli import main
from actionplan.register import Register, Return, day_from_text, fold_name
from actionplan.sample import xlwings_payload
from actionplan.settings import load_settings
from actionplan.standing import standing
from tests.conftest import action, canonical_workbook
from tests.test_service import LiveServer, post_json

PERIOD = "2024/25 Q2"
DEADLINE = dt.date(2024, 10, 14)
CONTACTS = {
    "Finance": ["anita.patel@council.gov.uk"],
    "Legal, HR & Property": ["r.khan@council.gov.uk"],
    "Housing": ["housing.team@council.gov.uk", "j.smith@council.gov.uk"],
    "Children's Services": ["cs.performance@council.gov.uk"],
}


# -- names, dates, standings ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "folded"),
    [
        ("Finance", "finance"),
        ("FINANCE", "finance"),
        ("ﬁnance", "finance"),
        ("  Finance  ", "finance"),
        ("Legal,  HR &\tProperty", "legal, hr & property"),
        ("CHILDREN'S SERVICES", "children's services"),
        ("Straße", "strasse"),
        ("Ｆｉｎａｎｃｅ", "finance"),
    ],
)
def test_fold_name_compares_names_as_officers_write_them(written, folded):
    assert fold_name(written) == folded


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("14/10/2024", None),
        ("2024-10-14", "--date '2024-10-14' is not a date in the form dd/mm/yyyy, e.g. 14/10/2024."),
        (
            "31/11/2024",
            "--date '31/11/2024' is not a real date (day is out of range for month). Use dd/mm/yyyy, "
            "e.g. 14/10/2024.",
        ),
    ],
)
def test_day_from_text_is_day_first_with_a_plain_message(text, message):
    if message is None:
        assert day_from_text(text) == DEADLINE
    else:
        with pytest.raises(Exception) as err:
            day_from_text(text)
        assert str(err.value) == message


@pytest.mark.parametrize(
    ("submitted", "deadline", "returned", "rejected", "expected"),
    [
        (None, None, None, False, ("missing", None)),
        (None, DEADLINE, None, False, ("missing", "deadline 14/10/2024")),
        (None, DEADLINE, None, True, ("rejected", "deadline 14/10/2024")),
        (dt.datetime(2024, 10, 3, 9), None, None, False, ("submitted", None)),
        # 23:30 UTC on the 14th is 00:30 on the 15th in London (BST): the council's calendar decides.
        (
            dt.datetime(2024, 10, 14, 22, 59),
            DEADLINE,
            None,
            False,
            ("on time", "submitted 14/10/2024, deadline 14/10/2024"),
        ),
        (
            dt.datetime(2024, 10, 14, 23, 30),
            DEADLINE,
            None,
            False,
            ("late", "submitted 15/10/2024, 1 day after the deadline 14/10/2024"),
        ),
        (
            dt.datetime(2024, 10, 20, 9),
            DEADLINE,
            None,
            False,
            ("late", "submitted 20/10/2024, 6 days after the deadline 14/10/2024"),
        ),
        (
            None,
            DEADLINE,
            Return("abc", "Finance", PERIOD, "please add the KPIs", "cp", "2024-10-16T10:00:00+00:00"),
            False,
            ("returned", "returned 16/10/2024: please add the KPIs"),
        ),
    ],
)
def test_standing_of_a_department(submitted, deadline, returned, rejected, expected):
    assert standing(submitted, deadline, returned=returned, rejected=rejected) == expected


# -- the register -----------------------------------------------------------------------------------------------


def test_departments_commands_keep_the_register(home, capsys):
    assert main(["departments", "add", "Finance", "--contact", "anita.patel@council.gov.uk"]) == 0
    assert main(["departments", "add", "FINANCE", "--contact", "r.khan@council.gov.uk"]) == 0
    assert main(["departments", "add", "Housing"]) == 0
    assert main(["departments", "add", "Registrars", "--contact", "not an address"]) == 2
    assert main(["departments", "rename", "housing", "Housing & Communities"]) == 0
    assert main(["departments", "retire", "Finance"]) == 0
    assert main(["departments", "retire", "Print Section"]) == 2
    assert main(["departments", "list", "--all"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "Registered: Finance — anita.patel@council.gov.uk.",
        "Already registered: Finance — anita.patel@council.gov.uk, r.khan@council.gov.uk.",
        "Registered: Housing — no contact yet (add one with --contact EMAIL).",
        "Renamed housing to Housing & Communities; plans sent under the old name now count for it.",
        "Retired Finance: no longer expected to report (its past plans stay on record).",
        f"Finance                {'anita.patel@council.gov.uk, r.khan@council.gov.uk'}  (retired "
        f"{dt.date.today().isoformat()})",
        "Housing & Communities  no contact  (formerly Housing)",
    ]
    assert err.splitlines() == [
        "actionplan: 'not an address' is not an email address. Give one address per --contact, e.g. --contact "
        "anita.patel@council.gov.uk.",
        "actionplan: No department called 'Print Section' is in the register (registered: Finance, Housing & "
        "Communities). See `actionplan departments list`.",
    ]


def test_keys_are_issued_only_for_registered_departments_in_the_registers_spelling(home, capsys):
    from actionplan.excel_addin.tokens import TokenStore

    assert main(["token", "add", "--department", "print section"]) == 0  # no register: as before
    Register.for_home(home).add("Finance")
    assert main(["token", "add", "--department", "FINANCE"]) == 0
    assert main(["token", "add", "--department", "Payroll"]) == 2
    capsys.readouterr()
    assert sorted(t.department for t in TokenStore.for_home(home).all()) == ["Finance", "print section"]
    main(["token", "add", "--department", "Payroll"])
    assert capsys.readouterr().err == (
        "actionplan: 'Payroll' is not in the register, so no key can be issued for it (registered: Finance). "
        'Add it first: actionplan departments add "Payroll".\n'
    )


def test_deadline_commands(home, capsys):
    assert main(["deadline", "set", "--period", "Q2 2024/25", "--date", "14/10/2024"]) == 0
    assert main(["deadline", "set", "--period", "2024/25 Q1", "--date", "15/07/2024"]) == 0
    assert main(["deadline", "set", "--period", "2024/25 Q3", "--date", "31/11/2024"]) == 2
    assert main(["deadline", "list"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "Deadline for 2024/25 Q2: Monday 14/10/2024.",
        "Deadline for 2024/25 Q1: Monday 15/07/2024.",
        "2024/25 Q1   Mon 15/07/2024",
        "2024/25 Q2   Mon 14/10/2024",
    ]
    assert err == (
        "actionplan: --date '31/11/2024' is not a real date (day is out of range for month). Use "
        "dd/mm/yyyy, e.g. 14/10/2024.\n"
    )


def test_departments_import_fills_the_register_from_the_warehouse(home, tmp_path, capsys):
    from actionplan.flows.ingest import ingest

    s = load_settings()
    for name, dept in (("f.xlsx", "Finance"), ("l.xlsx", "Legal, HR & Property"), ("g.xlsx", "FINANCE")):
        _cli_submit(s, canonical_workbook(tmp_path / name, dept, actions=[action(f"{name[0]}1")]))
    ingest()
    assert main(["departments", "import"]) == 0
    assert main(["departments", "import"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "Imported 2 departments from the warehouse: Finance, Legal, HR & Property.",
        "Add each one's contacts with `actionplan departments add NAME --contact EMAIL`.",
        "Imported 0 departments from the warehouse (all were registered already).",
    ]


# -- the quarter end to end --------------------------------------------------------------------------------------


def _cli_submit(settings, path, *, now=None, by="test"):
    from actionplan.warehouse.inbox import Inbox

    data = path.read_bytes()
    return Inbox(settings.inbox_path, settings.archive_path).submit(
        check_workbook(data, path.name, settings=settings),
        data,
        submitted_by=by,
        now=now,
        council=settings.council,
    )


@pytest.fixture
def quarter(tmp_path):
    """A council with a register of four departments and a deadline, its service live on loopback."""
    home = tmp_path / "home"
    register = Register.for_home(home)
    for name, contacts in CONTACTS.items():
        register.add(name, contacts)
    register.set_deadline(PERIOD, DEADLINE)
    with LiveServer(home) as server:
        server.register = register
        server.keys = {
            "finance": server.token("Finance")[1],
            "children": server.token("Children's Services")[1],
            "admin": server.token(admin=True)[1],
        }
        yield server


def _status(srv, key="admin"):
    r = srv.client.get(f"/api/status?period={PERIOD}", headers={"Authorization": srv.keys[key]})
    assert r.status_code == 200, r.text
    return r.json()


def _upload(srv, path, key):
    r = srv.client.post(
        "/api/submissions",
        files={"file": (path.name, path.read_bytes())},
        headers={"Authorization": srv.keys[key]},
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_quarter_register_decides_who_is_missing_from_the_first_quarter(quarter, tmp_path):
    s = _status(quarter)
    assert s["source"] == "inbox only (warehouse not created yet)"  # nobody has ever submitted
    assert s["missing"] == ["Children's Services", "Finance", "Housing", "Legal, HR & Property"]
    assert s["deadline"] == "2024-10-14"
    assert {d["department"]: (d["standing"], d["note"]) for d in s["departments"]} == {
        name: ("missing", "deadline 14/10/2024") for name in CONTACTS
    }


def test_quarter_status_page_api_and_submissions_sheet_agree(quarter, tmp_path, monkeypatch):
    from actionplan.flows.consolidate import consolidate

    monkeypatch.setenv("ACTIONPLAN_HOME", str(quarter.settings.home_path))
    # Finance's workbook says FINANCE: stored as the key's Finance, late (the deadline has passed).
    report = _upload(
        quarter, canonical_workbook(tmp_path / "finance.xlsx", "FINANCE", actions=[action("F1")]), "finance"
    )
    assert report["accepted"] and report["department"] == "Finance"
    # Legal sent theirs by the command line on deadline day, spelt its own way.
    legal = canonical_workbook(
        tmp_path / "legal.xlsx", "LEGAL, HR &  PROPERTY", actions=[action("L1", status="B")]
    )
    assert _cli_submit(quarter.settings, legal, now=dt.datetime(2024, 10, 14, 15, 0, tzinfo=dt.UTC))[
        "accepted"
    ]
    # Children's Services sent a plan from Excel, and corporate performance returned it.
    excel = post_json(
        quarter,
        "/xlwings/submit",
        xlwings_payload(
            canonical_workbook(
                tmp_path / "cs.xlsx",
                "Children's Services",
                actions=[action("C1", status="R", update="Waiting")],
            )
        ),
        quarter.keys["children"],
    )
    assert excel.status_code == 200
    sid = _status(quarter)["departments"][0]["current"]["submission_id"]
    r = quarter.client.post(
        f"/api/admin/submissions/{sid[:10]}/return",
        json={"comment": "please add the KPIs"},
        headers={"Authorization": quarter.keys["admin"]},
    )
    assert r.status_code == 200 and r.json()["department"] == "Children's Services", r.text

    result = consolidate(period=PERIOD)
    api = _status(quarter)
    assert api["source"] == "warehouse and inbox"
    standings = {d["department"]: d["standing"] for d in api["departments"]}
    assert standings == {
        "Children's Services": "returned",
        "Finance": "late",
        "Housing": "missing",
        "Legal, HR & Property": "on time",
    }
    assert api["missing"] == ["Housing"] and api["returned"] == ["Children's Services"]
    children = next(d for d in api["departments"] if d["department"] == "Children's Services")
    assert children["returned"]["comment"] == "please add the KPIs" and children["current"] is None
    assert children["note"] == f"returned {dt.date.today():%d/%m/%Y}: please add the KPIs"

    wb = openpyxl.load_workbook(result["path"])
    sheet = {r[0]: r for r in wb["Submissions"].iter_rows(min_row=2, values_only=True)}
    assert {d: r[1] for d, r in sheet.items()} == standings
    assert sheet["Children's Services"][7] == f"returned {dt.date.today():%d/%m/%Y}: please add the KPIs"
    assert sheet["Legal, HR & Property"][7] == "submitted 14/10/2024, deadline 14/10/2024"
    summary = [r[0] for r in wb["Summary"].iter_rows(values_only=True)]
    assert "Not submitted: Housing" in summary
    assert "Missing: 1 of 4 departments; returned: Children's Services (please add the KPIs)" in summary
    # The returned plan is no longer counted: two departments, two actions.
    body = [
        r
        for r in wb["Summary"].iter_rows(values_only=True)
        if r[0] in ("Finance", "Legal, HR & Property", "Children's Services", "Council total")
    ]
    assert [(r[0], r[6]) for r in body] == [("Finance", 1), ("Legal, HR & Property", 1), ("Council total", 2)]
    assert result["facts"]["returned"] == {"Children's Services": "please add the KPIs"}

    # Submitting again ends the return.
    excel = post_json(
        quarter,
        "/xlwings/submit",
        xlwings_payload(
            canonical_workbook(
                tmp_path / "cs2.xlsx",
                "Children's Services",
                actions=[action("C1", status="R", update="Waiting")],
                kpis=[
                    [
                        "K1",
                        "Children seen in 10 days",
                        "Higher is better",
                        "%",
                        "A Lee",
                        "90%",
                        "88%",
                        None,
                        None,
                    ]
                ],
            )
        ),
        quarter.keys["children"],
    )
    assert excel.status_code == 200
    again = {d["department"]: d["standing"] for d in _status(quarter)["departments"]}
    assert again["Children's Services"] == "late"


def test_quarter_stores_other_spellings_under_the_registers(quarter, tmp_path, monkeypatch):
    from actionplan.flows.ingest import ingest
    from actionplan.warehouse import open_warehouse

    monkeypatch.setenv("ACTIONPLAN_HOME", str(quarter.settings.home_path))
    for name, dept in (("a.xlsx", "FINANCE"), ("b.xlsx", "ﬁnance")):
        report = _cli_submit(
            quarter.settings, canonical_workbook(tmp_path / name, dept, actions=[action(name)])
        )
        assert report["accepted"] and report["department"] == "Finance"
    ingest()
    wh = open_warehouse(quarter.settings.warehouse_url, read_only=True)
    try:
        assert wh.departments() == ["Finance"]
    finally:
        wh.close()


def test_warehouse_without_a_register_files_spellings_under_the_first(home, tmp_path):
    from actionplan.flows.ingest import ingest
    from actionplan.warehouse import open_warehouse
    from actionplan.warehouse.consolidate import facts_from_warehouse

    s = load_settings()
    _cli_submit(
        s, canonical_workbook(tmp_path / "a.xlsx", "Finance", actions=[action("F1")], period="2024/25 Q1")
    )
    ingest()
    _cli_submit(s, canonical_workbook(tmp_path / "b.xlsx", "FINANCE", actions=[action("F1")]))
    _cli_submit(s, canonical_workbook(tmp_path / "c.xlsx", "Legal", actions=[action("L1")]))
    ingest()
    wh = open_warehouse(s.warehouse_url, read_only=True)
    try:
        assert wh.departments() == ["Finance", "Legal"]
        facts = facts_from_warehouse(wh, PERIOD, register=Register.for_settings(s))
    finally:
        wh.close()
    assert list(facts.submissions["Department"]) == ["Finance", "Legal"]
    assert facts.missing == []


def test_without_a_register_key_holders_are_expected_on_the_rollup_as_on_the_status_page(
    tmp_path, monkeypatch
):
    from actionplan.flows.consolidate import consolidate

    home = tmp_path / "home"
    monkeypatch.setenv("ACTIONPLAN_HOME", str(home))
    with LiveServer(home) as srv:
        finance = srv.token("Finance")[1]
        srv.token("Registrars")  # holds a key, never submits
        book = canonical_workbook(tmp_path / "f.xlsx", actions=[action("F1")])
        assert srv.client.post(
            "/api/submissions",
            files={"file": ("f.xlsx", book.read_bytes())},
            headers={"Authorization": finance},
        ).json()["accepted"]
        result = consolidate(period=PERIOD)
        status = srv.client.get(f"/api/status?period={PERIOD}", headers={"Authorization": finance}).json()
    sheet = {
        r[0]: r[1]
        for r in openpyxl.load_workbook(result["path"])["Submissions"].iter_rows(min_row=2, values_only=True)
    }
    assert (
        sheet
        == {d["department"]: d["standing"] for d in status["departments"]}
        == {"Finance": "submitted", "Registrars": "missing"}
    )
    assert result["facts"]["missing"] == status["missing"] == ["Registrars"]


# -- submissions on file -------------------------------------------------------------------------------------------


def test_submissions_get_gives_back_the_uploaded_bytes_and_an_xlsx_for_the_addin(
    quarter, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("ACTIONPLAN_HOME", str(quarter.settings.home_path))
    uploaded = canonical_workbook(tmp_path / "finance.xlsx", actions=[action("F1", lead=None)])
    _upload(quarter, uploaded, "finance")
    book = canonical_workbook(
        tmp_path / "children.xlsx",
        "Children's Services",
        actions=[action("C1", text="=SUM(A1:A9)", status="B")],
    )
    assert (
        post_json(quarter, "/xlwings/submit", xlwings_payload(book), quarter.keys["children"]).status_code
        == 200
    )

    assert main(["submissions", "list", "--period", PERIOD]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert (
        lines[0]
        == "id            submitted (UTC)      period      department                   channel  outcome"
    )
    ids = {line.split()[5]: line.split()[0] for line in lines[1:]}
    assert [line.split("  ")[-1].strip() for line in lines[1:]] == ["accepted", "accepted, 1 warning"]
    assert set(ids) == {"Children's", "Finance"}

    assert main(["submissions", "get", ids["Finance"], "-o", str(tmp_path / "back.xlsx")]) == 0
    assert (tmp_path / "back.xlsx").read_bytes() == uploaded.read_bytes()
    assert main(["submissions", "get", ids["Children's"], "-o", str(tmp_path / "rebuilt.xlsx")]) == 0
    rebuilt = openpyxl.load_workbook(tmp_path / "rebuilt.xlsx")
    assert rebuilt.sheetnames == ["Plan", "Actions"]
    assert [c.value for c in rebuilt["Actions"][2]][:4] == ["C1", "Balanced budget", "Money", "=SUM(A1:A9)"]
    assert rebuilt["Actions"]["D2"].data_type == "s"  # text, never a live formula
    assert check_workbook((tmp_path / "rebuilt.xlsx").read_bytes(), "rebuilt.xlsx").accepted
    written = capsys.readouterr().out.splitlines()
    assert written[0] == (
        f"Written {tmp_path / 'back.xlsx'} ({len(uploaded.read_bytes()):,} bytes): Finance, "
        f"{PERIOD}, as received (finance.xlsx)."
    )
    assert written[1].endswith(" bytes): Children's Services, 2024/25 Q2, rebuilt from the add-in's sheets.")

    assert main(["submissions", "show", ids["Finance"]]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert shown[1:3] == ["  Department: Finance", "  Period:     2024/25 Q2"]
    assert shown[4:6] == ["  Channel:    upload", "  File:       finance.xlsx"]
    assert shown[-2] == "  Warnings:" and shown[-1].startswith("    Actions!E2: ")
    assert main(["submissions", "get", "nothing", "-o", str(tmp_path / "x.xlsx")]) == 2
    assert capsys.readouterr().err == (
        "actionplan: No submission with id 'nothing' is on file. See `actionplan submissions list`.\n"
    )

    children = ids["Children's"]
    r = quarter.client.get(
        f"/api/admin/submissions/{children}/workbook", headers={"Authorization": quarter.keys["admin"]}
    )
    assert r.status_code == 200 and openpyxl.load_workbook(io.BytesIO(r.content)).sheetnames == [
        "Plan",
        "Actions",
    ]
    r = quarter.client.get("/api/admin/submissions", headers={"Authorization": quarter.keys["finance"]})
    assert r.status_code == 403
    r = quarter.client.get(
        "/api/admin/submissions/feedfacecafe", headers={"Authorization": quarter.keys["admin"]}
    )
    assert (r.status_code, r.json()) == (
        404,
        {"detail": "No submission with id 'feedfacecafe' is on file. See `actionplan submissions list`."},
    )


def test_return_by_cli_is_audited_and_shown(quarter, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ACTIONPLAN_HOME", str(quarter.settings.home_path))
    sid = _upload(quarter, canonical_workbook(tmp_path / "f.xlsx", actions=[action("F1")]), "finance")[
        "submission_id"
    ]
    assert (
        main(["return", sid[:8], "--comment", "please   add the KPIs", "--by", "Corporate performance"]) == 0
    )
    assert main(["return", sid[:8], "--comment", "  "]) == 2
    out, err = capsys.readouterr()
    assert out == (
        f'Returned Finance\'s plan for {PERIOD} (submission {sid[:12]}): "please add the KPIs". Finance '
        "shows as returned until it submits again.\n"
    )
    assert err == 'actionplan: Say why the plan is returned: --comment "please add the KPIs".\n'
    audit = [
        json.loads(line) for line in (quarter.settings.archive_path / "audit.jsonl").read_text().splitlines()
    ]
    assert {k: audit[-1][k] for k in ("who", "outcome", "department", "submission_id", "comment")} == {
        "who": "Corporate performance",
        "outcome": "returned",
        "department": "Finance",
        "submission_id": sid,
        "comment": "please add the KPIs",
    }
    assert main(["submissions", "show", sid[:8]]) == 0
    assert any(
        line.endswith("by Corporate performance: please add the KPIs") and line.startswith("  Returned:")
        for line in capsys.readouterr().out.splitlines()
    )
    finance = next(d for d in _status(quarter, "finance")["departments"] if d["department"] == "Finance")
    assert (finance["status"], finance["returned"]["comment"]) == ("returned", "please add the KPIs")


# -- reminders ---------------------------------------------------------------------------------------------------


class _Inbox:
    """What the SMTP server on loopback received."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append(
            (list(envelope.rcpt_tos), email.message_from_bytes(envelope.content, policy=email.policy.default))
        )
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(monkeypatch):
    """A real SMTP server on a free loopback port (aiosmtpd), and the settings that send through it."""
    from aiosmtpd.controller import Controller

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    received = _Inbox()
    controller = Controller(received, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("ACTIONPLAN_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ACTIONPLAN_SMTP_PORT", str(port))
    monkeypatch.setenv("ACTIONPLAN_SMTP_FROM", "performance@council.gov.uk")
    yield received
    controller.stop()


def test_remind_dry_run_names_the_missing_and_returned_then_sends_one_email_each(
    quarter, tmp_path, monkeypatch, smtp, capsys
):
    monkeypatch.setenv("ACTIONPLAN_HOME", str(quarter.settings.home_path))
    monkeypatch.setenv("ACTIONPLAN_PUBLIC_URL", "https://actionplan.council.example")
    _upload(quarter, canonical_workbook(tmp_path / "f.xlsx", actions=[action("F1")]), "finance")
    sid = _upload(
        quarter,
        canonical_workbook(tmp_path / "c.xlsx", "Children's Services", actions=[action("C1")]),
        "children",
    )["submission_id"]
    assert main(["return", sid, "--comment", "please add the KPIs"]) == 0
    capsys.readouterr()

    assert main(["remind", "--period", PERIOD, "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line for line in out if not line.startswith("      ")] == [
        "Reminders for 2024/25 Q2 (deadline 14/10/2024):",
        "  Would email Children's Services (returned) → cs.performance@council.gov.uk: Please resubmit Children's "
        "Services's action plan for 2024/25 Q2",
        "  Would email Housing (missing) → housing.team@council.gov.uk, j.smith@council.gov.uk: Overdue: Housing's "
        "action plan for 2024/25 Q2 was due by Monday 14 October 2024",
        "  Would email Legal, HR & Property (missing) → r.khan@council.gov.uk: Overdue: Legal, HR & Property's action "
        "plan for 2024/25 Q2 was due by Monday 14 October 2024",
    ]
    assert smtp.messages == []

    assert main(["remind", "--period", PERIOD]) == 0
    assert main(["remind", "--period", PERIOD]) == 0  # the same day again: nobody twice
    out = capsys.readouterr().out.splitlines()
    assert out[4:] == [
        "Reminders for 2024/25 Q2 (deadline 14/10/2024):",
        "  Not again today: Children's Services was reminded earlier today.",
        "  Not again today: Housing was reminded earlier today.",
        "  Not again today: Legal, HR & Property was reminded earlier today.",
    ]
    assert sorted(to for to, _ in smtp.messages) == [
        ["cs.performance@council.gov.uk"],
        ["housing.team@council.gov.uk", "j.smith@council.gov.uk"],
        ["r.khan@council.gov.uk"],
    ]
    by_to = {m["To"]: m for _, m in smtp.messages}
    returned = by_to["cs.performance@council.gov.uk"]
    assert returned["From"] == "performance@council.gov.uk"
    assert returned["Subject"] == "Please resubmit Children's Services's action plan for 2024/25 Q2"
    assert returned.get_content().replace("\r\n", "\n") == (  # SMTP carries CRLF line ends
        "Dear colleague,\n\n"
        "Children's Services's action plan and KPIs for 2024/25 Q2 were due by Monday 14 October 2024, and corporate "
        "performance does not have a current plan from you yet.\n\n"
        f"The plan you sent on {dt.date.today():%d/%m/%Y} was returned to you with this comment:\n\n"
        "    please add the KPIs\n\n"
        "Please update the workbook and submit it again.\n\n"
        "How to submit: open your department's workbook in Excel and click Submit on the actionplan tab, or upload "
        "the workbook with your department's access key at:\n"
        "    https://actionplan.council.example/\n\n"
        "If you have sent it in the last few minutes, please ignore this email.\n\n"
        "Thank you,\nCorporate performance\n"
    )


def test_remind_without_a_mail_server_says_which_setting(quarter, monkeypatch, capsys):
    monkeypatch.setenv("ACTIONPLAN_HOME", str(quarter.settings.home_path))
    monkeypatch.delenv("ACTIONPLAN_SMTP_HOST", raising=False)
    assert main(["remind", "--period", PERIOD]) == 2
    assert capsys.readouterr().err == (
        "actionplan: No mail server is set: set ACTIONPLAN_SMTP_HOST (and ACTIONPLAN_SMTP_FROM) to send reminders, "
        "or use --dry-run to see who would get what.\n"
    )


def test_remind_flow_emails_on_the_days_before_a_deadline(quarter, monkeypatch, smtp):
    from actionplan.flows.remind import remind

    monkeypatch.setenv("ACTIONPLAN_HOME", str(quarter.settings.home_path))
    today = dt.date(2024, 10, 7)  # seven days before the deadline
    assert remind(today=dt.date(2024, 10, 8)) == {"today": "2024-10-08", "periods": [], "results": []}
    result = remind(today=today)
    assert result["periods"] == [PERIOD]
    assert [r["department"] for r in result["results"][0]["reminders"]] == list(
        sorted(CONTACTS, key=str.casefold)
    )
    assert len(smtp.messages) == 4
    assert smtp.messages[0][1]["Subject"] == (
        "Reminder: Children's Services's action plan for 2024/25 Q2 is due by Monday 14 October 2024"
    )


def test_remind_deployment_wires_up(settings):
    from actionplan.flows.deployments import all_deployments, remind_deployment

    deployment = remind_deployment(settings)
    assert (deployment.name, deployment.concurrency_limit) == ("remind", 1)
    assert deployment.schedules[0].schedule.cron == "0 8 * * *"
    assert deployment.schedules[0].schedule.timezone == "Europe/London"
    assert [d.name for d in all_deployments(settings)] == ["ingest", "consolidate", "remind"]


def test_admin_api_keeps_the_register_and_deadlines(quarter):
    admin = {"Authorization": quarter.keys["admin"]}
    r = quarter.client.post(
        "/api/departments", json={"name": "registrars", "contacts": ["reg@council.gov.uk"]}, headers=admin
    )
    assert r.status_code == 200 and r.json()["new"] is True
    r = quarter.client.post(
        "/api/deadlines", json={"period": "Q3 2024/25", "date": "13/01/2025"}, headers=admin
    )
    assert r.json() == {"period": "2024/25 Q3", "deadline": "2025-01-13"}
    r = quarter.client.post("/api/deadlines", json={"period": "2024/25 Q3", "date": "13 Jan"}, headers=admin)
    assert (r.status_code, r.json()) == (
        400,
        {"detail": "date '13 Jan' is not a date in the form dd/mm/yyyy, e.g. 14/10/2024."},
    )
    for blank in (
        quarter.client.post("/api/deadlines", json={"period": " ", "date": "13/01/2025"}, headers=admin),
        quarter.client.post("/api/admin/remind?period=", headers=admin),
    ):  # a blank period is refused like a wrong one, and nothing is stored or sent
        assert (blank.status_code, blank.json()) == (
            400,
            {"detail": 'No period given. Send one such as "2024/25 Q2".'},
        )
    assert quarter.client.get("/api/deadlines", headers=admin).json() == {
        "deadlines": {"2024/25 Q2": "2024-10-14", "2024/25 Q3": "2025-01-13"}
    }
    names = [d["name"] for d in quarter.client.get("/api/departments", headers=admin).json()["departments"]]
    assert names == ["Children's Services", "Finance", "Housing", "Legal, HR & Property", "registrars"]
    r = quarter.client.post(
        "/api/departments", json={"name": "x"}, headers={"Authorization": quarter.keys["finance"]}
    )
    assert r.status_code == 403
    r = quarter.client.post(f"/api/admin/remind?period={PERIOD}", headers=admin)
    assert r.status_code == 200 and r.json()["dry_run"] is True
    assert [x["department"] for x in r.json()["reminders"]] == [
        "Children's Services",
        "Finance",
        "Housing",
        "Legal, HR & Property",
        "registrars",
    ]
    assert r.json()["no_contact"] == []


# -- checks a department can act on at Submit ----------------------------------------------------------------------

OBJECTIVES = [
    ["O1", "Balanced budget", "Money", "Finance", "Patel, Anita", "B", None],
    ["O2", "Clean audit", "Money", "Finance", "R Khan", "Green", None],
    ["O3", "New ledger", "Money", "Finance", "R Khan", "G", None],
]


def test_check_objective_status_against_its_actions_and_unknown_refs(settings, tmp_path):
    book = canonical_workbook(
        tmp_path / "f.xlsx",
        objectives=OBJECTIVES,
        actions=[
            action("A1", objective="O1", status="B"),
            action("A2", objective="O1", status="G"),
            action("A3", objective="O2", status="R", update="Auditors have not started the work yet"),
            action("A4", objective="O3", status="A", update="Some slippage"),
            action("A5", objective="O9"),
            action("A6", objective="Balanced budget"),
        ],
    )
    sub = check_workbook(book.read_bytes(), "f.xlsx", settings=settings)
    found = [
        (m.code, f"{m.sheet}!{m.cell}", m.value, m.message)
        for m in sub.warnings
        if m.code in ("objective-status", "unknown-objective")
    ]
    assert found == [
        (
            "objective-status",
            "Objectives!F2",
            "B",
            "this objective is Blue (complete) but 1 of its 2 actions is not "
            "Blue (A2 Green). Check the objective's status against its actions.",
        ),
        (
            "objective-status",
            "Objectives!F3",
            "Green",
            "this objective is Green (on track) but its action is Red "
            "(A3 Red). Check the objective's status against its actions.",
        ),
        (
            "unknown-objective",
            "Actions!B6",
            "O9",
            "no objective has the ref 'O9' on the Objectives sheet (its refs: "
            "O1, O2, O3). Use one of those refs, or add the objective.",
        ),
    ]
    assert sub.accepted


def test_check_at_submit_uses_last_periods_published_snapshot(home, tmp_path):
    from actionplan.flows.consolidate import consolidate

    s = load_settings()
    # F1's due date moved in each of Q1, Q2 and Q3; F2's update never changes.
    for period, revised in (
        ("2024/25 Q1", "31/12/2024"),
        ("2024/25 Q2", "31/01/2025"),
        ("2024/25 Q3", "28/02/2025"),
    ):
        book = canonical_workbook(
            tmp_path / f"{period[-2:]}.xlsx",
            period=period,
            actions=[
                action("F1", due="30/06/2024", revised=revised, update=f"Moved to {revised}"),
                action("F2", status="A", update="Waiting for the auditors"),
            ],
        )
        assert _cli_submit(s, book)["accepted"]
    assert check_workbook(book.read_bytes(), "q3.xlsx", settings=s).warnings == []  # nothing published yet
    consolidate(period="2024/25 Q3")
    q4 = canonical_workbook(
        tmp_path / "q4.xlsx",
        period="2024/25 Q4",
        actions=[
            action("F1", due="30/06/2024", revised="31/05/2025", update="Moved again"),
            action("F2", status="A", update="Waiting for  the auditors"),
        ],
    )
    sub = check_workbook(q4.read_bytes(), "q4.xlsx", settings=s)
    assert [(m.code, f"{m.sheet}!{m.cell}", m.value, m.message) for m in sub.warnings] == [
        (
            "rag-history",
            "Actions!H2",
            "G",
            "green but the due date was revised in each of the last three periods. "
            "Check the status: the rollup shows it as you gave it, with this flag beside it.",
        ),
        (
            "stale-commentary",
            "Actions!I3",
            "Waiting for the auditors",
            "this progress update is the same as last period's. Say what has happened since then.",
        ),
    ]
    # The rollup does not list them twice once they were told at Submit.
    assert _cli_submit(s, q4)["accepted"]
    result = consolidate(period="2024/25 Q4")
    wb = openpyxl.load_workbook(result["path"])
    rows = list(wb["Data quality"].iter_rows(values_only=True))
    codes = [r[rows[0].index("Code")] for r in rows[1:]]
    assert sorted(codes) == ["rag-history", "stale-commentary"]


def test_rollup_counts_spellings_stored_before_folding_as_one_department(home, tmp_path):
    """A warehouse filled before names were folded holds Finance and ﬁNANCE apart; the rollup does not."""
    from actionplan.warehouse import open_warehouse
    from actionplan.warehouse.consolidate import facts_from_warehouse
    from actionplan.warehouse.inbox import Inbox
    from actionplan.warehouse.load import load_inbox

    s = load_settings()
    _cli_submit(
        s, canonical_workbook(tmp_path / "a.xlsx", "Finance", actions=[action("F1")], period="2024/25 Q1")
    )
    _cli_submit(s, canonical_workbook(tmp_path / "b.xlsx", "ﬁNANCE", actions=[action("F1"), action("F2")]))
    _cli_submit(
        s, canonical_workbook(tmp_path / "c.xlsx", "Legal", actions=[action("L1")], period="2024/25 Q1")
    )
    wh = open_warehouse(s.warehouse_url)
    try:
        wh.department_on_record = lambda council, name: name  # load as versions before folding did
        assert len(load_inbox(Inbox(s.inbox_path, s.archive_path), wh).loaded) == 3
        assert wh.departments() == ["Finance", "Legal", "ﬁNANCE"]
        facts = facts_from_warehouse(wh, PERIOD, register=Register.for_settings(s))
    finally:
        wh.close()
    assert list(zip(facts.submissions["Department"], facts.submissions["Status"], strict=True)) == [
        ("Finance", "submitted"),
        ("Legal", "missing"),
    ]
    assert [(r["Department"], r["Total"]) for r in facts.export()["summary"]] == [
        ("Finance", 2),
        ("Council total", 2),
    ]
    assert facts.changes["Change"].tolist() == ["new"]  # compared with Q1's Finance: F2 is new, F1 unchanged


def test_remind_with_the_mail_server_down_records_nothing_and_a_later_run_sends(
    quarter, monkeypatch, smtp, capsys
):
    monkeypatch.setenv("ACTIONPLAN_HOME", str(quarter.settings.home_path))
    working = load_settings().smtp_port
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    monkeypatch.setenv("ACTIONPLAN_SMTP_PORT", str(closed))
    assert main(["remind", "--period", PERIOD]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5 and all(line.startswith("  Not sent to ") for line in lines[1:])
    assert lines[1].startswith(
        f"  Not sent to Children's Services: Could not send email through 127.0.0.1:{closed} ("
    )
    assert lines[1].endswith("). Check ACTIONPLAN_SMTP_HOST and ACTIONPLAN_SMTP_PORT.")
    assert quarter.register.reminded() == []
    monkeypatch.setenv("ACTIONPLAN_SMTP_PORT", str(working))
    assert main(["remind", "--period", PERIOD]) == 0
    assert len(smtp.messages) == 4 and len(quarter.register.reminded()) == 4


def test_snapshots_go_to_the_home_of_the_caller_not_of_the_worker_started_before(home, tmp_path, monkeypatch):
    """The worker process outlives the run that started it (a process that consolidates again, for another home
    say): the snapshots go under the home of the process asking for them."""
    from actionplan.warehouse import open_warehouse
    from actionplan.warehouse.inbox import Inbox
    from actionplan.warehouse.load import load_inbox
    from actionplan.warehouse.snapshot import publish_in_worker
    from actionplan.warehouse.validation import start_worker, stop_worker

    stop_worker()
    monkeypatch.setenv("ACTIONPLAN_HOME", str(tmp_path / "earlier"))
    start_worker()  # started under another home
    monkeypatch.setenv("ACTIONPLAN_HOME", str(home))
    s = load_settings()
    book = canonical_workbook(tmp_path / "Finance.xlsx", department="Finance", actions=[action("F1")])
    assert _cli_submit(s, book)["accepted"]
    wh = open_warehouse(s.warehouse_url)
    try:
        load_inbox(Inbox(s.inbox_path, s.archive_path), wh)
    finally:
        wh.close()
    assert publish_in_worker(s.warehouse_url, "2024/25 Q2", s.council) == 1
    assert len(list((home / "snapshots").rglob("*.json"))) == 1
    assert not (tmp_path / "earlier").exists()


def test_snapshots_published_from_the_worker_process_are_the_ones_made_here(home, tmp_path):
    """The consolidate flow publishes the snapshots from the process GX validates in (warehouse/snapshot.
    publish_in_worker, the warehouse read-only there) while it writes the rollup: the same files as published here;
    a warehouse another process holds is named in words, and the worker goes on to the next job."""
    from actionplan.warehouse import open_warehouse
    from actionplan.warehouse.inbox import Inbox
    from actionplan.warehouse.load import load_inbox
    from actionplan.warehouse.snapshot import (
        SnapshotsFailed,
        publish_in_worker,
        publish_snapshots,
        snapshots_of_period,
    )

    s = load_settings()
    for department in ("Finance", "Legal"):
        book = canonical_workbook(
            tmp_path / f"{department}.xlsx",
            department=department,
            actions=[action("F1", revised="31/01/2025", update="Moved"), action("F2", status="A")],
        )
        assert _cli_submit(s, book)["accepted"]
    wh = open_warehouse(s.warehouse_url)
    try:
        load_inbox(Inbox(s.inbox_path, s.archive_path), wh)
        here = snapshots_of_period(wh, "2024/25 Q2", s.council, Register.for_home(s.home_path, s.council))
        with pytest.raises(SnapshotsFailed) as caught:  # this process holds the DuckDB file for writing
            publish_in_worker(s.warehouse_url, "2024/25 Q2", s.council)
    finally:
        wh.close()
    assert "could not be published: The warehouse" in str(caught.value)
    assert "is in use by another process" in str(caught.value)
    assert publish_in_worker(s.warehouse_url, "2024/25 Q2", s.council) == 2
    folder = s.home_path / "snapshots"
    there = {p: p.read_bytes() for p in sorted(folder.rglob("*.json"))}
    assert len(there) == 2
    publish_snapshots(s.home_path, s.council, "2024/25 Q2", here)
    assert {p: p.read_bytes() for p in sorted(folder.rglob("*.json"))} == there
