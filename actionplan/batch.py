"""Checking many workbooks at once: one process per core, the same reports, in the order the files were given."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import startup
from .background import usable_cores
from .check import check_workbook
from .errors import ActionplanError
from .files import read_file
from .model import ERROR, Message, Submission
from .settings import Settings


@dataclass(frozen=True)
class Checked:
    """One file of a batch: its path, its bytes (None when it could not be read) and its check."""

    path: str
    data: bytes | None
    submission: Submission
    # An accepted submission's rows as its inbox record's JSON (encoded=True): the submission then comes without
    # them, so a worker sends back text rather than frames.
    tables_json: dict[str, str] | None = None


def _check_one(job: tuple[str, dict, Settings, bool]) -> Checked:
    path, options, settings, encoded = job
    try:
        data = read_file(path)
    except ActionplanError as exc:  # a batch goes on past a file it cannot open
        return Checked(
            path,
            None,
            Submission(
                file=Path(path).name,
                department=options.get("department"),
                period=options.get("period"),
                layout="",
                messages=[Message(ERROR, "unreadable-file", None, None, None, str(exc))],
            ),
        )
    sub = check_workbook(data, Path(path).name, settings=settings, **options)
    if encoded and sub.accepted:
        from actionplan.warehouse.inbox import encoded_tables

        return Checked(path, data, sub.without_rows(), encoded_tables(sub))
    return Checked(path, data, sub)


def checked_files(
    paths: Sequence[str], *, settings: Settings, workers: int | None = None, encoded: bool = False, **options
) -> Iterator[Checked]:
    """Check every file (options as check_workbook takes them), yielding each in the order given. encoded: each
    accepted one comes with its rows as inbox JSON (Checked.tables_json) instead of frames, for a submit.

    Checks are pure Python work per cell, so threads would share one core: files go to a pool of processes
    when there are several, and a single file is checked right here (no pool to start).
    """
    startup.resume()  # the imports done (launch.py paused the collector for them), before the pool forks from here
    jobs = [(str(p), options, settings, encoded) for p in paths]
    workers = min(workers or usable_cores(), len(jobs))  # one per core this process may use
    if workers <= 1:
        yield from map(_check_one, jobs)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        # chunksize 1: plans differ tenfold in size, and map still yields in order.
        yield from pool.map(_check_one, jobs, chunksize=1)
