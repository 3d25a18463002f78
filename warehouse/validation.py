"""The reference validation of a period as loaded: each current submission's record, as the ingest loaded it,
checked by Great Expectations over all departments at once (actionplan.checkpoint).

validate_in_worker runs the same validation in a Python process of its own (its job a JSON line on stdin): a fresh
interpreter that imports only this module, with the garbage collector paused meanwhile (_WORKER; not a fork, and
not multiprocessing's spawn, which imports the caller's main script again), so the consolidate flow goes on
writing the rollup on the other core meanwhile. It needs nothing of the warehouse but the list of current
submissions, which the caller reads first. The same process publishes the period's snapshots afterwards
(warehouse/snapshot.publish_in_worker, through run_in_worker): it has pandas and the warehouse's code imported.
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

from actionplan import progress, startup
from actionplan.background import lower_priority
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


def predicted_current(wh: Warehouse, inbox: Inbox, period: str, council: str) -> list[tuple[str, str]] | None:
    """What current_of_period will be once the inbox's pending records are loaded: the current submission of each
    department, a pending record of the period replacing its department's when submitted later (or as late). None
    where it cannot be told from the records' heads. A guess the caller checks against current_of_period after the
    load: a validation begun on it early is kept only when it was right."""
    from actionplan.councils import DEFAULT_COUNCIL, council_name
    from actionplan.vocabulary import period_from_text

    if council == ALL_COUNCILS:
        return None
    made = not wh.pending_migrations()  # a warehouse the load has yet to make has nothing current
    current = wh.current_submissions(period, council) if made else pd.DataFrame(columns=["id", "department"])
    latest = {
        department: (pd.Timestamp(submitted), rid)
        for rid, department, submitted in zip(
            current["id"], current["department"], current.get("submitted_at", []), strict=True
        )
    }
    for (
        path
    ) in inbox.pending():  # in the order they load: of two submitted at once, the later loaded is current
        head = inbox.head(path)
        if not {"id", "department", "period", "submitted_at"} <= head.keys():
            return None
        if council_name(head.get("council") or DEFAULT_COUNCIL) != council:
            continue
        parsed = period_from_text(head["period"])
        if parsed is None:
            return None
        if parsed.label != period:
            continue
        department = wh.department_on_record(council, head["department"]) if made else head["department"]
        # As the load stores it: the time as written, its zone dropped.
        submitted = pd.Timestamp(head["submitted_at"]).tz_localize(None)
        if department not in latest or submitted >= latest[department][0]:
            latest[department] = (submitted, head["id"])
    return [(rid, department) for department, (_, rid) in sorted(latest.items())]


def records_of(inbox: Inbox, current: list[tuple[str, str]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Each current submission's record as loaded (department, columns, messages, a frame per sheet kind), and
    the departments whose loaded record is not in the inbox's loaded folder."""
    found, missing = [], []
    for rid, name in current:
        record = inbox.record(rid)  # loaded, or still pending where the validation began before the load
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


def validate_current(
    inbox: Inbox,
    current: list[tuple[str, str]],
    period: str,
    council: str,
    *,
    docs_dir: Path | None = None,
    results_dir: Path | None = None,
    run_name: str | None = None,
) -> PeriodValidation:
    """Validate the current submissions' loaded records with GX, against what Submit found (see validate_period);
    a department whose loaded record is not found is named as not validated."""
    records, missing = records_of(inbox, current)
    return validate_period(
        records,
        period,
        council,
        docs_dir=docs_dir,
        results_dir=results_dir,
        run_name=run_name,
        unchecked=missing,
    )


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
    """Validate what is loaded for a council's period with GX, here (validate_in_worker does it in its own
    process)."""
    return validate_current(
        inbox,
        current_of_period(wh, period, council),
        period,
        council,
        docs_dir=docs_dir,
        results_dir=results_dir,
        run_name=run_name,
    )


class ValidationWorkerFailed(ActionplanError):
    """The validation's own process stopped without an outcome (killed, or out of memory)."""


_DONE = "actionplan-validation-done"  # the worker's line after each job: its outcome is in the job's out file
# The worker process: this module and GX imported with the garbage collector paused (actionplan.startup).
_WORKER = (
    "from actionplan import startup; startup.pause(); "
    "from actionplan.warehouse.validation import _work; raise SystemExit(_work())"
)


class _Worker:
    """The validation's process: GX imported once, then one job at a time (a JSON line on its stdin: a validation,
    or the snapshots' publishing), for as long as this process lives: a process that consolidates many times pays
    GX's import once."""

    def __init__(self) -> None:
        self.log = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _WORKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,  # its progress (actionplan.progress.relayed), then _DONE
            stderr=self.log,
            text=True,
            encoding="utf-8",
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        lower_priority(self.proc)  # its import of GX, while Prefect's server starts, must not slow that down
        self.busy = False  # a job handed and not yet done

    def alive(self) -> bool:
        return self.proc.poll() is None

    def hand(self, job: dict[str, Any]) -> bool:
        """Give it a job; False when it is no longer there to take it."""
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(job) + "\n")
            self.proc.stdin.flush()
        except OSError:  # a broken pipe: it died
            return False
        self.busy = True
        return True

    def finish(self) -> bool:
        """Relay its progress until the job is done (True), or until it stops (False)."""
        assert self.proc.stdout is not None
        try:
            for line in self.proc.stdout:
                if line.rstrip("\n") == _DONE:
                    return True
                progress.relay(line)
            return False
        finally:
            self.busy = False

    def last_words(self) -> str:
        self.proc.wait()
        self.log.seek(0)
        said = self.log.read().strip().splitlines()[-1:] or ["no output"]
        return f"exit code {self.proc.returncode}) before it finished: {said[0]}"

    def stop(self) -> None:
        """No more jobs: it exits. An idle one is not waited for (its exit costs a second, and it has nothing left
        to write); one still in a job gets 5 s to finish before it is killed."""
        if self.alive() and self.proc.stdin is not None:
            try:
                self.proc.stdin.close()
                if self.busy:
                    self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
        self.log.close()


_worker: _Worker | None = None
_worker_lock = threading.RLock()  # one job at a time: flows in several threads take turns


def start_worker() -> None:
    """Start the validation's process now, if it is not running, so that its imports (GX's take seconds) overlap
    the caller's work; validate_in_worker hands it its jobs. It exits with this process."""
    global _worker
    with _worker_lock:
        if _worker is None or not _worker.alive():
            _worker = _Worker()


@atexit.register
def stop_worker() -> None:
    """Stop the validation's process (it finishes the job in hand first)."""
    global _worker
    with _worker_lock:
        if _worker is not None:
            _worker.stop()
            _worker = None


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
    """validate_period over the current submissions' loaded records, run in the validation's own process (started
    now if start_worker did not); the caller's process is free meanwhile (call it from a thread). An error in the
    run is raised here in its own words."""
    outcome = run_in_worker(
        {
            "inbox": str(inbox.pending_dir.parent),
            "archive": str(inbox.archive_dir),
            "current": [list(pair) for pair in current],
            "period": period,
            "council": council,
            "docs_dir": str(docs_dir) if docs_dir else None,
            "results_dir": str(results_dir) if results_dir else None,
            "run_name": run_name,
        }
    )
    if "error" in outcome:
        raise ActionplanError(outcome["error"])
    return PeriodValidation.from_dict(outcome)


def run_in_worker(job: dict[str, Any], what: str = "the Great Expectations validation") -> dict[str, Any]:
    """Hand a job to the worker process (started now if start_worker did not), relay its progress and return its
    outcome: {"error": words} where the job failed. Jobs take turns (one worker, one job at a time); what: the job
    in words, for the error when the worker stops before it is done."""
    global _worker
    with _worker_lock, tempfile.TemporaryDirectory(prefix="actionplan-gx-") as scratch:
        out_file = Path(scratch) / "outcome.json"
        job = {**job, "out": str(out_file)}
        start_worker()
        assert _worker is not None
        if not _worker.hand(job):  # it died while waiting (killed): a new one does it, or says why not
            _worker.stop()
            _worker = _Worker()
            _worker.hand(job)
        if not _worker.finish():
            words = _worker.last_words()
            _worker.stop()
            _worker = None
            raise ValidationWorkerFailed(f"{what} stopped ({words}")
        return json.loads(out_file.read_text(encoding="utf-8"))


def _work() -> int:
    """The worker's side: import GX, then for each job (a JSON line on stdin) run it, write the outcome (or the
    error, in words) as JSON to the job's out file and say _DONE; exit when stdin closes."""
    import_gx()
    startup.resume()  # GX imported with the collector paused (_WORKER): what it made is frozen
    for line in sys.stdin:
        if not line.strip():
            continue
        job = json.loads(line)
        with progress.relayed(sys.stdout):
            outcome = _run(job)
        Path(job["out"]).write_text(json.dumps(outcome, default=str), encoding="utf-8")
        print(_DONE, flush=True)
    return 0


def _run(job: dict[str, Any]) -> dict[str, Any]:
    try:
        if job.get("task") == "snapshots":  # the period's snapshots (warehouse/snapshot.publish_in_worker)
            from .snapshot import publish_period

            return {
                "written": publish_period(
                    job["warehouse_url"], job["period"], job["council"], Path(job["home"])
                )
            }
        return validate_current(
            Inbox(Path(job["inbox"]), Path(job["archive"])),
            [tuple(p) for p in job["current"]],
            job["period"],
            job["council"],
            docs_dir=Path(job["docs_dir"]) if job["docs_dir"] else None,
            results_dir=Path(job["results_dir"]) if job["results_dir"] else None,
            run_name=job["run_name"],
        ).as_dict()
    except ActionplanError as exc:
        return {"error": str(exc)}
    except Exception as exc:  # worded like the in-process run's failure: the type and its message
        return {"error": f"{type(exc).__name__}: {exc}"}
