"""Rollup facts: a period's current submissions (and the previous period's) → the tables of the council rollup."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from .model import RollupFacts
from .values import present, same_text
from .vocabulary import DEFAULT_TOLERANCE, Period, period_from_text

RAGB_COLUMNS = ("Blue", "Green", "Amber", "Red", "Not rated")
_LETTER_TO_COLUMN = {"B": "Blue", "G": "Green", "A": "Amber", "R": "Red", "-": "Not rated"}
SUMMARY_COLUMNS = ["Department", *RAGB_COLUMNS, "Total", "% complete", "% on track"]
PERFORMANCE_COLUMNS = ("better", "within", "worse", "no data")
# Worse statuses rank higher: a move to Red is read before a move to Green.
_SEVERITY = {"R": 4, "A": 3, "-": 2, "G": 1, "B": 0}

ACTION_COLUMNS = {
    "department": "Department", "ref": "Ref", "objective": "Objective", "theme": "Theme", "action": "Action",
    "lead_officer": "Lead officer", "due_date": "Due date", "revised_due_date": "Revised due date",
    "status": "Status", "progress_update": "Progress update", "overdue": "Overdue", "slipped": "Slipped",
    "due_date_text": "Due date as written", "revised_due_date_text": "Revised due date as written",
    "exception": "Exception",
}
EXCEPTION_COLUMNS = {
    "department": "Department", "ref": "Ref", "objective": "Objective", "action": "Action",
    "lead_officer": "Lead officer", "due_date": "Due date", "revised_due_date": "Revised due date",
    "status": "Status", "progress_update": "Progress update", "exception_reason": "Reason",
}
OBJECTIVE_COLUMNS = {
    "department": "Department", "ref": "Ref", "objective": "Objective", "theme": "Theme",
    "delivered_by": "Delivered by", "lead_officer": "Lead officer", "status": "Status", "commentary": "Commentary",
}
KPI_COLUMNS = ["Department", "Ref", "Measure", "Polarity", "Unit", "Lead officer", "Target", "Actual", "Tolerance",
               "Performance", "Comment"]
SUBMISSION_COLUMNS = ["Department", "Status", "Submitted at", "Submitted by", "File", "Warnings", "Submission id"]
CHANGE_COLUMNS = ["Department", "Kind", "Ref", "Title", "Change", "From", "To"]
QUALITY_COLUMNS = ["Department", "Sheet", "Cell", "Value", "Code", "Message"]


def _sorted_departments(names: Any) -> list[str]:
    return sorted({str(n) for n in names}, key=str.casefold)


def ragb_table(frame: pd.DataFrame, departments: list[str]) -> pd.DataFrame:
    """Count items by status per department (A–Z) with a Council total row and the two percentages."""
    rows = []
    counts = (frame.groupby(["department", "status"]).size() if not frame.empty
              else pd.Series(dtype=int))
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


def _renamed(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame(columns=list(columns.values()))
    out = frame.reindex(columns=list(columns)).rename(columns=columns)
    return out.reset_index(drop=True)


def _dates(frame: pd.DataFrame, *names: str) -> pd.DataFrame:
    for name in names:
        if name in frame:
            frame[name] = [None if pd.isna(v) else pd.Timestamp(v).date() for v in frame[name]]
    return frame


def exceptions_table(actions: pd.DataFrame) -> pd.DataFrame:
    """Every exception (Red, overdue, or Amber/Red with no update), Red first, then by department and ref."""
    if actions.empty:
        return _renamed(actions, EXCEPTION_COLUMNS)
    ex = actions[actions["exception"].astype(bool)].copy()
    ex["_rank"] = ex["status"].map(_SEVERITY).fillna(0)
    ex = ex.sort_values(["_rank", "department", "sheet", "row_number"], ascending=[False, True, True, True])
    return _dates(_renamed(ex, EXCEPTION_COLUMNS), "Due date", "Revised due date")


def kpi_tables(kpis: pd.DataFrame, departments: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The KPI list (target, actual, performance) and the count of each performance per department."""
    if kpis.empty:
        listing = pd.DataFrame(columns=KPI_COLUMNS)
    else:
        def shown(number: Any, text: Any) -> Any:
            return text if number is None or pd.isna(number) else float(number)

        listing = pd.DataFrame({
            "Department": kpis["department"], "Ref": kpis["ref"], "Measure": kpis["measure"],
            "Polarity": kpis["polarity"], "Unit": kpis["unit"], "Lead officer": kpis["lead_officer"],
            "Target": [shown(n, t) for n, t in zip(kpis["target"], kpis["target_text"], strict=True)],
            "Actual": [shown(n, t) for n, t in zip(kpis["actual"], kpis["actual_text"], strict=True)],
            "Tolerance": kpis["tolerance"], "Performance": kpis["performance"], "Comment": kpis["comment"],
        }).reset_index(drop=True)
    counts = kpis.groupby(["department", "performance"]).size() if not kpis.empty else pd.Series(dtype=int)
    rows = []
    for dept in departments:
        row = {"Department": dept, **{p: int(counts.get((dept, p), 0)) for p in PERFORMANCE_COLUMNS}}
        rows.append(row)
    rows.append({"Department": "Council total", **{p: sum(r[p] for r in rows) for p in PERFORMANCE_COLUMNS}})
    for row in rows:
        row["Total"] = sum(row[p] for p in PERFORMANCE_COLUMNS)
    return listing, pd.DataFrame(rows, columns=["Department", *PERFORMANCE_COLUMNS, "Total"])


def submissions_table(subs: pd.DataFrame, known: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """Every known department with its current submission, or `missing`; and the missing names."""
    by_dept = {row["department"]: row for row in subs.to_dict("records")} if not subs.empty else {}
    rows, missing = [], []
    for dept in _sorted_departments(list(known) + list(by_dept)):
        sub = by_dept.get(dept)
        if sub is None:
            missing.append(dept)
            rows.append({"Department": dept, "Status": "missing", "Submitted at": None, "Submitted by": None,
                         "File": None, "Warnings": None, "Submission id": None})
        else:
            rows.append({"Department": dept, "Status": "submitted",
                         "Submitted at": pd.Timestamp(sub["submitted_at"]).to_pydatetime(),
                         "Submitted by": sub["submitted_by"], "File": sub["file_name"],
                         "Warnings": int(sub["warnings"]), "Submission id": sub["id"][:12]})
    return pd.DataFrame(rows, columns=SUBMISSION_COLUMNS, dtype=object), missing


def _day(value: Any) -> dt.date | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def _fmt_day(value: Any) -> str:
    day = _day(value)
    return day.strftime("%d/%m/%Y") if day else "none"


def changes_table(current: dict[str, pd.DataFrame], previous: dict[str, pd.DataFrame] | None) -> pd.DataFrame:
    """One row per changed action or objective against the previous period, worst first."""
    if previous is None:
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    both = set(current["submissions"]["department"]) & set(previous["submissions"]["department"]) \
        if not current["submissions"].empty and not previous["submissions"].empty else set()
    rows: list[tuple[tuple, dict[str, Any]]] = []
    for kind, table, title in (("Action", "actions", "action"), ("Objective", "objectives", "objective")):
        now, before = current[table], previous[table]
        if now.empty and before.empty:
            continue
        now_by = {(r["department"], str(r["ref"])): r for r in now.to_dict("records") if r["department"] in both}
        before_by = {(r["department"], str(r["ref"])): r for r in before.to_dict("records")
                     if r["department"] in both}
        for key in sorted(set(now_by) | set(before_by), key=lambda k: (k[0].casefold(), k[1])):
            new, old = now_by.get(key), before_by.get(key)
            base = {"Department": key[0], "Kind": kind, "Ref": key[1],
                    "Title": (new or old).get(title)}
            if old is None:
                rows.append(((1, _SEVERITY.get(new["status"], 0)), {**base, "Change": "new", "From": None,
                                                                    "To": _name(new["status"])}))
                continue
            if new is None:
                rows.append(((2, 0), {**base, "Change": "removed", "From": _name(old["status"]), "To": None}))
                continue
            if new["status"] != old["status"]:
                worse = _SEVERITY.get(new["status"], 0) - _SEVERITY.get(old["status"], 0)
                rows.append(((5 if worse > 0 else 0, worse), {**base, "Change": "status",
                                                              "From": _name(old["status"]),
                                                              "To": _name(new["status"])}))
            if kind == "Action":
                for field, label in (("due_date", "due date moved"), ("revised_due_date", "revised due date moved")):
                    if _day(new[field]) != _day(old[field]):
                        rows.append(((3, 0), {**base, "Change": label, "From": _fmt_day(old[field]),
                                              "To": _fmt_day(new[field])}))
    rows.sort(key=lambda item: (-item[0][0], -item[0][1]))
    return pd.DataFrame([r for _, r in rows], columns=CHANGE_COLUMNS, dtype=object)


def _name(letter: Any) -> str:
    return _LETTER_TO_COLUMN.get(letter, str(letter))


def quality_table(current: dict[str, pd.DataFrame], previous: dict[str, pd.DataFrame] | None) -> pd.DataFrame:
    """Every warning of every current submission, plus stale commentary found against the previous period."""
    msgs = current["messages"]
    rows = []
    if not msgs.empty:
        for m in msgs[msgs["level"] == "warning"].to_dict("records"):
            rows.append({"Department": m["department"], "Sheet": m["sheet"], "Cell": m["cell"],
                         "Value": m["value"], "Code": m["code"], "Message": m["message"]})
    seen = {(r["Department"], r["Sheet"], r["Cell"]) for r in rows if r["Code"] == "stale-commentary"}
    for r in stale_rows(current["actions"], previous["actions"] if previous else None):
        if (r["Department"], r["Sheet"], r["Cell"]) not in seen:
            rows.append(r)
    return pd.DataFrame(rows, columns=QUALITY_COLUMNS, dtype=object)


def stale_rows(actions: pd.DataFrame, before: pd.DataFrame | None) -> list[dict[str, Any]]:
    """Not-complete actions whose progress update is word for word the previous period's."""
    if before is None or before.empty or actions.empty:
        return []
    old = {(r["department"], str(r["ref"])): r["progress_update"] for r in before.to_dict("records")
           if present(r["progress_update"])}
    rows = []
    for r in actions.to_dict("records"):
        if r["status"] == "B" or not present(r["progress_update"]):
            continue
        prev = old.get((r["department"], str(r["ref"])))
        if prev and same_text(prev, r["progress_update"]):
            rows.append({"Department": r["department"], "Sheet": r["sheet"], "Cell": f"row {r['row_number']}",
                         "Value": r["progress_update"][:80], "Code": "stale-commentary",
                         "Message": "this progress update is the same as last period's. Say what has happened "
                                    "since then."})
    return rows


def facts_for_period(period: str, current: dict[str, pd.DataFrame], previous: dict[str, pd.DataFrame] | None, *,
                     known_departments: list[str], as_at: dt.date | None = None,
                     generated_at: dt.datetime | None = None, tolerance: float = DEFAULT_TOLERANCE,
                     previous_period: str | None = None) -> RollupFacts:
    """All the rollup's tables for a period from the warehouse's current (and previous) submissions."""
    parsed: Period | None = period_from_text(period)
    if parsed is None:
        raise ValueError(f"unrecognised period {period!r}")
    subs = current["submissions"]
    submitted = _sorted_departments(subs["department"]) if not subs.empty else []
    actions, objectives = current["actions"], current["objectives"]
    submissions, missing = submissions_table(subs, known_departments)
    kpi_list, kpi_counts = kpi_tables(current["kpis"], submitted)
    if as_at is None and not subs.empty and subs["as_at"].notna().any():
        as_at = _day(subs["as_at"].dropna().max())
    return RollupFacts(
        period=parsed.label,
        period_end=parsed.end,
        as_at=as_at,
        generated_at=generated_at or dt.datetime.now().replace(microsecond=0),
        previous_period=previous_period,
        summary=ragb_table(actions, submitted),
        objectives_summary=ragb_table(objectives, submitted),
        objectives=_renamed(objectives, OBJECTIVE_COLUMNS),
        exceptions=exceptions_table(actions),
        actions=_dates(_renamed(actions, ACTION_COLUMNS), "Due date", "Revised due date"),
        kpis=kpi_list,
        kpi_counts=kpi_counts,
        submissions=submissions,
        changes=changes_table(current, previous),
        data_quality=quality_table(current, previous),
        missing=missing,
        tolerance=tolerance,
    )
