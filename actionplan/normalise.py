"""Tables of raw cells → typed frames: statuses as RAGB letters, dates, numbers, plain text, derived facts."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pandas as pd

from .columns import SHEET_TITLES
from .layouts import Layout, title_match
from .model import ERROR, WARNING, Message, Submission
from .read import Book, column_letter
from .rules import plan_exception_reasons, stored_reasons
from .tables import Item, Table, columns_report
from .values import DateValue, date_from_value, number_from_value, present, text_from_value
from .vocabulary import (
    CUMULATIVE,
    DEFAULT_TOLERANCE,
    HIGHER_IS_BETTER,
    LOWER_IS_BETTER,
    NOT_DUE,
    Period,
    accepted_status_words,
    aggregation_from_text,
    due_in,
    frequency_from_text,
    kpi_performance,
    kpi_type_from_text,
    period_from_text,
    plausible_as_at,
    polarity_from_text,
    status_from_text,
    tolerance_from_value,
)

_PLAN_LABELS = {
    "department": "department",
    "directorate": "department",
    "service": "department",
    "plan": "plan_title",
    "plan title": "plan_title",
    "title": "plan_title",
    "period": "period",
    "reporting period": "period",
    "quarter": "period",
    "as at": "as_at",
    "as at date": "as_at",
    "date of update": "as_at",
    "contact": "contact",
}


def submission_from_tables(
    book: Book,
    layout: Layout,
    tables: list[Table],
    messages: list[Message],
    *,
    department: str | None = None,
    period: str | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> Submission:
    """Build the typed submission of one workbook: plan details from its Plan sheet, its title row or the submitter."""
    meta, meta_messages = _plan_meta(book, layout)
    above: dict[str, int] = {}
    for table in tables:
        above[table.sheet] = min(above.get(table.sheet, table.header_row - 1), table.header_row - 1)
    for key, value in title_match(book, layout, above).items():
        meta.setdefault("period_raw" if key == "period" else key, value)
    messages = list(messages) + meta_messages
    dept = meta.get("department") or (text_from_value(department) if department else None)
    period_obj = _period(meta, period, messages, layout)
    if not dept:
        where = (layout.plan_sheet, "B1") if book.sheet(layout.plan_sheet or "") else (None, None)
        messages.append(
            Message(
                ERROR,
                "missing-department",
                *where,
                None,
                "no Department given. Write the department's name next to 'Department' "
                "on the Plan sheet (or give --department when submitting).",
            )
        )
    sub = Submission(
        file=book.name,
        department=dept,
        period=period_obj.label if period_obj else None,
        layout=layout.name,
        plan_title=meta.get("plan_title"),
        contact=meta.get("contact"),
        as_at=meta.get("as_at"),
    )
    period_end = period_obj.end if period_obj else None
    if sub.as_at and period_obj and period_end and not plausible_as_at(sub.as_at, period_end):
        sheet_name, cell, text = meta["as_at_cell"]
        messages.append(
            Message(
                WARNING,
                "implausible-as-at",
                sheet_name,
                cell,
                text,
                f"the 'As at' date is {sub.as_at:%d/%m/%Y}, more than a year from the end of "
                f"{period_obj.label} ({period_end:%d/%m/%Y}), so it looks mistyped and is not used "
                "as the council's as-at date. Use the date of this update, as dd/mm/yyyy.",
            )
        )
    for table in tables:
        _columns_of_period(table, period_obj)
    for table in tables:
        if table.kind == "actions":
            sub.actions = _concat(sub.actions, _actions_frame(table, layout, period_end, messages))
        elif table.kind == "objectives":
            sub.objectives = _concat(sub.objectives, _objectives_frame(table, layout, messages))
        else:
            sub.kpis = _concat(sub.kpis, _kpis_frame(table, tolerance, messages, period_obj))
    sub.columns = columns_report(tables)
    sub.messages = messages
    return sub


def _concat(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    return b if a.empty else pd.concat([a, b], ignore_index=True)


def _plan_meta(book: Book, layout: Layout) -> tuple[dict[str, Any], list[Message]]:
    sheet = book.sheet(layout.plan_sheet) if layout.plan_sheet else None
    meta: dict[str, Any] = {}
    messages: list[Message] = []
    if sheet is None:
        return meta, messages
    for r, row in enumerate(sheet.rows[:30]):
        if not row or row[0] is None:
            continue
        key = _PLAN_LABELS.get(" ".join(str(row[0]).split()).strip(":").strip().lower())
        if key is None or key in meta:
            continue
        value = row[1] if len(row) > 1 else None
        cell = f"B{r + 1}"
        if key == "as_at":
            parsed = date_from_value(value)
            meta["as_at"] = parsed.date
            meta["as_at_cell"] = (sheet.name, cell, parsed.text)
            if value is not None and parsed.date is None:
                messages.append(
                    Message(
                        WARNING,
                        "unknown-as-at",
                        sheet.name,
                        cell,
                        parsed.text,
                        "the 'As at' date was not understood, so it is left blank. Use dd/mm/yyyy.",
                    )
                )
        elif key == "period":
            meta["period_raw"] = (value, sheet.name, cell)
        else:
            meta[key] = text_from_value(value)
    return meta, messages


def _period(
    meta: dict[str, Any], given: str | None, messages: list[Message], layout: Layout
) -> Period | None:
    raw = meta.get("period_raw")
    if raw and raw[0] is not None:
        value, sheet, cell = raw
        parsed = period_from_text(value)
        if parsed is None:
            messages.append(
                Message(
                    ERROR,
                    "unknown-period",
                    sheet,
                    cell,
                    str(value),
                    "the reporting period was not recognised. Write it as the financial year "
                    "and quarter, e.g. 2024/25 Q2 (or 2024/25 for the whole year).",
                )
            )
        return parsed
    if given:
        parsed = period_from_text(given)
        if parsed is None:
            messages.append(
                Message(
                    ERROR,
                    "unknown-period",
                    None,
                    None,
                    given,
                    "the reporting period was not recognised. Give it as e.g. 2024/25 Q2.",
                )
            )
        return parsed
    messages.append(
        Message(
            ERROR,
            "missing-period",
            layout.plan_sheet,
            None,
            None,
            "no reporting Period given. Write it next to 'Period' on the Plan sheet, "
            "e.g. 2024/25 Q2 (or give --period when submitting).",
        )
    )
    return None


def _extras(item: Item) -> dict[str, Any] | None:
    out = {
        name: v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else v
        for name, v in item.extra.items()
        if v is not None
    }
    return out or None


def _ratings(
    table: Table, item: Item, words: dict[str, str], messages: list[Message]
) -> dict[str, Any] | None:
    """Extra columns plus each second status (a layout's "ratings") as its RAGB letter; an unknown word is an error."""
    extra = _extras(item)
    for name, col in table.ratings.items():
        if not extra or name not in extra:
            continue
        letter = status_from_text(extra[name], words)
        if letter is None:
            messages.append(
                Message(
                    ERROR,
                    "unknown-status",
                    table.sheet,
                    f"{column_letter(col)}{item.row}",
                    text_from_value(extra[name]),
                    f"not a status word we recognise in '{name}'. Use {accepted_status_words()}.",
                )
            )
            continue
        extra[name] = letter
    return extra


def _memo(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """fn with its answers kept for the length of one sheet: a plan repeats its dates, statuses, officers and
    objectives row after row, and each is parsed once. Keyed by type as well (1, 1.0 and True are equal keys)."""
    seen: dict[tuple[type, Any], Any] = {}

    def call(value: Any) -> Any:
        key = (value.__class__, value)
        try:
            return seen[key]
        except KeyError:
            answer = seen[key] = fn(value)
            return answer
        except TypeError:  # unhashable: never from a cell, but never worth failing over
            return fn(value)

    return call


def _due_date(value: Any) -> DateValue:
    """A due date; a cell listing several dated milestones (one a line, or split by ;) means the latest."""
    if isinstance(value, str) and (";" in value or "\n" in value.strip()):
        parts = [date_from_value(p) for p in re.split(r"[;\n]", value) if p.strip()]
        problems = [p for p in parts if p.problem]
        if problems:
            return DateValue(None, value.strip(), problems[0].problem)
        dates = [p.date for p in parts if p.date is not None]
        if len(dates) > 1:
            return DateValue(max(dates), value.strip())
    several = several_dates(value)
    if several is not None:
        return DateValue(several[0], value.strip())
    return date_from_value(value)


_FINANCIAL_YEAR = re.compile(r"\b(?:19|20)\d\d\s*[/\-–]\s*\d{2}\b")


def several_dates(value: Any) -> tuple[dt.date, list[str]] | None:
    """A cell naming several dates between " / " ("Done (March 2004) / By end 2005/06 / cleared July 2004"):
    the latest, and the parts whose dates were not used; None when it names one date or none.

    A financial year ("by end 2005/06") means its last day, 31 March.
    """
    if not isinstance(value, str) or " / " not in value:
        return None
    dated: list[tuple[dt.date, str]] = []
    for part in (p.strip() for p in re.split(r"\s+/\s+", value)):
        found = date_from_value(part).date
        if found is None and (m := _FINANCIAL_YEAR.search(part)):
            year = period_from_text(m.group(0).replace(" ", ""))
            found = year.end if year is not None else None
        if found is not None:
            dated.append((found, part))
    if len(dated) < 2:
        return None
    latest = max(d for d, _ in dated)
    return latest, [part for d, part in dated if d != latest]


def _refs(table: Table, raw_refs: list[Any], messages: list[Message]) -> list[str]:
    """Refs as text; rows without one get their position (R1, R2, …), since refs link periods."""
    refs = []
    missing = 0
    for i, value in enumerate(raw_refs, start=1):
        text = text_from_value(value)
        if text is None:
            missing += 1
            text = f"R{i}"
        refs.append(text)
    if missing:
        where = table.letter("ref") or "A"
        what = (
            "has no Ref column"
            if "ref" not in table.columns
            else f"has {missing} row{'s' if missing > 1 else ''} without a Ref"
        )
        messages.append(
            Message(
                WARNING,
                "position-refs",
                table.sheet,
                f"{where}{table.header_row}",
                None,
                f"this sheet {what}, so those items were numbered by position (R1, R2, …). "
                "Add a Ref to every row: refs are how one quarter is compared with the next.",
            )
        )
    return refs


def _status(value: Any, words: dict[str, str]) -> tuple[str, str | None]:
    """The RAGB letter, or the original word itself when it is not in the vocabulary (validation flags it)."""
    letter = status_from_text(value, words)
    text = text_from_value(value)
    return (letter if letter is not None else (text or "")), text


def _actions_frame(
    table: Table, layout: Layout, period_end: dt.date | None, messages: list[Message]
) -> pd.DataFrame:
    data: dict[str, list[Any]] = {
        k: []
        for k in (
            "row",
            "objective",
            "theme",
            "action",
            "lead_officer",
            "due_date",
            "due_date_text",
            "due_date_problem",
            "due_date_words",
            "revised_due_date",
            "revised_due_date_text",
            "revised_due_date_problem",
            "revised_due_date_words",
            "status",
            "status_text",
            "progress_update",
            "extra",
        )
    }
    text, due_date = _memo(text_from_value), _memo(_due_date)
    status_of = _memo(lambda value: _status(value, layout.status_words))
    # Only a sheet with a recovery column carries them: the warehouse keeps NULL for the rest.
    has_recovery = any(f in table.columns for f in RECOVERY_FIELDS)
    if has_recovery:
        data.update({f: [] for f in RECOVERY_FIELDS})
    for item in table.items:
        values = item.values
        data["row"].append(item.row)
        for fid in ("objective", "theme", "action", "lead_officer", "progress_update"):
            data[fid].append(text(values.get(fid)))
        for fid in ("due_date", "revised_due_date"):
            parsed = due_date(values.get(fid))
            several = several_dates(values.get(fid)) if parsed.date is not None else None
            if several is not None:
                where = f"{table.letter(fid)}{item.row}" if table.letter(fid) else None
                messages.append(
                    Message(
                        WARNING,
                        "several-dates",
                        table.sheet,
                        where,
                        text_from_value(values.get(fid)),
                        f"this cell names several dates; the latest, {parsed.date:%d/%m/%Y}, is read as the "
                        f"{'revised ' if fid == 'revised_due_date' else ''}due date, not "
                        f"{' or '.join(repr(p) for p in several[1])}. If another is meant, keep only that date here.",
                    )
                )
            data[fid].append(parsed.date)
            data[f"{fid}_text"].append(parsed.text or None)
            data[f"{fid}_problem"].append(parsed.problem)
            data[f"{fid}_words"].append(
                parsed.text if parsed.date is None and parsed.text and not parsed.problem else None
            )
        status, status_text = status_of(values.get("status"))
        data["status"].append(status)
        data["status_text"].append(status_text)
        data["extra"].append(_ratings(table, item, layout.status_words, messages) if item.extra else None)
        if has_recovery:
            for fid, value in _recovery(values).items():
                data[fid].append(value)
    data["ref"] = _refs(table, [item.values.get("ref") for item in table.items], messages)
    _derive_action_facts(data, period_end)
    frame = pd.DataFrame(data)
    frame.insert(0, "sheet", table.sheet)
    return frame


def _derive_action_facts(data: dict[str, list[Any]], period_end: dt.date | None) -> None:
    """Effective due date, overdue, slipped and exception (the contract's derived facts), added to data."""
    effective = [
        r if r is not None else d for d, r in zip(data["due_date"], data["revised_due_date"], strict=True)
    ]
    overdue, slipped, exception, reason = [], [], [], []
    for eff, due, rev, status, update in zip(
        effective,
        data["due_date"],
        data["revised_due_date"],
        data["status"],
        data["progress_update"],
        strict=True,
    ):
        is_overdue = bool(period_end and eff is not None and eff < period_end and status != "B")
        overdue.append(is_overdue)
        slipped.append(bool(due is not None and rev is not None and rev > due))
        reasons = plan_exception_reasons(status, is_overdue, update)
        exception.append(bool(reasons))
        reason.append(stored_reasons(reasons))
    data["effective_due_date"] = effective
    data["overdue"] = overdue
    data["slipped"] = slipped
    data["exception"] = exception
    data["exception_reason"] = reason


def _objectives_frame(table: Table, layout: Layout, messages: list[Message]) -> pd.DataFrame:
    data: dict[str, list[Any]] = {
        k: []
        for k in (
            "row",
            "objective",
            "theme",
            "delivered_by",
            "lead_officer",
            "status",
            "status_text",
            "commentary",
            "extra",
        )
    }
    for item in table.items:
        data["row"].append(item.row)
        for fid in ("objective", "theme", "delivered_by", "lead_officer", "commentary"):
            data[fid].append(text_from_value(item.values.get(fid)))
        status, status_text = _status(item.values.get("status"), layout.status_words)
        data["status"].append(status)
        data["status_text"].append(status_text)
        data["extra"].append(_ratings(table, item, layout.status_words, messages))
    data["ref"] = _refs(table, [item.values.get("ref") for item in table.items], messages)
    frame = pd.DataFrame(data)
    frame.insert(0, "sheet", table.sheet)
    return frame


# The department's own judgement written beside (or in) an actual: the contract's performance symbols.
SYMBOLS = {"★": "better", "●": "within", "▲": "worse"}
_SYMBOL_IN_TEXT = re.compile("[★●▲]")
_SAID = {"better": "better than target", "within": "within tolerance of target", "worse": "worse than target"}
SYMBOL_EXTRA = "Performance symbol"  # the extra column the department's symbol is kept in
ACTUAL_OF = "Actual "  # extra "Actual 2024/25 Q1": a KPI's actual for another quarter of its scorecard


def _year_label(start: int) -> str:
    return f"{start}/{(start + 1) % 100:02d}"


def _columns_of_period(table: Table, period: Period | None) -> None:
    """Map the period's own quarter column as the Actual and its year column as the Target, so checks name them."""
    if period is None:
        return
    for c, (what, n) in sorted(table.periods.items()):
        if what == "quarter" and n == period.quarter:
            table.columns.setdefault("actual", c)
        elif what == "year" and n == period.start_year:
            table.columns.setdefault("target", c)


def _period_columns(
    table: Table, item: Item, period: Period | None, values: dict[str, Any], extra: dict[str, Any]
) -> None:
    """A scorecard's columns per quarter or per year: the period's own is the Actual or Target, the others kept.

    Other quarters' actuals are kept as "Actual 2024/25 Q1" (they feed the KPI trend); other years'
    targets as "Target 2025/26". With no period known, nothing is chosen (the period error says why).
    """
    if not item.by_period or period is None:
        return
    for (what, n), value in sorted(item.by_period.items()):
        if what == "quarter":
            label = f"{_year_label(period.start_year)} Q{n}"
            if n == period.quarter:
                values["actual"] = value
            elif period.quarter is None or n < period.quarter:
                extra[f"{ACTUAL_OF}{label}"] = _value_and_symbol(value)[0]
        elif n == period.start_year:
            values["target"] = value
        else:
            extra[f"Target {_year_label(n)}"] = value
    if period.quarter is None and not present(values.get("actual")):
        # A whole-year submission from a quarterly scorecard: the latest quarter filled in is the outturn.
        quarters = sorted((n, v) for (what, n), v in item.by_period.items() if what == "quarter")
        if quarters:
            values["actual"] = quarters[-1][1]
            extra.pop(f"{ACTUAL_OF}{_year_label(period.start_year)} Q{quarters[-1][0]}", None)


def _missing_period_columns(table: Table, period: Period | None, messages: list[Message]) -> None:
    """Warn once when a scorecard has columns per quarter or year but none for the submission's period."""
    if not table.periods or period is None:
        return
    quarters = {n: c for c, (what, n) in table.periods.items() if what == "quarter"}
    years = {n: c for c, (what, n) in table.periods.items() if what == "year"}
    if quarters and period.quarter is not None and period.quarter not in quarters:
        first = min(quarters.values())
        messages.append(
            Message(
                WARNING,
                "no-column-for-period",
                table.sheet,
                f"{column_letter(first)}{table.header_row}",
                None,
                f"this table has a column for each of {', '.join(f'Q{n}' for n in sorted(quarters))} but none for "
                f"Q{period.quarter}, the quarter of this submission ({period.label}), so its KPIs have no Actual. "
                f"Add a Q{period.quarter} column, or check the period.",
            )
        )
    if years and period.start_year not in years:
        first = min(years.values())
        messages.append(
            Message(
                WARNING,
                "no-column-for-period",
                table.sheet,
                f"{column_letter(first)}{table.header_row}",
                None,
                f"this table has a target column for each of {', '.join(_year_label(n) for n in sorted(years))} "
                f"but none for {_year_label(period.start_year)}, the year of this submission ({period.label}), so "
                "its KPIs have no Target. Add a column for that year, or check the period.",
            )
        )


def _value_and_symbol(value: Any) -> tuple[Any, str | None]:
    """A cell holding a number and a symbol ("25.6% ●", "▲ 41%", "<p>25.6%</p><p>●</p>") → (the number's text, symbol)."""
    if not isinstance(value, str) or not _SYMBOL_IN_TEXT.search(value):
        return value, None
    text = text_from_value(value) or ""
    symbols = _SYMBOL_IN_TEXT.findall(text)
    rest = " ".join(_SYMBOL_IN_TEXT.sub(" ", text).split())
    return (rest or None), (symbols[0] if len(set(symbols)) == 1 else None)


KPI_MODEL_NUMBERS = (
    "lower_bound",
    "upper_bound",
    "numerator",
    "denominator",
    "target_q1",
    "target_q2",
    "target_q3",
    "target_q4",
    "forecast_outturn",
)
_KPI_MODEL_WORDS = (
    ("kpi_type", kpi_type_from_text),
    ("aggregation", aggregation_from_text),
    ("frequency", frequency_from_text),
)
RECOVERY_FIELDS = ("recovery_action", "recovery_owner", "recovery_date", "recovery_date_text")


def _kpi_model(values: dict[str, Any], target: float | None, period: Period | None) -> dict[str, Any]:
    """A KPI's optional model columns typed: its words canonical (the text itself when unrecognised, so the
    suite can name it), its numbers, its recovery plan, and the target this period's actual is judged against."""
    model: dict[str, Any] = {}
    for fid, reader in _KPI_MODEL_WORDS:
        word = reader(values.get(fid))
        model[fid] = word or (None if word == "" else text_from_value(values.get(fid)))
    for fid in KPI_MODEL_NUMBERS:
        model[fid] = number_from_value(values.get(fid)).number
    model.update(_recovery(values))
    quarter = period.quarter if period else None
    profiled = model[f"target_q{quarter}"] if quarter else None
    if profiled is not None:
        model["period_target"] = profiled
    elif quarter and target is not None and model["aggregation"] == CUMULATIVE:
        # A cumulative measure's Target is the year's: each quarter's share of it, evenly profiled.
        model["period_target"] = target / 4
    else:
        model["period_target"] = None  # judged against Target itself, as before the column existed
    return model


def _recovery(values: dict[str, Any]) -> dict[str, Any]:
    """The recovery plan of an off-target item (action, owner, date), typed."""
    when = _due_date(values.get("recovery_date"))
    return {
        "recovery_action": text_from_value(values.get("recovery_action")),
        "recovery_owner": text_from_value(values.get("recovery_owner")),
        "recovery_date": when.date,
        "recovery_date_text": when.text or None,
    }


def _kpis_frame(
    table: Table, default_tolerance: float, messages: list[Message], period: Period | None = None
) -> pd.DataFrame:
    data: dict[str, list[Any]] = {
        k: []
        for k in (
            "row",
            "measure",
            "polarity",
            "polarity_text",
            "unit",
            "lead_officer",
            "target",
            "target_text",
            "actual",
            "actual_text",
            "tolerance",
            "comment",
            "performance",
            "extra",
        )
    }
    _missing_period_columns(table, period, messages)
    actual_col = table.letter("actual")
    for item in table.items:
        values = dict(item.values)
        extra = dict(item.extra)
        _period_columns(table, item, period, values, extra)
        as_written = values.get("actual")
        values["actual"], symbol = _value_and_symbol(as_written)
        if symbol is not None:
            extra.setdefault(SYMBOL_EXTRA, symbol)
        item = Item(item.row, values, extra, item.by_period)
        data["row"].append(item.row)
        for fid in ("measure", "lead_officer", "comment"):
            data[fid].append(text_from_value(values.get(fid)))
        polarity_raw = values.get("polarity")
        polarity = polarity_from_text(polarity_raw)
        data["polarity_text"].append(text_from_value(polarity_raw))
        data["polarity"].append(polarity)
        target = number_from_value(values.get("target"))
        actual = number_from_value(values.get("actual"))
        data["target"].append(target.number)
        data["target_text"].append(target.text or None)
        data["actual"].append(actual.number)
        data["actual_text"].append(actual.text or None)
        unit = text_from_value(values.get("unit")) or target.unit or actual.unit
        data["unit"].append(unit)
        tolerance = tolerance_from_value(values.get("tolerance"))
        data["tolerance"].append(tolerance if tolerance is not None else default_tolerance)
        model = _kpi_model(values, target.number, period)
        for fid, value in model.items():
            data.setdefault(fid, []).append(value)
        said = kpi_type_from_text(model["kpi_type"]) if model["kpi_type"] else ""
        if (
            said in (HIGHER_IS_BETTER, LOWER_IS_BETTER)
            and present(polarity_raw)
            and polarity not in (None, said)
        ):
            letter = table.letter("kpi_type")
            messages.append(
                Message(
                    WARNING,
                    "kpi-type-polarity",
                    table.sheet,
                    f"{letter}{item.row}" if letter else None,
                    text_from_value(values.get("kpi_type")),
                    f"the Type says {said} but the Polarity says {polarity}; the Type is used. Make them agree, "
                    "or leave the Polarity blank.",
                )
            )
        data["performance"].append(
            NOT_DUE
            if actual.number is None and not due_in(model["frequency"], period.quarter if period else None)
            else kpi_performance(
                target.number if model["period_target"] is None else model["period_target"],
                actual.number,
                polarity or "Higher is better",
                data["tolerance"][-1],
                kpi_type_from_text(model["kpi_type"]) or None,
                (model["lower_bound"], model["upper_bound"]),
            )
        )
        own = SYMBOLS.get(str(extra.get(SYMBOL_EXTRA) or "").strip())
        if own and data["performance"][-1] != "no data" and own != data["performance"][-1]:
            where = f"{actual_col}{item.row}" if actual_col else None
            computed = {v: k for k, v in SYMBOLS.items()}[data["performance"][-1]]
            messages.append(
                Message(
                    WARNING,
                    "kpi-symbol-differs",
                    table.sheet,
                    where,
                    text_from_value(as_written),
                    f"this KPI is marked {extra[SYMBOL_EXTRA]} ({_SAID[own]}) but its actual against its target of "
                    f"{target.text} is {_SAID[data['performance'][-1]]} ({computed}). Check the actual, the target or "
                    "the symbol; the rollup shows both.",
                )
            )
        data["extra"].append(_extras(item))
    data["ref"] = _refs(table, [item.values.get("ref") for item in table.items], messages)
    frame = pd.DataFrame(data)
    frame.insert(0, "sheet", table.sheet)
    return frame


__all__ = ["submission_from_tables", "SHEET_TITLES"]
