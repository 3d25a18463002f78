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
    known = set(wh.periods())
    current = wh.current(parsed.label)
    previous = wh.current(previous_label) if previous_label in known else None
    return facts_for_period(parsed.label, current, previous, known_departments=wh.departments(), as_at=as_at,
                            generated_at=generated_at, tolerance=tolerance,
                            previous_period=previous_label if previous is not None else None)
