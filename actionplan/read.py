"""Workbook bytes (xlsx/xlsm) or xlwings JSON → sheets of plain cell values, refusing what is not a workbook."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from typing import Any

from .errors import UnreadableWorkbook

# A workbook's XML rarely compresses better than 1:100; zip bombs do far better.
_MAX_UNCOMPRESSED = 400 * 1024 * 1024
_MAX_RATIO = 200


@dataclass
class Sheet:
    """One worksheet: rows[0] is Excel row 1 and rows[r][0] is column A; empty cells are None."""

    name: str
    rows: list[list[Any]]
    hidden: bool = False
    fills: list[list[str | None]] | None = None  # RGB hex per cell, only when a layout asks for colours

    def cell(self, row: int, col: int) -> Any:
        """The value at a 0-based row and column, None outside the sheet."""
        if row < len(self.rows) and col < len(self.rows[row]):
            return self.rows[row][col]
        return None


@dataclass
class Book:
    """A workbook read for its values: sheets in workbook order, plus what was noticed while reading."""

    name: str
    sheets: list[Sheet]
    notes: list[str] = field(default_factory=list)
    source: str = "xlsx"  # or "xlwings" (values only: no fills)

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
    import python_calamine as pc

    try:
        wb = pc.CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheets = []
        for meta in wb.sheets_metadata:
            if meta.typ != pc.SheetTypeEnum.WorkSheet:
                continue  # chart and macro sheets hold no plan cells
            ws = wb.get_sheet_by_name(meta.name)
            rows = ws.to_python(skip_empty_area=False)
            sheets.append(Sheet(meta.name, [[None if v == "" else v for v in row] for row in rows],
                                hidden=meta.visible != pc.SheetVisibleEnum.Visible))
    except pc.PasswordError:
        raise UnreadableWorkbook(f"{name} is password-protected. Remove the password (File > Info > "
                                 "Protect Workbook) and submit it again.") from None
    except Exception as exc:  # calamine raises several types for damaged files
        raise UnreadableWorkbook(f"{name} could not be read as an Excel workbook ({_short(exc)}). "
                                 "Open it in Excel, save it as .xlsx and submit it again.") from None
    return Book(name, sheets)


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
