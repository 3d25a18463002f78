"""Hostile and odd files: each gets a clear message (never a traceback), in bounded memory and time.

Each check runs `actionplan validate --json` in a child process with its address space capped, so a
parser that expanded a bomb would die there instead of passing; the timeout is a hang guard, not a
speed assertion (speed is measured by bench/).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

from tests.hostile import corpus

MEMORY_CAP = 3 * 1024**3


def _cap() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def validate(tmp_path: Path, data: bytes, name: str = "plan.xlsx") -> dict:
    path = tmp_path / name
    path.write_bytes(data)
    p = subprocess.run(
        [sys.executable, "-m", "actionplan", "validate", str(path), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_cap,
        env={**__import__("os").environ, "ACTIONPLAN_HOME": str(tmp_path / "h")},
    )
    assert "Traceback" not in p.stdout + p.stderr, p.stderr[-2000:]
    assert p.returncode in (0, 1), p.stderr[-2000:]
    return json.loads(p.stdout)


def codes(report: dict, level: str = "errors") -> list[str]:
    return [m["code"] for m in report[level]]


def test_billion_laughs_is_not_expanded(tmp_path):
    report = validate(tmp_path, corpus.billion_laughs(tmp_path))
    assert not report["accepted"]
    assert codes(report) == ["unreadable-file"]
    assert "DTD" in report["errors"][0]["message"] or "entity" in report["errors"][0]["message"].lower()


def test_quadratic_entity_is_not_expanded(tmp_path):
    report = validate(tmp_path, corpus.quadratic_entity(tmp_path))
    assert codes(report) == ["unreadable-file"]


def test_xxe_reads_no_local_file(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-PASSWORD")
    report = validate(tmp_path, corpus.xxe(tmp_path, secret))
    assert "TOP-SECRET-PASSWORD" not in json.dumps(report)
    assert codes(report) == ["unreadable-file"]


def test_zip_bomb_is_refused_before_parsing(tmp_path):
    data = corpus.zip_bomb(tmp_path)
    assert len(data) < 2 * 1024 * 1024
    report = validate(tmp_path, data)
    assert codes(report) == ["unreadable-file"]
    assert "unpacks to" in report["errors"][0]["message"]


def test_lying_dimension_loses_no_row(tmp_path):
    report = validate(tmp_path, corpus.lying_dimension(tmp_path, rows=40))
    assert report["accepted"] and report["counts"]["actions"] == 40


def test_row_beyond_excels_last_row_is_named(tmp_path):
    report = validate(tmp_path, corpus.far_row(tmp_path, 5_000_001))
    assert codes(report) == ["unreadable-file"]
    assert "5,000,001" in report["errors"][0]["message"]


def test_sheet_reaching_the_last_row_is_refused_clearly(tmp_path):
    report = validate(tmp_path, corpus.far_row(tmp_path, 1_048_576))
    assert codes(report) == ["too-many-rows"]
    message = report["errors"][0]["message"]
    assert "1,048,576" in message and "delete" in message.lower()


def test_macros_are_accepted_but_never_kept(tmp_path, home):
    from actionplan.check import check_workbook
    from actionplan.settings import load_settings
    from actionplan.warehouse.inbox import Inbox

    data = corpus.with_macros(tmp_path)
    sub = check_workbook(data, "plan.xlsm")
    assert sub.accepted
    assert "macros" in " ".join(m.message for m in sub.warnings)
    s = load_settings()
    report = Inbox(s.inbox_path, s.archive_path).submit(sub, data, submitted_by="t", ext="xlsm")
    archived = list(s.archive_path.glob("*.xls*"))
    assert report["accepted"] and len(archived) == 1
    import zipfile

    assert "xl/vbaProject.bin" not in zipfile.ZipFile(archived[0]).namelist()


def test_external_links_connections_and_objects_are_flagged(tmp_path):
    report = validate(tmp_path, corpus.with_links_and_objects(tmp_path))
    assert report["accepted"]
    assert "external-content" in codes(report, "warnings")
    text = " ".join(m["message"] for m in report["warnings"])
    assert "links to other workbooks" in text and "data connections" in text and "embedded objects" in text


def test_hidden_rows_and_sheets_are_read_and_warned(tmp_path):
    report = validate(tmp_path, corpus.hidden_rows_and_sheet(tmp_path))
    assert report["accepted"] and report["counts"]["actions"] == 3
    hidden = [m for m in report["warnings"] if m["code"] == "hidden-content"]
    assert {(m["sheet"], m["cell"]) for m in hidden} >= {("Actions", "A3"), ("Old figures", None)}


def test_merged_cells_in_the_data_area_are_warned(tmp_path):
    report = validate(tmp_path, corpus.merged_status(tmp_path))
    merged = [m for m in report["warnings"] if m["code"] == "merged-cells"]
    assert [(m["sheet"], m["cell"]) for m in merged] == [("Actions", "H2")]
    assert "H2:H4" in merged[0]["message"]


def test_unicode_oddities_are_cleaned_and_emoji_kept(tmp_path):
    from actionplan.check import check_workbook

    sub = check_workbook(corpus.unicode_oddities(tmp_path), "odd.xlsx")
    assert sub.accepted, sub.errors
    row = sub.actions.iloc[0]
    assert row["ref"] == "A1" and row["status"] == "G" and row["lead_officer"] == "Patel, Anita"
    assert "\u200b" not in row["action"] and "\u202e" not in row["action"] and "\U0001f4ca" in row["action"]


def test_defusedxml_is_installed_and_used_by_openpyxl():
    import openpyxl.xml

    from actionplan.read import assert_safe_xml

    assert openpyxl.xml.DEFUSEDXML is True
    assert_safe_xml()  # the start-up check itself passes


def test_formula_cells_are_read_by_their_saved_value_and_flagged(tmp_path):
    report = validate(tmp_path, corpus.formulas(tmp_path))
    assert report["accepted"]
    by_code = {m["code"]: m for m in report["warnings"]}
    assert by_code["formula-cells"]["cell"] == "E2"
    assert "value Excel last calculated was read" in by_code["formula-cells"]["message"]
    unsaved = by_code["formula-without-value"]
    assert unsaved["cell"] == "F2" and "=DATE(2025,3,31)" in unsaved["message"]
