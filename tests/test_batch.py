"""Many files checked at once across processes: the same reports as one at a time, in order, past bad files."""

from __future__ import annotations

import pytest

from actionplan.batch import checked_files
from actionplan.check import check_workbook
from tests.conftest import action, canonical_workbook


@pytest.fixture
def files(tmp_path):
    good = [
        canonical_workbook(
            tmp_path / f"d{i}.xlsx",
            f"Dept {i}",
            [action(f"A{i}", status="G"), action(f"B{i}", status="Greenish")],
        )
        for i in range(5)
    ]
    damaged = tmp_path / "damaged.xlsx"
    damaged.write_bytes(good[0].read_bytes()[:500])
    return [str(good[0]), str(damaged), str(tmp_path / "missing.xlsx"), *map(str, good[1:])]


@pytest.mark.parametrize("workers", [1, 2])
def test_checked_files_same_reports_in_order_past_bad_files(files, settings, workers):
    got = list(checked_files(files, settings=settings, workers=workers))
    assert [c.path for c in got] == files
    one_by_one = [
        check_workbook(open(p, "rb").read(), p.rsplit("/", 1)[1], settings=settings).report()
        for p in files
        if not p.endswith("missing.xlsx")
    ]
    reports = [c.submission.report() for c in got if c.data is not None]
    assert reports == one_by_one
    missing = got[2]
    assert missing.data is None and [m.message for m in missing.submission.errors] == [
        f"{files[2]}: no such file."
    ]
    assert [c.submission.accepted for c in got] == [False] * len(files)  # each has an unknown status word
