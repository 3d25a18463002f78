"""Reading workbooks: what is not an xlsx is named for what it is, before any parser sees it."""

from __future__ import annotations

import pytest

from actionplan.read import book_from_xlsx, book_from_xlwings, column_letter
from tests.conftest import action, canonical_workbook


def test_book_from_xlsx_keeps_addresses_and_types(tmp_path):
    import datetime as dt

    path = canonical_workbook(tmp_path / "a.xlsx", actions=[action(due=dt.datetime(2024, 7, 31))])
    book = book_from_xlsx(path.read_bytes(), "a.xlsx")
    actions = book.sheet(" actions ")
    assert actions.rows[0][0] == "Ref" and actions.rows[1][5] == dt.date(2024, 7, 31)
    assert actions.rows[1][6] is None  # empty cells are None, not ""


def test_book_from_xlwings_payload():
    payload = {
        "client": "Office.js",
        "version": "0.37.8",
        "book": {"name": "p.xlsx"},
        "names": [],
        "sheets": [
            {"name": "Actions", "values": [["Ref", "Due date"], ["A1", "2024-07-31T00:00:00.000Z"], ["", ""]]}
        ],
    }
    book = book_from_xlwings(payload)
    assert book.name == "p.xlsx" and book.source == "xlwings"
    assert book.sheet("Actions").rows == [
        ["Ref", "Due date"],
        ["A1", "2024-07-31T00:00:00.000Z"],
        [None, None],
    ]


@pytest.mark.parametrize(("index", "letters"), [(0, "A"), (25, "Z"), (26, "AA"), (701, "ZZ"), (702, "AAA")])
def test_column_letter(index, letters):
    assert column_letter(index) == letters
