"""Files that are not workbooks at all: each is named for what it is, before any parser sees it."""

from __future__ import annotations

import io
import zipfile

import pytest

from actionplan.check import check_workbook
from tests.conftest import action, canonical_workbook


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"", "is empty (0 bytes)"),
        (b"Ref,Action\nA1,Do it\n", "is a text or CSV file"),
        (b"%PDF-1.7\n...", "is a PDF, not an Excel workbook"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "old-style Excel 97-2003 (.xls) file"),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "EncryptedPackage".encode("utf-16-le") + b"\0" * 600,
            "is password-protected",
        ),
        (b"PK\x03\x04truncated", "damaged or incomplete"),
        (_zip({"word/document.xml": b"<w/>"}), "is a Word document"),
        (_zip({"xl/workbook.bin": b"\0"}), "binary workbook (.xlsb)"),
        (b"\x89PNG\r\n\x1a\n\0\0", "not an Excel workbook"),
    ],
)
def test_check_names_what_a_non_workbook_is(data, says):
    sub = check_workbook(data, "plan.xlsx")
    assert not sub.accepted
    assert [m.code for m in sub.errors] == ["unreadable-file"]
    assert says in sub.errors[0].message
    assert sub.errors[0].message.startswith("plan.xlsx ")


def test_truncated_real_workbook_is_damaged(tmp_path):
    data = canonical_workbook(tmp_path / "t.xlsx", actions=[action()]).read_bytes()
    sub = check_workbook(data[: len(data) // 2], "t.xlsx")
    assert "damaged or incomplete" in sub.errors[0].message
