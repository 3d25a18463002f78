"""Workbook bytes (xlsx/xlsm) or xlwings JSON → sheets of plain cell values, refusing what is not a workbook."""

from __future__ import annotations

import io
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


def assert_safe_xml() -> None:
    """Refuse to start unless openpyxl parses XML through defusedxml (entity and XXE attacks)."""
    import openpyxl.xml

    if not openpyxl.xml.DEFUSEDXML:
        raise RuntimeError("defusedxml is not installed, so openpyxl would parse workbooks unsafely: "
                           "pip install defusedxml")


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
    data: bytes | None = field(default=None, repr=False)  # the file, kept so cell styles can be read on demand

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
    _refuse_non_workbooks(data, name)
    try:
        notes, hidden_rows = _inspect_parts(data, name)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:  # a damaged part (bad CRC), found by the corpus sweep
        raise UnreadableWorkbook(f"{name} could not be read as an Excel workbook ({_short(exc)}). "
                                 "Open it in Excel, save it as .xlsx and submit it again.") from None
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
            sheets.append(Sheet(meta.name, [[None if v == "" else v for v in row] for row in rows], hidden=hidden))
            if hidden and any(any(v not in ("", None) for v in row) for row in rows):
                notes.append(Message(WARNING, "hidden-content", meta.name, None, None,
                                     "this sheet is hidden; it was read like the others. Unhide it (right-click a "
                                     "sheet tab > Unhide) to check what it holds, or delete it."))
            for r in hidden_rows.get(meta.name, [])[:20]:
                notes.append(Message(WARNING, "hidden-content", meta.name, f"A{r}", None,
                                     f"row {r} is hidden; it was read like the others. Unhide it to check it."))
            notes.extend(_merge_notes(meta.name, ws.merged_cell_ranges or []))
    except UnreadableWorkbook:
        raise
    except pc.PasswordError:
        raise UnreadableWorkbook(f"{name} is password-protected. Remove the password (File > Info > "
                                 "Protect Workbook) and submit it again.") from None
    except Exception as exc:  # calamine raises several types for damaged files
        raise UnreadableWorkbook(f"{name} could not be read as an Excel workbook ({_short(exc)}). "
                                 "Open it in Excel, save it as .xlsx and submit it again.") from None
    return Book(name, sheets, notes=notes, data=data)


def _merge_notes(sheet: str, merged: list[tuple[tuple[int, int], tuple[int, int]]]) -> list[Message]:
    """Cells merged down several rows: only the first row holds the value."""
    found = []
    for (r0, c0), (r1, c1) in merged:
        if r1 > r0 and r0 >= 1:  # below the header row, across rows
            first, last = f"{column_letter(c0)}{r0 + 1}", f"{column_letter(c1)}{r1 + 1}"
            found.append(Message(WARNING, "merged-cells", sheet, first, None,
                                 f"cells {first}:{last} are merged, so only row {r0 + 1} holds the value and rows "
                                 f"{r0 + 2} to {r1 + 1} read as blank in this column (unless the layout copies it "
                                 "down). Unmerge the cells and fill in each row."))
    return found


_ROW_TAG = re.compile(rb"<row\b[^>]*>")
_ROW_NUMBER = re.compile(rb'\sr="(\d+)"')
_HIDDEN = re.compile(rb'\shidden="(?:1|true)"')
_SHEET_ENTRY = re.compile(rb'<sheet\b[^>]*?name="([^"]*)"[^>]*?r:id="([^"]*)"')
_REL_ENTRY = re.compile(rb'<Relationship\b[^>]*?Id="([^"]*)"[^>]*?Target="([^"]*)"|'
                        rb'<Relationship\b[^>]*?Target="([^"]*)"[^>]*?Id="([^"]*)"')
_EXTERNAL = (("xl/externalLinks/", "links to other workbooks (they were not followed)"),
             ("xl/connections.xml", "data connections (they were not refreshed)"),
             ("xl/embeddings/", "embedded objects (they were not opened)"),
             ("xl/activeX/", "ActiveX controls (they were not run)"))


def _inspect_parts(data: bytes, name: str) -> tuple[list[Message], dict[str, list[int]]]:
    """Look at the raw parts before any parser: refuse DTDs and impossible rows; note macros, links, hidden rows."""
    import html

    notes: list[Message] = []
    hidden: dict[str, list[int]] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        if "xl/vbaProject.bin" in names:
            notes.append(Message(WARNING, "macros", None, None, None,
                                 "this workbook contains macros; they were not run and are not kept."))
        external = [what for prefix, what in _EXTERNAL if any(n.startswith(prefix) for n in names)]
        if external:
            notes.append(Message(WARNING, "external-content", None, None, None,
                                 f"this workbook has {', '.join(external)}. Only the values typed in its cells "
                                 "were read."))
        part_to_sheet = _sheet_parts(zf)
        for part in names:
            if not part.endswith(".xml") and not part.endswith(".rels"):
                continue
            with zf.open(part) as fh:
                head = fh.read(4096)
                # Excel never writes a DTD; one in a workbook part is an entity attack (billion laughs, XXE).
                if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                    raise UnreadableWorkbook(
                        f"{name} contains XML entity declarations (a DTD), which Excel never writes; the file "
                        "was not opened. Open it in Excel, save it as a new .xlsx and submit that.")
                sheet = part_to_sheet.get(part)
                if sheet is None:
                    continue
                scan = _scan_rows(head, fh)
            sheet_name = html.unescape(sheet)
            last_row = scan.last_row
            if last_row > EXCEL_LAST_ROW:
                raise UnreadableWorkbook(
                    f"{name}: sheet '{sheet_name}' claims a row {last_row:,}, beyond Excel's last row "
                    f"({EXCEL_LAST_ROW:,}); the file was not made by Excel and was not opened.")
            if last_row > MAX_ROWS:
                raise TooManyRows(
                    f"sheet '{sheet_name}' has content down to row {last_row:,}, far below any action plan "
                    f"(at most {MAX_ROWS:,} rows are read). Delete the rows below your plan (select them, "
                    "right-click > Delete) and save; in Excel, Ctrl+End shows the last used cell.")
            if scan.hidden:
                hidden[sheet_name] = scan.hidden
            notes.extend(_formula_notes(sheet_name, scan.formulas))
    return notes, hidden


_FORMULA_CELL = re.compile(rb'<c\b[^>]*?\sr="([A-Z]+[0-9]+)"[^>]*>\s*<f\b[^>]*?(?:/>|>(.*?)</f>)\s*(<v>.*?</v>|<v/>)?',
                           re.S)


@dataclass
class _SheetScan:
    last_row: int = 0
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
        for tag in _ROW_TAG.findall(chunk):
            m = _ROW_NUMBER.search(tag)
            if m:
                scan.last_row = max(scan.last_row, int(m.group(1)))
                if _HIDDEN.search(tag):
                    scan.hidden.append(int(m.group(1)))
        if b"<f" in chunk and len(scan.formulas) < 1000:
            for cell, formula, value in _FORMULA_CELL.findall(chunk):
                saved = bool(value) and value not in (b"<v/>", b"<v></v>")
                scan.formulas.append((cell.decode(), (formula or b"").decode("utf-8", "replace"), saved))
        if not more:
            return scan
        carry += more


def _formula_notes(sheet: str, formulas: list[tuple[str, str, bool]]) -> list[Message]:
    """Formula cells: their last calculated values are read; one with no saved value reads as blank."""
    import html

    notes = []
    unsaved = [(c, f) for c, f, saved in formulas if not saved]
    for cell, formula in unsaved[:20]:
        shown = f" (={html.unescape(formula)[:60]})" if formula else ""
        notes.append(Message(WARNING, "formula-without-value", sheet, cell, None,
                             f"this cell holds a formula{shown} but no calculated value was saved with it, so it "
                             "reads as blank. Open the workbook in Excel, let it calculate, save, and submit again."))
    saved = [c for c, _, ok in formulas if ok]
    if saved:
        notes.append(Message(WARNING, "formula-cells", sheet, saved[0], None,
                             f"{len(saved)} cell{'s' if len(saved) > 1 else ''} on this sheet hold formulas; the value "
                             "Excel last calculated was read (formulas are never run here). Type the values in if the "
                             "formulas refer to other files."))
    return notes


def _sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet part path → sheet name, from workbook.xml and its relationships."""
    try:
        workbook = zf.read("xl/workbook.xml")
        rels = zf.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return {}
    targets = {}
    for m in _REL_ENTRY.finditer(rels):
        rid, target = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        target = target.decode()
        targets[rid.decode()] = target.lstrip("/") if target.startswith("/") else "xl/" + target
    return {targets[rid.decode()]: sheet_name.decode("utf-8") for sheet_name, rid in _SHEET_ENTRY.findall(workbook)
            if rid.decode() in targets}


def book_from_xlwings(payload: dict[str, Any]) -> Book:
    """Turn the JSON the xlwings add-in client sends into a Book (values only, dates as ISO text)."""
    try:
        book_name = str(payload.get("book", {}).get("name") or "workbook.xlsx")
        sheets = []
        for sheet in payload["sheets"]:
            values = sheet.get("values") or []
            rows = [[None if v == "" else v for v in row] for row in values]
            sheets.append(Sheet(str(sheet["name"]), rows))
    except (KeyError, TypeError, AttributeError):
        raise UnreadableWorkbook("The add-in sent a payload without sheets and values; "
                                 "update the add-in and try again.") from None
    return Book(book_name, sheets, source="xlwings")


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
_THEME_ORDER = ("lt1", "dk1", "lt2", "dk2", "accent1", "accent2", "accent3", "accent4", "accent5", "accent6",
                "hlink", "folHlink")


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
    r, g, b = (int(rgb[i:i + 2], 16) / 255 for i in (0, 2, 4))
    h, lightness, s = colorsys.rgb_to_hls(r, g, b)
    lightness = lightness * (1 + tint) if tint < 0 else lightness * (1 - tint) + tint
    r, g, b = colorsys.hls_to_rgb(h, lightness, s)
    return "".join(f"{round(v * 255):02X}" for v in (r, g, b))


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:120]


def _refuse_non_workbooks(data: bytes, name: str) -> None:
    """Name what a file really is when it is not an xlsx, before any parser sees it."""
    head = data[:8]
    if not data:
        raise UnreadableWorkbook(f"{name} is empty (0 bytes).")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        if "EncryptedPackage".encode("utf-16-le") in data[:200_000] or b"EncryptedPackage" in data[:200_000]:
            raise UnreadableWorkbook(f"{name} is password-protected. Remove the password (File > Info > "
                                     "Protect Workbook) and submit it again.")
        raise UnreadableWorkbook(f"{name} is an old-style Excel 97-2003 (.xls) file. Open it in Excel and "
                                 "save it as an Excel Workbook (.xlsx), then submit it again.")
    if head.startswith(b"%PDF"):
        raise UnreadableWorkbook(f"{name} is a PDF, not an Excel workbook. Submit the .xlsx file itself.")
    if not head.startswith(b"PK"):
        kind = "a text or CSV file" if _looks_like_text(data) else "not an Excel workbook"
        raise UnreadableWorkbook(f"{name} is {kind}. Open it in Excel, save it as an Excel Workbook "
                                 "(.xlsx) and submit it again.")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            names = {i.filename for i in infos}
            total = sum(i.file_size for i in infos)
            packed = sum(i.compress_size for i in infos) or 1
    except (zipfile.BadZipFile, OSError, ValueError):
        raise UnreadableWorkbook(f"{name} is damaged or incomplete (the file was cut short). Save it "
                                 "again in Excel and submit the new copy.") from None
    if "xl/workbook.bin" in names:
        raise UnreadableWorkbook(f"{name} is a binary workbook (.xlsb). Save it as an Excel Workbook "
                                 "(.xlsx) and submit it again.")
    if "xl/workbook.xml" not in names:
        what = "a Word document" if "word/document.xml" in names else (
            "a PowerPoint file" if "ppt/presentation.xml" in names else "a zip file, not an Excel workbook")
        raise UnreadableWorkbook(f"{name} is {what}. Submit the .xlsx workbook itself.")
    if total > _MAX_UNCOMPRESSED or (total > 20 * 1024 * 1024 and total / packed > _MAX_RATIO):
        raise UnreadableWorkbook(f"{name} unpacks to {total // (1024 * 1024)} MB, far more than any action plan; "
                                 "it was not opened. Remove unused sheets or rows and submit it again.")


def _looks_like_text(data: bytes) -> bool:
    sample = data[:4096]
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in sample
