"""Tests for reading dates, numbers and text as departments really write them."""

import datetime
import datetime as dt
from datetime import date

import numpy as np
import pandas as pd
import pytest

from actionplan.values import (
    DateValue,
    NumberValue,
    date_from_value,
    number_from_value,
    same_text,
    text_from_value,
)

# --- Dates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Day-first numbers
        ("30/04/17", date(2017, 4, 30)),
        ("31/03/2018", date(2018, 3, 31)),
        ("04/05/17", date(2017, 5, 4)),  # 4 May, never 5 April
        ("1/4/2017", date(2017, 4, 1)),
        ("30-04-2017", date(2017, 4, 30)),
        ("30.04.2017", date(2017, 4, 30)),
        ("30-04-17", date(2017, 4, 30)),
        ("29/02/2016", date(2016, 2, 29)),
        ("01/01/69", date(2069, 1, 1)),  # two-digit years below 70 are 20yy
        ("01/01/70", date(1970, 1, 1)),
        # ISO, as xlwings sends dates
        ("2017-04-30", date(2017, 4, 30)),
        ("2017-04-30T00:00:00", date(2017, 4, 30)),
        ("2017-04-30T00:00:00.000Z", date(2017, 4, 30)),
        ("2017-04-30 00:00:00", date(2017, 4, 30)),
        # Day, month name, year
        ("1 March 2017", date(2017, 3, 1)),
        ("1st Mar 2017", date(2017, 3, 1)),
        ("6 Nov 17", date(2017, 11, 6)),
        ("30-Apr-17", date(2017, 4, 30)),
        ("1st of March 2017", date(2017, 3, 1)),
        ("22nd SEPT 2017", date(2017, 9, 22)),
        ("3rd Sept. 2017", date(2017, 9, 3)),
        ("March 1, 2017", date(2017, 3, 1)),
        # Month only: the last day of that month
        ("Aug-12", date(2012, 8, 31)),
        ("Aug 12", date(2012, 8, 31)),
        ("March 2008", date(2008, 3, 31)),
        ("Sept. 2007", date(2007, 9, 30)),
        ("Sept 2007", date(2007, 9, 30)),
        ("By April 2008", date(2008, 4, 30)),
        ("End of April 2007", date(2007, 4, 30)),
        ("Mar-18", date(2018, 3, 31)),
        ("February 2016", date(2016, 2, 29)),
        ("Feb 2017", date(2017, 2, 28)),
        ("december 2017", date(2017, 12, 31)),
        ("04/2018", date(2018, 4, 30)),
        # A range means its end
        ("28th - 31st March 2017", date(2017, 3, 31)),
        ("01/04/2017 - 31/03/2018", date(2018, 3, 31)),
        ("April - June 2018", date(2018, 6, 30)),
        ("March 2018 - 15 April 2018", date(2018, 4, 15)),
        # Words around a date
        ("24/05/17 Council", date(2017, 5, 24)),
        ("Initial approval 24/05/2017", date(2017, 5, 24)),
        ("w/c 6 Nov 17", date(2017, 11, 6)),
        ("  31/03/2018  ", date(2018, 3, 31)),
    ],
)
def test_date_from_value_text_forms(text, expected):
    assert date_from_value(text) == DateValue(expected, text.strip(), None)


@pytest.mark.parametrize(
    "text",
    [
        "TBC",
        "Ongoing",
        "On-going",
        "June Cabinet",
        "On approval by Council",
        "TBC pending the review",
        "2018",
        "",
        "   ",
        "Aug 12th",
        "12 August",
        "2017/18",
        "Q2 2017/18",
        "2017/2018",
        "Phase 2",
    ],
)
def test_date_from_value_no_date(text):
    assert date_from_value(text) == DateValue(None, text.strip(), None)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("31/11/17", "November has 30 days"),
        ("29/02/2017", "2017 was not a leap year, so February has 28 days"),
        ("30/02/2017", "2017 was not a leap year, so February has 28 days"),
        ("30/02/2016", "February 2016 has 29 days"),
        ("12/13/2017", "there is no month 13"),
        ("32/01/2018", "January has 31 days"),
        ("31/06/2018", "June has 30 days"),
        ("00/01/2018", "there is no day 0"),
        ("01/00/2018", "there is no month 0"),
        ("31st June 2017", "June has 30 days"),
        ("2017-02-29", "2017 was not a leap year, so February has 28 days"),
        ("13/2018", "there is no month 13"),
        ("Revised to 31/11/17", "November has 30 days"),
    ],
)
def test_date_from_value_impossible_date_says_why(text, problem):
    assert date_from_value(text) == DateValue(None, text, problem)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, DateValue(None, "")),
        (float("nan"), DateValue(None, "")),
        (date(2017, 4, 30), DateValue(date(2017, 4, 30), "2017-04-30")),
        (datetime.datetime(2017, 4, 30), DateValue(date(2017, 4, 30), "2017-04-30")),
        (datetime.datetime(2017, 4, 30, 9, 30), DateValue(date(2017, 4, 30), "2017-04-30T09:30:00")),
        (43220, DateValue(date(2018, 4, 30), "43220")),  # Excel serial
        (43220.0, DateValue(date(2018, 4, 30), "43220")),
        (43220.75, DateValue(date(2018, 4, 30), "43220.75")),  # a time of day keeps the day
        (32874, DateValue(date(1990, 1, 1), "32874")),
        (73415, DateValue(date(2100, 12, 31), "73415")),
        (32873, DateValue(None, "32873")),  # before 1990: a count, not a date
        (73416, DateValue(None, "73416")),
        (2018, DateValue(None, "2018")),
        (-5, DateValue(None, "-5")),
        (True, DateValue(None, "True")),
        (float("inf"), DateValue(None, "inf")),
    ],
)
def test_date_from_value_cell_types(value, expected):
    assert date_from_value(value) == expected


# --- Numbers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "number", "unit"),
    [
        ("69%", 69.0, "%"),
        ("69 %", 69.0, "%"),
        ("42.3", 42.3, None),
        ("1,032,064", 1032064.0, None),
        ("£500,000", 500000.0, "£"),
        ("£ 500", 500.0, "£"),
        ("1.118 million", 1118000.0, None),
        ("£1.2m", 1200000.0, "£"),
        ("2bn", 2000000000.0, None),
        ("15k", 15000.0, None),
        ("1.001 million", 1001000.0, None),  # exact, not 1000999.9999999999
        ("81% (interim figure)", 81.0, "%"),
        ("81% (interim figure subject to change)", 81.0, "%"),
        ("-5", -5.0, None),
        ("−3.5%", -3.5, "%"),
        ("-£5", -5.0, "£"),
        ("(5)", -5.0, None),  # accounts' negative
        ("(£5,000)", -5000.0, "£"),
        (".5", 0.5, None),
        ("42.", 42.0, None),
        ("500 households", 500.0, None),
        ("  7  ", 7.0, None),
        # No number
        ("-", None, None),
        ("N/A", None, None),
        ("n/a", None, None),
        ("Baseline year", None, None),
        ("TBC", None, None),
        ("", None, None),
        ("approx 50%", None, None),  # no leading number
        ("12-15", None, None),  # a range, not a number
        ("1,2", None, None),
        ("2017/18", None, None),
        ("(interim figure)", None, None),
    ],
)
def test_number_from_value_text_forms(text, number, unit):
    assert number_from_value(text) == NumberValue(number, unit, text.strip())


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, NumberValue(None, None, "")),
        (float("nan"), NumberValue(None, None, "")),
        (5, NumberValue(5.0, None, "5")),
        (5.0, NumberValue(5.0, None, "5")),
        (0.69, NumberValue(0.69, None, "0.69")),
        (-2.5, NumberValue(-2.5, None, "-2.5")),
        (True, NumberValue(None, None, "True")),
        (False, NumberValue(None, None, "False")),
    ],
)
def test_number_from_value_cell_types(value, expected):
    assert number_from_value(value) == expected


# --- Text ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        (float("nan"), None),
        ("  Plain text  ", "Plain text"),
        (5, "5"),
        (5.0, "5"),
        (5.5, "5.5"),
        (date(2017, 4, 30), "2017-04-30"),
        # HTML pasted from Word
        ("<p>First</p><p>Second</p>", "First\nSecond"),
        ("<p>…</p>", "…"),
        ("Line one<br>Line two<br/>Line three", "Line one\nLine two\nLine three"),
        ("<i>Parks</i> &amp; gardens", "Parks & gardens"),
        ("<p class=MsoNormal><b>Bold</b> and <span style='x'>plain</span><o:p></o:p></p>", "Bold and plain"),
        ("<p class=MsoNormal>Wrapped by\r\nWord</p>", "Wrapped by Word"),
        ("<!--[if gte mso 9]><xml>junk</xml><![endif]--><p>Text</p>", "Text"),
        ("<style>p {color: red}</style><p>Text</p>", "Text"),
        ("<b>Note</b>\nSecond line", "Note\nSecond line"),
        ("A&nbsp;B", "A B"),
        ("It&#39;s", "It's"),
        ("&lt;b&gt; is a tag", "<b> is a tag"),
        ("<p>&nbsp;</p>", None),
        # Not HTML: left as written
        ("Q&A", "Q&A"),
        ("this&not that", "this&not that"),
        ("x < 5 and y > 3", "x < 5 and y > 3"),
        # Invisible characters and spacing
        ("Zero\u200bwidth\u200c\u200d\ufeff", "Zerowidth"),
        ("\u200eBidi\u200f \u202aembedded\u202c", "Bidi embedded"),
        ("a  \t b", "a b"),
        ("  line one  \n  line two  ", "line one\nline two"),
        ("a\r\nb", "a\nb"),
        ("a\n\n\n\nb", "a\n\nb"),
        ("a\n \n\t\n b", "a\n\nb"),
        ("\u00a0", None),
    ],
)
def test_text_from_value(value, expected):
    assert text_from_value(value) == expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("Work continues", "Work continues", True),
        ("Work  continues", " work\ncontinues ", True),
        ("<p>Work continues</p>", "Work continues", True),
        ("WORK CONTINUES", "work continues", True),
        ("Work continues", "Work continued", False),
        (None, "", True),
        (None, "Work continues", False),
        ("Work continues", None, False),
    ],
)
def test_same_text(a, b, expected):
    assert same_text(a, b) is expected


@pytest.mark.parametrize(
    ("value", "blank", "present_"),
    [
        (None, True, False),
        (float("nan"), True, False),
        (pd.NaT, True, False),
        (pd.NA, True, False),
        (np.float64("nan"), True, False),
        ("", False, False),
        ("   ", False, False),
        (0, False, True),
        ("x", False, True),
        (dt.date(2024, 1, 1), False, True),
        (False, False, True),
    ],
)
def test_is_blank_and_present_one_meaning_everywhere(value, blank, present_):
    from actionplan.values import is_blank, present

    assert is_blank(value) is blank
    assert present(value) is present_
