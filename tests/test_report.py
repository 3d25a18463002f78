"""The committee report read back with python-docx and checked against the rollup workbook written from the same facts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import docx
import openpyxl
import pytest
from docx.table import Table
from docx.text.paragraph import Paragraph

from actionplan.check import check_workbook
from actionplan.report import (
    EXCEPTIONS_HEADING,
    HOW_TO_READ_HEADING,
    KPI_HEADER,
    MILESTONE_HEADER,
    OBJECTIVE_HEADER,
    SUMMARY_HEADER,
    ReportTemplateUnusable,
    UnknownDepartment,
    reason_in_words,
    write_report,
)
from actionplan.rollup_writer import write_rollup
from actionplan.sample import write_council
from actionplan.warehouse import open_warehouse
from actionplan.warehouse.consolidate import facts_from_warehouse, report_from_warehouse
from actionplan.warehouse.inbox import Inbox
from actionplan.warehouse.load import load_inbox
from tests.conftest import action, canonical_workbook

PERIODS = ("2024/25 Q1", "2024/25 Q2")
GENERATED_AT = dt.datetime(2024, 10, 20, 9, 30)


# -- reading a report back ------------------------------------------------------------------------------------------


def _blocks(path: Path) -> list[tuple[str | None, Paragraph | Table]]:
    """Every paragraph and table of the body in order, each with the Heading 1 it sits under."""
    section, out = None, []
    for block in docx.Document(str(path)).iter_inner_content():
        if isinstance(block, Paragraph) and block.style.name == "Heading 1":
            section = block.text
        out.append((section, block))
    return out


def _rows(table: Table) -> list[list[str]]:
    return [[c.text for c in row.cells] for row in table.rows]


def _tables(path: Path, header: tuple[str, ...]) -> list[tuple[str | None, list[list[str]]]]:
    """The tables with this header row, each as (its Heading 1, its rows without the header)."""
    found = []
    for section, block in _blocks(path):
        if isinstance(block, Table):
            rows = _rows(block)
            if tuple(rows[0]) == header:
                found.append((section, rows[1:]))
    return found


def _headings(path: Path, level: int) -> list[tuple[str | None, str]]:
    return [
        (section, b.text)
        for section, b in _blocks(path)
        if isinstance(b, Paragraph) and b.style.name == f"Heading {level}"
    ]


def _paragraphs(path: Path) -> list[str]:
    return [b.text for _, b in _blocks(path) if isinstance(b, Paragraph)]


def _sheet_rows(rollup: Path, sheet: str) -> list[tuple]:
    wb = openpyxl.load_workbook(rollup, read_only=True)
    return [r for r in wb[sheet].iter_rows(values_only=True)]


def _table_at(rows: list[tuple], first: str) -> list[tuple]:
    """The rows of a sheet's table whose header starts with first, up to the first blank row."""
    start = next(i for i, r in enumerate(rows) if r and r[0] == first)
    out = []
    for r in rows[start + 1 :]:
        if not r or r[0] is None:
            break
        out.append(r)
    return out


def _number(value) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def _check_against_rollup(report: Path, rollup: Path) -> None:
    """Every count of the report equals the rollup's; every objective appears once, every milestone once."""
    summary = _table_at(_sheet_rows(rollup, "Summary"), "Department")
    ((_, by_department),) = _tables(report, SUMMARY_HEADER)
    assert [r[:7] for r in by_department] == [[str(v) for v in r[:7]] for r in summary]
    assert [r[7:] for r in by_department] == [[f"{r[7]:.0%}", f"{r[8]:.0%}"] for r in summary]
    total = summary[-1]
    text = "\n".join(_paragraphs(report))
    assert f"Total number of actions and milestones = {total[6]}; breakdown by RAGB status:" in text
    ragb = _tables(report, ("Blue", "Green", "Amber", "Red", "Not rated", "Total"))
    assert ragb[1][1] == [[str(v) for v in total[1:7]]]

    objectives_sheet = _sheet_rows(rollup, "Objectives")
    objective_counts = _table_at(objectives_sheet, "Department")
    assert f"Total number of objectives = {objective_counts[-1][6]}; breakdown by RAGB status:" in text
    assert ragb[0][1] == [[str(v) for v in objective_counts[-1][1:7]]]
    listed = [r for r in _table_at(objectives_sheet[len(objective_counts) + 1 :], "Department")]
    headings = _headings(report, 2)
    for r in listed:
        title = f"{r[1]} {r[2]}"
        assert headings.count((r[0], title)) == 1, title
    assert len(_tables(report, OBJECTIVE_HEADER)) == len(listed)

    # Every action of the Actions sheet is one milestone row under its own department, with its status letter.
    actions = _sheet_rows(rollup, "Actions")
    milestones = [(section, r[0], r[4]) for section, rows in _tables(report, MILESTONE_HEADER) for r in rows]
    wanted = [(r[0], str(r[1]), r[8]) for r in actions[1:] if r[0]]
    assert sorted(milestones) == sorted(wanted)
    for dept, *counts in summary[:-1]:
        assert sum(1 for m in milestones if m[0] == dept) == counts[5]

    # The KPI tables: each KPI once under its department, with the performance symbol of the KPIs sheet.
    kpis = _table_at(_sheet_rows(rollup, "KPIs"), "Department")
    symbols = {"better": "★", "within": "●", "worse": "▲", "no data": "–", "not due": "○", "data only": "·"}
    shown = sorted((section, r[0], r[1], r[5]) for section, rows in _tables(report, KPI_HEADER) for r in rows)
    assert shown == sorted((r[0], str(r[1]), r[2], symbols[r[9]]) for r in kpis)


# -- the demo --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    home = tmp_path_factory.mktemp("demo") / "home"
    env = {**os.environ, "ACTIONPLAN_HOME": str(home)}
    env.pop("ACTIONPLAN_REPORT_TEMPLATE", None)
    p = subprocess.run(
        [sys.executable, "-m", "actionplan", "demo"], capture_output=True, text=True, env=env, timeout=900
    )
    assert p.returncode == 0, p.stderr
    return home, env, p.stdout


def test_report_demo_prints_the_committee_report_path(demo):
    home, _, stdout = demo
    assert f"Committee report: {home / 'rollups' / 'report-2024-25-Q2.docx'}\n" in stdout
    assert (home / "rollups" / "report-2024-25-Q2.docx").exists()


def test_report_demo_counts_equal_the_rollup(demo):
    home, _, _ = demo
    _check_against_rollup(
        home / "rollups" / "report-2024-25-Q2.docx", home / "rollups" / "rollup-2024-25-Q2.xlsx"
    )


def test_report_demo_order_summary_exceptions_departments_how_to_read(demo):
    home, _, _ = demo
    report = home / "rollups" / "report-2024-25-Q2.docx"
    sections = [text for _, text in _headings(report, 1)]
    assert sections == [
        "Summary",
        EXCEPTIONS_HEADING,
        "Adult Social Services",
        "Chief Executive's Department",
        "Children's Services",
        "Finance",
        "Legal, HR & Property",
        "Print Section",
        "Regeneration & Environment",
        "Registrars",
        HOW_TO_READ_HEADING,
    ]
    text = _paragraphs(report)
    assert "Departments reporting: 8 of 9." in text
    assert "Departments missing: Housing & Communities." in text
    assert re.search(
        r"^Change from last period \(2024/25 Q1\): [+-]\d+ points complete \(\d+% → 28%\)",
        "\n".join(text),
        re.M,
    )
    # The exceptions are the rollup's Exceptions sheet, each once, under the department's heading.
    exceptions = _sheet_rows(home / "rollups" / "rollup-2024-25-Q2.xlsx", "Exceptions")[1:]
    listed = [
        r
        for r in _blocks(report)
        if isinstance(r[1], Table) and _rows(r[1])[0][0:2] == ["Ref", "Action and lead officer"]
    ]
    assert all(section == EXCEPTIONS_HEADING for section, _ in listed)
    assert sum(len(t.rows) - 1 for _, t in listed) == len([r for r in exceptions if r[0]])


def test_report_demo_page_breaks_before_each_department(demo):
    home, _, _ = demo
    body = docx.Document(str(home / "rollups" / "report-2024-25-Q2.docx")).element.body
    children = list(body)
    for index, child in enumerate(children):
        if (
            child.tag.endswith("}p")
            and child.xpath("string(.//w:pStyle/@w:val)") == "Heading1"
            and child.xpath("string(.)") != "Summary"
        ):
            before = children[index - 1]
            assert before.xpath('.//w:br[@w:type="page"]'), child.xpath("string(.)")


def test_report_cli_department_report_holds_only_that_department(demo, tmp_path):
    home, env, _ = demo
    out = tmp_path / "finance.docx"
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "actionplan",
            "report",
            "--period",
            "2024/25 Q2",
            "--department",
            "finance",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout == f"Report written: {out}\n"
    assert [t for _, t in _headings(out, 1)] == [
        "Summary",
        EXCEPTIONS_HEADING,
        "Finance",
        HOW_TO_READ_HEADING,
    ]
    summary = {
        r[0]: r
        for r in _table_at(_sheet_rows(home / "rollups" / "rollup-2024-25-Q2.xlsx", "Summary"), "Department")
    }
    finance = summary["Finance"]
    assert "Total number of actions and milestones = 83; breakdown by RAGB status:" in _paragraphs(out)
    assert _tables(out, ("Blue", "Green", "Amber", "Red", "Not rated", "Total"))[1][1] == [
        [str(v) for v in finance[1:7]]
    ]
    assert len([1 for _, rows in _tables(out, MILESTONE_HEADER) for _ in rows]) == finance[6]


@pytest.mark.parametrize(
    ("department", "message"),
    [
        (
            "Housing & Communities",
            "actionplan: Housing & Communities has not submitted a plan for 2024/25 Q2, so it "
            "has no report yet.\n",
        ),
        (
            "Planning",
            "actionplan: No department called 'Planning' submitted a plan for 2024/25 Q2. Departments that "
            "did: Adult Social Services, Chief Executive's Department, Children's Services, Finance, Legal, HR "
            "& Property, Print Section, Regeneration & Environment, Registrars.\n",
        ),
    ],
)
def test_report_cli_department_not_on_record(demo, tmp_path, department, message):
    _, env, _ = demo
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "actionplan",
            "report",
            "--period",
            "2024/25 Q2",
            "--department",
            department,
            "--out",
            str(tmp_path / "x.docx"),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert (p.returncode, p.stdout, p.stderr) == (2, "", message)
    assert not (tmp_path / "x.docx").exists()


def test_report_cli_pdf_is_a4_and_readable(demo, tmp_path):
    if shutil.which("soffice") is None or shutil.which("pdftoppm") is None:
        pytest.skip("LibreOffice and poppler-utils print and render the PDF")
    _, env, _ = demo
    out = tmp_path / "print.docx"
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "actionplan",
            "report",
            "--period",
            "2024/25 Q2",
            "--department",
            "Print Section",
            "--out",
            str(out),
            "--pdf",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout == f"Report written: {out}\nPDF written: {out.with_suffix('.pdf')}\n"
    info = subprocess.run(["pdfinfo", str(out.with_suffix(".pdf"))], capture_output=True, text=True).stdout
    assert re.search(r"Page size:\s+595\.\d+ x 841\.\d+ pts \(A4\)", info)
    text = subprocess.run(
        ["pdftotext", "-layout", str(out.with_suffix(".pdf")), "-"], capture_output=True, text=True
    ).stdout
    for words in (
        "Council performance report",
        EXCEPTIONS_HEADING,
        "Key performance indicators — Print Section",
        "★ better than the target range",
    ):
        assert words in text
    subprocess.run(
        ["pdftoppm", "-r", "40", "-png", "-singlefile", str(out.with_suffix(".pdf")), str(tmp_path / "page")],
        check=True,
    )
    assert (tmp_path / "page.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -- generated councils ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("seed", "departments", "actions_total"), [(7, 3, 90), (19, 5, 260)])
def test_report_generated_council_counts_equal_the_rollup(tmp_path, seed, departments, actions_total):
    inbox = Inbox(tmp_path / "inbox", tmp_path / "archive")
    written = write_council(
        tmp_path / "plans", periods=PERIODS, departments=departments, actions_total=actions_total, seed=seed
    )
    for period in PERIODS:
        for path in written[period]:
            data = path.read_bytes()
            assert inbox.submit(check_workbook(data, path.name), data, submitted_by="officer")["accepted"]
    wh = open_warehouse(str(tmp_path / "warehouse.duckdb"))
    try:
        load_inbox(inbox, wh)
        facts = facts_from_warehouse(wh, "2024/25 Q2", generated_at=GENERATED_AT)
        write_rollup(facts, tmp_path / "rollup.xlsx")
        report_from_warehouse(wh, "2024/25 Q2", tmp_path / "report.docx")
    finally:
        wh.close()
    _check_against_rollup(tmp_path / "report.docx", tmp_path / "rollup.xlsx")


# -- hostile text, templates, reasons ---------------------------------------------------------------------------------


@pytest.fixture
def awkward_facts(tmp_path):
    """Finance's plan with text a Word document could misread: a formula, a field, markup."""
    rows = [
        action("F1", text="=SUM(A1:A9) {PAGE} tab", status="R", update='=HYPERLINK("x")'),
        action("F2", text="Café & 'quotes' <b>bold</b>", status="B", update="Done"),
        action("F3", objective="", theme="", status="-", update=None),
    ]
    path = canonical_workbook(
        tmp_path / "finance.xlsx",
        "Finance",
        rows,
        objectives=[
            [
                "Balanced budget",
                "Balanced budget",
                "Money",
                "Finance team",
                "R Khan",
                "Amber",
                "Savings plan agreed",
            ]
        ],
    )
    data = path.read_bytes()
    sub = check_workbook(data, path.name)
    assert sub.accepted, sub.errors
    inbox = Inbox(tmp_path / "inbox", tmp_path / "archive")
    inbox.submit(sub, data, submitted_by="officer")
    wh = open_warehouse(str(tmp_path / "warehouse.duckdb"))
    load_inbox(inbox, wh)
    yield facts_from_warehouse(wh, "2024/25 Q2", generated_at=GENERATED_AT)
    wh.close()


def test_report_department_text_stays_text(awkward_facts, tmp_path):
    # Control characters XML cannot hold, as an xlwings book (JSON) can carry them.
    actions = awkward_facts.actions.copy()
    actions.loc[actions["Ref"] == "F1", "Action"] = "=SUM(A1:A9) {PAGE} \x0bvertical tab"
    objectives = awkward_facts.objectives.assign(Commentary=["Savings\x0cplan agreed\x07"])
    out = write_report(
        dataclasses.replace(awkward_facts, actions=actions, objectives=objectives), tmp_path / "r.docx"
    )
    milestones = [r for _, rows in _tables(out, MILESTONE_HEADER) for r in rows]
    assert [(r[0], r[1], r[4], r[5]) for r in milestones] == [
        ("F1", "=SUM(A1:A9) {PAGE} vertical tab\nLead: Patel, Anita", "R", '=HYPERLINK("x")'),
        ("F2", "Café & 'quotes' bold\nLead: Patel, Anita", "B", ""),
        ("F3", "Close the accounts\nLead: Patel, Anita", "–", ""),
    ]
    assert "Savingsplan agreed" in _paragraphs(out)
    with zipfile.ZipFile(out) as z:
        body = z.read("word/document.xml").decode()
        footer = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("word/footer"))
    # The only field in the document is the footer's page number; department text never becomes one.
    assert "fldChar" not in body and "instrText" not in body and "fldSimple" not in body
    assert footer.count("<w:instrText") == 1 and " PAGE " in footer


def test_report_actions_without_an_objective_are_grouped_by_theme(awkward_facts, tmp_path):
    out = write_report(awkward_facts, tmp_path / "r.docx")
    assert [t for s, t in _headings(out, 2) if s == "Finance"] == [
        "Balanced budget Balanced budget",
        "Actions not linked to an objective",
        "Key performance indicators — Finance",
    ]


def test_report_template_keeps_the_councils_header_and_styles(awkward_facts, tmp_path):
    template = docx.Document()
    template.sections[0].header.paragraphs[0].text = "Eastmere & Vale District Council — OFFICIAL"
    template.styles["Heading 1"].font.name = "Arial"
    template.add_paragraph("Delete me: the template's sample text")
    template.save(tmp_path / "council.docx")
    out = write_report(awkward_facts, tmp_path / "r.docx", template=tmp_path / "council.docx")
    document = docx.Document(str(out))
    assert document.sections[0].header.paragraphs[0].text == "Eastmere & Vale District Council — OFFICIAL"
    assert document.styles["Heading 1"].font.name == "Arial"
    assert "Delete me: the template's sample text" not in _paragraphs(out)
    assert _paragraphs(out)[0] == "Council performance report"


def test_report_template_not_a_docx(awkward_facts, tmp_path):
    bad = tmp_path / "council.docx"
    bad.write_text("not a document")
    with pytest.raises(ReportTemplateUnusable) as caught:
        write_report(awkward_facts, tmp_path / "r.docx", template=bad)
    assert str(caught.value) == (
        f"The report template {bad} is not a Word document (.docx) actionplan can open. "
        "Save it from Word as .docx, or leave ACTIONPLAN_REPORT_TEMPLATE empty."
    )
    assert not (tmp_path / "r.docx").exists()


def test_report_unknown_department_names_those_on_record(awkward_facts, tmp_path):
    with pytest.raises(UnknownDepartment) as caught:
        write_report(awkward_facts, tmp_path / "r.docx", department="HR")
    assert str(caught.value) == (
        "No department called 'HR' submitted a plan for 2024/25 Q2. Departments that did: Finance."
    )


@pytest.mark.parametrize(
    ("reason", "due", "words"),
    [
        ("Red", None, "Red: the department reports a problem."),
        (
            "Red, overdue",
            dt.date(2024, 9, 1),
            "Red: the department reports a problem; overdue: due before the period ended (due 01/09/2024) and not "
            "complete.",
        ),
        (
            "no progress update, Red without corrective action",
            None,
            "No progress update was given; no corrective action is described.",
        ),
        ("due date revised 3 times", None, "Due date revised 3 times: the date keeps slipping."),
    ],
)
def test_report_reason_in_words(reason, due, words):
    assert reason_in_words(reason, due) == words


def test_report_cli_no_warehouse(home, tmp_path):
    p = subprocess.run(
        [sys.executable, "-m", "actionplan", "report", "--period", "2024/25 Q2"],
        capture_output=True,
        text=True,
        env={**os.environ},
    )
    assert p.returncode == 2
    assert p.stderr == (
        f"actionplan: No warehouse yet at {home.absolute() / 'warehouse.duckdb'}: submit workbooks "
        "and run `actionplan ingest` first.\n"
    )


def test_report_pdf_without_libreoffice_says_how_to_install(awkward_facts, tmp_path, monkeypatch):
    from actionplan.pdf import PdfUnavailable, pdf_from_report

    out = write_report(awkward_facts, tmp_path / "r.docx")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # a machine without LibreOffice
    with pytest.raises(PdfUnavailable) as caught:
        pdf_from_report(out)
    assert str(caught.value) == (
        "PDF not written: LibreOffice is not installed on this machine (Debian/Ubuntu: "
        "apt-get install libreoffice-writer)."
    )


def test_report_cli_start_up_imports_no_docx_or_matplotlib():
    code = (
        "import sys; from actionplan.cli import build_parser; build_parser(); "
        "print(sorted(m for m in ('docx', 'matplotlib') if m in sys.modules))"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert p.stdout == "[]\n"


def test_report_all_councils_has_each_councils_totals(tmp_path):
    from tests.councils import COUNCILS, queue_councils

    inbox = queue_councils(tmp_path)
    wh = open_warehouse(str(tmp_path / "warehouse.duckdb"))
    try:
        load_inbox(inbox, wh)
        facts = facts_from_warehouse(wh, "2024/25 Q2", council="all", generated_at=GENERATED_AT)
        out = report_from_warehouse(wh, "2024/25 Q2", tmp_path / "all.docx", council="all")
    finally:
        wh.close()
    assert _paragraphs(out)[0] == "All councils performance report"
    ((_, councils),) = _tables(out, ("Council", *SUMMARY_HEADER[1:]))
    assert [r[:7] for r in councils] == [
        [str(v) for v in r[:7]] for r in facts.councils.itertuples(index=False)
    ]
    assert len(councils) == len(COUNCILS) + 1
    ((_, departments),) = _tables(out, SUMMARY_HEADER)
    assert [r[0] for r in departments] == list(facts.summary["Department"])


@pytest.mark.parametrize(
    ("rows", "line"),
    [
        (
            [("Finance", "submitted", None)],
            "Departments late: no deadline is set for this period (actionplan deadline set).",
        ),
        (
            [("Finance", "on time", "submitted 10/10/2024, on time"), ("Legal", "missing", None)],
            "Departments late: none.",
        ),
        (
            [
                ("Finance", "late", "submitted 20/10/2024, 5 days after the deadline"),
                ("Legal", "on time", None),
            ],
            "Departments late: Finance (submitted 20/10/2024, 5 days after the deadline).",
        ),
    ],
)
def test_report_cover_names_the_late_departments_from_the_deadline(rows, line):
    import pandas as pd

    from actionplan.report import _late_line

    frame = pd.DataFrame(rows, columns=["Department", "Status", "Note"])
    assert _late_line(frame) == line
