"""The add-in's Office.js client run unchanged in Node (js/harness.js over js/officejs.js) against a live service.

Each test is what a department's officer does in Excel: sign in in the task pane, press Check, Submit or Get
council rollup on the ribbon, move a sheet, protect one. The imitation of Excel is strict where Excel is (see
js/officejs.js), so a client that works here has been through the same rules Excel applies.
"""

from __future__ import annotations

import json

import pytest

from tests.addin.excel import Excel, blank_sheet, report_rows, state_from_xlsx
from tests.conftest import action, canonical_workbook
from tests.test_service import council, published_council  # noqa: F401  (the loaded council service)

COUNCIL_SHEETS = ["Council summary", "Council exceptions", "Our actions"]


@pytest.fixture
def finance(published_council, tmp_path):  # noqa: F811
    """Finance's officer with their plan open in Excel and their key saved in the task pane."""
    book = canonical_workbook(
        tmp_path / "finance.xlsx",
        actions=[action("F1", due="31/11/24", status="Greenish"), action("F2", lead=None)],
    )
    excel = Excel(state_from_xlsx(book), published_council.url, tmp_path)
    excel.sign_in(published_council.keys["finance"])
    return excel


def test_client_rollup_check_rollup_keeps_one_report_and_the_council_sheets(finance):
    assert finance.press("getRollup")[0].startswith("Council rollup for 2024/25 Q2 written to the sheets")
    assert finance.names() == ["Plan", "Actions", *COUNCIL_SHEETS]
    assert finance.press("checkPlan") == [
        "Check found 2 errors and 1 warning. Fix the cells coloured red (listed on the 'Submission report' sheet), "
        "then press Submit. Nothing was stored."
    ]
    assert finance.press("getRollup")[0].startswith("Council rollup for 2024/25 Q2 written to the sheets")
    assert finance.names() == ["Plan", "Actions", *COUNCIL_SHEETS, "Submission report"]
    finance.move("Submission report", 2)
    finance.press("checkPlan")
    assert finance.names() == ["Plan", "Actions", "Submission report", *COUNCIL_SHEETS]
    assert finance.values("Council summary")[0][0].startswith(
        "Council summary, 2024/25 Q2 (from the warehouse at "
    )
    assert [r[1] for r in report_rows(finance)][:2] == ["F2", "H2"]


@pytest.fixture
def service(published_council):  # noqa: F811
    return published_council


def _excel(service, tmp_path, book, key=None, **kw) -> Excel:
    excel = Excel(state_from_xlsx(book), kw.pop("base", service.url), tmp_path, **kw)
    excel.sign_in(key or service.keys["finance"])
    return excel


def test_client_colour_only_rag_is_read_from_the_fills_excel_sends(service, tmp_path):
    from tests.familiar import familiar_workbook, plan_for

    book = familiar_workbook(plan_for("colour_rag"), tmp_path / "asc.xlsx")
    excel = _excel(service, tmp_path, book, service.token("Adult Social Services")[1])
    plan = blank_sheet("p1", "Plan") | {"values": [["Period", "2024/25 Q2"]]}  # the workbook does not say it
    excel.state["sheets"].insert(0, plan)
    excel.press("checkPlan")
    posts = [r["url"].removeprefix(service.url) for r in excel.last["requests"] if r["method"] == "POST"]
    assert posts == ["/xlwings/check", "/xlwings/check"]  # values first; the layout reads colours, so again
    rows = report_rows(excel)
    assert not [r for r in rows if "Status cells" in r[3]], rows
    assert excel.values("Submission report")[0][0].startswith("Check passed"), rows
    assert not [r for r in rows if r[3].startswith("Error")]


def test_client_department_fills_survive_two_checks_and_marks_come_off(finance):
    actions = finance.sheet("Actions")
    actions["fills"] = {
        "1,7": "#92D050",
        "2,4": "#FFFF00",
        "0,0": "#1F4E78",
    }  # their own colours, H2 among them
    finance.press("checkPlan")
    finance.press("checkPlan")
    actions = finance.sheet("Actions")
    assert actions["fills"] == {"1,7": "#92D050", "2,4": "#FFFF00", "0,0": "#1F4E78"}
    marks = sorted((m["range"], m["color"]) for m in actions["marks"])
    assert marks == [("E3:E3", "#FFEB9C"), ("F2:F2", "#FFC7CE"), ("H2:H2", "#FFC7CE")]
    assert all(m["formula"] == '="actionplan"="actionplan"' for m in actions["marks"])
    # Fixed, and the report sheet deleted: the next check still takes the marks off, and leaves the fills alone.
    finance.state["sheets"].remove(finance.sheet("Submission report"))
    values = actions["values"]
    values[1][5], values[1][7], values[2][4] = 45747, "G", "Khan, R"
    actions["formats"]["1,5"] = "dd/mm/yyyy"
    assert finance.press("checkPlan") == [
        "Check passed. Nothing was submitted yet: press Submit when you are ready."
    ]
    assert finance.sheet("Actions")["marks"] == []
    assert finance.sheet("Actions")["fills"] == {"1,7": "#92D050", "2,4": "#FFFF00", "0,0": "#1F4E78"}


def test_client_report_sheet_links_each_cell_and_is_frozen_filtered_wrapped(finance):
    finance.press("checkPlan")
    report = finance.sheet("Submission report")
    top = next(i for i, r in enumerate(report["values"]) if r[:2] == ["Sheet", "Cell"])
    assert report["frozenRows"] == top + 1
    assert report["autoFilter"] == f"A{top + 1}:D{top + 4}"
    assert report["links"] == {
        f"{top + 1},1": "'Actions'!F2",
        f"{top + 2},1": "'Actions'!H2",
        f"{top + 3},1": "'Actions'!E3",
    }
    assert report["wrap"][f"{top + 1},3"] and report["fills"][f"{top + 1},0"] == "#FFC7CE"


def test_client_protected_sheet_gets_a_plain_message_and_nothing_changes(finance):
    finance.sheet("Actions")["protected"] = True
    before = finance.names()
    assert finance.press("checkPlan") == [
        "The sheet 'Actions' is protected, so actionplan cannot write its report there: nothing was changed. "
        "Unprotect it (Review > Unprotect Sheet), then try again."
    ]
    assert finance.names() == before


def test_client_submit_asks_first_and_cancel_submits_nothing(finance, service):
    pending = len(service.pending())
    finance.sheet("Actions")["values"][1][5:8] = [45747, "", "G"]
    finance.sheet("Actions")["values"][2][4] = "Khan, R"
    assert finance.press("submitPlan", dialogAnswer="cancel") == ["Submit Finance's plan for 2024/25 Q2?"]
    assert len(service.pending()) == pending and "Submission report" not in finance.names()
    texts = finance.press("submitPlan")
    assert texts[0] == "Submit Finance's plan for 2024/25 Q2?"
    assert texts[1].startswith("Accepted. Stored for the council rollup (2 actions, 0 objectives, 0 KPIs).")
    assert len(service.pending()) == pending + 1


def test_client_reads_and_writes_a_50000_row_sheet_in_blocks(service, tmp_path):
    rows = [
        action(f"F{i}", due="31/03/2025", status="G" if i % 1000 else "Greenish") for i in range(1, 50_001)
    ]
    excel = _excel(service, tmp_path, canonical_workbook(tmp_path / "big.xlsx", actions=rows))
    assert excel.press("checkPlan") == [
        "Check found 50 errors. Fix the cells coloured red (listed on the 'Submission report' sheet), then press "
        "Submit. Nothing was stored."
    ]
    assert excel.last["stats"]["syncs"] > 25  # 450,000 cells cannot go in one request to Excel
    assert len(report_rows(excel)) == 50
    assert len(excel.sheet("Actions")["marks"]) == 50


def test_client_works_under_a_service_path_prefix(service, tmp_path):
    from tests.addin.excel import Proxy

    with Proxy(service.url) as proxy:
        book = canonical_workbook(tmp_path / "f.xlsx", actions=[action("F1")])
        excel = _excel(service, tmp_path, book, base=proxy.url)
        assert excel.last["texts"]["who"] == "Signed in for Finance."
        assert excel.press("checkPlan") == [
            "Check passed. Nothing was submitted yet: press Submit when you are ready."
        ]
        assert {r["url"].split("/actionplan")[0] for r in excel.last["requests"]} == {
            proxy.url.removesuffix("/actionplan")
        }
        assert all(
            d["url"].startswith(proxy.url + "/static/alert.html?") and d["status"] == 200
            for d in excel.last["dialogs"]
        )


def test_client_revoked_key_says_so(service, tmp_path):
    from actionplan.excel_addin.tokens import TokenStore

    kid, key = service.token("Finance")
    excel = _excel(service, tmp_path, canonical_workbook(tmp_path / "f.xlsx", actions=[action("F1")]), key)
    TokenStore.for_home(service.settings.home_path).revoke(kid)
    assert excel.press("checkPlan") == [
        "This access key has been revoked. Ask corporate performance for a new one."
    ]
    excel.sign_in(service.keys["finance"][:-4] + "abcd")
    assert excel.last["texts"]["who"].startswith("This access key is not recognised.")


def test_client_service_down_or_silent_says_so(service, tmp_path):
    from tests.addin.excel import Proxy

    with Proxy(service.url) as proxy:
        excel = _excel(
            service, tmp_path, canonical_workbook(tmp_path / "f.xlsx", actions=[action("F1")]), base=proxy.url
        )
        excel.press("checkPlan")  # Office now has the add-in's files
        proxy.hang = True
        assert excel.press("checkPlan", fastClock=True)[0] == (
            "The actionplan service did not answer within 180 seconds. Try again in a few minutes; if it keeps "
            "happening, tell corporate performance."
        )
    # The service gone: the pane (already open) says so. A ribbon button's dialog page would not load either.
    out = excel.run("taskpane.html", offline=True, pane=[{"type": "click", "path": "/xlwings/check"}])
    assert out["texts"]["result"] == (
        "The actionplan service could not be reached. Check your network connection and try again."
    )


def test_client_refuses_an_answer_it_cannot_apply_whole(service, tmp_path):
    from tests.addin.excel import Proxy

    with Proxy(service.url) as proxy:
        excel = _excel(
            service, tmp_path, canonical_workbook(tmp_path / "f.xlsx", actions=[action("F1")]), base=proxy.url
        )
        before = json.dumps(excel.state)
        proxy.answers["/xlwings/check"] = {
            "actions": [
                {
                    "func": "addSheet",
                    "args": [2, "Submission report"],
                    "values": None,
                    "sheet_position": None,
                    "start_row": None,
                    "start_column": None,
                    "row_count": None,
                    "column_count": None,
                },
                {
                    "func": "setPicture",
                    "args": [],
                    "values": None,
                    "sheet_position": 2,
                    "start_row": 0,
                    "start_column": 0,
                    "row_count": 1,
                    "column_count": 1,
                },
            ]
        }
        assert excel.press("checkPlan") == [
            "The actionplan service answered with something this add-in cannot do (setPicture), so nothing was "
            "changed. Close and reopen the actionplan pane to load the current add-in, then try again."
        ]
        assert json.dumps(excel.state) == before


def test_client_in_an_old_excel_says_which_excel_it_needs(service, tmp_path):
    excel = Excel(
        state_from_xlsx(canonical_workbook(tmp_path / "f.xlsx", actions=[action("F1")])),
        service.url,
        tmp_path,
        api="1.7",
    )
    old = (
        "This version of Excel is too old for the actionplan add-in. It needs Excel for Microsoft 365, Excel "
        "2021 or later, or Excel on the web (Excel JavaScript API 1.12). Ask IT to update Office, or upload the "
        "workbook on the actionplan web page instead."
    )
    assert excel.sign_in(service.keys["finance"])["texts"]["who"] == old
    assert excel.press("checkPlan") == [old]


def test_client_keeps_the_key_under_offices_partition_key(service, tmp_path):
    excel = Excel(
        state_from_xlsx(canonical_workbook(tmp_path / "f.xlsx", actions=[action("F1")])),
        service.url,
        tmp_path,
        partition_key="https://host/abc/",
    )
    excel.sign_in(service.keys["finance"])
    assert list(excel.storage) == ["https://host/abc/actionplan.accessKey"]
    excel.run("taskpane.html", pane=[{"type": "forget"}])
    assert excel.storage == {}
    assert excel.last["texts"]["who"] == "Not signed in: type your access key below."


def test_client_pane_check_and_status(finance):
    out = finance.run("taskpane.html", pane=[{"type": "click", "path": "/xlwings/check"}])
    assert out["texts"]["result"] == (
        "Check found 2 errors and 1 warning. Fix the cells coloured red (listed on "
        "the 'Submission report' sheet), then press Submit. Nothing was stored."
    )
    assert out["texts"]["mine-department"] == "Finance"


def test_client_type_checks_against_office_js():
    import os
    import subprocess

    from tests.addin.excel import JS, node

    tsc = JS / "node_modules" / "typescript" / "bin" / "tsc"
    if not tsc.exists():
        if os.environ.get("CI"):
            pytest.fail("TypeScript is not installed: `make test` runs npm ci in tests/addin/js")
        pytest.skip("TypeScript is not installed: run `make js` (npm ci in tests/addin/js)")
    done = subprocess.run(
        [node(), str(tsc), "-p", str(JS / "tsconfig.json")], capture_output=True, text=True, timeout=300
    )
    assert (done.returncode, done.stdout) == (0, ""), done.stdout


def test_client_writes_a_50000_row_answer_in_blocks(service, tmp_path):
    from tests.addin.excel import Proxy

    rows = [
        [f"'Action {i}", "'Finance", 45747 + i % 300, "'G", f"'Update for action {i}, on track"]
        for i in range(50_000)
    ]
    nothing = {
        "values": None,
        "start_row": None,
        "start_column": None,
        "row_count": None,
        "column_count": None,
    }
    with Proxy(service.url) as proxy:
        excel = _excel(
            service,
            tmp_path,
            canonical_workbook(tmp_path / "f.xlsx", actions=[action("F1")]),
            base=proxy.url,
            key=service.keys["admin"],
        )
        proxy.answers["/xlwings/rollup"] = {
            "actions": [
                {"func": "addSheet", "args": [2, "Council actions"], "sheet_position": None, **nothing},
                {
                    "func": "setValues",
                    "args": [],
                    "values": rows,
                    "sheet_position": 2,
                    "start_row": 3,
                    "start_column": 0,
                    "row_count": 50_000,
                    "column_count": 5,
                },
                {
                    "func": "setNumberFormat",
                    "args": ["dd/mm/yyyy"],
                    "values": None,
                    "sheet_position": 2,
                    "start_row": 3,
                    "start_column": 2,
                    "row_count": 50_000,
                    "column_count": 1,
                },
                {"func": "alert", "args": ["Written."], "sheet_position": None, **nothing},
            ]
        }
        assert excel.press("getRollup") == ["Written."]
    sheet = excel.sheet("Council actions")
    assert len(sheet["values"]) == 50_003 and sheet["values"][-1][0] == "Action 49999"
    assert sheet["formats"]["50002,2"] == "dd/mm/yyyy"
    assert excel.last["stats"]["syncs"] > 15  # 250,000 cells cannot go in one request to Excel
