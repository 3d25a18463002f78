"""Workbook bytes (xlsx/xlsm) or xlwings JSON → sheets of plain cell values, refusing what is not a workbook."""

from __future__ import annotations

import bisect
import io
import posixpath
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any

from .errors import UnreadableWorkbook
from .model import WARNING, Message

# A workbook's XML rarely compresses better than 1:100; zip bombs do far better.
_MAX_UNCOMPRESSED = 400 * 1024 * 1024
_MAX_RATIO = 200
EXCEL_LAST_ROW = 1_048_576
MAX_ROWS = 100_000  # far beyond any action plan; a sheet reaching further is stray content, not items


class TooManyRows(UnreadableWorkbook):
    """A sheet reaches further down than any action plan, usually because of stray content far below it."""

    code = "too-many-rows"


class DamagedWorkbook(UnreadableWorkbook):
    """Part of the file cannot be unpacked: its bytes were damaged on disk, in an email or in transit."""

    code = "damaged-file"


# Everything the zip layer raises for a damaged part: wrong checksum, garbled compressed data, a size or a
# compression method that lies, a zip password (Excel never sets one), a file cut short.
_ZIP_FAULTS = (
    zipfile.BadZipFile,
    zlib.error,
    NotImplementedError,
    RuntimeError,
    EOFError,
    OSError,
    ValueError,
    KeyError,
    UnicodeDecodeError,
)


def _zip_fault_in_words(exc: Exception) -> str:
    """What went wrong with a damaged zip part, in words (never the zip library's own)."""
    text = str(exc)
    if isinstance(exc, zipfile.BadZipFile) and "CRC" in text:
        return "its stored checksum does not match its contents"
    if isinstance(exc, zlib.error):
        return "its compressed data is garbled"
    if isinstance(exc, NotImplementedError):
        return "it is packed in a way Excel never uses"
    if isinstance(exc, RuntimeError) and "encrypted" in text:
        return "it is locked with a zip password, which Excel never sets"
    if isinstance(exc, EOFError):
        return "it is shorter than its header says"
    return "it cannot be unpacked"


def _damaged(name: str, where: str | None, exc: Exception) -> DamagedWorkbook:
    where = f" ({where}: {_zip_fault_in_words(exc)})" if where else ""
    return DamagedWorkbook(
        f"{name} is a damaged workbook{where}, so it was not read. If Excel opens it, save it "
        "again as a new .xlsx (File > Save As) and submit that; if not, submit an earlier copy."
    )


def assert_safe_xml() -> None:
    """Refuse to start unless openpyxl parses XML through defusedxml (entity and XXE attacks)."""
    import openpyxl.xml

    if not openpyxl.xml.DEFUSEDXML:
        raise RuntimeError(
            "defusedxml is not installed, so openpyxl would parse workbooks unsafely: pip install defusedxml"
        )


@dataclass
class Sheet:
    """One worksheet: rows[0] is Excel row 1 and rows[r][0] is column A; empty cells are None."""

    name: str
    rows: list[list[Any]]
    hidden: bool = False
    fills: list[list[str | None]] | None = None  # RGB hex per cell, only when a layout asks for colours
    bold: list[list[bool]] | None = None  # cell font bold, read with the fills

    def cell(self, row: int, col: int) -> Any:
        """The value at a 0-based row and column, None outside the sheet."""
        if row < len(self.rows) and col < len(self.rows[row]):
            return self.rows[row][col]
        return None

    def fill(self, row: int, col: int) -> str | None:
        """The solid fill colour (RRGGBB) of a 0-based cell, None when unfilled or not read."""
        return _at(self.fills, row, col)

    def is_bold(self, row: int, col: int) -> bool:
        """Whether a 0-based cell's font is bold (False when styles were not read)."""
        return bool(_at(self.bold, row, col))


def _at(grid: list[list[Any]] | None, row: int, col: int) -> Any:
    if grid is not None and row < len(grid) and col < len(grid[row]):
        return grid[row][col]
    return None


@dataclass
class Book:
    """A workbook read for its values: sheets in workbook order, plus what was noticed while reading."""

    name: str
    sheets: list[Sheet]
    notes: list[Message] = field(default_factory=list)  # warnings noticed while reading (hidden rows, links…)
    source: str = "xlsx"  # or "xlwings" (values only: no fills)
    data: bytes | None = field(
        default=None, repr=False
    )  # the file, kept so cell styles can be read on demand

    @property
    def has_styles(self) -> bool:
        """Whether cell fills and fonts have been read (see add_cell_styles)."""
        return bool(self.sheets) and all(s.fills is not None for s in self.sheets)

    def sheet(self, name: str) -> Sheet | None:
        """The sheet whose name matches case- and space-insensitively, or None."""
        wanted = _key(name)
        for sheet in self.sheets:
            if _key(sheet.name) == wanted:
                return sheet
        return None


def _key(text: str) -> str:
    return "".join(str(text).split()).lower()


def column_letter(index: int) -> str:
    """Column letters for a 0-based column index (0 → A, 26 → AA)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def book_from_xlsx(data: bytes, name: str = "workbook.xlsx") -> Book:
    """Read an .xlsx or .xlsm workbook's values with calamine; macros are never run or kept."""
    main = _refuse_non_workbooks(data, name)
    notes, hidden_rows = _inspect_parts(data, name)  # reads every part to its end: damage is found here
    import python_calamine as pc

    try:
        wb = pc.CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheets = []
        for meta in wb.sheets_metadata:
            if meta.typ != pc.SheetTypeEnum.WorkSheet:
                continue  # chart and macro sheets hold no plan cells
            ws = wb.get_sheet_by_name(meta.name)
            rows = ws.to_python(skip_empty_area=False)
            hidden = meta.visible != pc.SheetVisibleEnum.Visible
            sheets.append(
                Sheet(meta.name, [[None if v == "" else v for v in row] for row in rows], hidden=hidden)
            )
            if hidden and any(any(v not in ("", None) for v in row) for row in rows):
                notes.append(
                    Message(
                        WARNING,
                        "hidden-content",
                        meta.name,
                        None,
                        None,
                        "this sheet is hidden; it was read like the others. Unhide it (right-click a "
                        "sheet tab > Unhide) to check what it holds, or delete it.",
                    )
                )
            for r in hidden_rows.get(meta.name, [])[:20]:
                notes.append(
                    Message(
                        WARNING,
                        "hidden-content",
                        meta.name,
                        f"A{r}",
                        None,
                        f"row {r} is hidden; it was read like the others. Unhide it to check it.",
                    )
                )
            notes.extend(_merge_notes(meta.name, ws.merged_cell_ranges or []))
    except UnreadableWorkbook:
        raise
    except pc.PasswordError:
        raise UnreadableWorkbook(
            f"{name} is password-protected. Remove the password (File > Info > "
            "Protect Workbook) and submit it again."
        ) from None
    except Exception:  # calamine raises several types for damaged files, in its own words: never show those
        if main != "xl/workbook.xml":
            raise UnreadableWorkbook(
                f"{name} is a spreadsheet whose parts are not where Excel puts them (its "
                f"workbook is stored as {main}), so it cannot be read here. Open it in Excel, "
                "save it as an Excel Workbook (.xlsx) and submit that."
            ) from None
        raise DamagedWorkbook(
            f"{name} is a damaged workbook (parts of it are not as Excel writes them), so it was "
            "not read. If Excel opens it, save it again as a new .xlsx (File > Save As) and submit "
            "that; if not, submit an earlier copy."
        ) from None
    return Book(name, sheets, notes=notes, data=data)


def _merge_notes(sheet: str, merged: list[tuple[tuple[int, int], tuple[int, int]]]) -> list[Message]:
    """Cells merged down several rows: only the first row holds the value."""
    found = []
    for (r0, c0), (r1, c1) in merged:
        if r1 > r0 and r0 >= 1:  # below the header row, across rows
            first, last = f"{column_letter(c0)}{r0 + 1}", f"{column_letter(c1)}{r1 + 1}"
            found.append(
                Message(
                    WARNING,
                    "merged-cells",
                    sheet,
                    first,
                    None,
                    f"cells {first}:{last} are merged, so only row {r0 + 1} holds the value and rows "
                    f"{r0 + 2} to {r1 + 1} read as blank in this column (unless the layout copies it "
                    "down). Unmerge the cells and fill in each row.",
                )
            )
    return found


_ROW = re.compile(rb"<row\b([^>]*?)(?:/>|>(.*?)</row>)", re.S)
_ROW_NUMBER = re.compile(rb'\sr="(\d+)"')
_HIDDEN = re.compile(rb'\shidden="(?:1|true)"')
_ROW_TAG = re.compile(rb"<row\b([^>]*?)/?>")
_SHEET_ENTRY = re.compile(rb'<sheet\b[^>]*?name="([^"]*)"[^>]*?r:id="([^"]*)"')
_REL_ENTRY = re.compile(
    rb'<Relationship\b[^>]*?Id="([^"]*)"[^>]*?Target="([^"]*)"|'
    rb'<Relationship\b[^>]*?Target="([^"]*)"[^>]*?Id="([^"]*)"'
)
_EXTERNAL = (
    ("xl/externalLinks/", "links to other workbooks (they were not followed)"),
    ("xl/connections.xml", "data connections (they were not refreshed)"),
    ("xl/embeddings/", "embedded objects (they were not opened)"),
    ("xl/activeX/", "ActiveX controls (they were not run)"),
)


def _inspect_parts(data: bytes, name: str) -> tuple[list[Message], dict[str, list[int]]]:
    """Look at the raw parts before any parser: refuse DTDs, damage and impossible rows; note macros, links, hidden
    rows."""
    try:
        return _inspect_zip(data, name)
    except _PartFault as fault:
        raise _damaged(name, f"part {fault.part}", fault.cause) from None
    except _ZIP_FAULTS as exc:  # in the package's directory, before any one part is read
        raise _damaged(name, None, exc) from None


def _inspect_zip(data: bytes, name: str) -> tuple[list[Message], dict[str, list[int]]]:
    import html

    from .macros import macro_parts

    notes: list[Message] = []
    hidden: dict[str, list[int]] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        try:
            macros = bool(macro_parts(zf))
        except _ZIP_FAULTS:  # a damaged part: named below, where each part is read
            macros = False
        if macros:
            notes.append(
                Message(
                    WARNING,
                    "macros",
                    None,
                    None,
                    None,
                    "this workbook contains macros; they were not run and are not kept.",
                )
            )
        external = [what for prefix, what in _EXTERNAL if any(_normal(n).startswith(prefix) for n in names)]
        if external:
            notes.append(
                Message(
                    WARNING,
                    "external-content",
                    None,
                    None,
                    None,
                    f"this workbook has {', '.join(external)}. Only the values typed in its cells were read.",
                )
            )
        try:
            part_to_sheet = _sheet_parts(zf)
        except _PartFault:  # named below, where each part is read
            part_to_sheet = {}
        for part in names:
            try:
                scan = _inspect_part(zf, part, part_to_sheet.get(part), name)
            except _ZIP_FAULTS as exc:
                sheet = part_to_sheet.get(part)
                raise _damaged(
                    name, f"sheet '{html.unescape(sheet)}'" if sheet else f"part {part}", exc
                ) from None
            if scan is None:
                continue
            sheet_name = html.unescape(part_to_sheet[part])
            last_row = scan.last_row
            if last_row > EXCEL_LAST_ROW:
                raise UnreadableWorkbook(
                    f"{name}: sheet '{sheet_name}' claims a row {last_row:,}, beyond Excel's last row "
                    f"({EXCEL_LAST_ROW:,}); the file was not made by Excel and was not opened."
                )
            if scan.last_value_row > MAX_ROWS:
                raise TooManyRows(
                    f"sheet '{sheet_name}' has content down to row {scan.last_value_row:,}, far below any action "
                    f"plan (at most {MAX_ROWS:,} rows are read). Delete the rows below your plan (select them, "
                    "right-click > Delete) and save; in Excel, Ctrl+End shows the last used cell."
                )
            if scan.hidden:
                hidden[sheet_name] = scan.hidden
            notes.extend(_formula_notes(sheet_name, scan.formulas))
    return notes, hidden


def _inspect_part(zf: zipfile.ZipFile, part: str, sheet: str | None, name: str) -> _SheetScan | None:
    """Read one part to its end (so a damaged one is found before any parser); a sheet part's rows are scanned."""
    with zf.open(part) as fh:
        head = fh.read(4096)
        if part.endswith((".xml", ".rels")):
            # Excel never writes a DTD; one in a workbook part is an entity attack (billion laughs, XXE).
            if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                raise UnreadableWorkbook(
                    f"{name} contains XML entity declarations (a DTD), which Excel never writes; the file "
                    "was not opened. Open it in Excel, save it as a new .xlsx and submit that."
                )
            if sheet is not None:
                return _scan_rows(head, fh)
        while fh.read(1 << 20):  # the checksum is checked only at a part's end
            pass
    return None


_FORMULA_CELL = re.compile(
    rb'<c\b[^>]*?\sr="([A-Z]+[0-9]+)"[^>]*>\s*<f\b[^>]*?(?:/>|>(.*?)</f>)\s*(<v>.*?</v>|<v/>)?', re.S
)


@dataclass
class _SheetScan:
    last_row: int = 0
    last_value_row: int = 0  # the last row with a value, formula or inline text in any cell
    hidden: list[int] = field(default_factory=list)
    formulas: list[tuple[str, str, bool]] = field(default_factory=list)  # (cell, formula, has a saved value)


def _scan_rows(head: bytes, fh: Any) -> _SheetScan:
    """Row numbers, hidden rows and formula cells of a sheet part, streamed: a sheet is never held whole."""
    scan = _SheetScan()
    carry = head
    while True:
        more = fh.read(1 << 20)
        if more:
            # Cut after the last complete row, so no row (or formula cell) straddles two chunks.
            end = carry.rfind(b"</row>")
            cut = end + 6 if end >= 0 else carry.rfind(b"<")
            chunk, carry = (carry[:cut], carry[cut:]) if cut > 0 else (b"", carry)
        else:
            chunk, carry = carry, b""
        if not _scan_rows_in_order(chunk, scan):
            _scan_rows_one_by_one(chunk, scan)
        if b"<f" in chunk and len(scan.formulas) < 1000:
            for cell, formula, value in _FORMULA_CELL.findall(chunk):
                saved = bool(value) and value not in (b"<v/>", b"<v></v>")
                scan.formulas.append((cell.decode(), (formula or b"").decode("utf-8", "replace"), saved))
        if not more:
            return scan
        carry += more


def _scan_rows_one_by_one(chunk: bytes, scan: _SheetScan) -> None:
    for row in _ROW.finditer(chunk):
        m = _ROW_NUMBER.search(row.group(1))
        if m:
            number = int(m.group(1))
            scan.last_row = max(scan.last_row, number)
            if _HIDDEN.search(row.group(1)):
                scan.hidden.append(number)
            # Excel writes rows that only carry a height or a style, even at row 1,048,576: they hold nothing.
            body = row.group(2)
            if body and (b"<v>" in body or b"<is>" in body or b"<f" in body):
                scan.last_value_row = max(scan.last_value_row, number)


def _scan_rows_in_order(chunk: bytes, scan: _SheetScan) -> bool:
    """_scan_rows_one_by_one's findings for a chunk whose rows all carry a number, in ascending order (as every
    writer writes them), found by C-speed searches instead of a pattern matched over each row's cells (which cost
    a 2,000-row sheet ~30 ms). False, with nothing recorded, for a chunk it cannot tell this way."""
    tags = [(m.start(), m.group(1)) for m in _ROW_TAG.finditer(chunk)]
    numbers = []
    for _, attrs in tags:
        m = _ROW_NUMBER.search(attrs)
        if m is None:
            return False
        numbers.append(int(m.group(1)))
    if not numbers:
        return not (b"<v>" in chunk or b"<is>" in chunk or b"<f" in chunk)
    if any(a >= b for a, b in zip(numbers, numbers[1:], strict=False)):
        return False
    # The last value, formula or inline text of the chunk is in the last row that begins before it (rows do not
    # nest, and a row closed by "/>" holds no cell).
    at = max(chunk.rfind(b"<v>"), chunk.rfind(b"<is>"), chunk.rfind(b"<f"))
    if at > tags[0][0]:
        row = bisect.bisect_right([start for start, _ in tags], at) - 1
        scan.last_value_row = max(scan.last_value_row, numbers[row])
    elif at >= 0:  # something before the first row's tag: not a layout this can read
        return False
    scan.last_row = max(scan.last_row, numbers[-1])
    scan.hidden.extend(
        n for n, (_, attrs) in zip(numbers, tags, strict=True) if b"hidden" in attrs and _HIDDEN.search(attrs)
    )
    return True


def _formula_notes(sheet: str, formulas: list[tuple[str, str, bool]]) -> list[Message]:
    """Formula cells: their last calculated values are read; one with no saved value reads as blank."""
    import html

    notes = []
    unsaved = [(c, f) for c, f, saved in formulas if not saved]
    for cell, formula in unsaved[:20]:
        shown = f" (={html.unescape(formula)[:60]})" if formula else ""
        notes.append(
            Message(
                WARNING,
                "formula-without-value",
                sheet,
                cell,
                None,
                f"this cell holds a formula{shown} but no calculated value was saved with it, so it "
                "reads as blank. Open the workbook in Excel, let it calculate, save, and submit again.",
            )
        )
    saved = [c for c, _, ok in formulas if ok]
    if saved:
        notes.append(
            Message(
                WARNING,
                "formula-cells",
                sheet,
                saved[0],
                None,
                f"{len(saved)} cell{'s' if len(saved) > 1 else ''} on this sheet hold formulas; the value "
                "Excel last calculated was read (formulas are never run here). Type the values in if the "
                "formulas refer to other files.",
            )
        )
    return notes


def _sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet part (its name in the zip) → sheet name, from the workbook part and its relationships.

    Found from the package's own relationships, so a workbook at workbook.xml or with backslashes in its part names
    (both read by Excel and calamine) is scanned like any other: its rows count against the limit too.
    """
    names = _part_names(zf)
    main = _main_part(zf)
    if main is None:
        return {}
    folder = posixpath.dirname(_normal(main))
    rels = names.get(posixpath.join(folder, "_rels", posixpath.basename(_normal(main)) + ".rels").casefold())
    if rels is None:
        return {}
    workbook = _read_part(zf, main)
    targets = {}
    for m in _REL_ENTRY.finditer(_read_part(zf, rels)):
        rid, target = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        target = target.decode("utf-8", "replace").replace("\\", "/")
        path = (
            target.lstrip("/")
            if target.startswith("/")
            else posixpath.normpath(posixpath.join(folder, target))
        )
        actual = names.get(path.casefold())
        if actual is not None:
            targets[rid.decode()] = actual
    return {
        targets[rid.decode()]: sheet_name.decode("utf-8")
        for sheet_name, rid in _SHEET_ENTRY.findall(workbook)
        if rid.decode() in targets
    }


class _PartFault(Exception):
    """A part that cannot be unpacked, and why (turned into DamagedWorkbook where the file's name is known)."""

    def __init__(self, part: str, cause: Exception) -> None:
        super().__init__(part)
        self.part, self.cause = part, cause


def _read_part(zf: zipfile.ZipFile, part: str) -> bytes:
    """A part's bytes; _PartFault naming it when it is damaged."""
    try:
        return zf.read(part)
    except _ZIP_FAULTS as exc:
        raise _PartFault(part, exc) from None


def _normal(part: str) -> str:
    return part.replace("\\", "/").lstrip("/")


def _part_names(zf: zipfile.ZipFile) -> dict[str, str]:
    """Each part's name as the zip holds it, by its path with forward slashes, in lower case."""
    return {_normal(n).casefold(): n for n in zf.namelist()}


_OFFICE_DOCUMENT = re.compile(rb'<Relationship\b[^>]*?Type="[^"]*/officeDocument"[^>]*?/?>', re.S)
_TARGET = re.compile(rb'Target="([^"]*)"')
_MAIN_TYPES = (
    b"spreadsheetml.sheet.main",
    b"spreadsheetml.template.main",
    b"ms-excel.sheet.macroenabled.main",
    b"ms-excel.template.macroenabled.main",
)


def _main_part(zf: zipfile.ZipFile) -> str | None:
    """The workbook part (its name in the zip): the package's officeDocument when it is a spreadsheet's, or
    xl/workbook.xml; None when the package holds no workbook."""
    names = _part_names(zf)
    rels = names.get("_rels/.rels")
    found = _OFFICE_DOCUMENT.search(_read_part(zf, rels)) if rels else None
    target = _TARGET.search(found.group(0)) if found else None
    if target is not None:
        main = names.get(_normal(target.group(1).decode("utf-8", "replace")).casefold())
        if main is not None:
            types = (
                _read_part(zf, names["[content_types].xml"]).lower()
                if "[content_types].xml" in names
                else b""
            )
            part = _normal(main).casefold().encode()
            declared = any(
                f'partname="/{part.decode()}" contenttype="'.encode() in types and t in types
                for t in _MAIN_TYPES
            )
            if declared or posixpath.basename(_normal(main)).casefold() == "workbook.xml":
                return main
    return names.get("xl/workbook.xml")


def book_from_xlwings(payload: dict[str, Any]) -> Book:
    """Turn the JSON the xlwings add-in client sends into a Book (values only, dates as ISO text)."""
    try:
        book_name = str(payload.get("book", {}).get("name") or "workbook.xlsx")
        sheets = []
        for sheet in payload["sheets"]:
            values = sheet.get("values") or []
            rows = [[None if v == "" else v for v in row] for row in values]
            sheets.append(Sheet(str(sheet["name"]), rows))
            if "fills" in sheet or "bold" in sheet:  # the add-in sends these when the layout reads them
                sheets[-1].fills, sheets[-1].bold = _styles_from_xlwings(sheet, rows)
    except (KeyError, TypeError, AttributeError, ValueError):
        raise UnreadableWorkbook(
            "The add-in sent a payload without sheets and values; update the add-in and try again."
        ) from None
    return Book(book_name, sheets, source="xlwings")


def _styles_from_xlwings(
    sheet: dict[str, Any], rows: list[list[Any]]
) -> tuple[list[list[str | None]], list[list[bool]]]:
    """Fill (RRGGBB) and bold grids from the add-in's sparse lists: fills [[row, col, "#RRGGBB"]], bold [[row, col]]."""
    width = max((len(r) for r in rows), default=0)
    fills: list[list[str | None]] = [[None] * width for _ in rows]
    bold = [[False] * width for _ in rows]
    for r, c, colour in sheet.get("fills") or []:
        if 0 <= r < len(rows) and 0 <= c < width and isinstance(colour, str):
            fills[r][c] = colour.lstrip("#").upper()[-6:] or None
    for r, c in sheet.get("bold") or []:
        if 0 <= r < len(rows) and 0 <= c < width:
            bold[r][c] = True
    return fills, bold


def add_cell_styles(book: Book) -> bool:
    """Read every cell's solid fill colour and bold font into the book's sheets; False when the book has none.

    calamine reads values only, so this opens the file again with openpyxl, which is several times
    slower: it runs only when the chosen layout needs colours or bold headings, never for the template.
    """
    if book.has_styles:
        return True
    if book.data is None:
        return False  # the add-in sends values only
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(book.data), read_only=True, data_only=True)
    except Exception:  # calamine read it, so a failure here only costs the colours
        return False
    try:
        theme = _theme_colours(wb.loaded_theme)
        for sheet in book.sheets:
            if sheet.name not in wb.sheetnames:
                sheet.fills, sheet.bold = [], []
                continue
            fills: list[list[str | None]] = []
            bold: list[list[bool]] = []
            for row in wb[sheet.name].iter_rows(min_row=1, min_col=1, max_row=len(sheet.rows) or 1):
                fills.append([_fill_rgb(cell, theme) for cell in row])
                bold.append([bool(getattr(getattr(cell, "font", None), "b", False)) for cell in row])
            sheet.fills, sheet.bold = fills, bold
    finally:
        wb.close()
    return True


# Excel numbers theme colours lt1, dk1, lt2, dk2, accent1-6, hlink, folHlink (light before dark).
_THEME_ORDER = (
    "lt1",
    "dk1",
    "lt2",
    "dk2",
    "accent1",
    "accent2",
    "accent3",
    "accent4",
    "accent5",
    "accent6",
    "hlink",
    "folHlink",
)


def _theme_colours(theme_xml: bytes | None) -> list[str]:
    """The workbook theme's colours as RRGGBB, in the order cell styles index them."""
    if not theme_xml:
        return []
    import xml.etree.ElementTree as ET

    ns = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
    try:
        root = ET.fromstring(theme_xml)
    except ET.ParseError:
        return []
    scheme = root.find(f".//{ns}clrScheme")
    if scheme is None:
        return []
    colours = {}
    for child in scheme:
        name = child.tag.removeprefix(ns)
        for spec in child:
            value = spec.get("lastClr") if spec.tag == f"{ns}sysClr" else spec.get("val")
            if value:
                colours[name] = value.upper()[-6:]
    return [colours.get(name, "000000") for name in _THEME_ORDER]


def _fill_rgb(cell: Any, theme: list[str]) -> str | None:
    """A cell's solid fill as RRGGBB (theme and indexed colours resolved, tints applied), or None."""
    fill = getattr(cell, "fill", None)
    if fill is None or fill.fill_type != "solid":
        return None
    colour = fill.fgColor
    if colour.type == "rgb" and isinstance(colour.value, str):
        return colour.value.upper()[-6:]
    if colour.type == "indexed":
        from openpyxl.styles.colors import COLOR_INDEX

        index = colour.value
        return COLOR_INDEX[index][-6:] if isinstance(index, int) and index < len(COLOR_INDEX) - 2 else None
    if colour.type == "theme" and isinstance(colour.value, int) and colour.value < len(theme):
        return _tinted(theme[colour.value], float(colour.tint or 0.0))
    return None


def _tinted(rgb: str, tint: float) -> str:
    """Excel's tint: lighten (tint > 0) or darken (tint < 0) a colour's lightness."""
    import colorsys

    if not tint:
        return rgb
    r, g, b = (int(rgb[i : i + 2], 16) / 255 for i in (0, 2, 4))
    h, lightness, s = colorsys.rgb_to_hls(r, g, b)
    lightness = lightness * (1 + tint) if tint < 0 else lightness * (1 - tint) + tint
    r, g, b = colorsys.hls_to_rgb(h, lightness, s)
    return "".join(f"{round(v * 255):02X}" for v in (r, g, b))


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:120]


def _refuse_non_workbooks(data: bytes, name: str) -> str:
    """Name what a file really is when it is not an xlsx, before any parser sees it; else its workbook part."""
    head = data[:8]
    if not data:
        raise UnreadableWorkbook(f"{name} is empty (0 bytes).")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        # An encrypted .xlsx is a compound file holding an EncryptedPackage stream; the directory naming it may sit
        # anywhere in the file (at the end of a large one), so look through all of it.
        if any(marker in data for marker in (_ENCRYPTED_UTF16, _ENCRYPTION_INFO_UTF16, b"EncryptedPackage")):
            raise UnreadableWorkbook(
                f"{name} is password-protected. Remove the password (File > Info > "
                "Protect Workbook) and submit it again."
            )
        raise UnreadableWorkbook(
            f"{name} is an old-style Excel 97-2003 (.xls) file. Open it in Excel and "
            "save it as an Excel Workbook (.xlsx), then submit it again."
        )
    if head.startswith(b"%PDF"):
        raise UnreadableWorkbook(f"{name} is a PDF, not an Excel workbook. Submit the .xlsx file itself.")
    if not head.startswith(b"PK"):
        kind = "a text or CSV file" if _looks_like_text(data) else "not an Excel workbook"
        raise UnreadableWorkbook(
            f"{name} is {kind}. Open it in Excel, save it as an Excel Workbook (.xlsx) and submit it again."
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            names = {i.filename for i in infos}
            total = sum(i.file_size for i in infos)
            packed = sum(i.compress_size for i in infos) or 1
            main = _main_part(zf)
            normal = set(_part_names(zf))
            ods = "mimetype" in names and zf.read("mimetype").startswith(
                b"application/vnd.oasis.opendocument.spreadsheet"
            )
    except _PartFault as fault:
        raise _damaged(name, f"part {fault.part}", fault.cause) from None
    except _ZIP_FAULTS:
        raise UnreadableWorkbook(
            f"{name} is damaged or incomplete (the file was cut short). Save it "
            "again in Excel and submit the new copy."
        ) from None
    if "xl/workbook.bin" in normal:
        raise UnreadableWorkbook(
            f"{name} is a binary workbook (.xlsb). Save it as an Excel Workbook (.xlsx) and submit it again."
        )
    if ods:
        raise UnreadableWorkbook(
            f"{name} is an OpenDocument spreadsheet (.ods). Open it in Excel or LibreOffice, "
            "save it as an Excel Workbook (.xlsx) and submit that."
        )
    if main is None:
        what = (
            "a Word document"
            if "word/document.xml" in normal
            else (
                "a PowerPoint file"
                if "ppt/presentation.xml" in normal
                else "a zip file, not an Excel workbook"
            )
        )
        raise UnreadableWorkbook(f"{name} is {what}. Submit the .xlsx workbook itself.")
    if total > _MAX_UNCOMPRESSED or (total > 20 * 1024 * 1024 and total / packed > _MAX_RATIO):
        raise UnreadableWorkbook(
            f"{name} unpacks to {total // (1024 * 1024)} MB, far more than any action plan; "
            "it was not opened. Remove unused sheets or rows and submit it again."
        )
    return main


_ENCRYPTED_UTF16 = "EncryptedPackage".encode("utf-16-le")
_ENCRYPTION_INFO_UTF16 = "EncryptionInfo".encode("utf-16-le")


def _looks_like_text(data: bytes) -> bool:
    sample = data[:4096]
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in sample
