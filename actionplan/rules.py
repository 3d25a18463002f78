"""The exception and RAG rules, in one place: Submit's checks and the rollup both apply them from here.

An action is an exception when it is Red, overdue, or Amber/Red with no progress update (known from the
plan itself, at Submit); and, from the periods on record (at consolidation), when it is Red with an update
too short to say what happens next, or its due date has been revised REPEATED_SLIP times or more.
A RAG check flags a status the data contradicts; the status itself is never changed.
"""

from __future__ import annotations

from typing import Any

from .values import present
from .vocabulary import STATUS_NAMES

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
