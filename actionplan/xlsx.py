"""What the template and the rollup writers share: safe workbook options, RAGB colours, cell formats
made once per workbook, and the atomic write.

Both writers use xlsxwriter. Department text is always written with ``write_string`` into workbooks
opened with ``SAFE_OPTIONS``, so a cell that starts with ``=``, ``+``, ``-`` or ``@`` stays text and never
becomes a formula (CSV/formula injection).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook

from actionplan.files import write_built

# Every workbook is opened with these: text is data, never a formula, a number or a link.
SAFE_OPTIONS: dict[str, Any] = {
    "strings_to_formulas": False,
    "strings_to_numbers": False,
    "strings_to_urls": False,
}

# RAGB fill and font colours (the colours councils print their plans in).
RAGB_COLOURS = {
    "B": ("#5B9BD5", "#FFFFFF"),
    "G": ("#70AD47", "#000000"),
    "A": ("#FFC000", "#000000"),
    "R": ("#C00000", "#FFFFFF"),
}
HEADER_FILL = "#D9E1F2"


class Styles:
    """Cell formats made once per workbook and shared by every cell that looks the same."""

    def __init__(self, workbook: Workbook) -> None:
        self._workbook = workbook
        self._made: dict[tuple[tuple[str, Any], ...], Format] = {}

    def __call__(self, **props: Any) -> Format:
        key = tuple(sorted(props.items()))
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = self._workbook.add_format(props)
        return made

    def header(self, fill: str = HEADER_FILL, font: str = "#000000") -> Format:
        return self(bold=True, bg_color=fill, font_color=font, border=1, text_wrap=True, valign="top")


def write_atomically(path: Path, build: Callable[[str, str], None]) -> Path:
    """Build a workbook into a temp file beside path, then move it over path in one step."""

    def into(tmp: Path) -> None:
        # constant_memory keeps each sheet's rows in a scratch folder; ours, so a failure leaves none.
        with tempfile.TemporaryDirectory(prefix="actionplan-xlsx-", ignore_cleanup_errors=True) as scratch:
            build(str(tmp), scratch)

    return write_built(path, into)
