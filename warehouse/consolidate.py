"""Read a period (and the one before it) back from the warehouse as rollup facts, for one council or all of them."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from actionplan.clock import DEFAULT_TIMEZONE
from actionplan.combined import combined_facts, labelled
from actionplan.councils import ALL_COUNCILS, DEFAULT_COUNCIL
from actionplan.errors import WarehouseNeedsUpgrade
from actionplan.model import RollupFacts
from actionplan.register import Register, fold_name
from actionplan.rollup import facts_for_period
from actionplan.vocabulary import DEFAULT_TOLERANCE, Period, period_from_text
from actionplan.yearview import latest_in_year, year_facts

from .base import Warehouse
from .inbox import Inbox


def facts_from_warehouse(
    wh: Warehouse,
    period: str,
    *,
    council: str = DEFAULT_COUNCIL,
    as_at: dt.date | None = None,
    against: str | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    generated_at: dt.datetime | None = None,
    timezone: str = DEFAULT_TIMEZONE,
    register: Register | None = None,
    key_holders: list[str] | None = None,
) -> RollupFacts:
    """The rollup facts of a period for one council (or ALL_COUNCILS combined): its current submissions,
    compared with the previous period's.

    register: the council's register (departments, deadlines, returns); without one, every department that has
    ever submitted, and every one holding an access key (key_holders), is expected, as on the status page.
    """
    parsed = period_from_text(period)
    if parsed is None:
        raise ValueError(f"unrecognised period {period!r}")
    on_record = wh.periods(council)
    if parsed.quarter is None and quarters_of_year(parsed, on_record):
        return _year_from_warehouse(
            wh,
            parsed,
            on_record,
            council=council,
            as_at=as_at,
            tolerance=tolerance,
            generated_at=generated_at,
        )
    previous_label = against or parsed.previous().label
    one = council != ALL_COUNCILS
    spelling = department_spelling(register, wh.departments(council) if one else [])
    returns = register.returns() if register is not None and one else {}
    returned: dict[str, Any] = {}

    def current_of(label: str) -> dict[str, pd.DataFrame]:
        frames = wh.current(label, council)
        if not one:
            return frames
        frames, gone = as_registered(frames, spelling, returns)
        if label == parsed.label:
            returned.update(gone)
        return frames

    current = current_of(parsed.label)
    previous = current_of(previous_label) if previous_label in on_record else None
    # Slip history and KPI trends look at the periods on record up to this one (the last eight).
    earlier = [p for p in on_record if (q := period_from_text(p)) is not None and q.end < parsed.end][-7:]
    history = [
        (p, previous if p == previous_label and previous is not None else current_of(p)) for p in earlier
    ]
    history.append((parsed.label, current))
    common = {
        "as_at": as_at,
        "generated_at": generated_at,
        "tolerance": tolerance,
        "timezone": timezone,
        "previous_period": previous_label if previous is not None else None,
        "history": history,
    }
    if council == ALL_COUNCILS:
        return combined_facts(
            parsed.label, current, previous, departments=wh.departments_by_council(), **common
        )
    if register is not None and not register.is_empty():
        known = register.names()
    else:
        known = list(dict.fromkeys(spelling(d) for d in [*wh.departments(council), *(key_holders or [])]))
    facts = facts_for_period(
        parsed.label,
        current,
        previous,
        known_departments=known,
        returned=returned,
        deadline=register.deadline(parsed.label) if register is not None else None,
        **common,
    )
    return dataclasses.replace(facts, council=council)


def department_spelling(register: Register | None, on_record: list[str]) -> Callable[[str], str]:
    """How a stored department name is shown: the register's spelling (by any spelling or a former name), else the
    first spelling on record among those folding alike ('FINANCE' and 'ﬁnance' are Finance)."""
    first: dict[str, str] = {}
    for name in on_record:
        first.setdefault(fold_name(name), name)
    use_register = register is not None and not register.is_empty()
    seen: dict[str, str] = {}  # a status page spells thousands of attempts' names: each is looked up once

    def spelling(name: str) -> str:
        if name in seen:
            return seen[name]
        found = register.department(name) if use_register else None
        seen[name] = found.name if found is not None else first.get(fold_name(name), name)
        return seen[name]

    return spelling


def as_registered(
    frames: dict[str, pd.DataFrame], spelling: Callable[[str], str], returns: dict[str, Any]
) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """A period's current frames with departments under one spelling each (the latest plan of the variants is the
    current one), and without plans that were returned: those departments and their Return are given back."""
    subs = frames["submissions"]
    if subs.empty:
        return frames, {}
    subs = subs.assign(department=[spelling(d) for d in subs["department"]])
    subs = subs.sort_values(["submitted_at", "loaded_at", "id"], ascending=[False, False, True])
    subs = subs.drop_duplicates("department")
    gone = {row["department"]: returns[row["id"]] for row in subs.to_dict("records") if row["id"] in returns}
    subs = subs[~subs["id"].isin(list(returns))].sort_values(["council", "department"]).reset_index(drop=True)
    keep = set(subs["id"])
    out = {"submissions": subs}
    for table, frame in frames.items():
        if table == "submissions":
            continue
        if frame.empty:
            out[table] = frame
            continue
        kept = frame[frame["submission_id"].isin(keep)]
        out[table] = kept.assign(department=[spelling(d) for d in kept["department"].tolist()]).reset_index(
            drop=True
        )
    return out, gone


def quarters_of_year(year: Period, on_record: list[str]) -> list[str]:
    """The quarters of a financial year with submissions on record, oldest first."""
    return [
        p
        for p in on_record
        if (q := period_from_text(p)) is not None
        and q.quarter is not None
        and q.start_year == year.start_year
    ]


def _year_from_warehouse(
    wh: Warehouse,
    year: Period,
    on_record: list[str],
    *,
    council: str,
    as_at: dt.date | None,
    tolerance: float,
    generated_at: dt.datetime | None,
) -> RollupFacts:
    """The year-end view: the year's quarters on record rolled up, compared with the year before (if on record)."""
    quarters = [(q, wh.current(q, council)) for q in quarters_of_year(year, on_record)]
    current = latest_in_year(quarters)
    earlier = quarters_of_year(year.previous(), on_record)
    before = latest_in_year([(q, wh.current(q, council)) for q in earlier]) if earlier else None
    common = {
        "as_at": as_at,
        "generated_at": generated_at,
        "tolerance": tolerance,
        "previous_period": year.previous().label if before is not None else None,
        # The year's own entry stands for its last quarter: slips count moves between quarters only.
        "history": [*quarters[:-1], (year.label, current)],
    }
    if council == ALL_COUNCILS:
        facts = combined_facts(year.label, current, before, departments=wh.departments_by_council(), **common)
        # The combined rollup names departments 'Council — Department'; the quarters' columns must match them.
        quarters = [(q, labelled(frames)) for q, frames in quarters]
        before = labelled(before) if before is not None else None
    else:
        facts = dataclasses.replace(
            facts_for_period(
                year.label, current, before, known_departments=wh.departments(council), **common
            ),
            council=council,
        )
    return year_facts(facts, quarters, before)


def councils_known(warehouse_url: str, inbox: Inbox | None = None) -> set[str]:
    """The councils on record in the warehouse (read, never written), and those with plans waiting in the inbox."""
    from . import open_warehouse

    names = inbox.councils_waiting() if inbox is not None else set()
    if "://" not in warehouse_url and not Path(warehouse_url).exists():
        return names
    try:
        wh = open_warehouse(warehouse_url, read_only=True, wait_seconds=5)
    except WarehouseNeedsUpgrade:  # made before councils: everything in it is the default council's
        return names | {DEFAULT_COUNCIL}
    try:
        return names | set(wh.councils())
    finally:
        wh.close()


def report_from_warehouse(
    wh: Warehouse,
    period: str,
    out: Path,
    *,
    council: str = DEFAULT_COUNCIL,
    department: str | None = None,
    template: Path | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    as_at: dt.date | None = None,
) -> Path:
    """Write the committee report of a period (a department's own with department) from the same facts as the
    rollup, compared with the period before it."""
    from actionplan.report import write_report

    facts = facts_from_warehouse(wh, period, council=council, as_at=as_at, tolerance=tolerance)
    previous = (
        facts_from_warehouse(wh, facts.previous_period, council=council, tolerance=tolerance)
        if facts.previous_period
        else None
    )
    return write_report(facts, out, department=department, previous=previous, template=template)
