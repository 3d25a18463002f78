"""Tests for the contract's vocabulary: statuses, periods, polarity, tolerance and KPI performance."""

from datetime import date

import pytest

from actionplan.vocabulary import (
    DEFAULT_TOLERANCE,
    PERFORMANCE_SYMBOLS,
    STATUS_LETTERS,
    STATUS_MEANINGS,
    STATUS_NAMES,
    STATUS_WORDS,
    Period,
    accepted_status_words,
    kpi_performance,
    period_from_text,
    polarity_from_text,
    status_from_text,
    tolerance_from_value,
)

# --- Status --------------------------------------------------------------------------------------

SPEC_STATUS_WORDS = [
    # Blue (complete)
    ("B", "B"),
    ("Blue", "B"),
    ("Complete", "B"),
    ("Completed", "B"),
    ("Done", "B"),
    ("Achieved", "B"),
    ("*", "B"),
    # Green (on track)
    ("G", "G"),
    ("Green", "G"),
    ("On target", "G"),
    ("On track", "G"),
    ("●", "G"),
    ("•", "G"),
    # Amber (at risk)
    ("A", "A"),
    ("Amber", "A"),
    ("Off target but recovery plans in place", "A"),
    ("At risk", "A"),
    ("Some slippage", "A"),
    # Red (problem)
    ("R", "R"),
    ("Red", "R"),
    ("Off target", "R"),
    ("Behind schedule", "R"),
    ("Poor", "R"),
    ("▲", "R"),
    # Not rated
    ("", "-"),
    ("-", "-"),
    ("–", "-"),
    ("?", "-"),
    ("Unknown", "-"),
    ("N/A", "-"),
    ("Not started", "-"),
    ("Not rated", "-"),
]


@pytest.mark.parametrize(("word", "letter"), SPEC_STATUS_WORDS)
def test_status_from_text_every_spec_word(word, letter):
    assert status_from_text(word) == letter


@pytest.mark.parametrize(
    ("word", "letter"),
    [
        ("blue", "B"),
        ("GREEN", "G"),
        ("  amber  ", "A"),
        ("g", "G"),
        ("ON   TARGET", "G"),
        ("on\ttrack", "G"),
        ("Off  target but\nrecovery plans in place", "A"),
        ("Off target, but recovery plans in place", "A"),
        ("BEHIND SCHEDULE", "R"),
        ("n/a", "-"),
        ("NOT STARTED", "-"),
        ("   ", "-"),
        ("Completed.", "B"),
        ("Red.", "R"),
        ("Green (on track)", "G"),
        ("Blue - complete", "B"),
        ("Amber (at risk)", "A"),
        ("Red: behind schedule", "R"),
        ("Green (something the department added)", "G"),
    ],
)
def test_status_from_text_case_space_and_labels(word, letter):
    assert status_from_text(word) == letter


@pytest.mark.parametrize(
    "word",
    ["Greenish", "Amber/Red", "Green (at risk)", "Yellow", "1", ".", "On trackish", "Not sure"],
)
def test_status_from_text_unknown_word_is_none(word):
    assert status_from_text(word) is None


@pytest.mark.parametrize(("value", "letter"), [(None, "-"), (float("nan"), "-"), (1, None), (2.5, None)])
def test_status_from_text_non_text_values(value, letter):
    assert status_from_text(value) == letter


@pytest.mark.parametrize(
    ("word", "extra", "letter"),
    [
        ("Slightly behind", {"Slightly behind": "A"}, "A"),
        ("  SLIGHTLY   behind. ", {"slightly behind": "A"}, "A"),
        ("Slightly behind (see note)", {"Slightly behind": "A"}, "A"),
        ("Finished", {"Finished": "B"}, "B"),
        # Layouts add words; they never change the contract's own.
        ("Complete", {"Complete": "R"}, "B"),
        ("Greenish", {"Finished": "B"}, None),
        ("Greenish", {}, None),
    ],
)
def test_status_from_text_extra_words(word, extra, letter):
    assert status_from_text(word, extra) == letter


def test_status_from_text_extra_word_with_unknown_letter_raises():
    with pytest.raises(ValueError, match="not one of"):
        status_from_text("Purple", {"Purple": "P"})


def test_status_words_cover_every_letter_and_name():
    assert set(STATUS_WORDS.values()) == set(STATUS_LETTERS)
    for letter, name in STATUS_NAMES.items():
        assert STATUS_WORDS[name.lower()] == letter
        assert STATUS_WORDS[letter.lower()] == letter
    assert set(STATUS_MEANINGS) == set(STATUS_LETTERS)


def test_status_words_keys_are_normalised():
    for word in STATUS_WORDS:
        assert word == " ".join(word.split()).lower()


def test_accepted_status_words_short_and_names_letters():
    words = accepted_status_words()
    assert (
        words
        == "B, G, A, R or blank (or Blue, Green, Amber, Red, Complete, On track, At risk, Off target, …)"
    )
    assert len(words) < 150


# --- Period --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2017/18 Q2", Period(2017, 2)),
        ("Q2 2017/18", Period(2017, 2)),
        ("2017-18 Q2", Period(2017, 2)),
        ("2017/2018 Q2", Period(2017, 2)),
        ("2017/18", Period(2017, None)),
        ("2017-18", Period(2017, None)),
        ("2017/2018", Period(2017, None)),
        ("Quarter 2 2017/18", Period(2017, 2)),
        ("2017/18 Quarter 2", Period(2017, 2)),
        ("q2 2017/18", Period(2017, 2)),
        ("  2017 / 18   q4 ", Period(2017, 4)),
        ("QUARTER 1 2019/20", Period(2019, 1)),
        ("2017/18Q3", Period(2017, 3)),
        ("2099/00 Q1", Period(2099, 1)),
    ],
)
def test_period_from_text_accepted_forms(text, expected):
    assert period_from_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2017/19",
        "2017/17",
        "2017/2019",
        "2017/18 Q5",
        "Q0 2017/18",
        "Q2 2017/18 Q2",
        "2017",
        "Q2",
        "",
        "Summer 2017",
    ],
)
def test_period_from_text_not_recognised(text):
    assert period_from_text(text) is None


@pytest.mark.parametrize("value", [None, 2017, 2017.18])
def test_period_from_text_non_text_is_none(value):
    assert period_from_text(value) is None


def test_period_from_text_passes_a_period_through():
    assert period_from_text(Period(2017, 2)) == Period(2017, 2)


@pytest.mark.parametrize(
    ("period", "label", "start", "end", "previous"),
    [
        (Period(2017, 1), "2017/18 Q1", date(2017, 4, 1), date(2017, 6, 30), Period(2016, 4)),
        (Period(2017, 2), "2017/18 Q2", date(2017, 7, 1), date(2017, 9, 30), Period(2017, 1)),
        (Period(2017, 3), "2017/18 Q3", date(2017, 10, 1), date(2017, 12, 31), Period(2017, 2)),
        (Period(2017, 4), "2017/18 Q4", date(2018, 1, 1), date(2018, 3, 31), Period(2017, 3)),
        (Period(2017, None), "2017/18", date(2017, 4, 1), date(2018, 3, 31), Period(2016, None)),
        (Period(2099, 4), "2099/00 Q4", date(2100, 1, 1), date(2100, 3, 31), Period(2099, 3)),
    ],
)
def test_period_label_start_end_previous(period, label, start, end, previous):
    assert period.label == label
    assert str(period) == label
    assert period.start == start
    assert period.end == end
    assert period.previous() == previous


def test_period_sorts_chronologically_whole_year_after_its_q4():
    periods = [Period(2018, 1), Period(2017, None), Period(2017, 4), Period(2016, None), Period(2017, 1)]
    assert sorted(periods) == [
        Period(2016, None),
        Period(2017, 1),
        Period(2017, 4),
        Period(2017, None),
        Period(2018, 1),
    ]


def test_period_equal_and_hashable():
    assert Period(2017, 2) == period_from_text("Q2 2017/18")
    assert {Period(2017, 2), Period(2017, 2)} == {Period(2017, 2)}
    assert repr(Period(2017, 2)) == "Period(start_year=2017, quarter=2)"


@pytest.mark.parametrize("quarter", [0, 5])
def test_period_bad_quarter_raises(quarter):
    with pytest.raises(ValueError, match="quarter must be 1 to 4"):
        Period(2017, quarter)


# --- Polarity and tolerance ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Higher is better", "Higher is better"),
        ("higher is better", "Higher is better"),
        ("Higher", "Higher is better"),
        ("high", "Higher is better"),
        ("", "Higher is better"),
        ("  ", "Higher is better"),
        (None, "Higher is better"),
        (float("nan"), "Higher is better"),
        ("Lower is better", "Lower is better"),
        ("LOWER IS BETTER.", "Lower is better"),
        ("lower", "Lower is better"),
        ("Low", "Lower is better"),
        ("Smaller is better", "Lower is better"),
        ("Sideways", None),
        (1, None),
    ],
)
def test_polarity_from_text(value, expected):
    assert polarity_from_text(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5%", 0.05),
        ("5 %", 0.05),
        ("2.5%", 0.025),
        (0.05, 0.05),
        ("0.05", 0.05),
        (2.5, 0.025),
        ("2.5", 0.025),
        (5, 0.05),
        (1, 0.01),
        (0, 0.0),
        (None, None),
        ("", None),
        ("  ", None),
        ("about five", None),
        (-1, None),
        (True, None),
        (float("nan"), None),
    ],
)
def test_tolerance_from_value(value, expected):
    assert tolerance_from_value(value) == (None if expected is None else pytest.approx(expected))


# --- KPI performance -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "actual", "polarity", "tolerance", "expected"),
    [
        # Higher is better, default tolerance 2.5 %
        (100, 110, "Higher is better", None, "better"),
        (100, 90, "Higher is better", None, "worse"),
        (100, 100, "Higher is better", None, "within"),
        (100, 102, "Higher is better", None, "within"),
        (100, 98, "Higher is better", None, "within"),
        (100, 102.5, "Higher is better", None, "within"),  # exactly at tolerance
        (100, 97.5, "Higher is better", None, "within"),  # exactly at tolerance
        (100, 102.6, "Higher is better", None, "better"),  # just outside
        (100, 97.4, "Higher is better", None, "worse"),
        (0.7, 0.7175, "Higher is better", None, "within"),  # d is 0.025000000000000102 in floats
        (12.4, 12.71, "Higher is better", None, "within"),
        (0.7, 0.7175, "Lower is better", None, "within"),
        (-100, -90, "Higher is better", None, "better"),  # |target| keeps direction for negatives
        (-100, -110, "Higher is better", None, "worse"),
        # Lower is better: the sign flips
        (100, 90, "Lower is better", None, "better"),
        (100, 110, "Lower is better", None, "worse"),
        (100, 102.5, "Lower is better", None, "within"),
        (100, 97.5, "Lower is better", None, "within"),
        (100, 102.6, "Lower is better", None, "worse"),
        (100, 97.4, "Lower is better", None, "better"),
        # Polarity written loosely
        (100, 90, "lower", None, "better"),
        (100, 90, "", None, "worse"),
        # Custom tolerance
        (100, 104, "Higher is better", 0.05, "within"),
        (100, 105, "Higher is better", 0.05, "within"),
        (100, 106, "Higher is better", 0.05, "better"),
        (100, 94, "Higher is better", 0.05, "worse"),
        (100, 101, "Higher is better", 0.0, "better"),
        (100, 100, "Higher is better", 0.0, "within"),
        (100, 94, "Lower is better", 0.05, "better"),
        # Zero target
        (0, 0, "Higher is better", None, "within"),
        (0, 1, "Higher is better", None, "better"),
        (0, -1, "Higher is better", None, "worse"),
        (0, 1, "Lower is better", None, "worse"),
        (0, -1, "Lower is better", None, "better"),
        # Missing
        (None, 5, "Higher is better", None, "no data"),
        (5, None, "Higher is better", None, "no data"),
        (None, None, "Higher is better", None, "no data"),
        (float("nan"), 5, "Higher is better", None, "no data"),
        (5, float("nan"), "Lower is better", None, "no data"),
        (5, "N/A", "Higher is better", None, "no data"),
        (5, True, "Higher is better", None, "no data"),
        ("x", 5, "Higher is better", None, "no data"),
    ],
)
def test_kpi_performance(target, actual, polarity, tolerance, expected):
    assert kpi_performance(target, actual, polarity, tolerance) == expected


def test_kpi_performance_default_tolerance_is_spec_value():
    assert DEFAULT_TOLERANCE == 0.025


@pytest.mark.parametrize(
    ("performance", "symbol"), [("better", "★"), ("within", "●"), ("worse", "▲"), ("no data", "–")]
)
def test_performance_symbols(performance, symbol):
    assert PERFORMANCE_SYMBOLS[performance] == symbol
