"""The column listings in docs/workbook.md, written from the column declarations (tests keep them in step)."""

from __future__ import annotations

import re

from .columns import ITEM_KINDS, SHEET_TITLES, rollup_headings, template_headings

_ROLLUP_TABLES = (
    ("Objectives", "objectives"),
    ("Exceptions", "exceptions"),
    ("Actions", "actions"),
    ("KPIs", "kpis"),
    ("Submissions", "submissions"),
    ("Changes", "changes"),
    ("Data quality", "data_quality"),
)
_OPTIONAL = {"objectives": " (optional)", "actions": "", "kpis": " (optional)"}


def template_columns_markdown() -> str:
    """The template sheets' headers as docs/workbook.md lists them."""
    return "\n".join(
        f"* **{SHEET_TITLES[k]}**{_OPTIONAL[k]}: `{' | '.join(template_headings(k))}`" for k in ITEM_KINDS
    )


def rollup_columns_markdown() -> str:
    """The rollup lists' headers, one line per sheet."""
    return "\n".join(
        f"* **{title}**: `{' | '.join(rollup_headings(table))}`" for title, table in _ROLLUP_TABLES
    )


def with_tables(text: str) -> str:
    """docs/workbook.md's text with both generated blocks rewritten from the declarations."""
    for name, body in (
        ("template-columns", template_columns_markdown()),
        ("rollup-columns", rollup_columns_markdown()),
    ):
        text = re.sub(
            rf"(<!-- {name}: from actionplan/columns.py -->\n)(.*?)(<!-- /{name} -->)",
            lambda m, body=body: f"{m.group(1)}{body}\n{m.group(3)}",
            text,
            flags=re.S,
        )
    return text
