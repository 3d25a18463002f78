"""Hostile and odd workbooks, made by code (no binary blobs in the repo): one function per case."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from tests.conftest import action, canonical_workbook


def good_bytes(tmp: Path, rows: int = 3) -> bytes:
    return canonical_workbook(
        tmp / "base.xlsx", actions=[action(f"A{i}") for i in range(1, rows + 1)]
    ).read_bytes()


def rewrite(
    data: bytes,
    change: dict[str, bytes | None],
    add: dict[str, bytes] | None = None,
    compress: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    """A copy of an xlsx with some parts replaced (None removes a part) and others added."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", compress) as dst:
        for info in src.infolist():
            if info.filename in change:
                if change[info.filename] is not None:
                    dst.writestr(info.filename, change[info.filename])
            else:
                dst.writestr(info, src.read(info.filename))
        for name, body in (add or {}).items():
            dst.writestr(name, body)
    return out.getvalue()


def sheet_xml(data: bytes, sheet: str = "xl/worksheets/sheet2.xml") -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.read(sheet).decode("utf-8")


def _actions_sheet_with(rows_xml: str, prolog: str = "", dimension: str = "A1:I2") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>{prolog}'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<dimension ref="{dimension}"/><sheetData>{rows_xml}</sheetData></worksheet>'
    ).encode()


def _inline_row(r: int, values: list[str]) -> str:
    cells = "".join(
        f'<c r="{chr(65 + i)}{r}" t="inlineStr"><is><t>{v}</t></is></c>' for i, v in enumerate(values)
    )
    return f'<row r="{r}">{cells}</row>'


HEADER = [
    "Ref",
    "Objective",
    "Theme",
    "Action",
    "Lead officer",
    "Due date",
    "Revised due date",
    "Status",
    "Progress update",
]


def billion_laughs(tmp: Path) -> bytes:
    lol = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    prolog = f'<!DOCTYPE worksheet [<!ENTITY lol0 "lol">{lol}]>'
    rows = _inline_row(1, HEADER) + _inline_row(
        2, ["A1", "x", "x", "&lol9;", "R Khan", "31/03/2025", "", "G", ""]
    )
    return rewrite(good_bytes(tmp), {"xl/worksheets/sheet2.xml": _actions_sheet_with(rows, prolog)})


def quadratic_entity(tmp: Path) -> bytes:
    prolog = f'<!DOCTYPE worksheet [<!ENTITY a "{"x" * 50_000}">]>'
    rows = _inline_row(1, HEADER) + _inline_row(
        2, ["A1", "x", "x", "&a;" * 5_000, "R Khan", "31/03/2025", "", "G", ""]
    )
    return rewrite(good_bytes(tmp), {"xl/worksheets/sheet2.xml": _actions_sheet_with(rows, prolog)})


def xxe(tmp: Path, target: Path) -> bytes:
    prolog = f'<!DOCTYPE worksheet [<!ENTITY x SYSTEM "{target.as_uri()}">]>'
    rows = _inline_row(1, HEADER) + _inline_row(
        2, ["A1", "x", "x", "&x;", "R Khan", "31/03/2025", "", "G", ""]
    )
    return rewrite(good_bytes(tmp), {"xl/worksheets/sheet2.xml": _actions_sheet_with(rows, prolog)})


def zip_bomb(tmp: Path, megabytes: int = 120) -> bytes:
    """A small file whose Actions sheet unpacks to hundreds of MB of XML."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(good_bytes(tmp))) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            if info.filename != "xl/worksheets/sheet2.xml":
                dst.writestr(info, src.read(info.filename))
        with dst.open("xl/worksheets/sheet2.xml", "w", force_zip64=True) as f:
            f.write(
                b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            )
            chunk = b"<!-- " + b"padding " * 131_072 + b"-->"
            for _ in range(megabytes):
                f.write(chunk)
            f.write(b"</sheetData></worksheet>")
    return out.getvalue()


def lying_dimension(tmp: Path, rows: int = 40) -> bytes:
    """The <dimension> says two rows; the sheet has many more (openpyxl read-only would drop them)."""
    body = _inline_row(1, HEADER) + "".join(
        _inline_row(r, [f"A{r}", "x", "x", f"Action {r}", "R Khan", "31/03/2025", "", "G", "ok"])
        for r in range(2, rows + 2)
    )
    return rewrite(
        good_bytes(tmp), {"xl/worksheets/sheet2.xml": _actions_sheet_with(body, dimension="A1:B2")}
    )


def far_row(tmp: Path, row: int) -> bytes:
    """A real header and one action, then a stray value at a very distant row."""
    body = (
        _inline_row(1, HEADER)
        + _inline_row(2, ["A1", "x", "x", "Do it", "R Khan", "31/03/2025", "", "G", ""])
        + f'<row r="{row}"><c r="A{row}" t="inlineStr"><is><t>stray</t></is></c></row>'
    )
    return rewrite(good_bytes(tmp), {"xl/worksheets/sheet2.xml": _actions_sheet_with(body)})


def with_macros(tmp: Path) -> bytes:
    return rewrite(good_bytes(tmp), {}, add={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0MACRO" + b"\0" * 512})


def with_links_and_objects(tmp: Path) -> bytes:
    return rewrite(
        good_bytes(tmp),
        {},
        add={
            "xl/externalLinks/externalLink1.xml": b"<externalLink/>",
            "xl/connections.xml": b"<connections/>",
            "xl/embeddings/oleObject1.bin": b"\0" * 64,
        },
    )


def hidden_rows_and_sheet(tmp: Path) -> bytes:
    import openpyxl

    path = canonical_workbook(tmp / "hidden.xlsx", actions=[action("A1"), action("A2"), action("A3")])
    wb = openpyxl.load_workbook(path)
    wb["Actions"].row_dimensions[3].hidden = True
    secret = wb.create_sheet("Old figures")
    secret["A1"] = "kept out of sight"
    secret.sheet_state = "hidden"
    wb.save(path)
    return path.read_bytes()


def merged_status(tmp: Path) -> bytes:
    import openpyxl

    path = canonical_workbook(
        tmp / "merged.xlsx", actions=[action("A1"), action("A2", status=None), action("A3", status=None)]
    )
    wb = openpyxl.load_workbook(path)
    wb["Actions"].merge_cells("H2:H4")
    wb.save(path)
    return path.read_bytes()


def unicode_oddities(tmp: Path) -> bytes:
    odd = "\u200bBudget\u200f review \U0001f4ca \u202eevil\u202c"
    row = ["A1\u200b", odd, odd, odd, "\u200fPatel, Anita", "31/03/2025", None, "G\u200b", odd]
    return canonical_workbook(tmp / "odd.xlsx", actions=[row]).read_bytes()


def formulas(tmp: Path) -> bytes:
    """A lead officer looked up by formula (a saved value) and a due date computed but never calculated."""
    body = (
        _inline_row(1, HEADER) + '<row r="2"><c r="A2" t="inlineStr"><is><t>A1</t></is></c>'
        '<c r="D2" t="inlineStr"><is><t>Do it</t></is></c>'
        '<c r="E2" t="str"><f>VLOOKUP(A2,Staff!A:B,2,FALSE)</f><v>R Khan</v></c>'
        '<c r="F2"><f>DATE(2025,3,31)</f></c>'
        '<c r="H2" t="inlineStr"><is><t>G</t></is></c></row>'
    )
    return rewrite(good_bytes(tmp), {"xl/worksheets/sheet2.xml": _actions_sheet_with(body)})


# -- damaged zips: one byte-level fault each, in one part, the rest of the file intact ---------------------------


def _headers_of(data: bytes, part: str) -> tuple[int, int]:
    """Offsets of a part's local header and of its central directory entry."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        local = zf.getinfo(part).header_offset
    name = part.encode()
    central = data.find(b"PK\x01\x02")
    while data[central + 46 : central + 46 + len(name)] != name:
        central = data.find(b"PK\x01\x02", central + 4)
        assert central > 0, part
    return local, central


def _patched(data: bytes, part: str, local_field: int, central_field: int, value: bytes) -> bytes:
    """The bytes with one header field of a part (at the same meaning in both headers) set to value."""
    local, central = _headers_of(data, part)
    out = bytearray(data)
    out[local + local_field : local + local_field + len(value)] = value
    out[central + central_field : central + central_field + len(value)] = value
    return bytes(out)


DAMAGED_PART = "xl/worksheets/sheet2.xml"  # the Actions sheet of `good_bytes`


def bad_crc(tmp: Path) -> bytes:
    """The Actions sheet's checksum is wrong (a bit flipped on disk or in transit)."""
    return _patched(good_bytes(tmp), DAMAGED_PART, 14, 16, b"\xde\xad\xbe\xef")


def garbled_deflate(tmp: Path) -> bytes:
    """The Actions sheet's compressed bytes are overwritten in the middle with seeded noise."""
    import random

    data = good_bytes(tmp)
    local, _ = _headers_of(data, DAMAGED_PART)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = zf.getinfo(DAMAGED_PART)
    start = local + 30 + len(info.filename.encode()) + len(info.extra)
    out = bytearray(data)
    rng = random.Random(15)
    for i in range(start + 4, start + min(info.compress_size - 4, 64)):
        out[i] = rng.randrange(256)
    return bytes(out)


def lying_size(tmp: Path) -> bytes:
    """The Actions sheet says it unpacks to half the bytes it does."""
    data = good_bytes(tmp)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        size = zf.getinfo(DAMAGED_PART).file_size
    return _patched(data, DAMAGED_PART, 22, 24, (size // 2).to_bytes(4, "little"))


def unknown_compression(tmp: Path) -> bytes:
    """The Actions sheet claims compression method 99 (AES, which Excel never writes)."""
    return _patched(good_bytes(tmp), DAMAGED_PART, 8, 10, (99).to_bytes(2, "little"))


def zip_encrypted(tmp: Path) -> bytes:
    """The Actions sheet has the zip encryption flag set (a zip password, not an Excel one)."""
    return _patched(good_bytes(tmp), DAMAGED_PART, 6, 8, (1).to_bytes(2, "little"))


DAMAGED = {
    "bad-crc": bad_crc,
    "garbled-deflate": garbled_deflate,
    "lying-size": lying_size,
    "compression-method-99": unknown_compression,
    "zip-encryption-flag": zip_encrypted,
}


def macros_elsewhere(tmp: Path, part: str, linked_by: str) -> bytes:
    """A VBA project stored away from xl/vbaProject.bin, said to be one by a relationship or by its content type."""
    data = good_bytes(tmp)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
        types = z.read("[Content_Types].xml").decode()
    change: dict[str, bytes | None] = {}
    if linked_by == "relationship":
        target = part.removeprefix("xl/")
        change["xl/_rels/workbook.xml.rels"] = rels.replace(
            "</Relationships>",
            (
                '<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" '
                f'Target="{target}"/></Relationships>'
            ),
        ).encode()
    else:
        change["[Content_Types].xml"] = types.replace(
            "</Types>",
            (f'<Override PartName="/{part}" ContentType="application/vnd.ms-office.vbaProject"/></Types>'),
        ).encode()
    return rewrite(data, change, add={part: b"\xd0\xcf\x11\xe0MACRO" + b"\0" * 512})


def tall_last_row(tmp: Path, styled_cell: bool = False) -> bytes:
    """One action, and row 1,048,576 given a height (and a formatted empty cell): Excel writes such files."""
    cell = '<c r="A1048576" s="0"/>' if styled_cell else ""
    body = (
        _inline_row(1, HEADER)
        + _inline_row(2, ["A1", "x", "x", "Do it", "R Khan", "31/03/2025", "", "G", ""])
        + f'<row r="1048576" ht="24" customHeight="1">{cell}</row>'
    )
    return rewrite(
        good_bytes(tmp), {"xl/worksheets/sheet2.xml": _actions_sheet_with(body, dimension="A1:I1048576")}
    )


def at_package_root(tmp: Path) -> bytes:
    """The workbook's parts moved from xl/ to the package's root (calamine's minimal_package.xlsx is made so)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(good_bytes(tmp))) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            body = (
                src.read(info.filename)
                .replace(b'Target="/xl/', b'Target="/')
                .replace(b'Target="xl/', b'Target="')
            )
            body = body.replace(b'PartName="/xl/', b'PartName="/')
            dst.writestr(info.filename.removeprefix("xl/"), body)
    return out.getvalue()


def backslash_names(data: bytes) -> bytes:
    """The same package with its part names written with backslashes (some Windows tools write them so)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename.replace("/", "\\"), src.read(info.filename))
    return out.getvalue()
