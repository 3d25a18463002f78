"""The column listings in docs/workbook.md, written from the column declarations (tests keep them in step)."""

from __future__ import annotations

import re

from .columns import ITEM_KINDS, SHEET_TITLES, rollup_headings, template_headings, used_only
from .rules import kpi_model_explained
from .vocabulary import DEFAULT_TOLERANCE

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
        f"* **{title}**: `{' | '.join(rollup_headings(table))}`"
        + (f"; when a row has a value in them: `{' | '.join(used_only(table))}`" if used_only(table) else "")
        for title, table in _ROLLUP_TABLES
    )


def kpi_model_markdown() -> str:
    """Each KPI type, aggregation, frequency and rule with its example (the rollup's How to read says the same)."""
    return "\n".join(f"* **{term}**: {text}" for term, text in kpi_model_explained(DEFAULT_TOLERANCE))


def with_tables(text: str) -> str:
    """docs/workbook.md's text with its generated blocks rewritten from the declarations and the rules."""
    for name, body in (
        ("template-columns", template_columns_markdown()),
        ("rollup-columns", rollup_columns_markdown()),
        ("kpi-model", kpi_model_markdown()),
    ):
        text = re.sub(
            rf"(<!-- {name}: from actionplan/\w+\.py -->\n)(.*?)(<!-- /{name} -->)",
            lambda m, body=body: f"{m.group(1)}{body}\n{m.group(3)}",
            text,
            flags=re.S,
        )
    return text
