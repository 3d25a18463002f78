"""The combined rollup across councils: every council's departments in one rollup, each named 'Council — Department',
with a table of each council's totals."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd

from .clock import DEFAULT_TIMEZONE
from .councils import ALL_COUNCILS, ALL_COUNCILS_TOTAL, council_label
from .model import RollupFacts
from .rollup import facts_for_period, ragb_table
from .vocabulary import DEFAULT_TOLERANCE

COUNCIL_TOTAL = "Council total"  # the last row of every count table of a one-council rollup


def labelled(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Frames of several councils with each department named 'Council — Department'.

    Everything the rollup matches by department (latest return, changes, slips, KPI trends, stale commentary,
    who is missing) then keeps two councils' Finance apart without knowing councils exist.
    """
    out = {}
    for table, frame in frames.items():
        if frame.empty or "council" not in frame.columns:
            out[table] = frame
            continue
        out[table] = frame.assign(
            department=[
                council_label(c, d) for c, d in zip(frame["council"], frame["department"], strict=True)
            ]
        )
    return out


def council_totals(actions: pd.DataFrame, councils: list[str]) -> pd.DataFrame:
    """Actions and milestones by status for each council, then the total of all of them (the Summary's first table)."""
    by_council = actions.assign(department=actions["council"]) if "council" in actions.columns else actions
    table = ragb_table(by_council, councils)
    table.iloc[-1, 0] = ALL_COUNCILS_TOTAL
    return table.rename(columns={"Department": "Council"})


def _all_councils_total(table: pd.DataFrame) -> pd.DataFrame:
    """A count table whose last row totals every council, named so."""
    if len(table) and table.iloc[-1, 0] == COUNCIL_TOTAL:
        table = table.copy()
        table.iloc[-1, 0] = ALL_COUNCILS_TOTAL
    return table


def _explained(how_to_read: list[tuple[str, str]], councils: list[str]) -> list[tuple[str, str]]:
    """The report's rules with what combining councils means, after the list of who has not submitted."""
    note = (
        "Councils",
        f"This rollup combines {len(councils)} council{'s' if len(councils) != 1 else ''}: "
        f"{', '.join(councils) or 'none on record yet'}. Each department is named 'Council — Department'. "
        "Summary's first table totals each council; Not submitted lists, for each council, the departments "
        "it expects (every one that has submitted to it before) that sent nothing this period.",
    )
    out = list(how_to_read)
    at = next((i + 1 for i, (term, _) in enumerate(out) if term == "Not submitted"), len(out))
    out.insert(at, note)
    return out


def combined_facts(
    period: str,
    current: dict[str, pd.DataFrame],
    previous: dict[str, pd.DataFrame] | None,
    *,
    departments: dict[str, list[str]],
    as_at: dt.date | None = None,
    generated_at: dt.datetime | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    previous_period: str | None = None,
    history: list[tuple[str, dict[str, pd.DataFrame]]] | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> RollupFacts:
    """The rollup of several councils at once from their current (and previous) submissions.

    departments: each council on record and the departments it expects, so who is missing is per council.
    """
    subs = current["submissions"]
    named = set(departments) | (set(subs["council"]) if "council" in subs.columns else set())
    councils = sorted(named, key=lambda n: (n.casefold(), n))
    known = [council_label(c, d) for c in councils for d in departments.get(c, [])]
    facts = facts_for_period(
        period,
        labelled(current),
        labelled(previous) if previous is not None else None,
        known_departments=known,
        as_at=as_at,
        generated_at=generated_at,
        tolerance=tolerance,
        previous_period=previous_period,
        timezone=timezone,
        history=[(p, labelled(frames)) for p, frames in history] if history else None,
    )
    return dataclasses.replace(
        facts,
        council=ALL_COUNCILS,
        councils=council_totals(current["actions"], councils),
        summary=_all_councils_total(facts.summary),
        objectives_summary=_all_councils_total(facts.objectives_summary),
        kpi_counts=_all_councils_total(facts.kpi_counts),
        how_to_read=_explained(facts.how_to_read, councils),
    )
