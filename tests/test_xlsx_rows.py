"""actionplan/xlsx_rows.py on its own: rows streamed into a constant_memory worksheet are the bytes xlsxwriter's own
cell calls write, whatever the shape of the table (the rollup's tests cover its real sheets)."""

from __future__ import annotations

import zipfile

import pytest
import xlsxwriter

from actionplan import xlsx_rows

BLANK = xlsx_rows.BLANK


def _workbook(path, table, streamed: bool) -> dict[str, bytes]:
    """A header, then table (columns, formats by name, heights) from row 1, another write below it and a chart
    placed under both (positioned by the rows' heights); every part of the file."""
    columns, looks, heights = table
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("Sheet")
    formats = {
        "bold": wb.add_format({"bold": True}),
        "wrap": wb.add_format({"text_wrap": True, "valign": "top"}),
        "date": wb.add_format({"num_format": "dd/mm/yyyy"}),
        "fill": wb.add_format({"bg_color": "#FCE4D6"}),
    }
    ws.write_string(0, 0, "Header", formats["bold"])
    cells = [[formats[name] if name else None for name in column] for column in looks]
    if streamed:
        xlsx_rows.write_rows(ws, 1, columns, cells, heights)
    else:
        for i in range(max(len(c) for c in columns)):
            if heights and heights[i]:
                ws.set_row(1 + i, heights[i])
            for c, column in enumerate(columns):
                value, look = column[i], cells[c][i]
                if value is None:
                    continue
                if value is BLANK:
                    ws.write_blank(1 + i, c, None, look)
                elif isinstance(value, str):
                    ws.write_string(1 + i, c, value, look)
                else:
                    ws.write_number(1 + i, c, value, look)
    below = 2 + max(len(c) for c in columns)
    ws.write_string(below, 0, "Below the table")
    chart = wb.add_chart({"type": "bar"})
    chart.add_series({"values": ["Sheet", 1, 1, 3, 1], "values_data": [1, 2, 3]})
    ws.insert_chart(below + 1, 0, chart)
    wb.close()
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}


TABLES = {
    "text and numbers": (
        [["a", "b", "c"], [1.5, 2, 45000.25]],
        [["wrap", "wrap", "wrap"], ["date", "date", "date"]],
        None,
    ),
    "gaps, blanks and a format met first further down": (
        [["a", None, None, "d"], [None, None, BLANK, 4], [None, "x", None, None]],
        [
            ["wrap", "bold", "bold", "fill"],
            ["date", "date", "fill", "date"],
            ["bold", "fill", "bold", "bold"],
        ],
        None,
    ),
    "row heights, one on a row with no cells": (
        [["short", "two\nlines", None, "long " * 40], [1, 2, None, 4]],
        [["wrap"] * 4, ["date"] * 4],
        [None, 30.0, 45.0, 120.0],
    ),
    "an empty last row and an empty column": (
        [["a", "b", None], [None, None, None], [True, False, None]],
        [["wrap"] * 3, ["bold"] * 3, ["bold"] * 3],
        None,
    ),
    "text xlsxwriter changes": (
        [
            [
                "&<>",
                " lead",
                "trail\t",
                "bell\x07",
                "_x0041_",
                "\ufffe",
                "🚧" * 20000,
                "<r>not rich",
                "<r>x</r>"[:-1],
            ]
        ],
        [["wrap"] * 9],
        None,
    ),
}


@pytest.mark.parametrize("name", list(TABLES))
def test_streamed_rows_are_xlsxwriters_bytes(tmp_path, name):
    cells = _workbook(tmp_path / "cells.xlsx", TABLES[name], streamed=False)
    streamed = _workbook(tmp_path / "streamed.xlsx", TABLES[name], streamed=True)
    assert sorted(streamed) == sorted(cells)
    assert [part for part in cells if cells[part] != streamed[part]] == []


def test_a_worksheet_not_in_constant_memory_is_not_streamed(tmp_path):
    wb = xlsxwriter.Workbook(str(tmp_path / "plain.xlsx"))
    try:
        assert not xlsx_rows.supported(wb.add_worksheet("Sheet"))
        streaming = xlsxwriter.Workbook(str(tmp_path / "streamed.xlsx"), {"constant_memory": True})
        assert xlsx_rows.supported(streaming.add_worksheet("Sheet"))
        streaming.close()
    finally:
        wb.close()


# --- The helper process (actionplan/rows_helper.py): a big table's first half made on another core ---------------

_MANY = 5000  # rows: over two of write_rows' blocks in each half


def _many_rows():
    """A table of _MANY rows with everything write_rows distinguishes: text xlsxwriter changes, numbers, gaps (a
    row with no cell at all), highlighted blanks, formats that vary by row and row heights on both halves."""
    text = [
        None if i % 97 == 0 else ("two\nlines" if i % 7 == 0 else "&<b>" if i % 11 == 0 else f"action {i}")
        for i in range(_MANY)
    ]
    numbers = [None if i % 97 == 0 else (i * 1.25 if i % 3 else i) for i in range(_MANY)]
    blanks = [None if i % 97 == 0 else (BLANK if i % 5 == 0 else " lead") for i in range(_MANY)]
    looks = [
        ["wrap" if i % 2 else "bold" for i in range(_MANY)],
        ["date"] * _MANY,
        ["fill" if i % 5 == 0 else "wrap" for i in range(_MANY)],
    ]
    heights = [30.0 if i % 13 == 0 else None for i in range(_MANY)]
    return [text, numbers, blanks], looks, heights


@pytest.fixture
def helper_for_every_table(monkeypatch):
    from actionplan import rows_helper

    monkeypatch.setenv("ACTIONPLAN_ROWS_HELPER", "1")
    monkeypatch.setattr(rows_helper, "OFFLOAD_FROM", 1)
    monkeypatch.setattr(rows_helper.background, "usable_cores", lambda: 2)
    helper = rows_helper.start()
    assert helper is not None
    return helper


@pytest.mark.parametrize("name", [*TABLES, "many rows"])
def test_rows_made_by_the_helper_are_xlsxwriters_bytes(tmp_path, helper_for_every_table, name):
    table = _many_rows() if name == "many rows" else TABLES[name]
    cells = _workbook(tmp_path / "cells.xlsx", table, streamed=False)
    handed = helper_for_every_table.handed
    helped = _workbook(tmp_path / "helped.xlsx", table, streamed=True)
    assert helper_for_every_table.handed == handed + 1  # the helper made the first half of the rows
    assert sorted(helped) == sorted(cells)
    # Byte for byte, "Below the table" (written while the helper worked) after the helper's rows included.
    assert [part for part in cells if cells[part] != helped[part]] == []


def test_rows_are_made_here_when_the_helper_is_gone(tmp_path, monkeypatch, helper_for_every_table):
    from actionplan import rows_helper

    cells = _workbook(tmp_path / "cells.xlsx", _many_rows(), streamed=False)
    helper_for_every_table.proc.kill()
    helper_for_every_table.proc.wait()
    monkeypatch.setattr(helper_for_every_table, "alive", lambda: True)  # handed a job all the same
    handed = helper_for_every_table.handed
    helped = _workbook(tmp_path / "helped.xlsx", _many_rows(), streamed=True)
    assert helper_for_every_table.handed in (handed, handed + 1)  # refused at once, or failed once handed
    assert [part for part in cells if cells[part] != helped[part]] == []
    monkeypatch.setattr(rows_helper, "_helper", None)  # the next test starts one of its own


def test_no_helper_when_asked_for_none_or_on_one_core(monkeypatch):
    from actionplan import rows_helper

    monkeypatch.setenv("ACTIONPLAN_ROWS_HELPER", "0")
    assert rows_helper.start() is None
    monkeypatch.setenv("ACTIONPLAN_ROWS_HELPER", "1")
    monkeypatch.setattr(rows_helper.background, "usable_cores", lambda: 1)
    assert rows_helper.start() is None
