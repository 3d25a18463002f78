"""The add-in's Office.js client run unchanged in Node (js/harness.js over js/officejs.js) against a live service.

Each test is what a department's officer does in Excel: sign in in the task pane, press Check, Submit or Get
council rollup on the ribbon, move a sheet, protect one. The imitation of Excel is strict where Excel is (see
js/officejs.js), so a client that works here has been through the same rules Excel applies.
"""

from __future__ import annotations

import pytest

from tests.addin.excel import Excel, report_rows, state_from_xlsx
from tests.conftest import action, canonical_workbook
from tests.test_service import council, published_council  # noqa: F401  (the loaded council service)

COUNCIL_SHEETS = ["Council summary", "Council exceptions", "Our actions"]


@pytest.fixture
def finance(published_council, tmp_path):  # noqa: F811
    """Finance's officer with their plan open in Excel and their key saved in the task pane."""
    book = canonical_workbook(tmp_path / "finance.xlsx", actions=[action("F1", due="31/11/24", status="Greenish"),
                                                                  action("F2", lead=None)])
    excel = Excel(state_from_xlsx(book), published_council.url, tmp_path)
    excel.sign_in(published_council.keys["finance"])
    return excel


def test_client_rollup_check_rollup_keeps_one_report_and_the_council_sheets(finance):
    assert finance.press("getRollup")[0].startswith("Council rollup for 2024/25 Q2 written to the sheets")
    assert finance.names() == ["Plan", "Actions", *COUNCIL_SHEETS]
    assert finance.press("checkPlan") == [
        "Check found 2 errors and 1 warning. Fix the cells coloured red (listed on the 'Submission report' sheet), "
        "then press Submit. Nothing was stored."]
    assert finance.press("getRollup")[0].startswith("Council rollup for 2024/25 Q2 written to the sheets")
    assert finance.names() == ["Plan", "Actions", *COUNCIL_SHEETS, "Submission report"]
    finance.move("Submission report", 2)
    finance.press("checkPlan")
    assert finance.names() == ["Plan", "Actions", "Submission report", *COUNCIL_SHEETS]
    assert finance.values("Council summary")[0][0].startswith("Council summary, 2024/25 Q2 (from the warehouse at ")
    assert [r[1] for r in report_rows(finance)][:2] == ["F2", "H2"]
