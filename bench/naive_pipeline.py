"""The pipeline a council analyst would write by hand, the baseline of bench/e2e.py.

    python bench/naive_pipeline.py OUT.xlsx WORKBOOK...

pandas.read_excel (openpyxl) for every workbook, the same checks done in pandas (status words, UK dates,
overdue, exceptions, KPI performance for the quarter, warnings for blanks), and openpyxl writing the rollup's
list sheets with the RAGB fills. No validation report per cell, no warehouse, no history: what a script does.
"""

from __future__ import annotations

import sys

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import PatternFill

PERIOD_END = pd.Timestamp("2024-09-30")
STATUS = {
    "green": "G",
    "on track": "G",
    "amber": "A",
    "red": "R",
    "off target": "R",
    "complete": "B",
    "blue": "B",
}
FILLS = {
    k: PatternFill("solid", fgColor=c)
    for k, c in {"B": "5B9BD5", "G": "70AD47", "A": "FFC000", "R": "C00000"}.items()
}


def read(path: str) -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:
    sheets = pd.read_excel(path, sheet_name=None, engine="openpyxl")
    plan = dict(zip(sheets["Plan"].iloc[:, 0], sheets["Plan"].iloc[:, 1], strict=False))
    department = plan.get("Department") or sheets["Plan"].columns[1]
    actions = sheets["Action Plan"].copy()
    actions["Department"] = department
    actions["Status"] = (
        actions["Status"].fillna("").astype(str).str.strip().str.lower().map(STATUS).fillna("-")
    )
    for col in ("Due date", "Revised date"):
        actions[col] = pd.to_datetime(actions[col], errors="coerce", dayfirst=True)
    warnings = [
        {"Department": department, "Sheet": "Action Plan", "Cell": f"H{i + 2}", "Code": "no-status"}
        for i in actions.index[actions["Status"] == "-"]
    ]
    warnings += [
        {"Department": department, "Sheet": "Action Plan", "Cell": f"G{i + 2}", "Code": "no-date"}
        for i in actions.index[actions["Due date"].isna()]
    ]
    kpis = sheets["KPIs"].copy()
    kpis["Department"] = department
    return actions, kpis, warnings


def main(out: str, paths: list[str]) -> None:
    parts = [read(p) for p in paths]
    actions = pd.concat([a for a, _, _ in parts], ignore_index=True)
    kpis = pd.concat([k for _, k, _ in parts], ignore_index=True)
    warnings = pd.DataFrame([w for _, _, ws in parts for w in ws])
    effective = actions["Revised date"].fillna(actions["Due date"])
    actions["Overdue"] = (effective < PERIOD_END) & (actions["Status"] != "B")
    actions["Exception"] = (
        (actions["Status"] == "R")
        | actions["Overdue"]
        | (actions["Status"].isin(["A", "R"]) & actions["Comments"].isna())
    )
    summary = pd.crosstab(actions["Department"], actions["Status"]).reset_index()
    d = (kpis["Q2"] - kpis["Target"]) / kpis["Target"].abs()
    d = d.where(kpis["Polarity"] != "Lower is better", -d)
    kpis["Performance"] = (
        pd.cut(d, [-float("inf"), -0.025, 0.025, float("inf")], labels=["worse", "within", "better"])
        .astype(object)
        .fillna("no data")
    )
    wb = Workbook(write_only=True)
    for title, frame in (
        ("Summary", summary),
        ("Exceptions", actions[actions["Exception"]]),
        ("Actions", actions),
        ("KPIs", kpis),
        ("Data quality", warnings),
    ):
        ws = wb.create_sheet(title)
        ws.append([str(c) for c in frame.columns])
        status_col = (
            list(frame.columns).index("Status") if "Status" in frame.columns and title != "Summary" else -1
        )
        for row in frame.itertuples(index=False):
            values = [
                None if pd.isna(v) else (v.to_pydatetime() if isinstance(v, pd.Timestamp) else v) for v in row
            ]
            if status_col >= 0 and values[status_col] in FILLS:
                from openpyxl.cell import WriteOnlyCell

                cell = WriteOnlyCell(ws, value=values[status_col])
                cell.fill = FILLS[values[status_col]]
                values[status_col] = cell
            ws.append(values)
    wb.save(out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
