"""Cell values as departments really write them: dates, numbers and text, each with its original text."""

from __future__ import annotations

import calendar
import datetime
import html
import math
import numbers
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

import pandas as pd

_CACHE_SIZE = 16384


def _number_text(value: float | int) -> str:
    """Return a number as text, without the ".0" Excel adds to whole numbers."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def is_blank(value: object) -> bool:
    """No value at all: None, or pandas' NA, NaT and NaN, however a cell, a record or a frame spells it.

    Blank text is a value here; present() is the test that also takes "   " for nothing.
    """
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN and NaT are the only values not equal to themselves
    except (TypeError, ValueError):  # pd.NA (and arrays) refuse a truth value
        return value is pd.NA


# --- Dates ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DateValue:
    """A date read from a cell, with its original text and, for a date that cannot exist, why."""

    date: datetime.date | None
    text: str
    problem: str | None = None


_MONTH_NAME = (
    r"(?:jan(?:uary)?|feb(?:ruary|uary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b\.?"
)
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1
    )
}
_ORDINAL = r"(?:st|nd|rd|th)?"
# Every form is UK day-first: 04/05/17 is 4 May 2017, never April 5th. Alternatives are tried in
# order at each position, so the more specific forms come first.
_DATE = re.compile(
    rf"""
    # Every form starts with a digit or a month's initial; checking that first is what keeps this fast.
    (?=[\dJFMASONDjfmasond])
    (?:
    # ISO, year first so never ambiguous: 2017-04-30, 2017/04/30, and 2017-04-30T00:00:00.000Z as
    # xlwings sends a date cell (midnight; the time and zone are read past, not converted).
    (?P<iso>
        (?<!\d)(?P<iso_y>\d{{4}})(?P<iso_sep>[-/])(?P<iso_m>\d{{1,2}})(?P=iso_sep)(?P<iso_d>\d{{1,2}})(?!\d)
        (?:[T\ ]\d{{1,2}}:\d{{2}}(?::\d{{2}}(?:\.\d+)?)?(?:Z|[+-]\d{{2}}:?\d{{2}})?)?
    )
    | (?P<dmy>  # 30/04/17, 31/03/2018, 30-04-2017, 30.04.2017
        (?<!\d)(?P<dmy_d>\d{{1,2}})(?P<dmy_sep>[/.\-])(?P<dmy_m>\d{{1,2}})(?P=dmy_sep)(?P<dmy_y>\d{{4}}|\d{{2}})(?!\d)
    )
    | (?P<dny>  # 1 March 2017, 1st Mar 2017, 6 Nov 17, 30-Apr-17, 1st of March 2017
        (?<!\d)(?P<dny_d>\d{{1,2}}){_ORDINAL}(?:\s+of)?[\s\-/.]*(?P<dny_m>{_MONTH_NAME}),?[\s\-/']*
        (?P<dny_y>\d{{4}}|\d{{2}})(?!\d)
    )
    | (?P<mdy>  # March 1, 2017 or March 1st 2017: only with a four-digit year, else "Aug 12" is 2012
        \b(?P<mdy_m>{_MONTH_NAME})\s*(?P<mdy_d>\d{{1,2}}){_ORDINAL},?\s+(?P<mdy_y>\d{{4}})(?!\d)
    )
    | (?P<my>  # month only: March 2008, Sept. 2007, Aug-12, Aug 12, Mar '18
        \b(?P<my_m>{_MONTH_NAME})
        (?:[\s\-/,']*(?P<my_y4>\d{{4}})(?!\d)
          | [\s\-/]?'?(?P<my_y2>\d{{2}})(?!\d|(?:st|nd|rd|th)\b)(?!\s*(?:of\s+)?[\s\-]*{_MONTH_NAME})
        )
    )
    | (?P<nmy>  # month only as numbers: 04/2018
        (?<![\d/.\-])(?P<nmy_m>\d{{1,2}})(?P<nmy_sep>[/.\-])(?P<nmy_y>\d{{4}})(?!\d|(?P=nmy_sep)\d)
    )
    )
    """,
    re.IGNORECASE | re.VERBOSE,
)
_DIGIT = re.compile(r"\d")
_EXCEL_EPOCH = datetime.date(1899, 12, 30)
# Serial numbers outside 1990–2100 are far more likely counts or amounts than dates.
_FIRST_SERIAL = (datetime.date(1990, 1, 1) - _EXCEL_EPOCH).days
_LAST_SERIAL = (datetime.date(2100, 12, 31) - _EXCEL_EPOCH).days


def _full_year(text: str) -> int:
    """Return the year a two- or four-digit year text means."""
    year = int(text)
    if len(text) == 2:
        # Pivot at 70: "17" is 2017 and "69" is 2069, but "85" is 1985 (old plans quote baselines).
        return year + (2000 if year < 70 else 1900)
    return year


_DAYS_IN_MONTH = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _days_in_month(year: int, month: int) -> int:
    """Return the number of days in a month (calendar.monthrange is slower: it works out weekdays)."""
    if month == 2 and calendar.isleap(year):
        return 29
    return _DAYS_IN_MONTH[month]


def _impossible(year: int, month: int, day: int) -> str | None:
    """Return why a day, month and year cannot be a date, or None when they can."""
    if not 1 <= month <= 12:
        return f"there is no month {month}"
    if day < 1:
        return f"there is no day {day}"
    if year < 1:
        return f"there is no year {year}"
    days = _days_in_month(year, month)
    if day <= days:
        return None
    if month == 2 and days == 28:
        return f"{year} was not a leap year, so February has 28 days"
    if month == 2:
        return f"February {year} has 29 days"
    return f"{calendar.month_name[month]} has {days} days"


def _date_from_match(match: re.Match[str]) -> tuple[datetime.date | None, str | None]:
    """Return the date a match names (month-only forms mean the month's last day), or why it cannot exist."""
    kind = match.lastgroup
    if kind == "iso":
        year, month, day = int(match["iso_y"]), int(match["iso_m"]), int(match["iso_d"])
    elif kind == "dmy":
        year, month, day = _full_year(match["dmy_y"]), int(match["dmy_m"]), int(match["dmy_d"])
    elif kind == "dny":
        year, month, day = (
            _full_year(match["dny_y"]),
            _MONTHS[match["dny_m"][:3].lower()],
            int(match["dny_d"]),
        )
    elif kind == "mdy":
        year, month, day = int(match["mdy_y"]), _MONTHS[match["mdy_m"][:3].lower()], int(match["mdy_d"])
    else:
        if kind == "my":
            year, month = _full_year(match["my_y4"] or match["my_y2"]), _MONTHS[match["my_m"][:3].lower()]
        else:
            year, month = int(match["nmy_y"]), int(match["nmy_m"])
        if not 1 <= month <= 12:
            return None, f"there is no month {month}"
        if year < 1:
            return None, f"there is no year {year}"
        return datetime.date(year, month, _days_in_month(year, month)), None
    problem = _impossible(year, month, day)
    if problem is not None:
        return None, problem
    return datetime.date(year, month, day), None


@lru_cache(maxsize=_CACHE_SIZE)
def _date_from_text(text: str) -> DateValue:
    """Return the date a text names: the last date in it, so a range means its end."""
    text = text.strip()
    # Every date form has digits (a year at least); most "no date" words ("TBC", "Ongoing") have none.
    if not _DIGIT.search(text):
        return DateValue(None, text)
    # The last date written is the one that counts: the end of a range, or the latest revision.
    last = None
    for match in _DATE.finditer(text):
        last = match
    if last is None:
        return DateValue(None, text)
    found, problem = _date_from_match(last)
    return DateValue(found, text, problem)


def date_from_value(value: object) -> DateValue:
    """Return the date a cell value means (UK day-first), keeping its text and why it cannot exist."""
    if isinstance(value, str):
        return _date_from_text(value)
    if is_blank(value):
        return DateValue(None, "")
    if isinstance(value, datetime.datetime):
        # A date cell comes back as midnight; keep the time in the text only when there is one.
        text = value.date().isoformat() if value.time() == datetime.time() else value.isoformat()
        return DateValue(value.date(), text)
    if isinstance(value, datetime.date):
        return DateValue(value, value.isoformat())
    if isinstance(value, bool):
        return DateValue(None, str(value))
    if isinstance(value, numbers.Real):
        number = float(value)
        text = _number_text(value if isinstance(value, int | float) else number)
        if math.isinf(number) or not _FIRST_SERIAL <= number < _LAST_SERIAL + 1:
            return DateValue(None, text)
        # Excel serial: days since 30 Dec 1899 (its 1900 leap-year bug is before our range).
        return DateValue(_EXCEL_EPOCH + datetime.timedelta(days=int(number)), text)
    return _date_from_text(str(value))


# --- Numbers -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NumberValue:
    """A number read from a cell, with its unit ("%", "£") when written and its original text."""

    number: float | None
    unit: str | None
    text: str


_MULTIPLIERS = {
    "k": 1_000,
    "thousand": 1_000,
    "m": 1_000_000,
    "mn": 1_000_000,
    "million": 1_000_000,
    "bn": 1_000_000_000,
    "billion": 1_000_000_000,
}
_NUMBER = re.compile(
    r"""
    ^(?P<sign>[-+−])?\s*(?P<currency>[£$€])?\s*(?P<sign2>[-+−])?\s*
    (?P<digits>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)
    (?![.,]?\d)
    \s*(?P<multiplier>thousand|million|billion|mn|bn|k|m)?\b
    \s*(?P<percent>%)?
    (?=\.?(?:$|[\s(\[,;:]))
    """,
    re.IGNORECASE | re.VERBOSE,
)
# Accounts write a negative number in brackets: "(5,000)".
_BRACKETED = re.compile(r"^\(\s*(?P<inner>[£$€]?\s*[\d,.]+\s*%?)\s*\)$")


@lru_cache(maxsize=_CACHE_SIZE)
def _number_from_text(text: str) -> NumberValue:
    """Return the number a text starts with, with its unit, or no number when it does not start with one."""
    text = text.strip()
    bracketed = _BRACKETED.match(text)
    candidate = bracketed["inner"] if bracketed else text
    match = _NUMBER.match(candidate)
    if match is None:
        return NumberValue(None, None, text)
    signs = (match["sign"] or "") + (match["sign2"] or "")
    negative = bool(bracketed) or "-" in signs or "−" in signs
    digits = match["digits"].replace(",", "")
    multiplier = match["multiplier"]
    if multiplier:
        # Decimal keeps "1.001 million" at 1001000 exactly; in floats it is 1000999.9999999999.
        number = float(Decimal(digits) * _MULTIPLIERS[multiplier.lower()])
    else:
        number = float(digits)
    unit = "%" if match["percent"] else match["currency"]
    return NumberValue(-number if negative else number, unit, text)


def number_from_value(value: object) -> NumberValue:
    """Return the number a cell value means ("£1.2m" → 1200000, unit "£"), or no number for words."""
    if isinstance(value, str):
        return _number_from_text(value)
    if is_blank(value):
        return NumberValue(None, None, "")
    if isinstance(value, bool):
        return NumberValue(None, None, str(value))
    if isinstance(value, numbers.Real):
        number = float(value)
        text = _number_text(value if isinstance(value, int | float) else number)
        return NumberValue(None if math.isinf(number) else number, None, text)
    return _number_from_text(str(value))


# --- Text ----------------------------------------------------------------------------------------

# Anything the plain-string fast path cannot leave as it is.
_NEEDS_CLEANING = re.compile(
    "[<&\r\n\t\v\f\xa0\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060\u2066-\u2069\ufeff]|  "
)
_HTML_TAG = re.compile(r"</?[a-z][\w:.-]*(?:\s[^<>]*)?/?>|<![^<>]*>", re.IGNORECASE)
# Word's paste brings style sheets and conditional comments whose contents are not text.
_HTML_HIDDEN = re.compile(
    r"<!--.*?-->|<(style|script|xml|head)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL
)
_HTML_BREAK = re.compile(r"<br\b[^>]*>|</(?:p|div|li|tr|h[1-6]|ul|ol|table)\s*>", re.IGNORECASE)
_HTML_CELL_END = re.compile(r"</t[dh]\s*>", re.IGNORECASE)
# Only entities that end in ";" are decoded, so "Q&A" or "this&not that" stay as written.
_HTML_ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-f]+|[a-z][a-z0-9]*);", re.IGNORECASE)
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]")
_LINE_BREAK = re.compile("\r\n|[\r\v\f\u2028\u2029]")
_HORIZONTAL_SPACE = re.compile("[ \t\xa0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def _plain_from_html(text: str) -> str:
    """Return the plain text of HTML pasted from Word: paragraphs and breaks become line breaks."""
    text = _LINE_BREAK.sub("\n", _HTML_HIDDEN.sub("", text))
    if _HTML_BREAK.search(text):
        # Where tags say where lines end, a line break in the source is only a space (Word wraps
        # its HTML at 80 columns); a lone "<b>" in a cell typed with Alt+Enter keeps its lines.
        text = _HTML_BREAK.sub("\n", text.replace("\n", " "))
    text = _HTML_CELL_END.sub(" ", text)
    return _HTML_TAG.sub("", text)


@lru_cache(maxsize=_CACHE_SIZE)
def _text_from_text(text: str) -> str | None:
    """Return a text trimmed and tidied (HTML to plain text, invisible characters removed), or None."""
    if _NEEDS_CLEANING.search(text) is None:
        return text.strip() or None
    if "<" in text and _HTML_TAG.search(text):
        text = _plain_from_html(text)
    else:
        text = _LINE_BREAK.sub("\n", text)
    if "&" in text:
        text = _HTML_ENTITY.sub(lambda entity: html.unescape(entity[0]), text)
    text = _INVISIBLE.sub("", text)
    lines = (_HORIZONTAL_SPACE.sub(" ", line).strip() for line in text.split("\n"))
    text = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
    return text or None


def text_from_value(value: object) -> str | None:
    """Return a cell value as tidy plain text, or None when it holds no text."""
    if isinstance(value, str):
        return _text_from_text(value)
    if is_blank(value):
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, int | float):
        return _number_text(value)
    if isinstance(value, numbers.Real):
        return _number_text(float(value))
    return _text_from_text(str(value))


@lru_cache(maxsize=_CACHE_SIZE)
def _comparable(text: str) -> str:
    """Return text with all whitespace collapsed and case folded, for comparison only."""
    return " ".join(text.split()).casefold()


def same_text(a: object, b: object) -> bool:
    """Return True when two values hold the same text, whitespace and case aside (blank equals blank)."""
    text_a, text_b = text_from_value(a), text_from_value(b)
    if text_a is None or text_b is None:
        return text_a is text_b
    return _comparable(text_a) == _comparable(text_b)


def present(value: object) -> bool:
    """True for a real value; False for None, NaN/NaT (pandas' missing markers) and blank text."""
    if isinstance(value, str):
        return bool(value.strip())
    return not is_blank(value)
