"""The reference validation of a period as loaded: each current submission's record, as the ingest loaded it,
checked by Great Expectations over all departments at once (actionplan.checkpoint).

validate_in_worker runs the same validation in a Python process of its own, started as
`python -m actionplan.warehouse.validation` (its job a JSON line on stdin): a fresh interpreter that imports only this module (not a fork,
and not multiprocessing's spawn, which imports the caller's main script again), so the consolidate flow goes on
writing the rollup on the other core meanwhile. It needs nothing of the warehouse but the list of current
submissions, which the caller reads first.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import pandas as pd

from actionplan import progress
from actionplan.checkpoint import PeriodValidation, import_gx, validate_period
from actionplan.councils import ALL_COUNCILS
from actionplan.errors import ActionplanError
from actionplan.validate import KINDS

from .base import Warehouse, record_table
from .inbox import Inbox


def current_of_period(wh: Warehouse, period: str, council: str) -> list[tuple[str, str]]:
    """The period's current submissions: (id, the department as the validation names it), in the warehouse's
    order: all a validation needs of the warehouse (the records themselves are read from the inbox)."""
    current = wh.current_submissions(period, council)
    return [
        (rid, f"{whose}: {department}" if council == ALL_COUNCILS else department)
        for rid, whose, department in zip(
            current["id"], current["council"], current["department"], strict=True
        )
    ]


def records_of(inbox: Inbox, current: list[tuple[str, str]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Each current submission's record as loaded (department, columns, messages, a frame per sheet kind), and
    the departments whose loaded record is not in the inbox's loaded folder."""
    found, missing = [], []
    for rid, name in current:
        record = inbox.loaded_record(rid)
        if record is None:
            missing.append(name)
            continue
        found.append(
            {
                "id": rid,
                "department": name,
                "columns": record.get("columns") or {},
                "messages": record.get("messages") or [],
                **{kind: pd.DataFrame(record_table(record.get(kind) or [])[1]) for kind in KINDS},
            }
        )
    return found, missing


def loaded_submissions(
    wh: Warehouse, inbox: Inbox, period: str, council: str
) -> tuple[list[dict[str, Any]], list[str]]:
    """The period's current submissions as loaded, and the departments whose loaded record is missing."""
    return records_of(inbox, current_of_period(wh, period, council))


def validate_loaded_period(
    wh: Warehouse,
    inbox: Inbox,
    period: str,
    council: str,
    *,
    docs_dir: Path | None = None,
    results_dir: Path | None = None,
    run_name: str | None = None,
) -> PeriodValidation:
    """Validate what is loaded for a council's period with GX, against what Submit found (see validate_period)."""
    records, missing = loaded_submissions(wh, inbox, period, council)
    return validate_period(
        records,
        period,
        council,
        docs_dir=docs_dir,
        results_dir=results_dir,
        run_name=run_name,
        unchecked=missing,
    )


class ValidationWorkerFailed(ActionplanError):
    """The validation's own process stopped without an outcome (killed, or out of memory)."""


# A worker started ahead of its job (start_worker): it imports GX while the caller loads the inbox.
_warm: subprocess.Popen | None = None
_warm_lock = threading.Lock()


def start_worker() -> None:
    """Start the validation's process now, so that its imports (GX's take seconds) overlap the caller's work;
    the next validate_in_worker hands it its job. It exits by itself if no job comes (its stdin is closed)."""
    global _warm
    with _warm_lock:
        if _warm is None or _warm.poll() is not None:
            _warm = _spawn()


def _spawn() -> subprocess.Popen:
    log = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")
    proc = subprocess.Popen(
        [sys.executable, "-m", __name__],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,  # its progress (actionplan.progress.relayed), replayed here
        stderr=log,
        text=True,
        encoding="utf-8",
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    proc.log = log  # type: ignore[attr-defined]  # what it said, read if it stops without an outcome
    return proc


def _take_worker() -> subprocess.Popen:
    global _warm
    with _warm_lock:
        proc, _warm = _warm, None
    return proc if proc is not None and proc.poll() is None else _spawn()


@atexit.register
def _stop_warm_worker() -> None:
    with _warm_lock:
        proc = _warm
    if proc is not None and proc.poll() is None and proc.stdin is not None:
        proc.stdin.close()  # no job: it exits
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


def validate_in_worker(
    inbox: Inbox,
    current: list[tuple[str, str]],
    period: str,
    council: str,
    *,
    docs_dir: Path | None = None,
    results_dir: Path | None = None,
    run_name: str | None = None,
) -> PeriodValidation:
    """validate_period over the current submissions' loaded records, run in a process of its own (the one
    start_worker started, else a new one); the caller's process is free meanwhile (call it from a thread). An
    error in the run is raised here in its own words."""
    with tempfile.TemporaryDirectory(prefix="actionplan-gx-") as scratch:
        out_file = Path(scratch) / "outcome.json"
        job = {
            "inbox": str(inbox.pending_dir.parent),
            "archive": str(inbox.archive_dir),
            "current": [list(pair) for pair in current],
            "period": period,
            "council": council,
            "docs_dir": str(docs_dir) if docs_dir else None,
            "results_dir": str(results_dir) if results_dir else None,
            "run_name": run_name,
            "out": str(out_file),
        }
        proc = _take_worker()
        if not _hand(proc, job):  # it died before its job came (killed): a new one does it, or says why not
            proc = _spawn()
            _hand(proc, job)
        assert proc.stdout is not None
        for line in proc.stdout:  # until it exits: its progress shown as this process's
            progress.relay(line)
        code = proc.wait()
        outcome = json.loads(out_file.read_text(encoding="utf-8")) if out_file.exists() else None
    log = proc.log  # type: ignore[attr-defined]
    if outcome is None:
        log.seek(0)
        said = log.read().strip().splitlines()[-1:] or ["no output"]
        log.close()
        raise ValidationWorkerFailed(
            f"the Great Expectations validation stopped (exit code {code}) before it finished: {said[0]}"
        )
    log.close()
    if "error" in outcome:
        raise ActionplanError(outcome["error"])
    return PeriodValidation.from_dict(outcome)


def _hand(proc: subprocess.Popen, job: dict[str, Any]) -> bool:
    """Give the worker its job; False when it is no longer there to take it."""
    assert proc.stdin is not None
    try:
        proc.stdin.write(json.dumps(job) + "\n")
        proc.stdin.close()
    except OSError:  # a broken pipe
        return False
    return True


def _work() -> int:
    """The worker's side: import GX, wait for the job (one JSON line on stdin; none: exit), run it, and write the
    outcome (or the error, in words) as JSON to the job's out file."""
    import_gx()
    line = sys.stdin.readline()
    if not line.strip():
        return 0
    job = json.loads(line)
    with progress.relayed(sys.stdout):
        return _run(job)


def _run(job: dict[str, Any]) -> int:
    try:
        records, missing = records_of(
            Inbox(Path(job["inbox"]), Path(job["archive"])), [tuple(p) for p in job["current"]]
        )
        outcome: dict[str, Any] = validate_period(
            records,
            job["period"],
            job["council"],
            docs_dir=Path(job["docs_dir"]) if job["docs_dir"] else None,
            results_dir=Path(job["results_dir"]) if job["results_dir"] else None,
            run_name=job["run_name"],
            unchecked=missing,
        ).as_dict()
    except ActionplanError as exc:
        outcome = {"error": str(exc)}
    except Exception as exc:  # worded like the in-process run's failure: the type and its message
        outcome = {"error": f"{type(exc).__name__}: {exc}"}
    Path(job["out"]).write_text(json.dumps(outcome, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(_work())
