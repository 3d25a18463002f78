"""actionplan/read.py scans each sheet's rows (numbers, hidden rows, the last row holding anything) before reading
it. The scan by C-speed searches (_scan_rows_in_order) must find what the pattern matched over each row finds
(_scan_rows_one_by_one), on sheets written by every writer the tests have and on hostile ones, and must be the
path taken for the common writers' sheets."""

from __future__ import annotations

import io
import zipfile

import pytest
import xlsxwriter

from actionplan.read import _scan_rows_in_order, _scan_rows_one_by_one, _SheetScan
from tests.conftest import GOOD_KPI, action, canonical_workbook
from tests.hostile import corpus
from tests.realbooks import quarterly_scorecard, yearly_scorecard


def _xlsxwriter_book(path):
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("Action Plan")
    for r in range(300):
        if r % 7 == 3:
            ws.set_row(r, 30, None, {"hidden": True})
        if r % 11 == 5:
            ws.set_row(r, 24)  # a row with a height and no cell
            continue
        ws.write_string(r, 0, f"A{r}")
        ws.write_number(r, 1, r)
        if r % 13 == 0:
            ws.write_formula(r, 2, f"=B{r + 1}*2")
    for r in range(300, 1000):
        ws.set_row(r, 15)  # empty styled rows below, as Excel writes them
    wb.close()
    return path.read_bytes()


def _books(tmp_path):
    yield (
        "openpyxl",
        canonical_workbook(
            tmp_path / "c.xlsx", actions=[action(f"F{i}") for i in range(40)], kpis=[GOOD_KPI]
        ).read_bytes(),
    )
    yield "xlsxwriter", _xlsxwriter_book(tmp_path / "x.xlsx")
    yield "quarterly", quarterly_scorecard(tmp_path / "q.xlsx").read_bytes()
    yield "yearly", yearly_scorecard(tmp_path / "y.xlsx").read_bytes()
    for name in ("hidden_rows_and_sheet", "formulas", "lying_dimension", "unicode_oddities", "merged_status"):
        yield name, getattr(corpus, name)(tmp_path)
    yield "far_row", corpus.far_row(tmp_path, 1_048_576)
    yield "tall_last_row", corpus.tall_last_row(tmp_path)
    yield "tall_last_row styled", corpus.tall_last_row(tmp_path, styled_cell=True)


def _scans(xml: bytes) -> tuple[_SheetScan, _SheetScan, bool]:
    ours, theirs = _SheetScan(), _SheetScan()
    fast = _scan_rows_in_order(xml, ours)
    _scan_rows_one_by_one(xml, theirs)
    return ours, theirs, fast


def test_the_fast_scan_finds_what_the_row_by_row_scan_finds(tmp_path):
    fast_for = set()
    for name, data in _books(tmp_path):
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for part in (n for n in z.namelist() if n.startswith("xl/worksheets/sheet")):
                ours, theirs, fast = _scans(z.read(part))
                if fast:
                    fast_for.add(name)
                    assert (ours.last_row, ours.last_value_row, ours.hidden) == (
                        theirs.last_row,
                        theirs.last_value_row,
                        theirs.hidden,
                    ), (name, part)
    assert {"openpyxl", "xlsxwriter", "quarterly", "yearly", "hidden_rows_and_sheet"} <= fast_for


@pytest.mark.parametrize(
    "rows",
    [
        b'<row r="5"><c r="A5"><v>1</v></c></row><row r="2"><c r="A2"><v>1</v></c></row>',  # out of order
        b'<row r="2"><c r="A2"><v>1</v></c></row><row r="2"><c r="B2"><v>1</v></c></row>',  # a row twice
        b'<row><c r="A1"><v>1</v></c></row>',  # no number
        b'<c r="A1"><v>1</v></c><row r="3"/>',  # a cell outside any row
    ],
)
def test_rows_it_cannot_tell_go_row_by_row(rows):
    ours, theirs, fast = _scans(b"<sheetData>" + rows + b"</sheetData>")
    assert not fast and ours == _SheetScan()  # nothing recorded: the caller scans row by row
    assert theirs.last_row in (0, 2, 3, 5)


def test_the_last_value_is_found_below_empty_styled_rows():
    rows = b"".join(
        b'<row r="%d" ht="15" customHeight="1"/>' % n
        if n > 3
        else b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (n, n, n)
        for n in range(1, 50)
    )
    ours, theirs, fast = _scans(
        b'<row r="1" hidden="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>'
        + rows[len(b'<row r="1"><c r="A1"><v>1</v></c></row>') :]
    )
    assert fast and (ours.last_row, ours.last_value_row, ours.hidden) == (49, 3, [1])
    assert (theirs.last_row, theirs.last_value_row, theirs.hidden) == (49, 3, [1])
