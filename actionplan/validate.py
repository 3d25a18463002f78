"""Validate normalised frames with the Great Expectations suites under expectations/ and say where, what and how to fix."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from .expect import CompiledSuite, Failure, compile_suite
from .model import ERROR, WARNING, Message, Submission
from .plan_checks import kpi_checks, objective_checks
from .rules import PLAUSIBLE_RATIO, rag_check
from .settings import EXPECTATIONS_DIR
from .tables import field_letters
from .values import present
from .vocabulary import (
    PLAUSIBLE_YEARS,
    STATUS_NAMES,
    accepted_status_words,
    period_from_text,
    plausible_due_date,
)

KINDS = ("objectives", "actions", "kpis")
_TEXT_COLUMNS = (
    "ref",
    "objective",
    "theme",
    "action",
    "measure",
    "lead_officer",
    "progress_update",
    "commentary",
    "comment",
    "status_text",
    "due_date_text",
)
_lock = threading.Lock()


@cache
def suite_definition(kind: str, directory: str = str(EXPECTATIONS_DIR)) -> dict[str, Any]:
    """The suite of one sheet kind as stored JSON (type, kwargs and the message in meta)."""
    return json.loads((Path(directory) / f"{kind}.json").read_text(encoding="utf-8"))


class _Runner:
    """One ephemeral GX context and one batch definition per sheet kind, built once per process."""

    def __init__(self) -> None:
        # GX draws tqdm progress bars for every validation; they would litter the CLI and logs.
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        source = self.context.data_sources.add_pandas("actionplan")
        self.batches = {
            kind: source.add_dataframe_asset(kind).add_batch_definition_whole_dataframe(kind)
            for kind in KINDS
        }
        self._subsets: dict[tuple[str, str], Any] = {}
        self.suites = {}
        for kind in KINDS:
            definition = suite_definition(kind)
            self.suites[kind] = gx.ExpectationSuite(
                name=definition["name"],
                expectations=[
                    {"type": e["type"], "kwargs": e["kwargs"], "meta": e.get("meta", {})}
                    for e in definition["expectations"]
                ],
            )

    def _failed_only(self, kind: str, failed: list[Any]) -> Any:
        configs = [c.to_json_dict() for c in failed]
        key = (kind, json.dumps(configs, sort_keys=True, default=str))
        if key not in self._subsets:
            self._subsets[key] = self.gx.ExpectationSuite(
                name=f"{kind}-failed-{len(self._subsets)}",
                expectations=[
                    {"type": c["type"], "kwargs": c["kwargs"], "meta": c.get("meta") or {}} for c in configs
                ],
            )
        return self._subsets[key]

    def run(self, kind: str, frame: pd.DataFrame) -> list[tuple[dict[str, Any], list[int], list[Any]]]:
        """(meta, failing rows, their values) for each expectation that failed."""
        batch = self.batches[kind].get_batch(batch_parameters={"dataframe": frame})
        # Two passes: pass/fail for the whole suite is cheap; the rows behind a failure cost GX several
        # metrics per expectation, so they are asked for only where something failed (a clean plan pays once).
        verdict = batch.validate(self.suites[kind], result_format={"result_format": "BOOLEAN_ONLY"})
        # Results do not come back in suite order: take the failed expectations' own configurations.
        failed = [r.expectation_config for r in verdict.results if not r.success]
        if not failed:
            return []
        result = batch.validate(
            self._failed_only(kind, failed),
            result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ["row"]},
        )
        failures = []
        for r in result.results:
            if r.success:
                continue
            meta = dict(r.expectation_config.meta or {})
            if r.exception_info and r.exception_info.get("raised_exception"):
                raise RuntimeError(
                    f"expectation {r.expectation_config.type} on {kind} failed to run: "
                    f"{r.exception_info.get('exception_message')}"
                )
            index = r.result.get("unexpected_index_list") or []
            failures.append(
                (meta, [int(i["row"]) for i in index], list(r.result.get("unexpected_list") or []))
            )
        return failures


_runner: _Runner | None = None


def _get_runner() -> _Runner:
    global _runner
    with _lock:
        if _runner is None:
            _runner = _Runner()
        return _runner


@cache
def compiled_suite(kind: str) -> CompiledSuite | None:
    """The kind's suite evaluated with pandas, or None when it uses something only GX evaluates."""
    return compile_suite(suite_definition(kind))


def run_suite(kind: str, frame: pd.DataFrame, engine: str = "compiled") -> list[Failure]:
    """(meta, failing rows, values) for each failed expectation of the kind's suite, by the engine asked for.

    ``compiled`` (the default) evaluates the suite with pandas (actionplan.expect), falling back to GX for a
    suite it cannot compile; ``gx`` runs every suite through Great Expectations itself.
    """
    compiled = compiled_suite(kind) if engine != "gx" else None
    return compiled.run(frame) if compiled is not None else _get_runner().run(kind, frame)


def validate_submission(
    sub: Submission,
    engine: str = "compiled",
    limit: int | None = None,
    plausible_ratio: float = PLAUSIBLE_RATIO,
) -> Submission:
    """Run each sheet kind's suite once over its frame and add the findings, in sheet and row order.

    With a limit, each expectation lists its first `limit` failing rows only (the rest are counted in
    sub.unlisted): a sheet of 30,000 mistakes costs seconds to describe, and no one reads past the first screenful.
    """
    letters = {sheet: _letters(info) for sheet, info in sub.columns.items()}
    found: list[Message] = []
    for kind in KINDS:
        frame: pd.DataFrame = getattr(sub, kind)
        if frame.empty:
            continue
        for sheet, part in frame.groupby("sheet", sort=False):
            checked = suite_frame(part)
            failures = run_suite(kind, checked, engine)
            if limit is not None:
                failures = [_first_rows(f, limit, sub) for f in failures]
            # Only the rows a message is about: a messy plan fails on a few hundred of its 2,000 rows.
            named = {row for _, rows, _ in failures for row in rows}
            records = part[part["row"].isin(named)].to_dict("records") if named else []
            by_row: dict[int, dict[str, Any]] = {int(r["row"]): r for r in records}  # type: ignore[misc]
            for meta, rows, values in failures:
                found.extend(_messages(meta, rows, values, by_row, str(sheet), letters.get(str(sheet), {})))
    if not sub.actions.empty and "status" in sub.actions:
        found.extend(rag_checks(sub.actions, letters))
    found.extend(objective_checks(sub.objectives, sub.actions, letters))
    found.extend(kpi_checks(sub.kpis, letters, plausible_ratio, sub.period))
    if not sub.actions.empty and "due_date" in sub.actions:
        period = period_from_text(sub.period) if sub.period else None
        found.extend(date_checks(sub.actions, letters, period.end if period else None))
    order = {name: i for i, name in enumerate(sub.columns)}
    found.sort(key=lambda m: (order.get(m.sheet or "", 99), _row_of(m.cell), _col_of(m.cell)))
    sub.messages = list(sub.messages) + found
    return sub


def _first_rows(failure: Failure, limit: int, sub: Submission) -> Failure:
    meta, rows, values = failure
    if len(rows) <= limit:
        return failure
    sub.unlisted += len(rows) - limit
    order = sorted(range(len(rows)), key=rows.__getitem__)[:limit]
    return meta, [rows[i] for i in order], [values[i] for i in order if i < len(values)]


def suite_frame(part: pd.DataFrame) -> pd.DataFrame:
    """One sheet's rows as the suites see them, whichever engine runs them: dates as datetime64 (compared
    pairwise and filtered reliably), the extra-columns dicts left out."""
    frame = part.drop(columns=["extra"], errors="ignore").reset_index(drop=True)
    for col in ("due_date", "revised_due_date"):
        if col in frame:
            frame[col] = pd.to_datetime(frame[col])
    return frame


def _letters(info: dict[str, list[str]]) -> dict[str, str]:
    return field_letters(info)


def _messages(
    meta: dict[str, Any],
    rows: list[int],
    values: list[Any],
    by_row: dict[int, dict[str, Any]],
    sheet: str,
    letters: dict[str, str],
) -> list[Message]:
    level = ERROR if meta.get("level") == "error" else WARNING
    letter = letters.get(meta.get("column") or "ref") or letters.get("ref") or "A"
    messages = []
    groups: dict[Any, list[int]] = {}
    if "{rows}" in meta.get("message", ""):
        for row, value in zip(rows, values, strict=False):
            groups.setdefault(value, []).append(row)
    for i, row in enumerate(rows):
        record = by_row[row]
        shown = _shown(meta.get("show"), record)
        fill = {
            "value": shown or "",
            "reason": values[i] if i < len(values) else "",
            "rows": ", ".join(
                str(r) for r in sorted(set(groups.get(values[i] if i < len(values) else None, [])))
            )
            if groups
            else "",
            "accepted": accepted_status_words(),
            "status_name": STATUS_NAMES.get(str(record.get("status")), str(record.get("status"))),
            "due": _date_text(record.get("due_date")),
        }
        messages.append(
            Message(
                level,
                meta.get("code", "invalid"),
                sheet,
                f"{letter}{row}",
                shown,
                meta.get("message", "this value is not valid.").format(**fill),
            )
        )
    return messages


def _shown(show: str | None, record: dict[str, Any]) -> str | None:
    if not show:
        return None
    if show == "row_text":
        for col in _TEXT_COLUMNS:
            value = record.get(col)
            if isinstance(value, str) and value:
                return value[:80]
        return None
    value = record.get(show)
    if value is None or (isinstance(value, float) and value != value):
        return None
    return str(value)


def _date_text(value: Any) -> str:
    if value is None or pd.isna(value) or not isinstance(value, dt.date):
        return "not given"
    return value.strftime("%d/%m/%Y")


def rag_checks(actions: pd.DataFrame, letters: dict[str, dict[str, str]]) -> list[Message]:
    """Warn where the data contradicts a self-assessed status (Green but overdue, Blue but 'not yet')."""
    found = []
    # Plain lists: iterating pandas' string arrays value by value costs more than the check itself.
    columns = [
        actions[c].tolist() for c in ("status", "overdue", "progress_update", "sheet", "row", "status_text")
    ]
    for status, overdue, update, sheet, row, status_text in zip(*columns, strict=True):
        if status not in ("G", "B"):
            continue
        reason = rag_check(status, bool(overdue), update, None)
        if reason:
            letter = (letters.get(sheet) or {}).get("status", "")
            found.append(
                Message(
                    WARNING,
                    "rag-check",
                    sheet,
                    f"{letter}{row}" if letter else None,
                    status_text if present(status_text) else status,
                    f"{reason[0].lower()}{reason[1:]}. Check the status: the rollup shows it as "
                    "you gave it, with this flag beside it.",
                )
            )
    return found


def date_checks(actions: pd.DataFrame, letters: dict[str, dict[str, str]], period_end: Any) -> list[Message]:
    """Warn about due dates too far from the period to be meant (year 1 or 9999 is a slip of the keyboard)."""
    found = []
    for col in ("due_date", "revised_due_date"):
        if col not in actions:
            continue
        columns = [actions[c].tolist() for c in (col, f"{col}_text", "sheet", "row")]
        for value, text, sheet, row in zip(*columns, strict=True):
            if not isinstance(value, dt.date) or plausible_due_date(value, period_end):
                continue
            letter = (letters.get(sheet) or {}).get(col, "")
            what = "revised due date" if col == "revised_due_date" else "due date"
            against = (
                f"more than {PLAUSIBLE_YEARS} years from the period's end ({period_end:%d/%m/%Y})"
                if period_end
                else "far from any plan's dates"
            )
            found.append(
                Message(
                    WARNING,
                    "implausible-date",
                    sheet,
                    f"{letter}{row}" if letter else None,
                    text if present(text) else value.isoformat(),
                    f"the {what} is in the year {value.year}, {against}, so it looks mistyped. "
                    "Check the date and write it as dd/mm/yyyy.",
                )
            )
    return found


def _row_of(cell: str | None) -> int:
    digits = "".join(ch for ch in (cell or "") if ch.isdigit())
    return int(digits) if digits else 0


def _col_of(cell: str | None) -> str:
    letters = "".join(ch for ch in (cell or "") if ch.isalpha())
    return f"{len(letters):02d}{letters}"
