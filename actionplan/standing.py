"""A department's standing in a period: on time, late, returned, rejected or missing (one rule for the status page,
/api/status, the rollup's Submissions sheet and the reminders, so they always agree)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# "submitted": accepted, and no deadline is set for the period to be on time or late against.
SUBMITTED, ON_TIME, LATE, RETURNED, REJECTED, MISSING = (
    "submitted",
    "on time",
    "late",
    "returned",
    "rejected",
    "missing",
)
# Standings with no current plan: the department still owes one (reminders go to these).
OWING = (RETURNED, REJECTED, MISSING)


def local_day(when: Any, zone: str | None = "Europe/London") -> dt.date:
    """The council's calendar day of a moment (naive moments are UTC, as the warehouse and inbox keep them)."""
    import pandas as pd

    stamp = pd.Timestamp(when)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    try:
        tz = ZoneInfo(zone) if zone else None
    except (ZoneInfoNotFoundError, ValueError):
        tz = None
    return (stamp.tz_convert(tz) if tz else stamp).date()


def standing(
    submitted_at: Any,
    deadline: dt.date | None,
    *,
    returned: Any = None,
    rejected: bool = False,
    zone: str | None = "Europe/London",
) -> tuple[str, str | None]:
    """(standing, note) of a department from its current plan's submission time (None: none), the period's deadline,
    the return of its latest plan (a Return, or None) and whether its last attempt was rejected."""
    due = f"deadline {deadline:%d/%m/%Y}" if deadline else None
    if returned is not None:
        day = dt.date.fromisoformat(str(returned.at)[:10])
        return RETURNED, f"returned {day:%d/%m/%Y}: {returned.comment}"
    if submitted_at is None:
        return (REJECTED if rejected else MISSING), due
    if deadline is None:
        return SUBMITTED, None
    day = local_day(submitted_at, zone)
    if day <= deadline:
        return ON_TIME, f"submitted {day:%d/%m/%Y}, {due}"
    late = (day - deadline).days
    return LATE, f"submitted {day:%d/%m/%Y}, {late} day{'s' if late != 1 else ''} after the {due}"
