"""The records that flow between stages: messages, reports, submissions and rollup facts."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from .clock import DEFAULT_TIMEZONE
from .councils import DEFAULT_COUNCIL

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Message:
    """One validation finding, located at a cell and written for a council officer."""

    level: str  # ERROR or WARNING
    code: str
    sheet: str | None
    cell: str | None
    value: str | None
    message: str

    def location(self) -> str:
        if self.sheet and self.cell:
            return f"{self.sheet}!{self.cell}"
        return self.sheet or "workbook"

    def __str__(self) -> str:
        shown = f" '{self.value}'" if self.value not in (None, "") else ""
        return f"{self.location()}{shown}: {self.message}"

    @classmethod
    def from_dict(cls, d: dict[str, Any], level: str = WARNING) -> Message:
        """A message back from its report form (as_dict; a report lists errors and warnings apart)."""
        return cls(level, d["code"], d["sheet"], d["cell"], d["value"], d["message"])

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "sheet": self.sheet,
            "cell": self.cell,
            "value": self.value,
            "message": self.message,
        }


@dataclass
class Submission:
    """A read, normalised and validated workbook: its plan, its rows and what was found wrong."""

    file: str
    department: str | None
    period: str | None
    layout: str
    plan_title: str | None = None
    as_at: dt.date | None = None
    contact: str | None = None
    objectives: pd.DataFrame = field(default_factory=pd.DataFrame)
    actions: pd.DataFrame = field(default_factory=pd.DataFrame)
    kpis: pd.DataFrame = field(default_factory=pd.DataFrame)
    messages: list[Message] = field(default_factory=list)
    columns: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # sheet -> mapped/ignored
    unlisted: int = 0  # findings the check counted but did not list (beyond its limit of messages)
    counted: dict[str, int] | None = None  # the rows' counts, where the rows were let go (without_rows)

    @property
    def errors(self) -> list[Message]:
        return [m for m in self.messages if m.level == ERROR]

    @property
    def warnings(self) -> list[Message]:
        return [m for m in self.messages if m.level == WARNING]

    @property
    def accepted(self) -> bool:
        return not self.errors

    def counts(self) -> dict[str, int]:
        if self.counted is not None:
            return dict(self.counted)
        return {"objectives": len(self.objectives), "actions": len(self.actions), "kpis": len(self.kpis)}

    def without_rows(self) -> Submission:
        """The same submission, its report the same, without its rows (a batch's worker keeps them: they were
        the most of what it sent back)."""
        return dataclasses.replace(
            self,
            objectives=pd.DataFrame(),
            actions=pd.DataFrame(),
            kpis=pd.DataFrame(),
            counted=self.counts(),
        )

    def report(self) -> dict[str, Any]:
        """The report of spec: accepted, counts, every error and warning with its cell."""
        return {
            "file": self.file,
            "accepted": self.accepted,
            "department": self.department,
            "period": self.period,
            "layout": self.layout,
            "counts": self.counts(),
            "errors": [m.as_dict() for m in self.errors],
            "warnings": [m.as_dict() for m in self.warnings],
            "columns": self.columns,
        }


@dataclass
class RollupFacts:
    """Everything the council rollup workbook shows for one period, as plain tables."""

    period: str
    period_end: dt.date
    as_at: dt.date | None
    generated_at: dt.datetime
    previous_period: str | None
    summary: (
        pd.DataFrame
    )  # Department | Blue | Green | Amber | Red | Not rated | Total | % complete | % on track
    objectives_summary: pd.DataFrame  # same shape, counting objectives
    objectives: pd.DataFrame
    exceptions: pd.DataFrame
    actions: pd.DataFrame
    kpis: pd.DataFrame
    kpi_counts: pd.DataFrame  # Department | better | within | worse | no data | Total
    submissions: pd.DataFrame
    changes: pd.DataFrame
    data_quality: pd.DataFrame
    missing: list[str] = field(default_factory=list)
    returned: dict[str, str] = field(
        default_factory=dict
    )  # department → the comment its latest plan was returned with
    expected: int = 0  # departments on the Submissions sheet (registered, or everyone who has reported)
    tolerance: float = 0.025
    trend_periods: list[str] = field(default_factory=list)  # KPI columns named by period, oldest first
    how_to_read: list[tuple[str, str]] = field(
        default_factory=list
    )  # (term, explanation); "" starts a section
    council: str = DEFAULT_COUNCIL  # whose rollup this is; councils.ALL_COUNCILS for the combined one
    councils: pd.DataFrame | None = (
        None  # combined only: Council | Blue | … | % on track, one row per council
    )
    timezone: str = DEFAULT_TIMEZONE  # the zone every time in the rollup is shown in (the timezone setting)
    # Measures several departments report with numerator and denominator: the council's figure recomputed from them.
    kpi_totals: pd.DataFrame | None = None

    def export(self) -> dict[str, Any]:
        """The rollup's numbers as JSON-ready data (what `actionplan export` prints)."""

        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            return [{str(k): _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]

        out = {
            "period": self.period,
            "period_end": self.period_end.isoformat(),
            "as_at": self.as_at.isoformat() if self.as_at else None,
            "previous_period": self.previous_period,
            "summary": records(self.summary),
            "objectives": records(self.objectives_summary),
            "kpis": records(self.kpi_counts),
            "exceptions": len(self.exceptions),
            "rag_checks": int(self.actions["RAG check"].notna().sum()) if "RAG check" in self.actions else 0,
            "revised_repeatedly": int((self.actions["Times revised"] >= 2).sum())
            if "Times revised" in self.actions
            else 0,
            "kpi_direction": {
                d: int((self.kpis["Direction"] == d).sum())
                for d in ("↑ improving", "→ steady", "↓ worsening")
            }
            if "Direction" in self.kpis
            else {},
            "changes": len(self.changes),
            "warnings": len(self.data_quality),
            "missing": list(self.missing),
            "returned": dict(self.returned),
        }
        if (
            "Completed in year" in self.actions
        ):  # the year-end view's own counts (a quarter's export is unchanged)
            out["completed_in_year"] = int(self.actions["Completed in year"].sum())
            out["carried_forward"] = int(self.actions["Carried forward"].sum())
        if self.kpi_totals is not None and not self.kpi_totals.empty:  # only where numerators were given
            out["kpi_totals"] = records(self.kpi_totals)
        if (
            self.councils is not None
        ):  # the combined rollup's council totals (a one-council export is unchanged)
            out["councils"] = records(self.councils)
        return out


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and value != value:
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()  # pyright: ignore[reportAttributeAccessIssue]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


__all__ = ["ERROR", "WARNING", "Message", "Submission", "RollupFacts", "asdict"]
