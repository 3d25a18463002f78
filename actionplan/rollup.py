"""Rollup facts: a period's current submissions (and the previous period's) → the tables of the council rollup."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import pandas as pd

from .clock import DEFAULT_TIMEZONE, local, now_in
from .columns import rollup_headings, rollup_renames, used_only
from .model import RollupFacts
from .normalise import ACTUAL_OF, SYMBOL_EXTRA
from .rules import (
    CORRECTIVE_MIN_WORDS,
    NO_DATA_RUN,
    NOT_DONE_WORDS,
    PERSISTENT_PERIODS,
    PLAUSIBLE_RATIO,
    REPEATED_SLIP,
    history_exception_reasons,
    implausible,
    kpi_model_explained,
    missing_recovery,
    persistent_since,
    quarter_targets,
    rag_check,
    reasons_from_stored,
    stored_reasons,
    year_to_date,
)
from .tables import field_letters
from .values import number_from_value, present, same_text
from .vocabulary import (
    DATA_ONLY,
    DEFAULT_TOLERANCE,
    GOAL_POST,
    PERFORMANCES,
    Period,
    frequency_from_text,
    kpi_performance,
    kpi_type_from_text,
    period_from_text,
    plausible_as_at,
)

RAGB_COLUMNS = ("Blue", "Green", "Amber", "Red", "Not rated")
_LETTER_TO_COLUMN = {"B": "Blue", "G": "Green", "A": "Amber", "R": "Red", "-": "Not rated"}
SUMMARY_COLUMNS = list(rollup_headings("summary"))
PERFORMANCE_COLUMNS = ("better", "within", "worse", "no data")
# Counted only where some KPI is one (a council not using the KPI model sees the four it always saw).
PERFORMANCE_WHEN_USED = tuple(p for p in PERFORMANCES if p not in PERFORMANCE_COLUMNS)
# Worse statuses rank higher: a move to Red is read before a move to Green.
_SEVERITY = {"R": 4, "A": 3, "-": 2, "G": 1, "B": 0}

ACTION_COLUMNS = rollup_renames("actions")
EXCEPTION_COLUMNS = rollup_renames("exceptions")
OBJECTIVE_COLUMNS = rollup_renames("objectives")
KPI_COLUMNS = list(rollup_headings("kpis"))
KPI_TOTAL_COLUMNS = list(rollup_headings("kpi_totals", when_used=True))
DIRECTIONS = {"improving": "↑ improving", "steady": "→ steady", "worsening": "↓ worsening"}
# A KPI whose actual moved by no more than this share of the previous actual is steady, not a trend.
STEADY_SHARE = 0.005
SUBMISSION_COLUMNS = list(rollup_headings("submissions"))
CHANGE_COLUMNS = list(rollup_headings("changes"))
QUALITY_COLUMNS = list(rollup_headings("data_quality"))


def _sorted_departments(names: Any) -> list[str]:
    return sorted({str(n) for n in names}, key=str.casefold)


def ragb_table(frame: pd.DataFrame, departments: list[str]) -> pd.DataFrame:
    """Count items by status per department (A–Z) with a Council total row and the two percentages."""
    rows = []
    counts = frame.groupby(["department", "status"]).size() if not frame.empty else pd.Series(dtype=int)
    for dept in departments:
        row: dict[str, Any] = {"Department": dept}
        for letter, column in _LETTER_TO_COLUMN.items():
            row[column] = int(counts.get((dept, letter), 0))
        rows.append(row)
    total = {"Department": "Council total", **{c: sum(r[c] for r in rows) for c in RAGB_COLUMNS}}
    rows.append(total)
    for row in rows:
        row["Total"] = sum(row[c] for c in RAGB_COLUMNS)
        row["% complete"] = round(row["Blue"] / row["Total"], 4) if row["Total"] else 0.0
        row["% on track"] = round((row["Blue"] + row["Green"]) / row["Total"], 4) if row["Total"] else 0.0
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def _with_kept_ratings(actions: pd.DataFrame, columns: dict[str, str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """Show what familiar layouts keep beside the status (a second rating, the team of a service plan)."""
    if actions.empty or "extra_json" not in actions:
        return actions, columns
    extras = _extras_of(actions)
    keys = [
        k for k in dict.fromkeys(k for e in extras for k in e) if k.lower().endswith("rating") or k == "Team"
    ]
    if not keys:
        return actions, columns
    out = actions.copy()
    shown = dict(columns)
    for key in keys:
        out[f"extra:{key}"] = [e.get(key) for e in extras]
    ordered: dict[str, str] = {}
    for field, title in shown.items():
        ordered[field] = title
        if field == "status":
            ordered.update({f"extra:{k}": k for k in keys})
    return out, ordered


def _renamed(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame(columns=list(columns.values()))
    out = frame.reindex(columns=list(columns)).rename(columns=columns)
    return out.reset_index(drop=True)


def _dates(frame: pd.DataFrame, *names: str) -> pd.DataFrame:
    for name in names:
        if name in frame:
            frame[name] = _days(frame[name])
    return frame


def _days(values: pd.Series) -> list[dt.date | None]:
    """A column of dates, timestamps or blanks as dates and None, converted in one go (not value by value)."""
    if values.empty:
        return []
    return [None if day is pd.NaT else day for day in pd.to_datetime(values).dt.date.tolist()]


def exceptions_table(actions: pd.DataFrame, kpis: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every exception (Red, overdue, Amber/Red with no update, slipped again and again, off target period after
    period), Red first, then the KPIs off target period after period."""
    columns = {**EXCEPTION_COLUMNS, "since": "Since"}
    if actions.empty:
        listed = _renamed(actions, columns)
    else:
        ex = actions[actions["exception"].astype(bool)].copy()
        ex["_rank"] = ex["status"].map(_SEVERITY).fillna(0)
        ex = ex.sort_values(
            ["_rank", "department", "sheet", "row_number"], ascending=[False, True, True, True]
        )
        listed = _renamed(ex, columns)
    persistent = kpis[kpis["since"].map(present)] if kpis is not None and "since" in kpis else None
    if persistent is not None and not persistent.empty:
        rows = pd.DataFrame(
            {
                "Department": persistent["department"],
                "Ref": persistent["ref"],
                "Action": [f"KPI: {m}" for m in persistent["measure"]],
                "Lead officer": persistent["lead_officer"],
                "Status": None,
                "Progress update": persistent["comment"],
                "Reason": [
                    _kpi_reason(r, t)
                    for r, t in zip(persistent.to_dict("records"), _judged_target(persistent), strict=True)
                ],
                "Since": persistent["since"],
                **{
                    h: persistent.get(f)
                    for f, h in (
                        ("recovery_action", "Recovery action"),
                        ("recovery_owner", "Recovery owner"),
                        ("recovery_date", "Recovery date"),
                    )
                },
            }
        ).sort_values(["Department", "Ref"])
        listed = rows.reindex(columns=list(columns.values())) if listed.empty else pd.concat([listed, rows])
    listed = _dates(listed.reset_index(drop=True), "Due date", "Revised due date", "Recovery date")
    return _without_unused(listed, "exceptions")


def _kpi_reason(r: dict[Any, Any], target: Any) -> str:
    """Why a KPI is on the Exceptions sheet, with its figures: against its target, or outside its band."""
    said = f"KPI worse than target {PERSISTENT_PERIODS} or more periods running"
    actual, lower, upper = r["actual"], r.get("lower_bound") or 0.0, r.get("upper_bound") or 0.0
    if not present(actual):
        return said
    if (
        kpi_type_from_text(r.get("kpi_type")) == GOAL_POST
        and present(r.get("lower_bound"))
        and present(r.get("upper_bound"))
    ):
        return f"{said} (actual {float(actual):g} outside {float(lower):g}–{float(upper):g})"
    return f"{said} (actual {float(actual):g} against {float(target):g})" if present(target) else said


def _judged_target(kpis: pd.DataFrame) -> list[Any]:
    """The target each KPI's actual was judged against: its quarter's target where profiled, else Target."""
    if "period_target" not in kpis:
        return kpis["target"].tolist()
    return [p if present(p) else t for p, t in zip(kpis["period_target"], kpis["target"], strict=True)]


def _without_unused(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """The table without its when-used columns that no row has a value in (actionplan/columns.py)."""
    unused = [h for h in used_only(table) if h in frame and not frame[h].map(present).any()]
    return frame.drop(columns=unused)


def kpi_tables(kpis: pd.DataFrame, departments: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The KPI list (target, actual, performance) and the count of each performance per department."""
    if kpis.empty:
        listing = pd.DataFrame(columns=KPI_COLUMNS)
    else:

        def shown(number: Any, text: Any) -> Any:
            return text if number is None or pd.isna(number) else float(number)

        listing = pd.DataFrame(
            {
                "Department": kpis["department"],
                "Ref": kpis["ref"],
                "Measure": kpis["measure"],
                "Polarity": kpis["polarity"],
                "Unit": kpis["unit"],
                "Lead officer": kpis["lead_officer"],
                "Target": [shown(n, t) for n, t in zip(kpis["target"], kpis["target_text"], strict=True)],
                "Actual": [shown(n, t) for n, t in zip(kpis["actual"], kpis["actual_text"], strict=True)],
                "Tolerance": kpis["tolerance"],
                "Performance": kpis["performance"],
                **_department_symbols(kpis),
                "Previous actual": kpis.get("previous_actual"),
                "Direction": kpis.get("direction"),
                "Comment": kpis["comment"],
                **_model_columns(kpis),
                **{c.removeprefix("trend:"): kpis[c] for c in kpis.columns if str(c).startswith("trend:")},
            }
        ).reset_index(drop=True)
        listing = _without_unused(listing, "kpis")
    counts = kpis.groupby(["department", "performance"]).size() if not kpis.empty else pd.Series(dtype=int)
    counted = [
        *PERFORMANCE_COLUMNS,
        *(p for p in PERFORMANCE_WHEN_USED if not kpis.empty and (kpis["performance"] == p).any()),
    ]
    rows = []
    for dept in departments:
        row = {"Department": dept, **{p: int(counts.get((dept, p), 0)) for p in counted}}
        rows.append(row)
    rows.append({"Department": "Council total", **{p: sum(r[p] for r in rows) for p in counted}})
    for row in rows:
        row["Total"] = sum(row[p] for p in counted)
    return listing, pd.DataFrame(rows, columns=["Department", *counted, "Total"])


# The KPI model's columns on the KPIs sheet (each shown only when some KPI has a value in it).
_MODEL_FIELDS = (
    ("kpi_type", "Type"),
    ("lower_bound", "Lower bound"),
    ("upper_bound", "Upper bound"),
    ("aggregation", "Aggregation"),
    ("frequency", "Frequency"),
    ("numerator", "Numerator"),
    ("denominator", "Denominator"),
    *((f"target_q{q}", f"Target Q{q}") for q in (1, 2, 3, 4)),
    ("forecast_outturn", "Forecast outturn"),
    ("period_target", "Quarter target"),
    ("ytd_actual", "Year to date"),
    ("ytd_target", "YTD target"),
    ("ytd_performance", "YTD performance"),
    ("forecast_performance", "Forecast performance"),
    ("since", "Since"),
)


def _model_columns(kpis: pd.DataFrame) -> dict[str, Any]:
    return {heading: kpis[f].tolist() for f, heading in _MODEL_FIELDS if f in kpis}


def kpi_totals(kpis: pd.DataFrame) -> pd.DataFrame:
    """Per measure reported with a numerator and denominator by two or more departments: the council's figure
    recomputed from them (Σ numerators ÷ Σ denominators), beside the mean of the departments' own figures."""
    if kpis.empty or "numerator" not in kpis or not kpis["numerator"].map(present).any():
        return pd.DataFrame(columns=KPI_TOTAL_COLUMNS)
    given = kpis[kpis["numerator"].map(present) & kpis["denominator"].map(present)]
    given = given[given["denominator"].astype(float) != 0]
    rows = []
    for measure, group in given.groupby(given["measure"].fillna(""), sort=True):
        if group["department"].nunique() < 2:
            continue
        percent = any(str(u).strip() == "%" for u in group["unit"] if present(u))
        scale = 100.0 if percent else 1.0
        numerator, denominator = float(group["numerator"].sum()), float(group["denominator"].sum())
        own = [
            float(a) if present(a) else scale * float(n) / float(d)
            for a, n, d in zip(group["actual"], group["numerator"], group["denominator"], strict=True)
        ]
        rows.append(
            {
                "Measure": measure,
                "Unit": "%" if percent else next((u for u in group["unit"] if present(u)), None),
                "Departments": int(group["department"].nunique()),
                "Numerator": numerator,
                "Denominator": denominator,
                "Council figure": round(scale * numerator / denominator, 4),
                "Mean of departments": round(sum(own) / len(own), 4),
            }
        )
    return pd.DataFrame(rows, columns=KPI_TOTAL_COLUMNS)


def kpi_model(
    kpis: pd.DataFrame,
    history: list[tuple[str, pd.DataFrame]],
    period: Period,
    ratio: float = PLAUSIBLE_RATIO,
    letters: dict[str, dict[tuple[Any, Any], str]] | None = None,
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Each KPI's year to date and its persistent exception (since when), and the warnings only the periods on
    record show: an implausible jump from last period, no data period after period, a recovery plan missing.

    kpis: the current KPIs after kpi_travel (their trend columns hold the actual of each period on record).
    letters: field → (submission, sheet) → the column it was read from, so a warning names its cell.
    """
    out = kpis.copy()
    if kpis.empty:
        return out.assign(
            ytd_actual=[], ytd_target=[], ytd_performance=[], forecast_performance=[], since=[]
        ), []
    judged = [
        (p, {} if f.empty else dict(zip(_history_key(f), f["performance"], strict=True))) for p, f in history
    ]
    year = Period(period.start_year).label
    quarters = [f"{year} Q{q}" for q in range(1, (period.quarter or 4) + 1)]
    ytd_actual, ytd_target, ytd_performance, forecast, since, found = [], [], [], [], [], []
    letters = letters or {}
    for key, r in zip(_history_key(out), out.to_dict("records"), strict=True):
        actual_ytd = target_ytd = performance_ytd = None
        frequency = frequency_from_text(r.get("frequency")) or ""
        if frequency in ("", "Quarterly", "Monthly"):
            targets = quarter_targets(
                r.get("aggregation"), r.get("target"), [r.get(f"target_q{q}") for q in (1, 2, 3, 4)]
            )[: len(quarters)]
            actuals = [r.get(f"trend:{q}") if f"trend:{q}" in r else None for q in quarters]
            ytd = year_to_date(r.get("aggregation"), actuals, targets)
            if ytd is not None:
                actual_ytd, target_ytd = ytd
                performance_ytd = kpi_performance(
                    target_ytd,
                    actual_ytd,
                    r.get("polarity") or "Higher is better",
                    r.get("tolerance"),
                    kpi_type_from_text(r.get("kpi_type")) or None,
                    (r.get("lower_bound"), r.get("upper_bound")),
                )
        ytd_actual.append(actual_ytd)
        ytd_target.append(target_ytd)
        ytd_performance.append(performance_ytd)
        forecast.append(_forecast_performance(r))
        began = persistent_since([(p, d.get(key)) for p, d in judged], "kpis")
        since.append(began)
        found.extend(_kpi_warnings(r, key, began, judged, ratio, letters))
    out["ytd_actual"] = ytd_actual
    out["ytd_target"] = ytd_target
    out["ytd_performance"] = ytd_performance
    out["forecast_performance"] = forecast
    out["since"] = since
    return out, found


def _forecast_performance(r: dict[Any, Any]) -> str | None:
    """The forecast outturn judged against the year's target (the quarters' targets added up for a cumulative
    measure, their mean for an average; Target itself otherwise), or None without a forecast."""
    if not present(r.get("forecast_outturn")):
        return None
    targets = quarter_targets(
        r.get("aggregation"), r.get("target"), [r.get(f"target_q{q}") for q in (1, 2, 3, 4)]
    )
    year = year_to_date(r.get("aggregation"), targets, targets)
    return kpi_performance(
        year[1] if year is not None else r.get("target"),
        r.get("forecast_outturn"),
        r.get("polarity") or "Higher is better",
        r.get("tolerance"),
        kpi_type_from_text(r.get("kpi_type")) or None,
        (r.get("lower_bound"), r.get("upper_bound")),
    )


def _kpi_warnings(
    r: dict[Any, Any],
    key: tuple[str, str],
    began: str | None,
    judged: list[tuple[str, dict[Any, Any]]],
    ratio: float,
    letters: dict[Any, Any],
) -> list[dict[str, Any]]:
    """The warnings about one KPI that need the periods on record (rows of the Data quality sheet)."""
    rated = kpi_type_from_text(r.get("kpi_type")) != DATA_ONLY
    rows = []
    previous = r.get("previous_actual")
    if rated and previous is not None and implausible(r.get("actual"), previous, ratio):
        rows.append(
            _quality_row(
                r,
                letters.get("actual"),
                r.get("actual_text") or str(r.get("actual")),
                "implausible-kpi-actual",
                f"the actual is {float(r['actual']):g}, more than {ratio:g} times "
                f"{'above' if float(r['actual']) > float(previous) else 'below'} last period's {float(previous):g}. "
                "Check for a misplaced decimal point, or a total typed for a rate.",
            )
        )
    recent = [d.get(key) for _, d in judged][-NO_DATA_RUN:]
    if rated and len(recent) == NO_DATA_RUN and all(p == "no data" for p in recent):
        rows.append(
            _quality_row(
                r,
                letters.get("actual"),
                r.get("measure"),
                "kpi-no-data-running",
                f"this KPI has had no data for {NO_DATA_RUN} periods running "
                f"({', '.join(p for p, _ in judged[-NO_DATA_RUN:])}). Give its figures, or set Type to "
                "Data only or its Frequency if it is not collected every quarter.",
            )
        )
    if began:
        missing = missing_recovery(r.get("recovery_action"), r.get("recovery_owner"), r.get("recovery_date"))
        if missing:
            rows.append(
                _quality_row(
                    r,
                    letters.get("recovery_action"),
                    r.get("measure"),
                    "no-recovery-plan",
                    f"this KPI has been worse than target since {began}, a persistent exception, but has no "
                    f"{', '.join(missing)}. Say what will bring it back on target, who leads it and by when.",
                )
            )
    return rows


def persistent_actions(actions: pd.DataFrame, history: list[tuple[str, pd.DataFrame]]) -> pd.DataFrame:
    """Actions with the period their persistent exception began (Red period after period, until Green or Blue)."""
    if actions.empty:
        return actions.assign(since=[])
    statuses = [
        (p, {} if f.empty else dict(zip(_history_key(f), f["status"].tolist(), strict=True)))
        for p, f in history
    ]
    out = actions.copy()
    out["since"] = [
        persistent_since([(p, d.get(k)) for p, d in statuses], "actions") for k in _history_key(out)
    ]
    return out


def action_recovery_rows(
    actions: pd.DataFrame, letters: dict[tuple[Any, Any], str] | None = None
) -> list[dict[str, Any]]:
    """A warning for each persistent exception among the actions with no recovery action, owner or date, at its
    Recovery action cell where the sheet has the column (letters: (submission, sheet) → its letter)."""
    rows = []
    if actions.empty or "since" not in actions:
        return rows
    for r in actions[actions["since"].map(present)].to_dict("records"):
        missing = missing_recovery(r.get("recovery_action"), r.get("recovery_owner"), r.get("recovery_date"))
        if missing:
            rows.append(
                _quality_row(
                    r,
                    letters,
                    _name(r["status"]),
                    "no-recovery-plan",
                    f"this action has been Red since {r['since']} (a persistent exception) but has no "
                    f"{', '.join(missing)}. Say what will bring it back on track, who leads it and by when.",
                )
            )
    return rows


def _quality_row(
    r: Mapping[Any, Any], letters: dict[tuple[Any, Any], str] | None, value: Any, code: str, message: str
) -> dict[str, Any]:
    """A Data quality row about a row r (an action or a KPI), at its cell when the column's letter in that sheet is
    known (letters: (submission, sheet) → letter), else by its row."""
    letter = (letters or {}).get((r.get("submission_id"), r["sheet"]))
    return {
        "Department": r["department"],
        "Sheet": r["sheet"],
        "Cell": f"{letter}{r['row_number']}" if letter else f"row {r['row_number']}",
        "Ref": r["ref"],
        "Value": value,
        "Code": code,
        "Message": message,
    }


def _extras_of(frame: pd.DataFrame) -> list[dict[str, Any]]:
    if "extra_json" not in frame:
        return [{} for _ in range(len(frame))]
    return [json.loads(x) if isinstance(x, str) and x else {} for x in frame["extra_json"].tolist()]


def _department_symbols(kpis: pd.DataFrame) -> dict[str, list[Any]]:
    """The department's own ★ ● ▲ (a column beside the actual, or in its cell), beside the computed Performance."""
    symbols = [e.get(SYMBOL_EXTRA) for e in _extras_of(kpis)]
    return {"Department's symbol": symbols} if any(symbols) else {}


def submissions_table(
    subs: pd.DataFrame,
    known: list[str],
    *,
    deadline: dt.date | None = None,
    returned: dict[str, Any] | None = None,
    zone: str | None = "Europe/London",
) -> tuple[pd.DataFrame, list[str]]:
    """Every known department with its current submission and standing (on time, late, returned, missing; see
    standing.py), and the missing names. returned: department → the Return of its latest plan."""
    from .standing import MISSING, standing

    returned = returned or {}
    by_dept = {row["department"]: row for row in subs.to_dict("records")} if not subs.empty else {}
    rows, missing = [], []
    for dept in _sorted_departments(list(known) + list(by_dept) + list(returned)):
        sub = by_dept.get(dept)
        status, note = standing(
            None if sub is None else sub["submitted_at"], deadline, returned=returned.get(dept), zone=zone
        )
        if sub is None:
            if status == MISSING:
                missing.append(dept)
            rows.append(
                {
                    "Department": dept,
                    "Status": status,
                    "Submitted at": None,
                    "Submitted by": None,
                    "File": None,
                    "Warnings": None,
                    "Submission id": None,
                    "Note": note,
                }
            )
        else:
            rows.append(
                {
                    "Department": dept,
                    "Status": status,
                    "Submitted at": stored_time(sub["submitted_at"]),
                    "Submitted by": sub["submitted_by"],
                    "File": sub["file_name"],
                    "Warnings": int(sub["warnings"]),
                    "Submission id": sub["id"][:12],
                    "Note": note,
                }
            )
    return pd.DataFrame(rows, columns=SUBMISSION_COLUMNS, dtype=object), missing


def stored_time(value: Any) -> dt.datetime:
    """A time as the warehouse keeps it (UTC, without a zone) as an aware time; writers show it in local time."""
    stamp = pd.Timestamp(value)
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp).to_pydatetime()


def _day(value: Any) -> dt.date | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def _fmt_day(value: Any) -> str:
    day = _day(value)
    return day.strftime("%d/%m/%Y") if day else "none"


def changes_table(current: dict[str, pd.DataFrame], previous: dict[str, pd.DataFrame] | None) -> pd.DataFrame:
    """One row per changed action or objective against the previous period, worst first."""
    if previous is None:
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    both = (
        set(current["submissions"]["department"]) & set(previous["submissions"]["department"])
        if not current["submissions"].empty and not previous["submissions"].empty
        else set()
    )
    rows: list[tuple[tuple, dict[str, Any]]] = []
    for kind, table, title in (("Action", "actions", "action"), ("Objective", "objectives", "objective")):
        now, before = current[table], previous[table]
        if now.empty and before.empty:
            continue
        now_by = {
            (r["department"], str(r["ref"])): r for r in now.to_dict("records") if r["department"] in both
        }
        before_by = {
            (r["department"], str(r["ref"])): r for r in before.to_dict("records") if r["department"] in both
        }
        for key in sorted(set(now_by) | set(before_by), key=lambda k: (k[0].casefold(), k[1])):
            new, old = now_by.get(key), before_by.get(key)
            either = new if new is not None else before_by[key]  # the key came from one of the two
            base = {"Department": key[0], "Kind": kind, "Ref": key[1], "Title": either.get(title)}
            if old is None:
                new = either
                rows.append(
                    (
                        (1, _SEVERITY.get(new["status"], 0)),
                        {**base, "Change": "new", "From": None, "To": _name(new["status"])},
                    )
                )
                continue
            if new is None:
                rows.append(((2, 0), {**base, "Change": "removed", "From": _name(old["status"]), "To": None}))
                continue
            if new["status"] != old["status"]:
                worse = _SEVERITY.get(new["status"], 0) - _SEVERITY.get(old["status"], 0)
                rows.append(
                    (
                        (5 if worse > 0 else 0, worse),
                        {
                            **base,
                            "Change": "status",
                            "From": _name(old["status"]),
                            "To": _name(new["status"]),
                        },
                    )
                )
            if kind == "Action":
                for field, label in (
                    ("due_date", "due date moved"),
                    ("revised_due_date", "revised due date moved"),
                ):
                    if _day(new[field]) != _day(old[field]):
                        rows.append(
                            (
                                (3, 0),
                                {
                                    **base,
                                    "Change": label,
                                    "From": _fmt_day(old[field]),
                                    "To": _fmt_day(new[field]),
                                },
                            )
                        )
    rows.sort(key=lambda item: (-item[0][0], -item[0][1]))
    return pd.DataFrame([r for _, r in rows], columns=CHANGE_COLUMNS, dtype=object)


def _name(letter: Any) -> str:
    return _LETTER_TO_COLUMN.get(letter, str(letter))


def quality_table(
    current: dict[str, pd.DataFrame],
    previous: dict[str, pd.DataFrame] | None,
    checked: pd.DataFrame | None = None,
    found_rows: list[dict[str, Any]] | None = None,
) -> pd.DataFrame:
    """Every warning of every current submission, plus stale commentary, RAG checks and the KPI model's
    warnings (found_rows) found at consolidation."""
    msgs = current["messages"]
    warned = pd.DataFrame(columns=QUALITY_COLUMNS, dtype=object)
    if not msgs.empty:
        warned = msgs.loc[msgs["level"] == "warning"]
        refs = _refs_by_row(current)
        warned = pd.DataFrame(
            {
                "Department": warned["department"],
                "Sheet": warned["sheet"],
                "Cell": warned["cell"],
                "Ref": [
                    refs.get((sid, sheet, _row_of(cell)))
                    for sid, sheet, cell in zip(
                        warned["submission_id"].tolist()
                        if "submission_id" in warned
                        else [None] * len(warned),
                        warned["sheet"].tolist(),
                        warned["cell"].tolist(),
                        strict=True,
                    )
                ],
                "Value": warned["value"],
                "Code": warned["code"],
                "Message": warned["message"],
            },
            dtype=object,
        )[QUALITY_COLUMNS]
    rows: list[dict[str, Any]] = []
    # Found at Submit too when last period's snapshot was published (plan_checks): those departments' own
    # warnings already say it, so consolidation adds only what Submit could not see.
    told = set(zip(warned["Department"], warned["Code"], strict=True)) if not warned.empty else set()
    rows.extend(
        r
        for r in stale_rows(
            current["actions"],
            previous["actions"] if previous else None,
            _letters(current.get("submissions"), "actions.progress_update"),
        )
        if (r["Department"], "stale-commentary") not in told
    )
    if checked is not None and not checked.empty:
        for r in checked[checked["rag_history"].map(present)].to_dict("records"):
            if (r["department"], "rag-history") in told:
                continue
            rows.append(
                {
                    "Department": r["department"],
                    "Sheet": r["sheet"],
                    "Cell": f"row {r['row_number']}",
                    "Ref": r["ref"],
                    "Value": _name(r["status"]),
                    "Code": "rag-check",
                    "Message": f"{r['rag_history']}. The status is shown as the department gave it; "
                    "check it with the lead officer.",
                }
            )
    # A KPI warned about at Submit for the same thing (a scorecard carries its previous quarter) is not told twice.
    said = (
        set(zip(warned["Department"], warned["Ref"], warned["Code"], strict=True))
        if not warned.empty
        else set()
    )
    rows.extend(r for r in found_rows or [] if (r["Department"], r["Ref"], r["Code"]) not in said)
    if not rows:
        return warned.reset_index(drop=True)
    found = pd.DataFrame(rows, columns=QUALITY_COLUMNS, dtype=object)
    return found if warned.empty else pd.concat([warned, found], ignore_index=True)


def _row_of(cell: Any) -> int | None:
    digits = "".join(ch for ch in str(cell or "") if ch.isdigit())
    return int(digits) if digits else None


def _refs_by_row(current: dict[str, pd.DataFrame]) -> dict[tuple[Any, Any, int | None], str]:
    """(submission, sheet, Excel row) → the Ref of the item on that row, so a warning names the item it is about."""
    refs: dict[tuple[Any, Any, int | None], str] = {}
    for table in ("objectives", "actions", "kpis"):
        frame = current.get(table)
        if frame is None or frame.empty or "submission_id" not in frame:
            continue
        # Lists, not the frame's columns: iterating a pandas string column boxes each value (10x the cost).
        for sid, sheet, row, ref in zip(
            frame["submission_id"].tolist(),
            frame["sheet"].tolist(),
            frame["row_number"].tolist(),
            frame["ref"].tolist(),
            strict=True,
        ):
            refs.setdefault((sid, sheet, int(row)), str(ref))
    return refs


def _letters(submissions: pd.DataFrame | None, mapped: str) -> dict[tuple[Any, Any], str]:
    """(submission, sheet) → the column letter a field was read from (the submission's column report)."""
    out: dict[tuple[Any, Any], str] = {}
    if submissions is None or submissions.empty or "columns_json" not in submissions:
        return out
    for sid, text in zip(submissions["id"], submissions["columns_json"], strict=True):
        try:
            columns = json.loads(text) if isinstance(text, str) and text else {}
        except ValueError:
            continue
        kind, _, field = mapped.partition(".")
        for sheet, report in columns.items():
            letter = field_letters(report, kind).get(field)
            if letter:
                out[(sid, sheet)] = letter
    return out


def stale_rows(
    actions: pd.DataFrame, before: pd.DataFrame | None, letters: dict[tuple[Any, Any], str] | None = None
) -> list[dict[str, Any]]:
    """Not-complete actions whose progress update is word for word the previous period's, named by its cell."""
    if before is None or before.empty or actions.empty:
        return []
    old = {
        (r["department"], str(r["ref"])): r["progress_update"]
        for r in before.to_dict("records")
        if present(r["progress_update"])
    }
    rows = []
    for r in actions.to_dict("records"):
        if r["status"] == "B" or not present(r["progress_update"]):
            continue
        prev = old.get((r["department"], str(r["ref"])))
        if prev and same_text(prev, r["progress_update"]):
            rows.append(
                _quality_row(
                    r,
                    letters,
                    r["progress_update"][:80],
                    "stale-commentary",
                    "this progress update is the same as last period's. Say what has happened since then.",
                )
            )
    return rows


def _history_key(frame: pd.DataFrame) -> list[tuple[str, str]]:
    # Plain lists: iterating pandas' string arrays value by value is slower than the work done per value.
    return list(zip(frame["department"].tolist(), frame["ref"].astype(str).tolist(), strict=True))


def slip_history(history: list[tuple[str, pd.DataFrame]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (department, ref): times the due date was revised across the periods on record, oldest first.

    A revision is a revised due date in the first period an action appears, or a move of its effective
    due date from one period on record to the next. `last_three` is True when each of the last three
    periods (ending with the current one) brought a revision.
    """
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for index, (_, actions) in enumerate(history):
        if actions.empty:
            continue
        for key, due, revised, effective in zip(
            _history_key(actions),
            _days(actions["due_date"]),
            _days(actions["revised_due_date"]),
            _days(actions["effective_due_date"]),
            strict=True,
        ):
            entry = seen.get(key)
            if entry is None:
                changed = revised is not None and revised != due
                seen[key] = {
                    "original": due or effective,
                    "times": int(changed),
                    "changes": [(index, changed)],
                    "effective": effective,
                }
                continue
            changed = (
                effective is not None and entry["effective"] is not None and effective != entry["effective"]
            )
            entry["times"] += int(changed)
            entry["changes"].append((index, changed))
            entry["effective"] = effective
    last = len(history) - 1
    for entry in seen.values():
        recent = entry["changes"][-3:]
        entry["last_three"] = (
            len(recent) == 3
            and [i for i, _ in recent] == [last - 2, last - 1, last]
            and all(c for _, c in recent)
        )
    return seen


def committee_checks(actions: pd.DataFrame, history: list[tuple[str, pd.DataFrame]]) -> pd.DataFrame:
    """Actions with slip history, RAG checks and the full exception rule (Red without corrective action, repeated slips)."""
    if actions.empty:
        return actions.assign(times_revised=[], original_due_date=[], rag_check=[], rag_history=[], since=[])
    slips = slip_history(history)
    out = persistent_actions(actions, history)
    times, original, rag, rag_history, exception, reasons = [], [], [], [], [], []
    for key, status, overdue, update, is_exception, reason, began in zip(
        _history_key(out),
        *(
            out[c].tolist()
            for c in ("status", "overdue", "progress_update", "exception", "exception_reason", "since")
        ),
        strict=True,
    ):
        entry = slips.get(key)
        times.append(entry["times"] if entry else 0)
        original.append(entry["original"] if entry else None)
        repeated = bool(entry and entry["last_three"])
        # rag_check can only find something for Green, for Blue, or for Amber revised three times running.
        rag.append(
            rag_check(status, bool(overdue), update, entry)
            if status in ("G", "B") or (status == "A" and repeated)
            else None
        )
        # What only the history shows (the rest was already warned about when the plan was submitted).
        rag_history.append(rag_check(status, False, None, entry) if repeated else None)
        why = reasons_from_stored(reason) + history_exception_reasons(
            status, update, entry["times"] if entry else 0
        )
        if present(began) and not why and not is_exception:
            # Still off target (Amber, not rated) after Red periods running: an exception until back on track.
            why.append(f"off target since {began}")
        exception.append(bool(is_exception) or bool(why))
        reasons.append(stored_reasons(why))
    out["times_revised"] = times
    out["original_due_date"] = original
    out["rag_check"] = rag
    out["rag_history"] = rag_history
    out["exception"] = exception
    out["exception_reason"] = reasons
    return out


def kpi_travel(kpis: pd.DataFrame, history: list[tuple[str, pd.DataFrame]]) -> tuple[pd.DataFrame, list[str]]:
    """Each KPI's previous actual, direction of travel (honouring polarity) and its actual in every period on record."""
    if kpis.empty:
        return kpis.assign(previous_actual=[], direction=[]), []
    periods = [p for p, _ in history]
    by_period = []
    for _, frame in history:
        by_period.append(
            {}
            if frame.empty
            else {k: a for k, a in zip(_history_key(frame), frame["actual"], strict=True) if present(a)}
        )
    # A scorecard kept all year carries its earlier quarters' actuals: they stand in for submissions not made.
    kept = [
        {
            k.removeprefix(ACTUAL_OF): number_from_value(v).number
            for k, v in e.items()
            if k.startswith(ACTUAL_OF)
        }
        for e in _extras_of(kpis)
    ]
    extra_periods = {p for k in kept for p, n in k.items() if n is not None and period_from_text(p)}
    if extra_periods - set(periods) and periods:
        current_period = periods[-1]
        earlier = [p for p in extra_periods - set(periods) if _rank(p) < _rank(current_period)]
        order = sorted([*periods[:-1], *earlier], key=_rank) + [current_period]
        by_label = dict(zip(periods, by_period, strict=True))
        periods, by_period = order, [by_label.get(p, {}) for p in order]
    out = kpis.copy()
    previous, direction = [], []
    trend: dict[str, list[Any]] = {p: [] for p in periods}
    for key, actual, polarity, own in zip(
        _history_key(out), out["actual"], out["polarity"], kept, strict=True
    ):
        filled = [values.get(key, own.get(p)) for p, values in zip(periods, by_period, strict=True)]
        prev = filled[-2] if len(filled) >= 2 else None
        previous.append(prev)
        direction.append(_direction(prev, actual, polarity))
        for p, value in zip(periods, filled, strict=True):
            trend[p].append(value)
    out["previous_actual"] = previous
    out["direction"] = direction
    for p in periods:
        out[f"trend:{p}"] = trend[p]
    return out, periods


def _rank(label: str) -> tuple[int, int]:
    """A period label's place in time (an unrecognised one first)."""
    parsed = period_from_text(label)
    return (parsed.start_year, parsed.quarter or 5) if parsed is not None else (0, 0)


def _direction(previous: Any, actual: Any, polarity: Any) -> str | None:
    if not present(previous) or not present(actual):
        return None
    change = float(actual) - float(previous)
    if abs(change) <= STEADY_SHARE * abs(float(previous)) or change == 0:
        return DIRECTIONS["steady"]
    better = change < 0 if str(polarity).lower().startswith("lower") else change > 0
    return DIRECTIONS["improving" if better else "worsening"]


def how_to_read(
    period: Period,
    *,
    tolerance: float,
    as_at: dt.date | None,
    generated_at: dt.datetime,
    missing: list[str],
    previous_period: str | None,
    plausible_ratio: float = PLAUSIBLE_RATIO,
) -> list[tuple[str, str]]:
    """The rules of the report in plain words, made from the same constants the numbers come from."""
    from .vocabulary import STATUS_MEANINGS, STATUS_NAMES

    pct = f"{tolerance * 100:g} %"
    rows = [
        ("About this report", ""),
        ("Period", f"{period.label}: ends {period.end:%d/%m/%Y}."),
        ("Data taken", f"As at {as_at:%d/%m/%Y}." if as_at else "No as-at date was given by departments."),
        ("Generated", f"{generated_at:%d/%m/%Y %H:%M}."),
        ("Not submitted", ", ".join(missing) if missing else "Every known department submitted."),
        ("Compared with", previous_period or "No previous period on record."),
        ("Statuses (RAGB)", ""),
    ]
    for letter in ("B", "G", "A", "R", "-"):
        rows.append(
            (
                STATUS_NAMES[letter],
                f"{STATUS_MEANINGS[letter].capitalize()}. Self-assessed by the department.",
            )
        )
    rows += [
        ("Terms", ""),
        ("Effective due date", "The revised due date where one is given, otherwise the original due date."),
        ("Overdue", f"Effective due date before the end of the period ({period.end:%d/%m/%Y}) and not Blue."),
        ("Slipped", "The revised due date is later than the original due date."),
        ("Times revised", "How many times the due date has moved across all periods on record."),
        (
            "Exception",
            "Red; or overdue; or Amber/Red with no progress update; or Red whose update has fewer than "
            f"{CORRECTIVE_MIN_WORDS} words (no corrective action described); or a due date revised "
            f"{REPEATED_SLIP} or more times.",
        ),
        (
            "RAG check",
            "A status the data contradicts, shown but never changed: Green while overdue; Green or Amber "
            "whose due date was revised in each of the last three periods; Blue whose update says "
            + ", ".join(f"'{w}'" for w in NOT_DONE_WORDS)
            + ".",
        ),
        (
            "Stale commentary",
            "A progress update word for word the same as last period's for an item that is not "
            "Blue (listed on Data quality).",
        ),
        ("KPIs", ""),
        (
            "Performance",
            "Deviation d = (actual − target) ÷ |target|, with the sign turned round when lower is "
            "better. within: |d| ≤ tolerance; better: d > tolerance; worse: d < −tolerance; no data: "
            "target or actual missing or not a number.",
        ),
        ("Tolerance", f"{pct} unless the KPI gives its own (column Tolerance)."),
        (
            "Direction",
            f"Against the previous period's actual, honouring polarity: ↑ improving, ↓ worsening, "
            f"→ steady when it moved by no more than {STEADY_SHARE * 100:g} % of the previous actual.",
        ),
        ("Trend", "The actual in each period on record, oldest first, drawn as a small line."),
        ("KPI types, year to date and exceptions", ""),
        *kpi_model_explained(tolerance, plausible_ratio),
    ]
    return rows


def facts_for_period(
    period: str,
    current: dict[str, pd.DataFrame],
    previous: dict[str, pd.DataFrame] | None,
    *,
    known_departments: list[str],
    as_at: dt.date | None = None,
    generated_at: dt.datetime | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    previous_period: str | None = None,
    history: list[tuple[str, dict[str, pd.DataFrame]]] | None = None,
    deadline: dt.date | None = None,
    returned: dict[str, Any] | None = None,
    timezone: str = DEFAULT_TIMEZONE,
    plausible_ratio: float = PLAUSIBLE_RATIO,
) -> RollupFacts:
    """All the rollup's tables for a period from the warehouse's current (and previous) submissions.

    history: every period on record up to and including this one, oldest first (for slips and trends).
    deadline, returned: the period's deadline and the departments whose latest plan was returned (their Return).
    """
    parsed: Period | None = period_from_text(period)
    if parsed is None:
        raise ValueError(f"unrecognised period {period!r}")
    history = history or (
        [(previous_period, previous)] if previous is not None and previous_period else []
    ) + [(parsed.label, current)]
    subs = current["submissions"]
    submitted = _sorted_departments(subs["department"]) if not subs.empty else []
    actions = committee_checks(current["actions"], [(p, f["actions"]) for p, f in history])
    objectives = current["objectives"]
    submissions, missing = submissions_table(
        subs, known_departments, deadline=deadline, returned=returned, zone=timezone
    )
    kpis, trend_periods = kpi_travel(current["kpis"], [(p, f["kpis"]) for p, f in history])
    kpis, kpi_found = kpi_model(
        kpis,
        [(p, f["kpis"]) for p, f in history],
        parsed,
        plausible_ratio,
        {f: _letters(subs, f"kpis.{f}") for f in ("actual", "recovery_action")},
    )
    kpi_list, kpi_counts = kpi_tables(kpis, submitted)
    if as_at is None and not subs.empty and subs["as_at"].notna().any():
        # The latest plausible one: a department's typing slip (31/12/9999) never sets the council's date.
        dates = [
            d if type(d) is dt.date else _day(d) for d in subs["as_at"].dropna()
        ]  # 9999 is past pandas' range
        as_at = max((d for d in dates if d is not None and plausible_as_at(d, parsed.end)), default=None)
    generated_at = local(generated_at, timezone) if generated_at else now_in(timezone)
    return RollupFacts(
        period=parsed.label,
        period_end=parsed.end,
        as_at=as_at,
        generated_at=generated_at,
        previous_period=previous_period,
        summary=ragb_table(actions, submitted),
        objectives_summary=ragb_table(objectives, submitted),
        objectives=_renamed(objectives, OBJECTIVE_COLUMNS),
        exceptions=exceptions_table(actions, kpis),
        actions=_dates(
            _renamed(*_with_kept_ratings(actions, ACTION_COLUMNS)),
            "Due date",
            "Revised due date",
            "Original due date",
        ),
        kpis=kpi_list,
        kpi_counts=kpi_counts,
        submissions=submissions,
        changes=changes_table(current, previous),
        data_quality=quality_table(
            current,
            previous,
            actions,
            [*action_recovery_rows(actions, _letters(subs, "actions.recovery_action")), *kpi_found],
        ),
        kpi_totals=kpi_totals(kpis),
        missing=missing,
        returned={d: r.comment for d, r in (returned or {}).items()},
        expected=len(submissions),
        tolerance=tolerance,
        trend_periods=trend_periods,
        how_to_read=how_to_read(
            parsed,
            tolerance=tolerance,
            as_at=as_at,
            generated_at=generated_at,
            missing=missing,
            previous_period=previous_period,
            plausible_ratio=plausible_ratio,
        ),
        timezone=timezone,
    )
