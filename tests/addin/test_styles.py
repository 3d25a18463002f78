"""Cell fills and bold from the add-in's payload: the service asks for them when the layout reads them."""

from __future__ import annotations

from actionplan.check import check_xlwings
from actionplan.excel_addin import xlbook
from actionplan.sample import xlwings_payload
from actionplan.settings import load_settings
from tests.addin.excel import state_from_xlsx
from tests.conftest import action, canonical_workbook
from tests.familiar import familiar_workbook, plan_for
from tests.test_layouts import expected_rows, rows, submitter


def _with_styles(path):
    """The payload the add-in sends the second time: values, and each sheet's fills and bold cells."""
    payload = xlwings_payload(path)
    for sent, held in zip(payload["sheets"], state_from_xlsx(path)["sheets"], strict=True):
        sent["fills"] = [[*map(int, k.split(",")), colour] for k, colour in held["fills"].items()]
        sent["bold"] = [list(map(int, k.split(","))) for k in held["bold"]]
    return payload


def test_styles_request_only_when_the_layout_reads_them(tmp_path):
    settings = load_settings(environ={"ACTIONPLAN_HOME": str(tmp_path / "home")})
    template = xlwings_payload(canonical_workbook(tmp_path / "t.xlsx", actions=[action("F1")]))
    assert xlbook.styles_request(template, settings) is None  # the template's layout reads neither
    colour = familiar_workbook(plan_for("colour_rag"), tmp_path / "c.xlsx")
    ask = xlbook.styles_request(xlwings_payload(colour), settings)
    assert [(a["func"], a["args"]) for a in ask["actions"]] == [("sendCellStyles", [["Action Plan 2017-18"]])]
    assert xlbook.styles_request(_with_styles(colour), settings) is None  # sent: never asked twice


def test_styles_colour_only_plan_reads_from_the_addins_fills_as_from_the_file(tmp_path):
    plan = plan_for("colour_rag")
    sub = check_xlwings(_with_styles(familiar_workbook(plan, tmp_path / "c.xlsx")), **submitter(plan))
    assert sub.accepted and sub.layout == "colour_rag", [str(m) for m in sub.errors]
    assert rows(sub.actions) == expected_rows(plan)
