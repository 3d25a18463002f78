"""The exception and RAG rules, in one place: Submit's checks and the rollup both apply them from here.

An action is an exception when it is Red, overdue, or Amber/Red with no progress update (known from the
plan itself, at Submit); and, from the periods on record (at consolidation), when it is Red with an update
too short to say what happens next, or its due date has been revised REPEATED_SLIP times or more.
A RAG check flags a status the data contradicts; the status itself is never changed.

A KPI or an action off target PERSISTENT_PERIODS periods running is a persistent exception, and stays one until it
is back on target; its recovery action, owner and date are asked for. The KPI model's year to date, profiled targets
and plausibility checks are here too, with the words that explain them (template, rollup and docs print those).
"""

from __future__ import annotations

from typing import Any

from . import limits
from .values import present
from .vocabulary import (
    AVERAGE,
    CUMULATIVE,
    DATA_ONLY,
    DUE_QUARTERS,
    FREQUENCIES,
    GOAL_POST,
    HIGHER_IS_BETTER,
    LOWER_IS_BETTER,
    NOT_DUE,
    NOT_RATED_KPI,
    SNAPSHOT,
    STATUS_NAMES,
    aggregation_from_text,
)

# A Red item's update must say what happens next; fewer words than this cannot.
CORRECTIVE_MIN_WORDS = 5
REPEATED_SLIP = 2  # due date revised this many times or more: an exception
# Words in a progress update that contradict a Blue (complete) status.
NOT_DONE_WORDS = ("not started", "not yet", "delayed", "behind", "not complete", "incomplete", "awaiting")
_JOIN = ", "  # how the warehouse keeps a list of reasons in its one text column


def plan_exception_reasons(status: str, overdue: bool, update: Any) -> list[str]:
    """Why an action is an exception from its plan alone (Red, overdue, Amber/Red with no update), in order."""
    reasons = []
    if status == "R":
        reasons.append("Red")
    if overdue:
        reasons.append("overdue")
    if status in ("A", "R") and not update:
        reasons.append("no progress update")
    return reasons


def history_exception_reasons(status: str, update: Any, times_revised: int) -> list[str]:
    """Why an action is an exception from what only the periods on record show."""
    reasons = []
    if status == "R" and len(str(update).split() if present(update) else []) < CORRECTIVE_MIN_WORDS:
        reasons.append("Red without corrective action")
    if times_revised >= REPEATED_SLIP:
        reasons.append(f"due date revised {times_revised} times")
    return reasons


def stored_reasons(reasons: list[str]) -> str | None:
    """A list of reasons as the warehouse's exception_reason column keeps it (None for none)."""
    return _JOIN.join(dict.fromkeys(reasons)) or None


def reasons_from_stored(text: Any) -> list[str]:
    """The list of reasons back from the warehouse's text."""
    return [r for r in str(text).split(_JOIN) if r] if present(text) else []


def rag_check(status: str, overdue: bool, update: Any, slips: dict[str, Any] | None) -> str | None:
    """Why a self-assessed status disagrees with the data, or None; the status itself is never changed."""
    reasons = []
    if status == "G" and overdue:
        reasons.append("Green but overdue")
    if status in ("G", "A") and slips and slips["last_three"]:
        reasons.append(
            f"{STATUS_NAMES.get(status, status)} but the due date was revised in each of the last "
            "three periods"
        )
    if status == "B" and present(update):
        text = " ".join(str(update).lower().split())
        said = next((w for w in NOT_DONE_WORDS if w in text), None)
        if said:
            reasons.append(f"Blue (complete) but the update says '{said}'")
    return "; ".join(reasons) or None


# --- persistent exceptions -------------------------------------------------------------------------------------

PERSISTENT_PERIODS = 2  # off target this many periods running: an exception until back on target
# What is off and on target: a KPI's performance, an action's status. Anything else (no data, not due, Amber, not
# rated, no return that period) neither ends a run nor adds to it: only a period back on target clears it.
OFF_TARGET = {"kpis": frozenset({"worse"}), "actions": frozenset({"R"})}
ON_TARGET = {"kpis": frozenset({"better", "within"}), "actions": frozenset({"G", "B"})}
RECOVERY_HEADINGS = ("Recovery action", "Recovery owner", "Recovery date")


def persistent_since(judgements: list[tuple[str, Any]], kind: str) -> str | None:
    """The period a persistent exception began, or None: judgements are (period, performance or status),
    oldest first, ending with the current period."""
    start, run, since = None, 0, None
    for period, judgement in judgements:
        if judgement in ON_TARGET[kind]:
            start, run, since = None, 0, None
        elif judgement in OFF_TARGET[kind]:
            start = start or period
            run += 1
            if run >= PERSISTENT_PERIODS:
                since = start
    return since


def missing_recovery(action: Any, owner: Any, when: Any) -> list[str]:
    """The parts of a recovery plan not given, by their headings."""
    return [h for h, v in zip(RECOVERY_HEADINGS, (action, owner, when), strict=True) if not present(v)]


# --- year to date and profiled targets --------------------------------------------------------------------------


def quarter_targets(aggregation: Any, target: Any, profiled: list[Any]) -> list[float | None]:
    """Each quarter's target: Target Qn where given, else Target (a quarter of it for a cumulative measure)."""
    cumulative = aggregation_from_text(aggregation) == CUMULATIVE
    base = target if present(target) else None
    default = (base / 4 if cumulative else base) if base is not None else None
    return [float(p) if present(p) else default for p in profiled]


def year_to_date(
    aggregation: Any, actuals: list[Any], targets: list[Any]
) -> tuple[float | None, float | None] | None:
    """(actual, target) for the year so far from the quarters' own figures (Q1 to now), or None where the
    aggregation has no year to date (a snapshot, or none given); a quarter without a figure leaves it unknown."""
    how = aggregation_from_text(aggregation)
    if how not in (CUMULATIVE, AVERAGE) or not actuals:
        return None

    def combined(values: list[Any]) -> float | None:
        if not values or any(not present(v) for v in values):
            return None
        total = sum(float(v) for v in values)
        return total if how == CUMULATIVE else total / len(values)

    return combined(actuals), combined(targets)


# --- plausibility --------------------------------------------------------------------------------------------

NO_DATA_RUN = 3  # periods running with no actual for a due, rated KPI: warned about
PLAUSIBLE_RATIO = limits.PLAUSIBLE_RATIO  # the plausible_ratio setting's default


def implausible(actual: Any, against: Any, ratio: float) -> bool:
    """Whether a positive actual is more than ratio times, or less than 1/ratio of, a positive reference."""
    if not (present(actual) and present(against)):
        return False
    a, b = float(actual), float(against)
    if a <= 0 or b <= 0:
        return False  # a zero or negative figure is a real result (no families in B&B), not a slipped decimal
    return a > ratio * b or a * ratio < b


def kpi_model_explained(tolerance: float, ratio: float = 10.0) -> list[tuple[str, str]]:
    """Each KPI type, aggregation, frequency and rule in plain words with an example, from the constants used."""
    pct = f"{tolerance * 100:g} %"
    due = {f: ", ".join(f"Q{q}" for q in DUE_QUARTERS[f]) for f in FREQUENCIES}
    return [
        (
            f"Type: {HIGHER_IS_BETTER} / {LOWER_IS_BETTER}",
            f"Judged against the target with the tolerance ({pct} unless the KPI gives its own). Blank Type: "
            "the Polarity column decides, as it always has. Example: target 95 %, actual 93 % is worse.",
        ),
        (
            f"Type: {GOAL_POST}",
            "On target inside a band: within when Lower bound ≤ actual ≤ Upper bound, worse outside it, no data "
            "without both bounds. Example: occupancy 85 %–95 %, actual 91 % is within, 97 % is worse.",
        ),
        (
            f"Type: {DATA_ONLY}",
            f"Reported for context, never rated: shown as '{NOT_RATED_KPI}' and never counted as better or "
            "worse, nor warned about for having no target. Example: population, number of contacts.",
        ),
        (
            f"Aggregation: {CUMULATIVE}",
            "Each quarter's Actual is that quarter's own figure; the year to date is their sum, judged against "
            "the sum of the quarters' targets. Target is the year's: a quarter's target is Target Qn where "
            "given, else a quarter of Target. Example: complaints 30, 25 → year to date 55.",
        ),
        (
            "Forecast outturn",
            "The department's forecast for the year, judged against the year's target (the quarters' targets "
            "added up for a cumulative measure, their mean for an average, Target otherwise): Forecast "
            "performance. Example: complaints forecast 190 against 200, lower is better: better.",
        ),
        (
            f"Aggregation: {AVERAGE}",
            "The year to date is the mean of the quarters' actuals, against the mean of their targets. "
            "Example: sickness days per FTE 2.1, 2.5 → year to date 2.3.",
        ),
        (
            f"Aggregation: {SNAPSHOT}",
            "The latest value is the position: no separate year to date. Example: number of children in care.",
        ),
        (
            "Frequency",
            "; ".join(f"{f}: due {due[f]}" for f in FREQUENCIES)
            + f". A KPI with no actual in a quarter it is not due in is '{NOT_DUE}' (not 'no data', and not a "
            "missing return). Example: an annual survey in Q2 is not due.",
        ),
        (
            "Numerator, Denominator",
            "Kept so a percentage can be added up correctly: the council's figure for a measure reported by "
            "several departments is 100 × Σ numerators ÷ Σ denominators, not the mean of their percentages. "
            "Example: 90/100 and 10/50 → 66.7 %, where the mean of 90 % and 20 % is 55 %.",
        ),
        (
            "Persistent exception",
            f"A KPI worse than target (or an action Red) {PERSISTENT_PERIODS} periods running; it stays an "
            "exception, shown 'since' the first of them, until a period back on target (better or within; Green "
            "or Blue). Periods with no data in between do not clear it. Give a "
            + ", ".join(RECOVERY_HEADINGS)
            + ": each missing one is warned about.",
        ),
        (
            "Plausibility",
            f"Warned about: a rated KPI whose target is 0; an actual more than {ratio:g} times, or less than "
            f"1/{ratio:g} of, its target or last period's actual; a KPI due and rated with no actual for "
            f"{NO_DATA_RUN} periods running.",
        ),
    ]
