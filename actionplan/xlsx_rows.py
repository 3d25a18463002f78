"""Rows of cells streamed into an xlsxwriter constant_memory worksheet, a column at a time.

xlsxwriter writes a cell in about five Python calls (check the dimensions, store a cell tuple, look its format up,
build the attribute list, write the element): the rollup's 2.4 million cells cost most of its write. Here a
table's rows are serialised as the same XML xlsxwriter writes for them (inline strings, `%.16G` numbers, empty
styled cells, row heights), one list comprehension per column and one `write` per block of rows, into the
worksheet's own row file; the worksheet's dimensions, row heights and position are kept as xlsxwriter keeps them,
so everything written before and after (headers, charts, filters, print setup) is unchanged.

tests/test_committee.py proves the workbook comes out byte for byte as xlsxwriter's own cell calls write it,
hostile text included. A worksheet this does not know how to match (not constant_memory, Excel 2010 row
attributes, a changed default row height) gets xlsxwriter's own calls (`supported` says which).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from io import StringIO
from itertools import repeat
from typing import Any

from xlsxwriter.format import Format
from xlsxwriter.utility import _preserve_whitespace, _utf16_len, _utf16_truncate, xl_col_to_name
from xlsxwriter.worksheet import RowInfo, Worksheet

BLANK = object()  # a cell with a format but no value (a highlighted empty cell)

_BLOCK = 2048  # rows serialised per write: bounded memory for a 120,000-row sheet
# Anything xlsxwriter would change in a string: control characters and its own _xHHHH_ escapes, the three XML
# characters it escapes, edge whitespace (xml:space="preserve"), the two non-characters, and the "<r>…</r>" it
# would take for a rich string.
_SPECIAL = re.compile(r"[\x00-\x08\x0b-\x1f&<>\ufffe\uffff]|_x[0-9a-fA-F]{4}_|^\s|\s$|^<r>")
_LONG = 16383  # below half of Excel's 32,767 UTF-16 units a string cannot be over it


def supported(ws: Worksheet) -> bool:
    """Return True when rows can be streamed into ws as xlsxwriter would write them."""
    return bool(
        ws.constant_memory
        and ws.excel_version != 2010
        and ws.default_row_height == ws.original_row_height
        and not ws.comments
        and ws.fh is not None
    )


def write_rows(
    ws: Worksheet,
    first_row: int,
    columns: Sequence[Sequence[Any]],
    formats: Sequence[Sequence[Format | None]],
    heights: Sequence[float | None] | None = None,
) -> None:
    """Write rows first_row, first_row + 1, … whose cells are given a column at a time.

    columns[c][i] is the value of row first_row + i in column c: a str (an inline string), a finite number,
    None (no cell) or BLANK (an empty cell with its format, which it must have); formats[c][i] is its format. heights[i]
    is the row's height in points, or None. Nothing may be written to these rows before or after:
    constant_memory writes top down.
    """
    rows = min((len(c) for c in columns), default=0)
    rows = min(rows, ws.xls_rowmax - first_row)  # xlsxwriter drops cells past Excel's last row
    if rows <= 0 or not columns:
        return
    columns = [c if len(c) == rows else c[:rows] for c in columns]
    formats = [f if len(f) == rows else f[:rows] for f in formats]
    heights = list(heights or ())[:rows]
    filled = [[v is not None for v in column] for column in columns]
    used_columns = [c for c, cells in enumerate(filled) if any(cells)]
    used = {i for i, cells in enumerate(zip(*(filled[c] for c in used_columns), strict=True)) if any(cells)}
    height_rows = [i for i, h in enumerate(heights) if h]
    if not used and not height_rows:
        return
    ws._write_single_row(first_row)  # the row before these (a header) goes out first, as a cell write would
    _reserve_format_indices(columns, formats)
    starts = _set_heights(ws, first_row, heights, height_rows)
    marked = sorted(used.union(height_rows))
    _extend_dimensions(ws, first_row + marked[0], first_row + marked[-1], used_columns)
    letters = [xl_col_to_name(c) for c in range(len(columns))]
    write = ws.fh.write
    for block in range(0, rows, _BLOCK):
        end = min(block + _BLOCK, rows)
        numbers = [str(first_row + i + 1) for i in range(block, end)]
        cells = [
            _column_xml(letters[c], numbers, columns[c][block:end], formats[c][block:end])
            for c in used_columns
        ]
        out = []
        by_row = zip(*cells, strict=True) if cells else repeat(())
        for i, number, row_cells in zip(range(block, end), numbers, by_row, strict=False):
            if i not in used:  # no cells: xlsxwriter's constant_memory mode writes no row, even with a height
                continue
            out.append(starts.get(i) or f'<row r="{number}">')
            out.append("".join(row_cells))
            out.append("</row>")
        write("".join(out))
    ws.previous_row = first_row + rows  # these rows are written: the next write begins below them
    ws.table.clear()


def _reserve_format_indices(
    columns: Sequence[Sequence[Any]], formats: Sequence[Sequence[Format | None]]
) -> None:
    """Number the formats in the order xlsxwriter's cell writes would first meet them (row by row, left to right):
    a format's index is given on its first use, and the same numbering keeps the styles part the same."""
    first: dict[int, tuple[int, int, Format]] = {}
    for c, (values, looks) in enumerate(zip(columns, formats, strict=True)):
        if None in values:  # a cell with no value is not written, so its format is not met there
            looks = [look if value is not None else None for value, look in zip(values, looks, strict=True)]
        else:
            looks = list(looks)
        for look in dict.fromkeys(looks):  # each distinct format once, in order; its first row by list.index
            if look is None:
                continue
            i = looks.index(look)
            if id(look) not in first or (i, c) < first[id(look)][:2]:
                first[id(look)] = (i, c, look)
    for _, _, look in sorted(first.values(), key=lambda t: (t[0], t[1])):
        look._get_xf_index()


def _extend_dimensions(ws: Worksheet, top: int, bottom: int, used_columns: list[int]) -> None:
    """Widen the worksheet's dimensions over these rows, as xlsxwriter's per-cell check would."""
    ws.dim_rowmin = top if ws.dim_rowmin is None else min(ws.dim_rowmin, top)
    ws.dim_rowmax = bottom if ws.dim_rowmax is None else max(ws.dim_rowmax, bottom)
    if used_columns:
        left, right = used_columns[0], used_columns[-1]
        ws.dim_colmin = left if ws.dim_colmin is None else min(ws.dim_colmin, left)
        ws.dim_colmax = right if ws.dim_colmax is None else max(ws.dim_colmax, right)


def _set_heights(
    ws: Worksheet, first_row: int, heights: list[float | None], height_rows: list[int]
) -> dict[int, str]:
    """Record the rows' heights as set_row does (a chart placed below is positioned by them) and return each
    such row's <row> start tag, as xlsxwriter's own _write_row writes it (made once per height)."""
    tags: dict[int, str] = {}
    starts: dict[int, str] = {}
    saved = ws.fh
    try:
        for i in height_rows:
            points = heights[i]
            assert points  # height_rows are the rows with a height
            pixels = int(points * 4.0 / 3.0 + 0.5)  # set_row's conversion from points
            r = first_row + i
            ws.row_info[r] = RowInfo(height=pixels)
            ws.row_sizes[r] = [pixels, False]
            tag = tags.get(pixels)
            if tag is None:
                ws.fh = StringIO()
                ws._write_row(0, None, ws.row_info[r])
                tag = tags[pixels] = ws.fh.getvalue()
            starts[i] = tag.replace('<row r="1"', f'<row r="{r + 1}"', 1)
    finally:
        ws.fh = saved
    return starts


# Anything xlsxwriter would change in a block of strings joined by _JOIN (which it would not): the characters and
# patterns of _SPECIAL, and the edge whitespace or "<r>" of any one string.
_JOIN = "\ue000"
_SPECIAL_JOINED = re.compile(
    r"[\x00-\x08\x0b-\x1f&<>\ufffe\uffff]|_x[0-9a-fA-F]{4}_|(?:^|\ue000)(?:\s|<r>)|\s(?:\ue000|$)"
)


def _column_xml(letter: str, numbers: list[str], values: Sequence[Any], looks: Sequence[Any]) -> list[str]:
    """One column's cells over a block of rows, as XML ("" where a row has no cell here)."""
    attrs: dict[int, str] = {}
    for look in dict.fromkeys(looks):
        if look is not None:
            attrs[id(look)] = f' s="{look._get_xf_index()}"'
    kinds = set(map(type, values))
    one_look = len(attrs) == 1 and None not in looks
    styles = [attrs[id(looks[0])]] * len(values) if one_look else [attrs.get(id(x), "") for x in looks]
    if kinds == {str} and all(values):
        if not _SPECIAL_JOINED.search(_JOIN.join(values)) and max(map(len, values)) <= _LONG:
            # The common case, a column of plain text: one comprehension, no checks per cell.
            return [
                f'<c r="{letter}{n}"{s} t="inlineStr"><is><t>{v}</t></is></c>'
                for n, v, s in zip(numbers, values, styles, strict=True)
            ]
    elif kinds and kinds <= {int, float}:
        return [
            f'<c r="{letter}{n}"{s}><v>{v:.16G}</v></c>'
            for n, v, s in zip(numbers, values, styles, strict=True)
        ]
    out = []
    append = out.append
    for number, value, style in zip(numbers, values, styles, strict=True):
        if value is None:
            append("")
        elif value.__class__ is str:
            if len(value) > _LONG or _SPECIAL.search(value):
                append(_special_string(letter + number, style, value))
            else:
                append(f'<c r="{letter}{number}"{style} t="inlineStr"><is><t>{value}</t></is></c>')
        elif value is BLANK:
            append(f'<c r="{letter}{number}"{style}/>' if style else "")
        else:
            append(f'<c r="{letter}{number}"{style}><v>{value:.16G}</v></c>')
    return out


def _special_string(ref: str, style: str, string: str) -> str:
    """A string cell xlsxwriter would change: truncated to Excel's limit, control characters as _xHHHH_, edge
    whitespace preserved, XML characters escaped.

    One difference from xlsxwriter, on purpose: text that happens to begin "<r>" and end "</r>" is escaped like
    any other, where xlsxwriter's constant_memory mode writes it out raw as rich-text XML (so a progress update
    reading "<r>a & b</r>" made a workbook Excel could not open).
    """
    if len(string) > _LONG and _utf16_len(string) > 32767:
        string = _utf16_truncate(string, 32767)
    string = Worksheet._escape_control_characters(string)
    preserve = ' xml:space="preserve"' if _preserve_whitespace(string) else ""
    string = string.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f'<c r="{ref}"{style} t="inlineStr"><is><t{preserve}>{string}</t></is></c>'
