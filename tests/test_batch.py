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


@pytest.mark.parametrize("workers", [1, 2])
def test_records_encoded_in_the_workers_are_the_bytes_the_inbox_writes_itself(
    tmp_path, files, settings, workers
):
    """A submit's workers send back each accepted submission's rows as its record's JSON, without its frames
    (checked_files(encoded=True)); the records written from them are byte for byte those written from the whole
    submission, and the reports are the same."""
    import datetime as dt

    from actionplan.warehouse.inbox import Inbox
    from tests.hostile import corpus
    from tests.realbooks import quarterly_scorecard, yearly_scorecard

    odd = tmp_path / "unicode.xlsx"
    odd.write_bytes(corpus.unicode_oddities(tmp_path))
    paths = [
        *files,
        str(quarterly_scorecard(tmp_path / "q.xlsx")),
        str(yearly_scorecard(tmp_path / "y.xlsx")),
        str(odd),
    ]
    now = dt.datetime(2024, 10, 4, 9, 30, tzinfo=dt.UTC)
    ours, theirs = (
        Inbox(tmp_path / "a" / "inbox", tmp_path / "a" / "archive"),
        Inbox(tmp_path / "b" / "inbox", tmp_path / "b" / "archive"),
    )
    accepted = 0
    for done in checked_files(paths, settings=settings, workers=workers, encoded=True):
        if done.data is None:
            continue
        whole = check_workbook(done.data, done.submission.file, settings=settings)
        mine = ours.submit(
            done.submission, done.data, submitted_by="t", now=now, tables_json=done.tables_json
        )
        assert mine == theirs.submit(whole, done.data, submitted_by="t", now=now)
        if whole.accepted:
            accepted += 1
            assert done.tables_json is not None and done.submission.actions.empty  # no frames came back
    assert accepted >= 3  # the scorecards and the unicode plan (the fixture's plans carry an unknown status)
    written = {p.name: p.read_bytes() for p in ours.pending_dir.glob("*.json")}
    assert (
        written == {p.name: p.read_bytes() for p in theirs.pending_dir.glob("*.json")}
        and len(written) == accepted
    )
