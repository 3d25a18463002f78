"""The column declarations are the one source: the template, the rollup, the warehouse and the docs agree."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from actionplan.columns import BY_HEADING, ITEM_KINDS, rollup_headings, stored_columns, template_headings
from actionplan.docs_tables import with_tables
from actionplan.layouts import FIELDS
from actionplan.template import write_template
from actionplan.warehouse import open_warehouse

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("table", "headings"),
    [
        (
            "exceptions",
            (
                "Department",
                "Ref",
                "Objective",
                "Action",
                "Lead officer",
                "Due date",
                "Revised due date",
                "Status",
                "Progress update",
                "Reason",
            ),
        ),
        (
            "submissions",
            (
                "Department",
                "Status",
                "Submitted at",
                "Submitted by",
                "File",
                "Warnings",
                "Submission id",
                "Note",
            ),
        ),
        ("kpi_counts", ("Department", "better", "within", "worse", "no data", "Total")),
        (
            "summary",
            ("Department", "Blue", "Green", "Amber", "Red", "Not rated", "Total", "% complete", "% on track"),
        ),
    ],
)
def test_rollup_headings_in_declaration_order(table, headings):
    assert rollup_headings(table) == headings


def test_template_sheets_print_the_declared_headings(tmp_path):
    wb = openpyxl.load_workbook(write_template(tmp_path / "t.xlsx"), read_only=True)
    for kind, sheet in (("objectives", "Objectives"), ("actions", "Actions"), ("kpis", "KPIs")):
        header = next(wb[sheet].iter_rows(min_row=1, max_row=1, values_only=True))
        assert tuple(h for h in header if h) == template_headings(kind)
        assert tuple(FIELDS[kind].values()) == template_headings(kind)


@pytest.mark.parametrize("kind", ITEM_KINDS)
def test_stored_columns_match_the_migrated_warehouse(tmp_path, kind):
    wh = open_warehouse(str(tmp_path / "warehouse.duckdb"))
    found = wh.query(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?", [kind]
    )
    in_db = {(r.column_name, r.data_type) for r in found.itertuples()}
    spelt = {"TEXT": "VARCHAR", "DOUBLE PRECISION": "DOUBLE"}  # DuckDB's names for the SQL types
    declared = {(name, spelt.get(sql, sql)) for name, sql in stored_columns(kind)}
    assert declared <= in_db, declared - in_db
    assert {n for n, _ in in_db} - {n for n, _ in declared} <= {"council"}


def test_every_printed_heading_has_a_width_and_a_known_kind():
    kinds = {
        "text",
        "date",
        "datetime",
        "flag",
        "number",
        "percent",
        "status",
        "performance",
        "integer",
        "count",
    }
    for heading, column in BY_HEADING.items():
        assert column.kind in kinds, heading
        assert column.width is not None or not column.rollup, heading
        assert column.kind != "percent" or column.number_format, heading


def test_docs_column_listings_are_written_from_the_declarations():
    docs = (ROOT / "docs" / "workbook.md").read_text(encoding="utf-8")
    assert with_tables(docs) == docs, (
        "run: python -c 'from actionplan.docs_tables import with_tables' (see module)"
    )
    assert (
        "`Department | Ref | Objective | Action | Lead officer | Due date | Revised due date | Status | "
        "Progress update | Reason`" in docs
    )
