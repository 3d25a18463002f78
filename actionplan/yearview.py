"""The year-end view: a financial year's quarters on record → one set of current frames and the year's own columns.

A year (`2024/25`) is not a period departments submit for; its view is built from the quarters they did submit:
each department's latest quarter in the year gives every action's latest status and dates and every KPI's outturn,
and each quarter's return gives the status at that quarter's end and the KPI actual of that quarter.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd

from .model import RollupFacts
from .rollup import _direction
from .values import present

COMPLETED_IN_YEAR = "Completed in year"
CARRIED_FORWARD = "Carried forward"
OUTTURN = "Year outturn"
_TABLES = ("submissions", "objectives", "actions", "kpis", "messages")


def status_column(quarter: str) -> str:
    """The name of the column holding each action's status at a quarter's end: 'Status at 2024/25 Q1'."""
    return f"Status at {quarter}"


def latest_in_year(quarters: list[tuple[str, dict[str, pd.DataFrame]]]) -> dict[str, pd.DataFrame]:
    """Each department's rows from the latest quarter (oldest first in quarters) it submitted for in the year."""
    latest: dict[str, int] = {}
    for index, (_, frames) in enumerate(quarters):
        for dept in frames["submissions"]["department"] if not frames["submissions"].empty else []:
            latest[dept] = index
    out = {}
    for table in _TABLES:
        parts = [
            frames[table][frames[table]["department"].map(latest.get) == index]
            for index, (_, frames) in enumerate(quarters)
            if not frames[table].empty
        ]
        parts = [p for p in parts if not p.empty]
        if not parts:
            out[table] = quarters[-1][1][table].iloc[0:0]
            continue
        frame = pd.concat(parts, ignore_index=True)
        order = ["department", *(["sheet", "row_number"] if "row_number" in frame else [])]
        out[table] = frame.sort_values(order, kind="stable").reset_index(drop=True)
    return out


def _by_key(frame: pd.DataFrame, column: str) -> dict[tuple[str, str], Any]:
    if frame.empty:
        return {}
    return dict(
        zip(zip(frame["department"], frame["ref"].astype(str), strict=True), frame[column], strict=True)
    )


def year_facts(
    facts: RollupFacts,
    quarters: list[tuple[str, dict[str, pd.DataFrame]]],
    before_year: dict[str, pd.DataFrame] | None,
) -> RollupFacts:
    """The year's facts with its own columns: status at each quarter end, completed in year, carried forward,
    KPI actual by quarter and the year outturn (direction of travel from the first quarter to the outturn)."""
    labels = [q for q, _ in quarters]
    actions = facts.actions.copy()
    keys = (
        list(zip(actions["Department"], actions["Ref"].astype(str), strict=True)) if not actions.empty else []
    )
    for label, frames in quarters:
        status = _by_key(frames["actions"], "status")
        actions[status_column(label)] = [status.get(k) for k in keys]
    before = _by_key(before_year["actions"], "status") if before_year is not None else {}
    actions[COMPLETED_IN_YEAR] = [
        s == "B" and before.get(k) != "B" for k, s in zip(keys, actions["Status"], strict=True)
    ]
    actions[CARRIED_FORWARD] = [s != "B" for s in actions["Status"]]

    kpis = facts.kpis.drop(columns=[c for c in facts.kpis.columns if c in labels or c == facts.period])
    if not kpis.empty:
        kpi_keys = list(zip(kpis["Department"], kpis["Ref"].astype(str), strict=True))
        for label, frames in quarters:
            actual = _by_key(frames["kpis"], "actual")
            kpis[label] = [actual.get(k) for k in kpi_keys]
        kpis[OUTTURN] = kpis["Actual"]
        # Actual holds the text as typed where it is not a number ('-', 'N/A'): no direction from those.
        numbers = [a if isinstance(a, (int, float)) and present(a) else None for a in kpis["Actual"]]
        first = [
            next((row[q] for q in labels if q in kpis.columns and present(row[q])), None)
            for row in kpis.to_dict("records")
        ]
        kpis["Previous actual"] = first
        kpis["Direction"] = [
            _direction(f, a, p) for f, a, p in zip(first, numbers, kpis["Polarity"], strict=True)
        ]
    how = [
        *facts.how_to_read,
        ("The year", ""),
        (
            "Year view",
            f"Built from the quarters on record: {', '.join(labels)}. Each department's latest quarter "
            "in the year gives each action's latest status and dates and each KPI's actual; overdue is as at the "
            "end of that quarter (Submissions: Latest quarter).",
        ),
        (
            "Status at a quarter",
            "The action's status in the department's return for that quarter (blank: not in that return).",
        ),
        (
            COMPLETED_IN_YEAR,
            "Blue at the year end and not Blue in the last period on record before the year.",
        ),
        (CARRIED_FORWARD, "Not Blue at the year end: it carries into next year's plan."),
        (
            OUTTURN,
            "The KPI's actual in the department's latest quarter of the year (returns are year to "
            "date); Previous actual and Direction compare it with the first quarter on record.",
        ),
    ]
    latest = {}
    for label, frames in quarters:
        latest.update(
            dict.fromkeys(frames["submissions"]["department"], label)
            if not frames["submissions"].empty
            else {}
        )
    submissions = facts.submissions.copy()
    submissions["Latest quarter"] = [latest.get(d) for d in facts.submissions["Department"]]
    return dataclasses.replace(
        facts, actions=actions, kpis=kpis, submissions=submissions, trend_periods=labels, how_to_read=how
    )
