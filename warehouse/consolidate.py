"""Read a period (and the one before it) back from the warehouse as rollup facts."""

from __future__ import annotations

import datetime as dt

from actionplan.model import RollupFacts
from actionplan.rollup import facts_for_period
from actionplan.vocabulary import DEFAULT_TOLERANCE, period_from_text

from .base import Warehouse


def facts_from_warehouse(wh: Warehouse, period: str, *, as_at: dt.date | None = None,
                         against: str | None = None, tolerance: float = DEFAULT_TOLERANCE,
                         generated_at: dt.datetime | None = None) -> RollupFacts:
    """The rollup facts of a period: its current submissions, compared with the previous period's."""
    parsed = period_from_text(period)
    if parsed is None:
        raise ValueError(f"unrecognised period {period!r}")
    previous_label = against or parsed.previous().label
    on_record = wh.periods()
    current = wh.current(parsed.label)
    previous = wh.current(previous_label) if previous_label in on_record else None
    # Slip history and KPI trends look at the periods on record up to this one (the last eight).
    earlier = [p for p in on_record if (q := period_from_text(p)) is not None and q.end < parsed.end][-7:]
    history = [(p, previous if p == previous_label and previous is not None else wh.current(p)) for p in earlier]
    history.append((parsed.label, current))
    return facts_for_period(parsed.label, current, previous, known_departments=wh.departments(), as_at=as_at,
                            generated_at=generated_at, tolerance=tolerance,
                            previous_period=previous_label if previous is not None else None, history=history)
