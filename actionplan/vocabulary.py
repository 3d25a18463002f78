"""The words of the workbook contract: RAGB statuses, reporting periods, polarity and KPI performance."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

# --- RAGB status ---------------------------------------------------------------------------------

STATUS_LETTERS = ("B", "G", "A", "R", "-")
STATUS_NAMES = {"B": "Blue", "G": "Green", "A": "Amber", "R": "Red", "-": "Not rated"}
STATUS_MEANINGS = {"B": "complete", "G": "on track", "A": "at risk", "R": "problem", "-": "not rated"}

_SPACES = re.compile(r"\s+")
# Commas never change a status word ("Off target, but recovery plans in place").
_IGNORED_PUNCTUATION = re.compile(r",")


@lru_cache(maxsize=4096)
def _normalise(text: str) -> str:
    """Return text in lower case with commas dropped, whitespace collapsed and ends trimmed."""
    return _SPACES.sub(" ", _IGNORED_PUNCTUATION.sub("", text)).strip().casefold()


_WORDS_BY_LETTER = {
    "B": ("B", "Blue", "Complete", "Completed", "Done", "Achieved", "*"),
    "G": ("G", "Green", "On target", "On track", "●", "•"),
    "A": ("A", "Amber", "Off target but recovery plans in place", "At risk", "Some slippage"),
    "R": ("R", "Red", "Off target", "Behind schedule", "Poor", "▲"),
    # The spec prints "not rated" as an en dash; people type a hyphen or an em dash just as often.
    "-": ("-", "–", "—", "", "?", "Unknown", "N/A", "NA", "Not started", "Not rated"),
}
STATUS_WORDS: dict[str, str] = {
    _normalise(word): letter for letter, words in _WORDS_BY_LETTER.items() for word in words
}

# A label after the word: "Green (on track)", "Blue - complete", "Red: behind schedule".
_STATUS_LABEL = re.compile(
    r"^(?P<head>.+?)(?:\s*[(\[](?P<paren>.*?)[)\]]?|\s+[-–—]\s+(?P<dash>.*)|\s*:\s*(?P<colon>.*))$"
)


def _status_from_normalised(text: str, words: Mapping[str, str]) -> str | None:
    """Return the letter for a normalised status text looked up in words, or None if unknown."""
    letter = words.get(text)
    if letter is not None:
        return letter
    if text.endswith(".") and len(text) > 1:
        text = text[:-1].rstrip()
        letter = words.get(text)
        if letter is not None:
            return letter
    match = _STATUS_LABEL.match(text)
    if match is None:
        return None
    letter = words.get(match["head"])
    if letter is None:
        return None
    label = (match["paren"] or match["dash"] or match["colon"] or "").strip()
    # "Green (at risk)" contradicts itself: better an error than a guess.
    label_letter = words.get(label)
    if label_letter is not None and label_letter != letter:
        return None
    return letter


@lru_cache(maxsize=4096)
def _status_from_text(text: str) -> str | None:
    """Return the letter for a status text in the contract's vocabulary, or None if unknown."""
    return _status_from_normalised(_normalise(text), STATUS_WORDS)


def status_from_text(value: object, extra_words: Mapping[str, str] | None = None) -> str | None:
    """Return the RAGB letter a cell value means, "-" when blank, or None when the word is unknown."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    text = value if isinstance(value, str) else str(value)
    letter = _status_from_text(text)
    if letter is not None or not extra_words:
        return letter
    extra = {}
    for word, extra_letter in extra_words.items():
        if extra_letter not in STATUS_LETTERS:
            raise ValueError(f"status word {word!r} maps to {extra_letter!r}, not one of {STATUS_LETTERS}")
        extra[_normalise(word)] = extra_letter
    # Layouts add words; the contract's own words keep their meaning.
    return _status_from_normalised(_normalise(text), {**extra, **STATUS_WORDS})


def accepted_status_words() -> str:
    """Return a short list of accepted status words for error messages."""
    return "B, G, A, R or blank (or Blue, Green, Amber, Red, Complete, On track, At risk, Off target, …)"


# --- Reporting period ----------------------------------------------------------------------------

# Q1 ends 30 Jun, Q2 30 Sep, Q3 31 Dec of the start year; Q4 ends 31 Mar of the next year.
_QUARTER_START = {1: (0, 4, 1), 2: (0, 7, 1), 3: (0, 10, 1), 4: (1, 1, 1)}
_QUARTER_END = {1: (0, 6, 30), 2: (0, 9, 30), 3: (0, 12, 31), 4: (1, 3, 31)}
# The whole year sorts after its own Q4: both end on 31 March and the year covers more.
_WHOLE_YEAR_RANK = 5


@dataclass(frozen=True, order=True)
class Period:
    """A UK financial year (April–March) starting in start_year, or one quarter of it."""

    # Sort key first so that order=True sorts chronologically; quarter may be None.
    _rank: tuple[int, int] = field(init=False, repr=False)
    start_year: int
    quarter: int | None = None

    def __post_init__(self) -> None:
        if self.quarter is not None and self.quarter not in _QUARTER_END:
            raise ValueError(f"quarter must be 1 to 4 or None, not {self.quarter!r}")
        if not 1 <= self.start_year < 9999:
            raise ValueError(f"start year {self.start_year!r} is out of range")
        object.__setattr__(self, "_rank", (self.start_year, self.quarter or _WHOLE_YEAR_RANK))

    @property
    def label(self) -> str:
        """Canonical label, e.g. "2017/18 Q2", or "2017/18" for the whole year."""
        year = f"{self.start_year}/{(self.start_year + 1) % 100:02d}"
        return year if self.quarter is None else f"{year} Q{self.quarter}"

    @property
    def start(self) -> date:
        """First day of the period."""
        if self.quarter is None:
            return date(self.start_year, 4, 1)
        years, month, day = _QUARTER_START[self.quarter]
        return date(self.start_year + years, month, day)

    @property
    def end(self) -> date:
        """Last day of the period."""
        if self.quarter is None:
            return date(self.start_year + 1, 3, 31)
        years, month, day = _QUARTER_END[self.quarter]
        return date(self.start_year + years, month, day)

    def previous(self) -> Period:
        """Return the period before this one: the previous quarter, or the previous whole year."""
        if self.quarter is None:
            return Period(self.start_year - 1)
        if self.quarter == 1:
            return Period(self.start_year - 1, 4)
        return Period(self.start_year, self.quarter - 1)

    def __str__(self) -> str:
        return self.label


# Dates a plan can mean: a due date within 20 years of the period's end, an As at no more than a year either side of
# it. Beyond those it is a typing slip (31/12/9999, 01/01/0001), warned about and never taken as the council's date.
PLAUSIBLE_YEARS = 20
AS_AT_DAYS = 366


def plausible_due_date(value: date, period_end: date | None) -> bool:
    """Whether a due date is within PLAUSIBLE_YEARS of the period's end (of 2000-2050 when no period is known)."""
    if period_end is None:
        return 2000 - PLAUSIBLE_YEARS <= value.year <= 2050 + PLAUSIBLE_YEARS
    return abs(value.year - period_end.year) <= PLAUSIBLE_YEARS


def plausible_as_at(value: date, period_end: date) -> bool:
    """Whether an As at date is within a year either side of the period's end."""
    return abs((value - period_end).days) <= AS_AT_DAYS


_QUARTER = r"(?:q|qtr|quarter)\s*(?P<{name}>[1-4])"
_YEARS = r"(?P<first>\d{4})\s*[/\-–]\s*(?P<second>\d{4}|\d{2})"
_PERIOD = re.compile(
    rf"^(?:{_QUARTER.format(name='q_before')}[\s,\-–:]*)?{_YEARS}(?:[\s,\-–:]*{_QUARTER.format(name='q_after')})?$"
)


@lru_cache(maxsize=1024)
def _period_from_text(text: str) -> Period | None:
    """Return the period a text names, or None when it is not a period."""
    match = _PERIOD.match(_normalise(text))
    if match is None or (match["q_before"] and match["q_after"]):
        return None
    first, second = int(match["first"]), match["second"]
    following = first + 1 if len(second) == 4 else (first + 1) % 100
    if int(second) != following:
        return None
    quarter = match["q_before"] or match["q_after"]
    return Period(first, int(quarter) if quarter else None)


def period_from_text(value: object) -> Period | None:
    """Return the period a value names ("2017/18 Q2", "Q2 2017/18", "2017/18"), or None."""
    if isinstance(value, Period):
        return value
    if not isinstance(value, str):
        return None
    return _period_from_text(value)


# --- KPI polarity, tolerance and performance -----------------------------------------------------

HIGHER_IS_BETTER = "Higher is better"
LOWER_IS_BETTER = "Lower is better"
DEFAULT_TOLERANCE = 0.025

_POLARITY_WORDS = {
    "": HIGHER_IS_BETTER,
    "higher is better": HIGHER_IS_BETTER,
    "higher": HIGHER_IS_BETTER,
    "high": HIGHER_IS_BETTER,
    "bigger is better": HIGHER_IS_BETTER,
    "larger is better": HIGHER_IS_BETTER,
    "lower is better": LOWER_IS_BETTER,
    "lower": LOWER_IS_BETTER,
    "low": LOWER_IS_BETTER,
    "smaller is better": LOWER_IS_BETTER,
}


@lru_cache(maxsize=256)
def _polarity_from_text(text: str) -> str | None:
    """Return the canonical polarity a text names, or None when unrecognised."""
    return _POLARITY_WORDS.get(_normalise(text).removesuffix("."))


def polarity_from_text(value: object) -> str | None:
    """Return "Higher is better" (also for blank) or "Lower is better", or None when unrecognised."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return HIGHER_IS_BETTER
    if not isinstance(value, str):
        return None
    return _polarity_from_text(value)


_TOLERANCE = re.compile(r"^\+?(?P<number>\d+(?:\.\d*)?|\.\d+)\s*(?P<percent>%)?$")


def _tolerance_from_number(number: float) -> float | None:
    """Return a tolerance as a fraction: 1 or more is read as percent, negative as no tolerance."""
    if math.isnan(number) or math.isinf(number) or number < 0:
        return None
    # "> 1 means percent" would read a typed 1 as 100 %, a tolerance no KPI has; 1 means 1 %.
    return number / 100 if number >= 1 else number


def tolerance_from_value(value: object) -> float | None:
    """Return a KPI tolerance as a fraction ("5%" → 0.05, 2.5 → 0.025, 0.05 → 0.05), or None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return _tolerance_from_number(float(value))
    if not isinstance(value, str):
        return None
    match = _TOLERANCE.match(value.strip())
    if match is None:
        return None
    number = float(match["number"])
    if match["percent"]:
        return number / 100
    return _tolerance_from_number(number)


# A KPI's type (column Type): blank reads the direction from Polarity, as before the column existed. A goal post is
# on target inside its band (Lower bound to Upper bound); a data-only measure is reported and never rated.
GOAL_POST = "Goal post"
DATA_ONLY = "Data only"
KPI_TYPES = (HIGHER_IS_BETTER, LOWER_IS_BETTER, GOAL_POST, DATA_ONLY)
_KPI_TYPE_WORDS = {
    **{w: p for w, p in _POLARITY_WORDS.items() if w},
    "more is better": HIGHER_IS_BETTER,
    "less is better": LOWER_IS_BETTER,
    "goal post": GOAL_POST,
    "goalpost": GOAL_POST,
    "goal-post": GOAL_POST,
    "range": GOAL_POST,
    "target range": GOAL_POST,
    "within range": GOAL_POST,
    "data only": DATA_ONLY,
    "data-only": DATA_ONLY,
    "contextual": DATA_ONLY,
    "context": DATA_ONLY,
    "not rated": DATA_ONLY,
    "monitor only": DATA_ONLY,
    "for information": DATA_ONLY,
}

# How a measure adds up over the year (column Aggregation): the year to date of a cumulative measure is the sum of
# its quarters, of an average their mean; a snapshot's latest value is its position, so it has no year to date.
CUMULATIVE, SNAPSHOT, AVERAGE = "Cumulative", "Snapshot", "Average"
AGGREGATIONS = (CUMULATIVE, SNAPSHOT, AVERAGE)
_AGGREGATION_WORDS = {
    "cumulative": CUMULATIVE,
    "sum": CUMULATIVE,
    "total": CUMULATIVE,
    "running total": CUMULATIVE,
    "snapshot": SNAPSHOT,
    "latest": SNAPSHOT,
    "point in time": SNAPSHOT,
    "average": AVERAGE,
    "mean": AVERAGE,
}

# How often a measure is collected (column Frequency), and the quarters it is due in; blank means every quarter.
QUARTERLY, HALF_YEARLY, ANNUAL, MONTHLY = "Quarterly", "Half-yearly", "Annual", "Monthly"
FREQUENCIES = (QUARTERLY, HALF_YEARLY, ANNUAL, MONTHLY)
DUE_QUARTERS = {QUARTERLY: (1, 2, 3, 4), HALF_YEARLY: (2, 4), ANNUAL: (4,), MONTHLY: (1, 2, 3, 4)}
_FREQUENCY_WORDS = {
    "quarterly": QUARTERLY,
    "quarter": QUARTERLY,
    "half-yearly": HALF_YEARLY,
    "half yearly": HALF_YEARLY,
    "six-monthly": HALF_YEARLY,
    "six monthly": HALF_YEARLY,
    "biannual": HALF_YEARLY,
    "annual": ANNUAL,
    "annually": ANNUAL,
    "yearly": ANNUAL,
    "monthly": MONTHLY,
    "month": MONTHLY,
}


def _word_from(value: object, words: Mapping[str, str]) -> str | None:
    """The canonical word a cell names ("" for blank), or None when it names none of them."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if not isinstance(value, str):
        return None
    text = _normalise(value).removesuffix(".")
    return "" if not text else words.get(text)


def kpi_type_from_text(value: object) -> str | None:
    """Return one of KPI_TYPES for a Type cell, "" when blank (Polarity decides), None when unrecognised."""
    return _word_from(value, _KPI_TYPE_WORDS)


def aggregation_from_text(value: object) -> str | None:
    """Return one of AGGREGATIONS for an Aggregation cell, "" when blank, None when unrecognised."""
    return _word_from(value, _AGGREGATION_WORDS)


def frequency_from_text(value: object) -> str | None:
    """Return one of FREQUENCIES for a Frequency cell, "" when blank (quarterly), None when unrecognised."""
    return _word_from(value, _FREQUENCY_WORDS)


def due_in(frequency: object, quarter: int | None) -> bool:
    """Whether a measure of this frequency has a result due in the quarter (a whole year: always)."""
    if quarter is None:
        return True
    return quarter in DUE_QUARTERS.get(frequency_from_text(frequency) or QUARTERLY, DUE_QUARTERS[QUARTERLY])


NOT_DUE = "not due"
NOT_RATED_KPI = "data only"
PERFORMANCES = ("better", "within", "worse", "no data", NOT_DUE, NOT_RATED_KPI)
PERFORMANCE_SYMBOLS = {
    "better": "★",
    "within": "●",
    "worse": "▲",
    "no data": "–",
    NOT_DUE: "○",
    NOT_RATED_KPI: "·",
}

# (0.7175 - 0.7) / 0.7 is 0.025000000000000102 in floating point; without this slack an actual
# exactly on the tolerance boundary would be judged "better" or "worse" instead of "within".
_EPSILON = 1e-9


def _finite(value: object) -> float | None:
    """Return value as a finite float, or None when it is missing or not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return None if math.isnan(number) or math.isinf(number) else number


def kpi_performance(
    target: float | None,
    actual: float | None,
    polarity: str,
    tolerance: float | None = None,
    kpi_type: str | None = None,
    bounds: tuple[float | None, float | None] = (None, None),
) -> str:
    """Return "better", "within", "worse" or "no data" for an actual against its target (or its band).

    kpi_type (blank: Polarity decides) makes a goal post "within" inside its band (bounds, inclusive) and "worse"
    outside it, and a data-only measure "data only" whatever its figures.
    """
    kind = kpi_type_from_text(kpi_type) if kpi_type else ""
    if kind == DATA_ONLY:
        return NOT_RATED_KPI
    if kind == GOAL_POST:
        lower, upper, value = _finite(bounds[0]), _finite(bounds[1]), _finite(actual)
        if lower is None or upper is None or value is None:
            return "no data"
        return "within" if lower - _EPSILON <= value <= upper + _EPSILON else "worse"
    if kind in (HIGHER_IS_BETTER, LOWER_IS_BETTER):
        polarity = kind
    target, actual = _finite(target), _finite(actual)
    if target is None or actual is None:
        return "no data"
    sign = -1.0 if polarity_from_text(polarity) == LOWER_IS_BETTER else 1.0
    if target == 0:
        # No relative deviation from zero: any move away from it counts by its direction.
        difference = sign * (actual - target)
        return "within" if difference == 0 else ("better" if difference > 0 else "worse")
    limit = (DEFAULT_TOLERANCE if tolerance is None else tolerance) + _EPSILON
    deviation = sign * (actual - target) / abs(target)
    if deviation > limit:
        return "better"
    if deviation < -limit:
        return "worse"
    return "within"


def period_label(text: object) -> str | None:
    """The canonical label of a period a user typed (None for blank); UnknownPeriod, with an example, if not one."""
    if text is None or not str(text).strip():
        return None
    parsed = period_from_text(text)
    if parsed is None:
        from .errors import UnknownPeriod

        raise UnknownPeriod(
            f"'{text}' is not a period actionplan recognises. Use e.g. 2024/25 Q2 "
            "(or 2024/25 for the whole year)."
        )
    return parsed.label
