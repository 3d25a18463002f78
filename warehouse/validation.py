"""The reference validation of a period as loaded: each current submission's record, as the ingest loaded it,
checked by Great Expectations over all departments at once (actionplan.checkpoint).

validate_in_worker runs the same validation in a Python process of its own, started as
`python -m actionplan.warehouse.validation JOB OUT`: a fresh interpreter that imports only this module (not a fork,
and not multiprocessing's spawn, which imports the caller's main script again), so the consolidate flow goes on
writing the rollup on the other core meanwhile. It needs nothing of the warehouse but the list of current
submissions, which the caller reads first.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from actionplan.checkpoint import PeriodValidation, validate_period
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
    """validate_period over the current submissions' loaded records, run in a process of its own; the caller's
    process is free meanwhile (call it from a thread). An error in the run is raised here with its own words."""
    job = {
        "inbox": str(inbox.pending_dir.parent),
        "archive": str(inbox.archive_dir),
        "current": [list(pair) for pair in current],
        "period": period,
        "council": council,
        "docs_dir": str(docs_dir) if docs_dir else None,
        "results_dir": str(results_dir) if results_dir else None,
        "run_name": run_name,
    }
    with tempfile.TemporaryDirectory(prefix="actionplan-gx-") as scratch:
        job_file, out_file = Path(scratch) / "job.json", Path(scratch) / "outcome.json"
        job_file.write_text(json.dumps(job), encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-m", __name__, str(job_file), str(out_file)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        outcome = json.loads(out_file.read_text(encoding="utf-8")) if out_file.exists() else None
    if outcome is None:
        said = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ValidationWorkerFailed(
            f"the Great Expectations validation stopped (exit code {done.returncode}) before it finished: {said[0]}"
        )
    if "error" in outcome:
        raise ActionplanError(outcome["error"])
    return PeriodValidation.from_dict(outcome)


def _work(job_file: str, out_file: str) -> int:
    """The worker's side: run the job, write the outcome (or the error, in words) as JSON to out_file."""
    job = json.loads(Path(job_file).read_text(encoding="utf-8"))
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
    Path(out_file).write_text(json.dumps(outcome, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(_work(*sys.argv[1:3]))
