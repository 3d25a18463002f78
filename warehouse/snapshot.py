"""Last period's plans, published read-only for the service: what Submit compares a department's plan with (stale
commentary, three periods of slips) without the service ever opening the warehouse for writing.

The consolidate flow writes one small JSON file per department and period under <home>/snapshots/, atomically; the
service reads only the submitting department's file for the period before the one submitted.

publish_in_worker does it all in the consolidate's worker process (the one GX validates in, warehouse/validation),
reading the warehouse read-only, so the consolidate flow writes the rollup meanwhile on the other core.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from actionplan.councils import DEFAULT_COUNCIL
from actionplan.errors import ActionplanError
from actionplan.files import write_atomic
from actionplan.plan_checks import snapshot_path
from actionplan.register import Register
from actionplan.rollup import slip_history
from actionplan.vocabulary import period_from_text

from .base import Warehouse
from .consolidate import as_registered, department_spelling


def _revised(changes: list[tuple[int, bool]], last: int) -> list[bool | None]:
    """Whether the due date was revised in the period before the last and in the last (None: not on record then),
    from an action's slip_history changes, by period index in order (a ref twice in a plan: its last entry)."""
    before = now = None
    for index, changed in reversed(changes):
        if index == last:
            now = changed if now is None else now
        elif index == last - 1:
            before = changed if before is None else before
        else:  # earlier periods: none of the last two is further back
            break
    return [before, now]


def snapshots_of_period(
    wh: Warehouse, period: str, council: str = DEFAULT_COUNCIL, register: Register | None = None
) -> dict[str, dict[str, Any]]:
    """Department → its current actions in the period: ref → status, update, effective due date, and whether the
    due date was revised in this period and the one before (for the three-period check at the next Submit)."""
    parsed = period_from_text(period)
    if parsed is None:
        raise ValueError(f"unrecognised period {period!r}")
    spelling = department_spelling(register, wh.departments(council))
    returns = register.returns() if register is not None else {}
    on_record = [
        p for p in wh.periods(council) if (q := period_from_text(p)) is not None and q.end <= parsed.end
    ]
    history = [
        (p, as_registered(wh.current(p, council), spelling, returns)[0]["actions"]) for p in on_record[-3:]
    ]
    if not history or history[-1][0] != parsed.label:
        return {}
    slips = slip_history(history)
    last = len(history) - 1
    out: dict[str, dict[str, Any]] = {}
    actions = history[-1][1]
    if actions.empty:
        return {}
    # Only the columns a snapshot keeps, column by column, each as a plain list first: converting every column of
    # every row to dicts was most of this function's cost on a large council, and iterating pandas' arrays value by
    # value (boxing each) most of what was left. A quarter's 100,000 actions fall on a few hundred due dates: each
    # date is written once, and the rows take theirs by its code. Rows come department by department: its dict is
    # looked up once per run of rows.
    codes, dates = pd.factorize(actions["effective_due_date"])
    # factorize leaves the missing dates out of its uniques (their code is -1, the last entry here)
    written = [str(pd.Timestamp(d).date()) for d in dates] + [None]
    target: dict[str, Any] = {}
    current_department = None
    for department, ref, status, update, code in zip(
        actions["department"].tolist(),
        actions["ref"].astype(str).tolist(),
        actions["status"].tolist(),
        actions["progress_update"].tolist(),
        codes.tolist(),
        strict=True,
    ):
        if department != current_department:
            current_department = department
            target = out.setdefault(department, {})
        entry = slips.get((department, ref))
        target[ref] = {
            "status": status,
            "update": update if isinstance(update, str) else None,
            "due": written[code],
            "revised": _revised(entry["changes"], last) if entry is not None else [None, None],
        }
    return out


def publish_snapshots(home: Path, council: str, period: str, snapshots: dict[str, dict[str, Any]]) -> int:
    """Write each department's snapshot of the period atomically; returns how many were written."""
    for department, actions in snapshots.items():
        body = {"council": council, "period": period, "department": department, "actions": actions}
        write_atomic(
            snapshot_path(home, council, period, department),
            json.dumps(body, ensure_ascii=False).encode("utf-8"),
        )
    return len(snapshots)


class SnapshotsFailed(ActionplanError):
    """The snapshots' own process stopped with an error."""


def publish_in_worker(warehouse_url: str, period: str, council: str) -> int:
    """Publish the period's snapshots (publish_period) in the consolidate's worker process, the one that validates
    with GX (warehouse/validation.run_in_worker: it has pandas and the warehouse's code imported already, where a
    process of the snapshots' own spent a third of its time importing them), under the home of this process's
    settings (the worker may outlive the environment it was started in); returns how many were written. The
    warehouse is opened read-only there, so this process must hold no connection to a DuckDB file meanwhile."""
    from actionplan.settings import load_settings

    from .validation import run_in_worker

    job = {"task": "snapshots", "warehouse_url": warehouse_url, "period": period, "council": council}
    outcome = run_in_worker(
        {**job, "home": str(load_settings().home_path)}, what=f"the snapshots for {period}"
    )
    if "error" in outcome:
        raise SnapshotsFailed(f"the snapshots for {period} could not be published: {outcome['error']}")
    return int(outcome["written"])


def publish_period(warehouse_url: str, period: str, council: str, home: Path) -> int:
    """Read the period's snapshots from the warehouse (read-only) and publish them under home; how many were
    written."""
    from . import open_warehouse

    wh = open_warehouse(warehouse_url, read_only=True, wait_seconds=10)
    try:
        snapshots = snapshots_of_period(wh, period, council, Register.for_home(home, council))
    finally:
        wh.close()
    return publish_snapshots(home, council, period, snapshots)
