"""Honest mistakes and their consequences: rows typed in the wrong column, dates from the year 9999, a sheet of
thousands of errors, a council layout with a typo, a department name that looks like a formula, and who may see
the council's rollup before the committee does.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import openpyxl
import pytest

from actionplan.check import MAX_MESSAGES, check_workbook, check_xlwings
from actionplan.errors import UnreadableWorkbook
from actionplan.read import book_from_xlsx
from tests.conftest import ACTION_HEADER, action, canonical_workbook
from tests.test_service import (
    PERIOD,
    FakeExcel,
    LiveServer,
    _load_and_publish,
    actions_of,
    post_json,
    xlwings_payload,
)

# -- rows that would vanish without a word ---------------------------------------------------------------------


def test_check_workbook_text_only_in_column_a_is_warned_not_dropped_silently(tmp_path):
    path = canonical_workbook(
        tmp_path / "a.xlsx", actions=[["Review the budget"], ["Hire two officers"], ["Close the accounts"]]
    )
    sub = check_workbook(path.read_bytes(), "a.xlsx")
    assert sub.counts()["actions"] == 0
    assert [(m.level, m.code, m.sheet, m.cell, m.value, m.message) for m in sub.messages] == [
        (
            "warning",
            "heading-rows",
            "Actions",
            "A2",
            "Review the budget",
            "3 rows have text only in column A: read as headings; if they are actions, fill the Action column.",
        )
    ]


def test_check_workbook_one_heading_row_among_actions_is_warned_in_the_template(tmp_path):
    path = canonical_workbook(tmp_path / "a.xlsx", actions=[["Money matters"], action("F1"), action("F2")])
    sub = check_workbook(path.read_bytes(), "a.xlsx")
    assert sub.counts()["actions"] == 2
    assert [(m.cell, m.message) for m in sub.warnings] == [
        ("A2", "1 row has text only in column A: read as heading; if it is actions, fill the Action column.")
    ]


# -- dates no one meant -------------------------------------------------------------------------------------------


def _with_as_at(path, as_at):
    wb = openpyxl.load_workbook(path)
    wb["Plan"].append(["As at", as_at])
    wb.save(path)
    return path


def test_check_workbook_due_dates_in_year_1_or_9999_and_as_at_9999_are_warned(tmp_path):
    path = _with_as_at(
        canonical_workbook(
            tmp_path / "a.xlsx",
            actions=[
                action("A1", due="31/12/9999"),
                action("A2", due="01/01/0001", revised="31/03/2025"),
                action("A3", due=dt.datetime(2025, 3, 31), revised="31/12/9999"),
            ],
        ),
        "31/12/9999",
    )
    sub = check_workbook(path.read_bytes(), "a.xlsx")
    assert sub.accepted
    far = (
        "more than 20 years from the period's end (30/09/2024), so it looks mistyped. Check the date and write it "
        "as dd/mm/yyyy."
    )
    assert [(m.code, m.sheet, m.cell, m.value, m.message) for m in sub.warnings] == [
        (
            "implausible-as-at",
            "Plan",
            "B4",
            "31/12/9999",
            "the 'As at' date is 31/12/9999, more than a year from the end of 2024/25 Q2 (30/09/2024), so it looks "
            "mistyped and is not used as the council's as-at date. Use the date of this update, as dd/mm/yyyy.",
        ),
        ("implausible-date", "Actions", "F2", "31/12/9999", f"the due date is in the year 9999, {far}"),
        ("implausible-date", "Actions", "F3", "01/01/0001", f"the due date is in the year 1, {far}"),
        (
            "implausible-date",
            "Actions",
            "G4",
            "31/12/9999",
            f"the revised due date is in the year 9999, {far}",
        ),
    ]


def test_rollup_as_at_is_the_latest_plausible_one_not_a_departments_9999(tmp_path, settings):
    from actionplan.warehouse import open_warehouse
    from actionplan.warehouse.consolidate import facts_from_warehouse
    from actionplan.warehouse.inbox import Inbox
    from actionplan.warehouse.load import load_inbox

    inbox = Inbox(settings.inbox_path, settings.archive_path)
    for name, dept, as_at in (
        ("f.xlsx", "Finance", "15/10/2024"),
        ("l.xlsx", "Legal", "31/12/9999"),
        ("r.xlsx", "Registrars", "12/10/2024"),
    ):
        path = _with_as_at(canonical_workbook(tmp_path / name, dept, [action("X1")]), as_at)
        data = path.read_bytes()
        assert inbox.submit(check_workbook(data, name), data, submitted_by="t")["accepted"]
    wh = open_warehouse(settings.warehouse_url)
    try:
        load_inbox(inbox, wh)
        facts = facts_from_warehouse(wh, PERIOD)
    finally:
        wh.close()
    assert facts.as_at == dt.date(2024, 10, 15)


# -- a check's work is bounded ----------------------------------------------------------------------------------


def _payload(rows: list[list]) -> dict:
    return {
        "book": {"name": "big.xlsx"},
        "sheets": [
            {"name": "Plan", "values": [["Department", "Finance"], ["Plan", "P"], ["Period", PERIOD]]},
            {"name": "Actions", "values": [ACTION_HEADER, *rows]},
        ],
    }


def test_check_stops_listing_at_1000_messages_and_says_how_many_more():
    rows = [[f"A{i}", "o", "t", "Do it", "", "31/11/17", "", "Greenish", ""] for i in range(3000)]
    sub = check_xlwings(_payload(rows))
    assert not sub.accepted
    assert len(sub.messages) == MAX_MESSAGES + 1
    assert all(
        m.level == "error" for m in sub.messages[:MAX_MESSAGES]
    )  # errors first: the reason it was rejected
    assert [m.cell for m in sub.messages[:3]] == ["F2", "H2", "F3"]  # in sheet order, from the top
    last = sub.messages[-1]
    assert (last.level, last.code) == ("error", "too-many-messages")
    assert last.message == (
        "the check stopped listing problems at 1,000; 8,000 more were found and are not "
        "listed. Correct these (often one mistake repeated down a column) and check again to "
        "see the rest."
    )
    assert len(sub.report()["errors"]) == MAX_MESSAGES + 1


def test_check_under_the_limit_lists_everything():
    rows = [[f"A{i}", "o", "t", "Do it", "R Khan", "31/03/2025", "", "Greenish", ""] for i in range(10)]
    sub = check_xlwings(_payload(rows))
    assert [m.code for m in sub.messages] == ["unknown-status"] * 10


# -- a council layout with a typo ---------------------------------------------------------------------------------


def test_cli_validate_skips_a_broken_council_layout_with_a_warning(tmp_path, home):
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    (layouts / "broken.toml").write_text('name = "broken"\n[[tables]\nkind = "actions"\n', encoding="utf-8")
    book = canonical_workbook(tmp_path / "finance.xlsx", actions=[action("F1")])
    p = subprocess.run(
        [sys.executable, "-m", "actionplan", "validate", str(book)],
        capture_output=True,
        text=True,
        env={**os.environ, "ACTIONPLAN_LAYOUTS": str(layouts)},
        timeout=300,
    )
    assert p.returncode == 0, p.stderr
    assert "Accepted: 0 objectives, 1 actions, 0 KPIs." in p.stdout
    assert "Traceback" not in p.stderr
    assert p.stderr.startswith(f"Layout file {layouts / 'broken.toml'} cannot be read: ")
    assert p.stderr.rstrip().endswith(
        "This layout was skipped; the others are in use. Correct the file and "
        "restart the service (the command line reads it again each time)."
    )


# -- the reader's own words never reach users ------------------------------------------------------------------


def test_book_from_xlsx_encrypted_workbook_with_its_directory_at_the_end_is_password_protected():
    # A large encrypted .xlsx: the compound file's directory naming EncryptedPackage sits after the data.
    data = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\0" * 300_000
        + "EncryptedPackage".encode("utf-16-le")
        + b"\0" * 64
    )
    with pytest.raises(UnreadableWorkbook) as caught:
        book_from_xlsx(data, "secret.xlsx")
    assert str(caught.value) == (
        "secret.xlsx is password-protected. Remove the password (File > Info > Protect "
        "Workbook) and submit it again."
    )


def test_book_from_xlsx_workbook_stored_elsewhere_is_named_a_spreadsheet_not_a_zip(tmp_path):
    import io
    import zipfile

    from tests.hostile.corpus import good_bytes

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good_bytes(tmp_path))) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info.filename).replace(b"xl/workbook.xml", b"xl/book.xml")
            dst.writestr(info.filename.replace("workbook.xml", "book.xml"), body)
    with pytest.raises(UnreadableWorkbook) as caught:
        book_from_xlsx(out.getvalue(), "odd.xlsx")
    assert str(caught.value) == (
        "odd.xlsx is a spreadsheet whose parts are not where Excel puts them (its workbook "
        "is stored as xl/book.xml), so it cannot be read here. Open it in Excel, save it "
        "as an Excel Workbook (.xlsx) and submit that."
    )


def test_book_from_xlsx_calamine_failure_is_told_in_plain_words(tmp_path):
    from tests.hostile.corpus import good_bytes, rewrite

    # A merged range calamine cannot parse ("Range is missing the expected column component" in its words).
    data = good_bytes(tmp_path)
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheet = z.read("xl/worksheets/sheet2.xml").decode()
    sheet = sheet.replace(
        "</sheetData>", '</sheetData><mergeCells count="1"><mergeCell ref="A:7"/></mergeCells>'
    )
    sub = check_workbook(rewrite(data, {"xl/worksheets/sheet2.xml": sheet.encode()}), "plan.xlsx")
    assert [(m.code, m.message) for m in sub.errors] == [
        (
            "damaged-file",
            "plan.xlsx is a damaged workbook (parts of it are not as Excel writes them), so it was not "
            "read. If Excel opens it, save it again as a new .xlsx (File > Save As) and submit that; if not, submit an "
            "earlier copy.",
        )
    ]


# -- the council's rollup: admin only until published -----------------------------------------------------------

EQ = "=Cabinet Office"  # a department name that Excel would take for a formula


@pytest.fixture(scope="module")
def council(tmp_path_factory):
    """A council (default settings: the rollup is not published to departments) with two departments' plans in."""
    home = tmp_path_factory.mktemp("unpublished") / "home"
    books = tmp_path_factory.mktemp("unpublished-books")
    with LiveServer(home) as server:
        server.keys = {
            "eq": server.token(EQ)[1],
            "legal": server.token("Legal")[1],
            "admin": server.token(admin=True)[1],
        }
        for who, dept, ref in (("eq", EQ, "C1"), ("legal", "Legal", "L1")):
            payload = xlwings_payload(
                canonical_workbook(
                    books / f"{who}.xlsx",
                    "placeholder",
                    [action(ref, status="R", update="Behind"), action(f"{ref}b")],
                )
            )
            payload["sheets"][0]["values"][0][1] = dept  # typed in Excel as text, whatever it starts with
            r = post_json(server, "/xlwings/submit", payload, server.keys[who])
            assert "Accepted" in json.dumps(r.json()), r.text
        _load_and_publish(server)
        yield server


def test_rollup_download_is_admin_only_by_default(council):
    r = council.client.get("/rollup/latest.xlsx", headers={"Authorization": council.keys["legal"]})
    assert r.status_code == 403
    assert r.json() == {
        "detail": "The full council rollup goes to corporate performance until the committee has "
        "seen it. Press Get council rollup in the actionplan pane for the council summary "
        "and your department's own rows."
    }
    r = council.client.get("/rollup/latest.xlsx", headers={"Authorization": council.keys["admin"]})
    assert r.status_code == 200 and r.content[:2] == b"PK"
    status = {
        who: council.client.get("/api/status", headers={"Authorization": council.keys[who]}).json()
        for who in ("legal", "admin")
    }
    assert [(s["rollup_published"], s["rollup_download_allowed"]) for s in status.values()] == [
        (True, False),
        (True, True),
    ]


def test_xlwings_rollup_gives_a_department_the_summary_and_only_its_own_rows(council, tmp_path):
    payload = xlwings_payload(canonical_workbook(tmp_path / "mine.xlsx", "Legal", [action("L9")]))
    excel = FakeExcel(payload).apply(
        actions_of(post_json(council, "/xlwings/rollup", payload, council.keys["legal"]))
    )
    assert [r[0] for r in excel.sheet("Council summary")[3:]] == [EQ, "Legal", "Council total"]
    exceptions = excel.sheet("Council exceptions")
    assert exceptions[0][0] == "Legal's exceptions, 2024/25 Q2: red, overdue, or amber/red with no update"
    assert {r[0] for r in exceptions[3:]} == {"Legal"}
    assert {r[0] for r in excel.sheet("Our actions")[3:]} == {"Legal"}

    admin = FakeExcel(payload).apply(
        actions_of(post_json(council, "/xlwings/rollup", payload, council.keys["admin"]))
    )
    assert {r[0] for r in admin.sheet("Council exceptions")[3:]} == {EQ, "Legal"}


def test_xlwings_rollup_title_from_a_department_starting_with_equals_is_sent_as_text(council, tmp_path):
    payload = xlwings_payload(canonical_workbook(tmp_path / "eq.xlsx", "placeholder", [action("C9")]))
    actions = actions_of(post_json(council, "/xlwings/rollup", payload, council.keys["eq"]))
    titles = [
        a["values"][0][0]
        for a in actions
        if a["func"] == "setValues" and a["start_row"] == 0 and a["start_column"] == 0
    ]
    assert f"'{EQ}'s actions, {PERIOD}" in titles  # the apostrophe keeps it text in Excel
    assert not any(isinstance(t, str) and t.startswith("=") for t in titles)


def test_check_workbook_reads_a_package_with_its_workbook_at_the_root(tmp_path):
    from tests.hostile import corpus

    sub = check_workbook(corpus.at_package_root(tmp_path), "minimal.xlsx")
    assert sub.accepted and sub.counts()["actions"] == 3, sub.messages


def test_check_workbook_reads_backslash_part_names_and_still_counts_their_rows(tmp_path):
    from tests.hostile import corpus

    sub = check_workbook(corpus.backslash_names(corpus.good_bytes(tmp_path)), "windows.xlsx")
    assert sub.accepted and sub.counts()["actions"] == 3, sub.messages
    far = check_workbook(corpus.backslash_names(corpus.far_row(tmp_path, 200_000)), "windows.xlsx")
    assert [m.code for m in far.errors] == ["too-many-rows"]  # the row limit is not bypassed by the slashes


def test_book_from_xlsx_ods_is_named_for_what_it_is():
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", "<office:document-content/>")
    with pytest.raises(UnreadableWorkbook) as caught:
        book_from_xlsx(buf.getvalue(), "plan.ods")
    assert str(caught.value) == (
        "plan.ods is an OpenDocument spreadsheet (.ods). Open it in Excel or LibreOffice, "
        "save it as an Excel Workbook (.xlsx) and submit that."
    )


def test_check_workbook_damage_in_the_workbooks_relationships_names_the_part(tmp_path):
    from tests.hostile import corpus

    data = corpus._patched(corpus.good_bytes(tmp_path), "xl/_rels/workbook.xml.rels", 14, 16, b"\0\0\0\0")
    sub = check_workbook(data, "plan.xlsx")
    assert [m.message for m in sub.errors] == [
        "plan.xlsx is a damaged workbook (part xl/_rels/workbook.xml.rels: its stored checksum does not match its "
        "contents), so it was not read. If Excel opens it, save it again as a new .xlsx (File > Save As) and submit "
        "that; if not, submit an earlier copy."
    ]
