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
from collections.abc import Iterator, Sequence
from io import StringIO
from itertools import compress
from typing import Any

from xlsxwriter.format import Format
from xlsxwriter.utility import _preserve_whitespace, _utf16_len, _utf16_truncate, xl_col_to_name
from xlsxwriter.worksheet import RowInfo, Worksheet

from . import rows_helper

BLANK = object()  # a cell with a format but no value (a highlighted empty cell)

_BLOCK = 2048  # rows serialised per write: bounded memory for a 120,000-row sheet
# Anything xlsxwriter would change in a string: control characters and its own _xHHHH_ escapes, the three XML
# characters it escapes (so any "<r>…</r>" it would take for a rich string), and edge whitespace
# (xml:space="preserve"; str.strip's whitespace is the \s of xlsxwriter's patterns). Each a C-speed scan.
_CHANGED_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f&<>\ufffe\uffff]")
_ESCAPE = re.compile(r"_x[0-9a-fA-F]{4}_")


def _changed(text: str) -> bool:
    """Whether xlsxwriter would write text (one string, or a column's strings joined) other than as it is, apart
    from edge whitespace."""
    return bool(_CHANGED_CHARACTERS.search(text) or ("_x" in text and _ESCAPE.search(text)))


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
    # A column with no gap has a cell in every row; only a table with gaps in every column has rows to skip.
    gaps = [None in column for column in columns]
    used_columns = [
        c for c, column in enumerate(columns) if not gaps[c] or any(v is not None for v in column)
    ]
    if any(not gaps[c] for c in used_columns):
        used: set[int] | range = range(rows)
    else:
        by_row = zip(*([v is not None for v in columns[c]] for c in used_columns), strict=True)
        used = {i for i, cells in enumerate(by_row) if any(cells)}
    height_rows = [i for i, h in enumerate(heights) if h]
    if not used and not height_rows:
        return
    ws._write_single_row(first_row)  # the row before these (a header) goes out first, as a cell write would
    _reserve_format_indices(columns, formats)
    starts = _set_heights(ws, first_row, heights, height_rows)
    marked = sorted(set(used).union(height_rows))
    _extend_dimensions(ws, first_row + marked[0], first_row + marked[-1], used_columns)
    cells = [(xl_col_to_name(c), columns[c], formats[c]) for c in used_columns]
    job: RowsJob = (first_row, rows, cells, used, starts)
    if rows >= 2 and rows * len(cells) >= rows_helper.OFFLOAD_FROM:
        # A big table's first rows are made by the helper process, on another core, while this one makes the rest
        # (rows_helper): each half's XML is the same wherever it is made, and the halves go into the file in order.
        head, tail = _split(job, rows // 2)
        if rows_helper.offload(ws, head):
            job = tail
    write = ws.fh.write
    for text in rows_text(*job):
        write(text)
    ws.previous_row = first_row + rows  # these rows are written: the next write begins below them
    ws.table.clear()


# rows_text's arguments: the rows' first row (the one above them), how many, each used column's letter, values
# and formats, the rows with a cell (or every one), and the start tags of rows with a height.
RowsJob = tuple[int, int, list[tuple[str, Sequence[Any], Sequence[Any]]], "set[int] | range", dict[int, str]]


def _split(job: RowsJob, k: int) -> tuple[RowsJob, RowsJob]:
    """The job's first k rows, and the rest (each numbered from its own first row, as rows_text counts)."""
    first_row, rows, cells, used, starts = job
    if isinstance(used, range):
        used_head: set[int] | range = range(k)
        used_tail: set[int] | range = range(rows - k)
    else:
        used_head = {i for i in used if i < k}
        used_tail = {i - k for i in used if i >= k}
    head = (
        first_row,
        k,
        [(letter, values[:k], looks[:k]) for letter, values, looks in cells],
        used_head,
        {i: tag for i, tag in starts.items() if i < k},
    )
    tail = (
        first_row + k,
        rows - k,
        [(letter, values[k:], looks[k:]) for letter, values, looks in cells],
        used_tail,
        {i - k: tag for i, tag in starts.items() if i >= k},
    )
    return head, tail


def rows_text(
    first_row: int,
    rows: int,
    cells: Sequence[tuple[str, Sequence[Any], Sequence[Format | None]]],
    used: set[int] | range,
    starts: dict[int, str],
) -> Iterator[str]:
    """The XML of rows first_row + 1, … (a block of rows at a time), from each used column's letter, values and
    formats: everything write_rows writes into the row file, made from plain data (the helper process makes it
    from a pickled copy)."""
    for block in range(0, rows, _BLOCK):
        end = min(block + _BLOCK, rows)
        numbers = [str(first_row + i + 1) for i in range(block, end)]
        # Argument 0 of a row's template is its start tag, 1 its number, 2… the values' text by used column.
        parts = [
            _column_parts(letter, 2 + k, values[block:end], looks[block:end])
            for k, (letter, values, looks) in enumerate(cells)
        ]
        tags = [starts.get(i) or f'<row r="{n}">' for i, n in zip(range(block, end), numbers, strict=True)]
        arguments = zip(tags, numbers, *(values for _, values in parts), strict=True)
        kept = [i in used for i in range(block, end)] if isinstance(used, set) else None
        yield "".join(_rows_xml([fragments for fragments, _ in parts], arguments, kept))


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
    # One RowInfo and one start tag per height in pixels (a sheet has a handful): xlsxwriter only reads them.
    infos: dict[int, tuple[RowInfo, str]] = {}
    starts: dict[int, str] = {}
    row_info, row_sizes = ws.row_info, ws.row_sizes
    saved = ws.fh
    try:
        for i in height_rows:
            points = heights[i]
            assert points  # height_rows are the rows with a height
            pixels = int(points * 4.0 / 3.0 + 0.5)  # set_row's conversion from points
            known = infos.get(pixels)
            if known is None:
                info = RowInfo(height=pixels)
                ws.fh = StringIO()
                ws._write_row(0, None, info)
                tag = ws.fh.getvalue()
                assert tag.startswith('<row r="1"')
                known = infos[pixels] = (info, tag[len('<row r="1"') :])
            r = first_row + i
            row_info[r] = known[0]
            row_sizes[r] = [pixels, False]
            starts[i] = f'<row r="{r + 1}"{known[1]}'
    finally:
        ws.fh = saved
    return starts


def _rows_xml(
    fragments: list[str | list[str]], arguments: Iterator[tuple[str, ...]], kept: list[bool] | None
) -> list[str]:
    """Each row's XML: its columns' fragments joined into one template (made once per combination of fragments) and
    filled with the row's arguments by str.format, one call a row. kept: which rows to write (None: every one)."""
    fixed = ["{0}", *(f if f.__class__ is str else "" for f in fragments), "</row>"]
    varying = [k for k, f in enumerate(fragments) if f.__class__ is not str]
    if kept is not None:
        arguments = compress(arguments, kept)
    if not varying:
        fill = "".join(fixed).format
        return [fill(*row) for row in arguments]
    signatures = zip(*(fragments[k] for k in varying), strict=True)
    if kept is not None:
        signatures = compress(signatures, kept)
    templates: dict[tuple[str, ...], str] = {}
    out = []
    for signature, row in zip(signatures, arguments, strict=True):
        template = templates.get(signature)
        if template is None:
            cells = list(fixed)
            for k, fragment in zip(varying, signature, strict=True):
                cells[k + 1] = fragment
            template = templates[signature] = "".join(cells)
        out.append(template.format(*row))
    return out


def _column_parts(
    letter: str, position: int, values: Sequence[Any], looks: Sequence[Any]
) -> tuple[str | list[str], Sequence[str]]:
    """One column's cells over a block of rows, as xlsxwriter writes them: the XML of each cell with "{1}" for the
    row's number and "{position}" for the value's text (one fragment for the whole column where every cell's is the
    same, else one per cell, "" where a row has no cell here), and the values' text. No text of a cell is ever
    part of a fragment, so none is read as a format field."""
    attrs: dict[int, str] = {}
    for look in dict.fromkeys(looks):
        if look is not None:
            attrs[id(look)] = f' s="{look._get_xf_index()}"'
    ref = f'<c r="{letter}{{1}}"'
    text = f' t="inlineStr"><is><t>{{{position}}}</t></is></c>'
    number = f"><v>{{{position}}}</v></c>"
    kinds = set(map(type, values))
    one_look = len(attrs) == 1 and None not in looks
    if kinds == {str} and all(values):
        plain = (
            max(map(len, values)) <= _LONG
            and not _changed("".join(values))
            and list(map(str.strip, values)) == values  # strip returns the very string when it has no edges
        )
        if plain:
            # The common case, a column of plain text: the values are their own text.
            if one_look:
                return f"{ref}{attrs[id(looks[0])]}{text}", values
            cells = {key: f"{ref}{attr}{text}" for key, attr in attrs.items()}
            return [cells[id(x)] if x is not None else f"{ref}{text}" for x in looks], values
    elif kinds and kinds <= {int, float}:
        shown = [f"{v:.16G}" for v in values]
        if one_look:
            return f"{ref}{attrs[id(looks[0])]}{number}", shown
        cells = {key: f"{ref}{attr}{number}" for key, attr in attrs.items()}
        return [cells[id(x)] if x is not None else f"{ref}{number}" for x in looks], shown
    fragments: list[str] = []
    args: list[str] = []
    for value, look in zip(values, looks, strict=True):
        style = attrs.get(id(look), "") if look is not None else ""
        if value is None:
            fragments.append("")
            args.append("")
        elif value.__class__ is str:
            if len(value) > _LONG or _changed(value) or value[:1].isspace() or value[-1:].isspace():
                preserve, value = _special_text(value)
                fragments.append(f'{ref}{style} t="inlineStr"><is><t{preserve}>{{{position}}}</t></is></c>')
            else:
                fragments.append(f"{ref}{style}{text}")
            args.append(value)
        elif value is BLANK:
            fragments.append(f"{ref}{style}/>" if style else "")
            args.append("")
        else:
            fragments.append(f"{ref}{style}{number}")
            args.append(f"{value:.16G}")
    return fragments, args


def _special_text(string: str) -> tuple[str, str]:
    """A string xlsxwriter would change, as it writes it: truncated to Excel's limit, control characters as _xHHHH_,
    XML characters escaped; and the xml:space attribute its edge whitespace needs ("" if none).

    One difference from xlsxwriter, on purpose: text that happens to begin "<r>" and end "</r>" is escaped like
    any other, where xlsxwriter's constant_memory mode writes it out raw as rich-text XML (so a progress update
    reading "<r>a & b</r>" made a workbook Excel could not open).
    """
    if len(string) > _LONG and _utf16_len(string) > 32767:
        string = _utf16_truncate(string, 32767)
    string = Worksheet._escape_control_characters(string)
    preserve = ' xml:space="preserve"' if _preserve_whitespace(string) else ""
    return preserve, string.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
