"""actionplan/deflate.py: blocks deflated side by side are one ordinary deflate stream, and a workbook zipped that way
holds xlsxwriter's own parts, read back by zipfile (its CRCs checked) and by openpyxl."""

from __future__ import annotations

import random
import zipfile
import zlib

import openpyxl
import pytest
import xlsxwriter

from actionplan import deflate


def _data(kind: str, size: int) -> bytes:
    if kind == "random":  # incompressible: each block's deflate output is larger than its input
        return random.Random(size).randbytes(size)
    rows = (
        f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>Action {n % 97}</t></is></c></row>'
        for n in range(size // 60 + 1)  # each row is longer than 60 bytes
    )
    return "".join(rows).encode()[:size]


@pytest.mark.parametrize("kind", ["xml", "random"])
@pytest.mark.parametrize(
    "size",
    [0, 1, deflate.WINDOW, deflate.BLOCK - 1, deflate.BLOCK, deflate.BLOCK + 1, 3 * deflate.BLOCK + 12345],
)
def test_blocks_make_one_stream_that_inflates_to_the_input(kind, size):
    data = _data(kind, size)
    compressor = deflate.ParallelDeflate(6)
    out = bytearray()
    for at in range(0, len(data), 8192):  # as zipfile feeds it, 8 KiB at a time
        out += compressor.compress(data[at : at + 8192])
    out += compressor.flush()
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    assert inflater.decompress(bytes(out)) + inflater.flush() == data
    assert inflater.eof  # the last block ends the stream, and nothing follows it
    assert not inflater.unused_data


def test_priming_keeps_the_ratio_of_one_stream():
    data = _data("xml", 6 * deflate.BLOCK)
    compressor = deflate.ParallelDeflate(6)
    ours = len(compressor.compress(data) + compressor.flush())
    assert ours <= len(zlib.compress(data, 6)) * 1.01


def test_a_workbook_zipped_in_parallel_has_xlsxwriters_parts(tmp_path, monkeypatch):
    monkeypatch.setattr(deflate, "PARALLEL_FROM", 1024)  # every sheet of this small workbook in blocks

    def build(cls, path):
        wb = cls(str(path), {"constant_memory": True})
        ws = wb.add_worksheet("Actions")
        for r in range(20_000):
            ws.write_string(r, 0, f"Action {r}: deliver milestone {r % 13}")
            ws.write_number(r, 1, r * 1.5)
        wb.close()
        with zipfile.ZipFile(path) as z:
            assert z.testzip() is None  # every entry's CRC checks
            return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}

    plain = build(xlsxwriter.Workbook, tmp_path / "plain.xlsx")
    ours = build(deflate.ParallelDeflateWorkbook, tmp_path / "ours.xlsx")
    assert ours == plain
    assert len(plain["xl/worksheets/sheet1.xml"]) > 2 * deflate.BLOCK  # big enough to be cut into blocks
    assert xlsxwriter.workbook.ZipFile is zipfile.ZipFile  # the swap is undone
    sheet = openpyxl.load_workbook(tmp_path / "ours.xlsx", read_only=True)["Actions"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[19_999] == ("Action 19999: deliver milestone 5", 19_999 * 1.5)  # 19999 % 13 == 5


def test_a_big_entry_is_deflated_at_the_chosen_level_where_the_writer_names_none(tmp_path):
    """xlsxwriter asks zipfile for no level: a big sheet is deflated at deflate.LEVEL (a third less CPU than
    level 6 for a few per cent more bytes), and a level a writer does name is kept."""
    data = _data("xml", 2 * deflate.PARALLEL_FROM)
    sizes = {}
    for named in (None, 9):
        path = tmp_path / f"level-{named}.zip"
        with deflate.ParallelZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=named) as z:
            info = zipfile.ZipInfo("xl/worksheets/sheet1.xml")
            info.compress_type = zipfile.ZIP_DEFLATED  # as xlsxwriter's own entries are
            z.writestr(info, data, compresslevel=named)
        with zipfile.ZipFile(path) as z:
            assert z.read("xl/worksheets/sheet1.xml") == data
            sizes[named] = z.getinfo("xl/worksheets/sheet1.xml").compress_size
    for named, level in ((None, deflate.LEVEL), (9, 9)):  # within 0.1% of one stream at that level
        assert sizes[named] == pytest.approx(len(zlib.compress(data, level)), rel=0.001)
    assert sizes[None] != pytest.approx(len(zlib.compress(data, 6)), rel=0.001)  # this XML tells 5 from 6
