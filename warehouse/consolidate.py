"""Read a period (and the one before it) back from the warehouse as rollup facts, for one council or all of them."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from actionplan.clock import DEFAULT_TIMEZONE
from actionplan.combined import combined_facts
from actionplan.councils import ALL_COUNCILS, DEFAULT_COUNCIL
from actionplan.errors import WarehouseNeedsUpgrade
from actionplan.model import RollupFacts
from actionplan.rollup import facts_for_period
from actionplan.vocabulary import DEFAULT_TOLERANCE, period_from_text

from .base import Warehouse
from .inbox import Inbox


def facts_from_warehouse(wh: Warehouse, period: str, *, council: str = DEFAULT_COUNCIL, as_at: dt.date | None = None,
                         against: str | None = None, tolerance: float = DEFAULT_TOLERANCE,
                         generated_at: dt.datetime | None = None,
                         timezone: str = DEFAULT_TIMEZONE) -> RollupFacts:
    """The rollup facts of a period for one council (or ALL_COUNCILS combined): its current submissions,
    compared with the previous period's."""
    parsed = period_from_text(period)
    if parsed is None:
        raise ValueError(f"unrecognised period {period!r}")
    previous_label = against or parsed.previous().label
    on_record = wh.periods(council)
    current = wh.current(parsed.label, council)
    previous = wh.current(previous_label, council) if previous_label in on_record else None
    # Slip history and KPI trends look at the periods on record up to this one (the last eight).
    earlier = [p for p in on_record if (q := period_from_text(p)) is not None and q.end < parsed.end][-7:]
    history = [(p, previous if p == previous_label and previous is not None else wh.current(p, council))
               for p in earlier]
    history.append((parsed.label, current))
    common = {"as_at": as_at, "generated_at": generated_at, "tolerance": tolerance, "timezone": timezone,
              "previous_period": previous_label if previous is not None else None, "history": history}
    if council == ALL_COUNCILS:
        return combined_facts(parsed.label, current, previous, departments=wh.departments_by_council(), **common)
    facts = facts_for_period(parsed.label, current, previous, known_departments=wh.departments(council), **common)
    return dataclasses.replace(facts, council=council)


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
