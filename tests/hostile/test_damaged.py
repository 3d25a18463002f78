"""Damaged zips, macros stored out of sight, and rows that are tall but empty: each gets a plain answer, per file.

The damage is made by seeded code from a good workbook (corpus.DAMAGED): a wrong checksum, garbled compressed data,
a size that lies, a compression method Excel never uses, the zip encryption flag. Before this, each raised the zip
library's own exception past the reader (a 500 in the service, exit 3 and no report in a batch).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from actionplan.check import check_workbook
from tests.conftest import action, canonical_workbook
from tests.hostile import corpus
from tests.test_cli import run

AFTER = (
    "so it was not read. If Excel opens it, save it again as a new .xlsx (File > Save As) and submit that; if "
    "not, submit an earlier copy."
)
DAMAGE = {
    "bad-crc": "its stored checksum does not match its contents",
    "garbled-deflate": "its compressed data is garbled",
    "lying-size": "its stored checksum does not match its contents",
    "compression-method-99": "it is packed in a way Excel never uses",
    "zip-encryption-flag": "it is locked with a zip password, which Excel never sets",
}


@pytest.mark.parametrize("kind", list(corpus.DAMAGED))
def test_check_workbook_damaged_zip_is_a_plain_rejection(tmp_path, kind):
    sub = check_workbook(corpus.DAMAGED[kind](tmp_path), "plan.xlsx")
    assert not sub.accepted
    assert [(m.code, m.message) for m in sub.messages] == [
        ("damaged-file", f"plan.xlsx is a damaged workbook (sheet 'Actions': {DAMAGE[kind]}), {AFTER}")
    ]


def test_cli_validate_batch_reports_the_good_files_and_names_the_damaged_one(tmp_path, home):
    good = canonical_workbook(tmp_path / "finance.xlsx", actions=[action("F1")])
    other = canonical_workbook(
        tmp_path / "legal.xlsx", "Legal, HR & Property", actions=[action("L1"), action("L2")]
    )
    bad = tmp_path / "damaged.xlsx"
    bad.write_bytes(corpus.bad_crc(tmp_path))

    p = run("validate", good, bad, other, check=False)
    assert p.returncode == 1  # one file rejected; the others were still checked and reported
    assert (
        f"{good} — Finance, 2024/25 Q2 (layout: canonical)\n  Accepted: 0 objectives, 1 actions, 0 KPIs."
        in p.stdout
    )
    assert (
        f"{bad} — department and period unknown\n  Rejected: 1 error, nothing was stored.\n  Errors:\n"
        f"    workbook: damaged.xlsx is a damaged workbook (sheet 'Actions': {DAMAGE['bad-crc']}), {AFTER}"
        in p.stdout
    )
    assert (
        f"{other} — Legal, HR & Property, 2024/25 Q2 (layout: canonical)\n  Accepted: 0 objectives, 2 actions"
        in p.stdout
    )

    reports = json.loads(run("validate", good, bad, other, "--json", check=False).stdout)
    assert [(Path(r["file"]).name, r["accepted"], [e["code"] for e in r["errors"]]) for r in reports] == [
        ("finance.xlsx", True, []),
        ("damaged.xlsx", False, ["damaged-file"]),
        ("legal.xlsx", True, []),
    ]


def test_service_upload_of_a_damaged_workbook_is_answered_and_the_next_request_served(tmp_path):
    from tests.test_service import LiveServer

    with LiveServer(tmp_path / "home") as srv:
        key = srv.token("Finance")[1]
        for kind in corpus.DAMAGED:
            r = srv.client.post(
                "/api/submissions",
                files={"file": ("plan.xlsx", corpus.DAMAGED[kind](tmp_path))},
                headers={"Authorization": key},
            )
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["accepted"] is False and body["stored"] is False
            assert [e["message"] for e in body["errors"]] == [
                f"plan.xlsx is a damaged workbook (sheet 'Actions': {DAMAGE[kind]}), {AFTER}"
            ]
        good = canonical_workbook(tmp_path / "good.xlsx", actions=[action("F1")]).read_bytes()
        r = srv.client.post(
            "/api/submissions", files={"file": ("good.xlsx", good)}, headers={"Authorization": key}
        )
        assert r.status_code == 200 and r.json()["accepted"] is True


# -- macros wherever they are stored -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("part", "linked_by"),
    [
        ("xl/media/vbaProject.bin", "relationship"),
        ("xl/media/Macros.BIN", "relationship"),
        ("XL/VBAPROJECT.BIN", "content type"),
        ("xl/stuff/code.dat", "content type"),
    ],
)
def test_macros_stored_anywhere_are_warned_and_not_archived(tmp_path, home, part, linked_by):
    from actionplan.settings import load_settings
    from actionplan.warehouse.inbox import Inbox

    data = corpus.macros_elsewhere(tmp_path, part, linked_by)
    sub = check_workbook(data, "plan.xlsm")
    assert sub.accepted
    assert [(m.code, m.message) for m in sub.warnings] == [
        ("macros", "this workbook contains macros; they were not run and are not kept.")
    ]
    s = load_settings()
    Inbox(s.inbox_path, s.archive_path).submit(sub, data, submitted_by="t", ext="xlsm")
    [archived] = s.archive_path.glob("*.xlsm")
    with zipfile.ZipFile(archived) as z:
        assert part not in z.namelist()
        assert b"vbaProject" not in z.read("xl/_rels/workbook.xml.rels") + z.read("[Content_Types].xml")
    assert (
        check_workbook(archived.read_bytes(), "archived.xlsm").counts() == sub.counts()
    )  # still the same plan


# -- the row limit counts rows with values -----------------------------------------------------------------------


@pytest.mark.parametrize("styled_cell", [False, True], ids=["height-only", "formatted-empty-cell"])
def test_check_workbook_tall_but_empty_last_row_is_accepted(tmp_path, styled_cell):
    sub = check_workbook(corpus.tall_last_row(tmp_path, styled_cell), "plan.xlsx")
    assert sub.accepted and sub.messages == []
    assert sub.counts()["actions"] == 1
