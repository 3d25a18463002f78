"""The clock: now, in the council's time zone (the timezone setting), for every time a report prints."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "Europe/London"


@lru_cache(maxsize=16)
def zone_named(name: str) -> dt.tzinfo:
    """The time zone called name, e.g. Europe/London (settings refuse unknown names at start-up)."""
    return ZoneInfo(name)


def now_in(zone: str = DEFAULT_TIMEZONE) -> dt.datetime:
    """The time now in zone, to the second, aware."""
    return dt.datetime.now(zone_named(zone)).replace(microsecond=0)


def local(value: dt.datetime, zone: str = DEFAULT_TIMEZONE) -> dt.datetime:
    """An aware time as the council's clock shows it, still aware (naive times are taken as already local)."""
    return value if value.tzinfo is None else value.astimezone(zone_named(zone))
