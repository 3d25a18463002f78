"""What the service tells departments about the council: who has submitted, and the published rollup's tables.

The service never writes the warehouse (DuckDB allows one writing process, and that is the ingest flow). It reads it
read-only when it can; when the warehouse is busy or absent, status comes from the inbox's records and the rollup
tables from the latest published rollup workbook. Everything here is about the service's own council (the council
setting), even when the warehouse and the inbox hold other councils' plans too.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from actionplan.councils import DEFAULT_COUNCIL
from actionplan.errors import ActionplanError
from actionplan.register import Register, fold_name
from actionplan.settings import Settings
from actionplan.standing import LATE, ON_TIME
from actionplan.standing import standing as standing_of
from actionplan.vocabulary import Period, period_from_text
from actionplan.vocabulary import period_label as vocabulary_period_label

from .tokens import key_holders


class NoRollupYet(ActionplanError):
    """No rollup workbook has been published for this period yet."""


# -- periods --------------------------------------------------------------------------------------------------


def period_label(text: str | None) -> str | None:
    """The canonical label of a period the user typed; UnknownPeriod with an example when it is not one."""
    return vocabulary_period_label(text)


def last_completed_quarter(today: dt.date | None = None) -> str:
    """The quarter departments report on now: the last one that has ended."""
    today = today or dt.date.today()
    start_year = today.year if today.month >= 4 else today.year - 1
    quarter = (today.month - 4) % 12 // 3 + 1
    current = Period(start_year, quarter)
    return current.previous().label


def rollup_file(settings: Settings, period: str) -> Path:
    """Where the council's published rollup for the period lives (the same rule the consolidate flow writes by)."""
    parsed = period_from_text(period)
    return settings.rollup_file(parsed.label if parsed else period, settings.council)


def published_periods(settings: Settings) -> list[str]:
    """Periods with a published rollup workbook of the council, oldest first."""
    found = []
    for path in settings.rollups_path.glob("rollup-*.xlsx"):
        # The period ends the name: rollup-[council-]2024-25-Q2 for a quarter, rollup-[council-]2024-25 for a year.
        parts = path.stem.split("-")
        for tail in (parts[-3:], parts[-2:]):
            parsed = period_from_text(f"{tail[0]}/{' '.join(tail[1:])}") if len(tail) >= 2 else None
            if parsed and rollup_file(settings, parsed.label).name == path.name:
                found.append(parsed)
    return [p.label for p in sorted(set(found))]


# -- the warehouse, read-only ---------------------------------------------------------------------------------


def latest_published(settings: Settings) -> str:
    """The latest period with a published rollup; NoRollupYet when none has been published at all."""
    published = published_periods(settings)
    if not published:
        raise NoRollupYet(
            "No council rollup has been published yet. Corporate performance publishes it "
            "with `actionplan consolidate` once departments have submitted."
        )
    return published[-1]


def open_read_only(settings: Settings):
    """The warehouse opened read-only, or None and why (absent, or busy with a load)."""
    url = settings.warehouse_url
    if "://" not in url and not Path(url).exists():
        return None, "no warehouse yet"  # opening would create it: never from here
    from actionplan.warehouse import open_warehouse

    try:
        return open_warehouse(url, read_only=True, wait_seconds=0), ""
    except Exception as exc:  # locked by the ingest flow, or a server down: answer from the files instead
        return None, str(exc).splitlines()[0][:200] or type(exc).__name__


# -- the inbox's records ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """One submission as the inbox (or the warehouse) records it."""

    department: str
    period: str
    submitted_at: dt.datetime
    submitted_by: str | None
    file: str | None
    accepted: bool
    state: str  # "loaded", "waiting to load", "rejected"
    warnings: int
    errors: int
    submission_id: str | None = None
    council: str = DEFAULT_COUNCIL  # records from before councils are the default council's


def _when(value: Any) -> dt.datetime:
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.to_pydatetime()


class InboxRecords:
    """Summaries of the inbox's records; each file is read once (records never change once written)."""

    def __init__(self) -> None:
        self._cache: dict[Path, Attempt | None] = {}
        self._lock = threading.Lock()

    def _summary(self, path: Path, state: str) -> Attempt | None:
        key = path
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if state == "rejected":
                report = data.get("report") or {}
                codes = {e.get("code") for e in report.get("errors", [])}
                named = period_from_text(report.get("period"))
                # A workbook for another department says nothing about this department's own status.
                attempt = (
                    None
                    if "wrong-department" in codes or not report.get("department") or named is None
                    else Attempt(
                        report["department"],
                        named.label,
                        _when(data["submitted_at"]),
                        data.get("submitted_by"),
                        report.get("file"),
                        False,
                        state,
                        len(report.get("warnings", [])),
                        len(report.get("errors", [])),
                        council=data.get("council") or DEFAULT_COUNCIL,
                    )
                )
            else:
                messages = data.get("messages") or []
                attempt = Attempt(
                    data["department"],
                    data["period"],
                    _when(data["submitted_at"]),
                    data.get("submitted_by"),
                    data.get("file"),
                    True,
                    state,
                    sum(1 for m in messages if m.get("level") == "warning"),
                    0,
                    data.get("id"),
                    data.get("council") or DEFAULT_COUNCIL,
                )
        except FileNotFoundError:
            return None  # moved from pending to loaded meanwhile: found there next time
        except (ValueError, KeyError, TypeError, AttributeError):
            attempt = None  # a damaged record is the ingest flow's to report, not the status page's
        with self._lock:
            if len(self._cache) > 50_000:
                self._cache.clear()
            self._cache[key] = attempt
        return attempt

    def attempts(self, settings: Settings) -> list[Attempt]:
        """Every accepted (pending or loaded) and rejected submission on file for the service's council."""
        inbox, archive = settings.inbox_path, settings.archive_path
        out = []
        for folder, state in (
            (inbox / "loaded", "loaded"),
            (inbox / "pending", "waiting to load"),
            (archive / "rejected", "rejected"),
        ):
            if folder.is_dir():
                for path in folder.glob("*.json"):
                    if not path.name.startswith("."):
                        attempt = self._summary(path, state)
                        if attempt is not None and attempt.council == settings.council:
                            out.append(attempt)
        return out


# -- status ----------------------------------------------------------------------------------------------------


@dataclass
class Status:
    """Every known department's standing for one period."""

    period: str
    departments: list[dict[str, Any]]
    missing: list[str]
    source: str
    periods: list[str] = field(default_factory=list)
    returned: list[str] = field(default_factory=list)
    deadline: dt.date | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "source": self.source,
            "periods": self.periods,
            "departments": self.departments,
            "missing": self.missing,
            "returned": self.returned,
            "deadline": self.deadline.isoformat() if self.deadline else None,
        }


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def _latest(periods: set[str]) -> str:
    parsed = [p for p in (period_from_text(x) for x in periods) if p is not None]
    return max(parsed).label if parsed else last_completed_quarter()


def status_for_period(
    settings: Settings, records: InboxRecords, period: str | None, expected: list[str]
) -> Status:
    """Each expected department's last submission for the period (time, who, outcome, warnings) and its standing:
    on time, late, returned (with the comment), rejected or missing (actionplan.standing, as on the rollup).

    Expected: the council's register when it has one; otherwise (as before registers) the departments holding a key
    and every department that has ever submitted.
    """
    register = Register.for_settings(settings)
    registered = not register.is_empty()
    attempts = records.attempts(settings)
    known = {fold_name(d): d for d in (register.names() if registered else expected)}
    periods = {a.period for a in attempts if a.accepted}
    wh, why = open_read_only(settings)
    source = "warehouse and inbox"
    subs = pd.DataFrame()
    kpi_counts: dict[str, dict[str, int]] = {}
    on_record: list[str] = []
    if wh is None:
        source = "inbox only (warehouse " + ("not created yet)" if why == "no warehouse yet" else "busy)")
    else:
        try:
            periods.update(wh.periods(settings.council))
            on_record = wh.departments(settings.council)
            label = period or _latest(periods)
            subs = wh.current_submissions(label, settings.council)
            kpi_counts = wh.kpi_performance_counts([str(i) for i in subs["id"]]) if not subs.empty else {}
        except Exception:  # a read failing half way: the files still answer
            source = "inbox only (warehouse unreadable)"
        finally:
            wh.close()
    from actionplan.warehouse.consolidate import department_spelling

    spelling = department_spelling(register, on_record)
    if not registered:
        for name in on_record:
            known.setdefault(fold_name(name), spelling(name))
    label = period or _latest(periods)
    seen = {a.submission_id for a in attempts if a.submission_id}
    for row in subs.to_dict("records"):
        if row["id"] not in seen:  # loaded, and its inbox record is no longer on this machine
            attempts.append(
                Attempt(
                    row["department"],
                    label,
                    _when(row["submitted_at"]),
                    row.get("submitted_by"),
                    row.get("file_name"),
                    True,
                    "loaded",
                    int(row.get("warnings") or 0),
                    0,
                    row["id"],
                    row["council"],
                )
            )
    for a in attempts:
        if a.accepted and (not registered or a.period == label):
            known.setdefault(fold_name(spelling(a.department)), spelling(a.department))
    latest: dict[str, Attempt] = {}
    current: dict[str, Attempt] = {}
    for a in attempts:
        key = fold_name(spelling(a.department))
        if a.period != label or key not in known:
            continue
        if key not in latest or a.submitted_at > latest[key].submitted_at:
            latest[key] = a
        if a.accepted and (key not in current or a.submitted_at > current[key].submitted_at):
            current[key] = a
    returns = register.returns()
    deadline = register.deadline(label)
    rows, missing, returned = [], [], []
    for key, name in sorted(known.items(), key=lambda kv: kv[1].casefold()):
        last, cur = latest.get(key), current.get(key)
        back = returns.get(cur.submission_id) if cur is not None and cur.submission_id else None
        standing, note = standing_of(
            None if cur is None or back else cur.submitted_at,
            deadline,
            returned=back,
            rejected=last is not None and not last.accepted,
            zone=settings.timezone,
        )
        status = "submitted" if standing in (ON_TIME, LATE) else standing
        if back is not None:
            returned.append(name)
        elif (
            cur is None
        ):  # a rejected workbook is not a return: the rollup counts this department as missing too
            missing.append(name)
        rows.append(
            {
                "department": name,
                "status": status,
                "standing": standing,
                "note": note,
                "deadline": deadline.isoformat() if deadline else None,
                "returned": None
                if back is None
                else {
                    "comment": back.comment,
                    "at": back.at,
                    "by": back.by,
                    "submission_id": back.submission_id,
                },
                "submitted_at": _iso(last.submitted_at) if last else None,
                "submitted_by": last.submitted_by if last else None,
                "file": last.file if last else None,
                "outcome": ("accepted" if last.accepted else "rejected") if last else None,
                "warnings": last.warnings if last else None,
                "errors": last.errors if last else None,
                "current": None
                if cur is None or back is not None
                else {
                    "submission_id": cur.submission_id,
                    "submitted_at": _iso(cur.submitted_at),
                    "state": cur.state,
                    "warnings": cur.warnings,
                    # Its KPIs by performance once loaded: "not due" is a measure not collected this quarter,
                    # never a missing return nor "no data".
                    "kpis": kpi_counts.get(str(cur.submission_id)),
                },
            }
        )
    known = {period_from_text(p) for p in periods | {label}}
    return Status(
        label,
        rows,
        missing,
        source,
        [p.label for p in sorted(q for q in known if q is not None)],
        returned=returned,
        deadline=deadline,
    )


# -- the council rollup's tables --------------------------------------------------------------------------------


@dataclass
class CouncilTables:
    """The Summary, Exceptions and Actions tables of a period, and where they were read from."""

    period: str
    source: str
    summary: pd.DataFrame
    exceptions: pd.DataFrame
    actions: pd.DataFrame


def _table_from_rows(rows: list[list[Any]]) -> pd.DataFrame:
    """The first table on a sheet: from the row starting 'Department' to the first empty row."""
    for i, row in enumerate(rows):
        if row and str(row[0]).strip().casefold() == "department":
            header = [str(c).strip() for c in row]
            while header and not header[-1]:
                header.pop()
            body = []
            for r in rows[i + 1 :]:
                if not r or all(v in (None, "") for v in r):
                    break
                body.append([None if v == "" else v for v in (list(r) + [None] * len(header))[: len(header)]])
            return pd.DataFrame(body, columns=header)
    return pd.DataFrame(columns=["Department"])


def tables_from_published(settings: Settings, period: str) -> CouncilTables:
    """The tables as published in the period's rollup workbook (NoRollupYet when there is none)."""
    import python_calamine as pc

    path = rollup_file(settings, period)
    if not path.exists():
        raise NoRollupYet(
            f"No council rollup has been published for {period} yet. Corporate performance "
            "publishes it with `actionplan consolidate`; try again later."
        )
    wb = pc.CalamineWorkbook.from_path(str(path))
    names = {n.casefold(): n for n in wb.sheet_names}
    frames = {}
    for wanted in ("Summary", "Exceptions", "Actions"):
        name = names.get(wanted.casefold())
        rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False) if name else []
        frames[wanted] = _table_from_rows(rows)
    stamp = dt.datetime.fromtimestamp(path.stat().st_mtime).strftime("%d/%m/%Y %H:%M")
    return CouncilTables(
        period,
        f"the rollup workbook published {stamp}",
        frames["Summary"],
        frames["Exceptions"],
        frames["Actions"],
    )


def council_tables(settings: Settings, period: str) -> CouncilTables:
    """The period's council tables from the warehouse (read-only), or from the published rollup when it is busy."""
    wh, why = open_read_only(settings)
    if wh is not None:
        try:
            from actionplan.warehouse.consolidate import facts_from_warehouse

            if period in wh.periods(settings.council):
                facts = facts_from_warehouse(
                    wh,
                    period,
                    council=settings.council,
                    tolerance=settings.tolerance,
                    timezone=settings.timezone,
                    register=Register.for_settings(settings),
                    key_holders=key_holders(settings.home_path, settings.council),
                )
                now = facts.generated_at.strftime("%d/%m/%Y %H:%M")
                return CouncilTables(
                    period, f"the warehouse at {now}", facts.summary, facts.exceptions, facts.actions
                )
        except Exception:  # busy or half-migrated: the published workbook still answers
            pass
        finally:
            wh.close()
    return tables_from_published(settings, period)


def own_rows(frame: pd.DataFrame, department: str | None) -> pd.DataFrame:
    """The rows of one department (all rows when department is None: an admin key)."""
    if department is None or frame.empty or "Department" not in frame.columns:
        return frame
    wanted = fold_name(department)  # names compare as everywhere: NFKC, case and spaces folded
    mask = frame["Department"].map(lambda d: fold_name(d) == wanted)
    return frame[mask.astype(bool)]
