"""Great Expectations as the validation of record: a period's loaded submissions checked by one GX checkpoint run
per sheet kind over every department at once, compared with what Submit found, with a Data Docs site.

Submit runs the suites with the compiled pandas evaluator (actionplan.expect), one sheet at a time; this is the
reference run. GX costs 0.1-0.3 s a run whatever the size, so all of a period's departments go in one frame per
sheet kind: each row keeps its own `row` number apart in `_source`, and every Ref is prefixed with its department
and sheet so that "Ref is unique" still means unique on one sheet. A finding of GX that Submit did not report (or
the reverse) is a Disagreement: a record changed after Submit, or the two engines reading a rule differently.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from . import progress
from .errors import ActionplanError
from .files import write_atomic
from .validate import KINDS, _letters, suite_definition, suite_frame

# Each row of a batch is indexed by where it is ("Finance · Actions row 3"): Data Docs lists an unexpected value's
# rows by it, and GX reads a named index once per unexpected row where named columns cost it two lookups each.
WHERE = "where"
SHOWN = 5  # cells named in a disagreement's message before "… and N more"


@dataclass(frozen=True)
class Disagreement:
    """One expectation whose failing cells differ between the GX run and what Submit reported."""

    kind: str
    expectation: str
    column: str
    code: str
    gx_only: tuple[str, ...] = ()
    submit_only: tuple[str, ...] = ()

    def message(self) -> str:
        parts = []
        if self.gx_only:
            parts.append(
                f"Great Expectations found {_rows(len(self.gx_only))} Submit did not report: "
                f"{_cells(self.gx_only)}"
            )
        if self.submit_only:
            parts.append(
                f"Submit reported {_rows(len(self.submit_only))} Great Expectations did not find: "
                f"{_cells(self.submit_only)}"
            )
        return (
            f"{self.kind} suite, {self.expectation} on {self.column} ({self.code}): "
            + "; ".join(parts)
            + ". The loaded record differs from what was checked at Submit: check its inbox record, or "
            "resubmit the workbook."
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "expectation": self.expectation,
            "column": self.column,
            "code": self.code,
            "gx_only": list(self.gx_only),
            "submit_only": list(self.submit_only),
            "message": self.message(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Disagreement:
        """The disagreement as_dict described (its message is made again from the rest)."""
        return cls(
            data["kind"],
            data["expectation"],
            data["column"],
            data["code"],
            tuple(data.get("gx_only") or ()),
            tuple(data.get("submit_only") or ()),
        )


@dataclass
class PeriodValidation:
    """What the reference run found for one period: per sheet kind, GX's counts; and where it disagreed."""

    period: str
    council: str
    submissions: int
    suites: dict[str, dict[str, Any]] = field(default_factory=dict)
    disagreements: list[Disagreement] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)  # departments whose loaded record was not found
    docs_index: str | None = None
    results_file: str | None = None

    @property
    def agrees(self) -> bool:
        return not self.disagreements

    def summary(self) -> str:
        """One line: what was validated and whether GX agreed with Submit."""
        runs = ", ".join(f"{k} {_rows(v['rows'])}" for k, v in self.suites.items()) or "nothing to validate"
        verdict = (
            "agrees with Submit"
            if self.agrees
            else f"disagrees with Submit on {len(self.disagreements)} expectation"
            f"{'s' if len(self.disagreements) != 1 else ''}"
        )
        unchecked = (
            f"; not validated (record not found): {', '.join(self.unchecked)}" if self.unchecked else ""
        )
        return (
            f"Great Expectations validated {self.submissions} submission{'s' if self.submissions != 1 else ''} "
            f"for {self.period} ({runs}): {verdict}{unchecked}."
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "council": self.council,
            "submissions": self.submissions,
            "agrees": self.agrees,
            "suites": self.suites,
            "unchecked": self.unchecked,
            "disagreements": [d.as_dict() for d in self.disagreements],
            "docs_index": self.docs_index,
            "results_file": self.results_file,
            "summary": self.summary(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PeriodValidation:
        """The validation as_dict described (how a validation run in its own process reports back)."""
        return cls(
            data["period"],
            data["council"],
            int(data["submissions"]),
            suites=dict(data.get("suites") or {}),
            disagreements=[Disagreement.from_dict(d) for d in data.get("disagreements") or []],
            unchecked=list(data.get("unchecked") or []),
            docs_index=data.get("docs_index"),
            results_file=data.get("results_file"),
        )


def _rows(n: int) -> str:
    return f"{n} row{'s' if n != 1 else ''}"


def _cells(cells: tuple[str, ...]) -> str:
    shown = ", ".join(cells[:SHOWN])
    return shown + (f" … and {len(cells) - SHOWN} more" if len(cells) > SHOWN else "")


# -- the frames: every department's sheets of one kind in one frame ---------------------------------------------


@dataclass
class _Batch:
    frame: pd.DataFrame
    where: list[tuple[int, str, int]]  # by global row: (record index, sheet, the sheet's own row)


def batch_frames(records: list[dict[str, Any]]) -> dict[str, _Batch]:
    """Per sheet kind, one frame of every submission's rows as the suites see them, rows numbered across them.

    Each record is a loaded submission: department, columns, messages and its tables as DataFrames by kind.
    """
    out: dict[str, _Batch] = {}
    for kind in KINDS:
        parts, where = [], []
        for i, record in enumerate(records):
            frame = record.get(kind)
            if frame is None or frame.empty:
                continue
            for sheet, part in frame.groupby("sheet", sort=False):
                checked = suite_frame(part)
                start = len(where)
                rows = checked["row"].tolist()
                where.extend((i, str(sheet), int(r)) for r in rows)
                checked["row"] = range(start, start + len(checked))
                checked.index = pd.Index([f"{record.get('department')} · {sheet} row {r}" for r in rows])
                if "ref" in checked:
                    checked["_ref"] = checked["ref"]
                    prefix = f"{record.get('department')} / {sheet} / "
                    checked["ref"] = [None if r is None or r != r else f"{prefix}{r}" for r in checked["ref"]]
                parts.append(checked)
        if parts:
            frame = pd.concat(parts)
            if not frame.index.is_unique:  # one department's rows twice (two records of it): number them
                frame.index = pd.Index([f"{label} ({n})" for n, label in enumerate(frame.index, 1)])
            frame.index.name = WHERE
            out[kind] = _Batch(frame, where)
    return out


# -- the GX run ---------------------------------------------------------------------------------------------------


def import_gx() -> Any:
    """Import Great Expectations (2.5-4 s cold), with its usage analytics off unless the environment says."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    return gx


def _context(docs_dir: Path | None):
    gx = import_gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    # GX logs its temporary folders at INFO; under Prefect's logging that reaches the CLI's output.
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)  # no tqdm bars in the CLI or logs
    if docs_dir is not None:
        context.add_data_docs_site(
            site_name="actionplan",
            site_config={
                "class_name": "SiteBuilder",
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_dir),
                },
            },
        )
    return gx, context


def run_checkpoints(
    batches: dict[str, _Batch],
    period: str,
    docs_dir: Path | None = None,
    run_name: str | None = None,
    stored: dict[str, str | None] | None = None,
) -> dict[str, Any]:
    """Run each kind's suite through a GX checkpoint over its batch; the ExpectationSuiteValidationResult by kind.
    With docs_dir, the checkpoints' UpdateDataDocsAction builds a Data Docs site there. stored: filled with each
    kind's result as GX's store serialised it (_stored_json)."""
    gx, context = _context(docs_dir)
    from great_expectations.core.run_identifier import RunIdentifier

    # The run's name in Data Docs (instead of __none__); it becomes a folder name there, so no slashes.
    name = f"{period} {run_name}" if run_name else period
    run_id = RunIdentifier(run_name=name.replace("/", "-").replace("\\", "-"))
    source = context.data_sources.add_pandas("actionplan")
    results = {}
    progress.begin("suites validated", len(batches))
    for kind, batch in batches.items():
        definition = suite_definition(kind)
        suite = context.suites.add(
            gx.ExpectationSuite(
                name=definition["name"],
                meta={"notes": definition.get("meta", {}).get("description", "")},
                expectations=[
                    {"type": e["type"], "kwargs": e["kwargs"], "meta": e.get("meta", {})}
                    for e in definition["expectations"]
                ],
            )
        )
        batch_definition = source.add_dataframe_asset(kind).add_batch_definition_whole_dataframe(
            f"{period} all departments"
        )
        validation = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{kind} {period}", data=batch_definition, suite=suite)
        )
        actions = (
            [gx.checkpoint.UpdateDataDocsAction(name="data-docs", site_names=["actionplan"])]
            if docs_dir is not None
            else []
        )
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=f"actionplan {kind}",
                validation_definitions=[validation],
                actions=actions,
                # Every failing row by its WHERE label (the comparison with Submit needs them all), but not the
                # pandas query GX would add to fetch them again: a frame no reader of the docs has, as long as
                # the list itself (its page was 16 times the size with it).
                result_format={
                    "result_format": "COMPLETE",
                    "unexpected_index_column_names": [WHERE],
                    "return_unexpected_index_query": False,
                },
            )
        )
        run = checkpoint.run(batch_parameters={"dataframe": batch.frame}, run_id=run_id)
        ((key, result),) = run.run_results.items()
        results[kind] = result
        if stored is not None:
            stored[kind] = _stored_json(context, key)
        progress.advance("suites validated", kind)
    return results


def _stored_json(context: Any, key: Any) -> str | None:
    """The result as the context's validation results store serialised it when the validation stored it (GX's
    own JSON of it, made anyway), so the results file need not convert it a second time; None where the store
    keeps no text of it."""
    store = context.validation_results_store
    try:
        stored = store._store_backend.get(store.key_to_tuple(key))
    except Exception:  # a GX whose store works otherwise: the file converts the result itself
        return None
    return stored if isinstance(stored, str) else None


def _result_json(result: Any, stored: str | None) -> dict[str, Any]:
    """A kind's ExpectationSuiteValidationResult for the results file, as GX stored it where it did."""
    if stored is None:
        return result.to_json_dict()
    body = json.loads(stored)
    # The checkpoint marks its results after the store has them.
    body.setdefault("meta", {}).update({k: v for k, v in result.meta.items() if k not in body["meta"]})
    return body


# -- comparing with Submit --------------------------------------------------------------------------------------


def _cell(meta: dict[str, Any], letters: dict[str, str], row: int) -> str:
    # The same rule as validate._messages: the expectation's column, else the Ref's, else A.
    letter = letters.get(meta.get("column") or "ref") or letters.get("ref") or "A"
    return f"{letter}{row}"


def _label(record: dict[str, Any], sheet: str, cell: str, value: Any = None) -> str:
    shown = f" '{value}'" if isinstance(value, str) and value else ""
    return f"{record.get('department')} {sheet}!{cell}{shown}"


def disagreements(
    records: list[dict[str, Any]], batches: dict[str, _Batch], results: dict[str, Any]
) -> list[Disagreement]:
    """Where the GX results and the messages stored at Submit name different cells, expectation by expectation."""
    letters = [{sheet: _letters(info) for sheet, info in (r.get("columns") or {}).items()} for r in records]
    found = []
    for kind, result in results.items():
        batch = batches[kind]
        position = {label: at for at, label in enumerate(batch.frame.index)}
        sheets = {(i, sheet) for i, sheet, _ in batch.where}
        submitted: dict[str, dict[tuple, str]] = {}
        for i, record in enumerate(records):
            for m in record.get("messages") or []:
                if (i, m.get("sheet")) in sheets:
                    key = (i, m["sheet"], m.get("cell"))
                    submitted.setdefault(m.get("code"), {})[key] = _label(
                        record, m["sheet"], m.get("cell"), m.get("value")
                    )
        by_code: dict[str, dict[tuple, tuple[Any, str]]] = {}
        for r in result.results:
            config = r.expectation_config
            meta = dict(config.meta or {})
            if r.exception_info and r.exception_info.get("raised_exception"):
                raise ActionplanError(
                    f"the {kind} suite's {config.type} could not run: "
                    f"{r.exception_info.get('exception_message')}"
                )
            cells = {}
            for item in (r.result or {}).get("unexpected_index_list") or []:
                at = position[item[WHERE]]
                i, sheet, row = batch.where[at]
                cell = _cell(meta, letters[i].get(sheet, {}), row)
                cells[(i, sheet, cell)] = (
                    config,
                    _label(records[i], sheet, cell, _shown(batch.frame, at, meta.get("show"))),
                )
            code = meta.get("code", "")
            by_code.setdefault(code, {}).update(cells)
            gx_only = tuple(label for key, (_, label) in cells.items() if key not in submitted.get(code, {}))
            if gx_only:
                found.append(Disagreement(kind, config.type, _column(config), code, gx_only))
        # Cells Submit named under a suite's code that no expectation with that code found.
        for code, cells in by_code.items():
            missed = tuple(label for key, label in submitted.get(code, {}).items() if key not in cells)
            if missed:
                configs = [
                    r.expectation_config
                    for r in result.results
                    if (r.expectation_config.meta or {}).get("code") == code
                ]
                found.append(
                    Disagreement(
                        kind,
                        " or ".join(dict.fromkeys(c.type for c in configs)),
                        " or ".join(dict.fromkeys(_column(c) for c in configs)),
                        code,
                        submit_only=missed,
                    )
                )
    return found


def _column(config: Any) -> str:
    kwargs = config.kwargs or {}
    return kwargs.get("column") or " and ".join(
        str(kwargs[k]) for k in ("column_A", "column_B") if k in kwargs
    )


def _shown(frame: pd.DataFrame, at: int, show: str | None) -> Any:
    """The value Submit shows for a row (the `show` field of the expectation's meta); the Ref as written."""
    column = "_ref" if show == "ref" else show
    if not column or column not in frame:
        return None
    value: Any = frame[column].iat[at]
    return None if value is None or pd.isna(value) else value


# -- the period's run, its stored results and its Data Docs -----------------------------------------------------


def validate_period(
    records: list[dict[str, Any]],
    period: str,
    council: str,
    *,
    docs_dir: Path | None = None,
    results_dir: Path | None = None,
    run_name: str | None = None,
    unchecked: list[str] | None = None,
) -> PeriodValidation:
    """Validate a period's loaded submission records with GX, compare with Submit, store the results and build
    the Data Docs site (replacing the period's previous one only once the new one is complete)."""
    batches = batch_frames(records)
    outcome = PeriodValidation(period, council, len(records), unchecked=list(unchecked or []))
    building = Path(tempfile.mkdtemp(prefix=".building-", dir=_made(docs_dir.parent))) if docs_dir else None
    stored: dict[str, str | None] = {}
    try:
        results = run_checkpoints(batches, period, building, run_name, stored) if batches else {}
        outcome.disagreements = disagreements(records, batches, results)
        for kind, result in results.items():
            stats = result.statistics
            outcome.suites[kind] = {
                "rows": len(batches[kind].frame),
                "expectations": int(stats["evaluated_expectations"]),
                "met": int(stats["successful_expectations"]),
                "not met": int(stats["unsuccessful_expectations"]),
            }
        if building is not None and docs_dir is not None and results:
            _swap(building, docs_dir)
            building = None
            outcome.docs_index = str(docs_dir / "index.html")
    finally:
        if building is not None:
            shutil.rmtree(building, ignore_errors=True)
    if results_dir is not None:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = _made(results_dir) / f"{stamp}.json"
        body = {
            "run": run_name,
            "validation": outcome.as_dict() | {"results_file": str(path)},
            "results": {k: _result_json(r, stored.get(k)) for k, r in results.items()},
        }
        write_atomic(path, json.dumps(body, indent=1, default=str, ensure_ascii=False).encode("utf-8"))
        outcome.results_file = str(path)
    return outcome


def _made(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _swap(built: Path, target: Path) -> None:
    """Put the new site in place of the old one: the old is moved aside first, so a reader meets one or the other."""
    old = target.with_name(f".old-{target.name}-{os.getpid()}")
    if target.exists():
        os.replace(target, old)
    os.replace(built, target)
    shutil.rmtree(old, ignore_errors=True)


class NoDataDocs(ActionplanError):
    """No Data Docs site has been built for this period yet."""


def data_docs_index(settings: Any, period: str, council: str) -> Path:
    """The index page of a council's Data Docs site for a period; NoDataDocs saying how to build it when absent."""
    from .vocabulary import period_from_text

    parsed = period_from_text(period)
    if parsed is None:
        raise ActionplanError(f"'{period}' is not a period actionplan recognises. Use e.g. 2024/25 Q2.")
    index = settings.data_docs_path(parsed.label, council) / "index.html"
    if not index.exists():
        raise NoDataDocs(
            f'No Data Docs for {parsed.label} yet: `actionplan consolidate --period "{parsed.label}"` '
            "validates the period with Great Expectations and builds them."
        )
    return index


def data_docs_sites(settings: Any) -> list[str]:
    """The folders under <home>/data-docs/ holding a built site (one per council and period), A–Z."""
    root = settings.home_path / "data-docs"
    if not root.is_dir():
        return []
    return sorted(
        p.name for p in root.iterdir() if not p.name.startswith(".") and (p / "index.html").is_file()
    )


def data_docs_validation_pages(settings: Any, site: str) -> list[tuple[str, str]]:
    """A site's validation result pages as (sheet kind, path inside the site), one per suite run, kinds A–Z.

    The site's own index lists them with a script it loads from a public CDN; this list needs none.
    """
    base = settings.home_path / "data-docs" / site / "validations"
    pages = sorted(base.glob("*/*/*/*.html")) if base.is_dir() else []
    return [(p.relative_to(base).parts[0], str(p.relative_to(base.parent))) for p in pages]
