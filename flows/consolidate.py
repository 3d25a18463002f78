"""The consolidate flow: ingest, then rebuild the council rollup workbook for a period."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import quote

from prefect import flow, task
from prefect.cache_policies import NO_CACHE  # no task result is kept between runs, so none hashes its inputs

from actionplan.clock import DEFAULT_TIMEZONE
from actionplan.councils import ALL_COUNCILS, DEFAULT_COUNCIL, council_on_record, council_slug
from actionplan.excel_addin.tokens import key_holders
from actionplan.model import RollupFacts
from actionplan.register import Register
from actionplan.rollup_writer import write_rollup
from actionplan.settings import load_settings
from actionplan.vocabulary import period_from_text
from actionplan.warehouse import open_warehouse
from actionplan.warehouse.consolidate import facts_from_warehouse

from .artifacts import (
    add_run_tags,
    artifact_key,
    consolidate_markdown,
    counted,
    run_tags,
    validation_markdown,
)
from .ingest import load_pending, publish_load_table


@task(name="read-facts", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[5, 20])
def read_facts(
    warehouse_url: str,
    period: str,
    as_at: dt.date | None,
    against: str | None,
    tolerance: float,
    council: str,
    timezone: str = DEFAULT_TIMEZONE,
) -> RollupFacts:
    s = load_settings()
    register = Register.for_home(s.home_path, council) if council != ALL_COUNCILS else None
    # Read-only: the snapshots are read from the warehouse meanwhile, read-only too, by the worker process.
    wh = open_warehouse(warehouse_url, read_only=True, wait_seconds=10)
    try:
        return facts_from_warehouse(
            wh,
            period,
            council=council,
            as_at=as_at,
            against=against,
            tolerance=tolerance,
            timezone=timezone,
            register=register,
            key_holders=key_holders(s.home_path, council),
        )
    finally:
        wh.close()


def council_and_period(
    warehouse_url: str, requested: str | None, configured: str, period: str | None
) -> tuple[str, str | None]:
    """The council a run rolls up (the configured one, `all`, or one on record: UnknownCouncil names them), and
    the period: the one asked for, or the council's most recent (what a scheduled run rebuilds)."""
    if requested is None and period:
        return configured, period  # nothing to look up
    wh = open_warehouse(warehouse_url, wait_seconds=10)
    try:
        council = council_on_record(requested, wh.councils(), configured)
        periods = [] if period else wh.periods(council)
    finally:
        wh.close()
    return council, period or (periods[-1] if periods else None)


def latest_period(warehouse_url: str, council: str = DEFAULT_COUNCIL) -> str | None:
    """The most recent period with a submission of the council."""
    return council_and_period(warehouse_url, council, council, None)[1]


@task(name="publish-snapshots", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[5, 20])
def publish_snapshots(warehouse_url: str, period: str, council: str) -> int:
    """Publish the period's plans per department, read-only for the service's checks at the next period's Submit.

    Done in the worker process GX validates in (warehouse/snapshot.publish_in_worker, after its validation) while
    this task's thread waits on it, so the flow writes the rollup meanwhile; the warehouse is read-only there and
    closed here."""
    from actionplan.warehouse.snapshot import publish_in_worker

    return publish_in_worker(warehouse_url, period, council)


@task(name="write-rollup", cache_policy=NO_CACHE)
def publish(facts: RollupFacts, out: str) -> str:
    from actionplan.rollup_writer import sweep_orphans

    sweep_orphans(Path(out).parent)  # temp files a killed earlier publish left behind
    return str(write_rollup(facts, Path(out)))


def rollup_path(settings, period: str, council: str | None = None) -> Path:
    """Where a council's published rollup for a period lives (the settings' rule)."""
    return settings.rollup_file(period_from_text(period).label, council or settings.council)


@task(name="print-pdf", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5)
def print_pdf(workbook: str) -> str:
    from actionplan.pdf import pdf_from_workbook

    return str(pdf_from_workbook(Path(workbook)))


def current_submissions(warehouse_url: str, period: str, council: str) -> list[tuple[str, str]]:
    """The period's current submissions (id, department): what the validation reads from the inbox."""
    from actionplan.warehouse.validation import current_of_period

    wh = open_warehouse(warehouse_url, wait_seconds=10)
    try:
        return current_of_period(wh, period, council)
    finally:
        wh.close()


@task(name="validate-with-gx", cache_policy=NO_CACHE)
def validate_with_gx(
    current: list[tuple[str, str]],
    inbox_dir: str,
    archive_dir: str,
    period: str,
    council: str,
    docs_dir: str,
    results_dir: str,
) -> dict:
    """Validate the period as loaded with Great Expectations; fails, naming each disagreement, when GX finds what
    Submit did not (or the reverse). Its results are kept in results_dir and shown in the Data Docs at docs_dir.

    GX runs in a process of its own (warehouse/validation.validate_in_worker) while this task's thread waits on
    it, so the flow writes the rollup meanwhile on the other core."""
    from prefect.artifacts import create_markdown_artifact
    from prefect.context import TaskRunContext
    from prefect.states import Failed

    from actionplan.warehouse.inbox import Inbox
    from actionplan.warehouse.validation import validate_in_worker

    context = TaskRunContext.get()
    run_name = context.task_run.name if context else None
    outcome = validate_in_worker(
        Inbox(Path(inbox_dir), Path(archive_dir)),
        current,
        period,
        council,
        docs_dir=Path(docs_dir),
        results_dir=Path(results_dir),
        run_name=run_name,
    )
    found = outcome.as_dict()
    create_markdown_artifact(
        validation_markdown(found),
        key=artifact_key("gx-validation", council_slug(council), period),
        description=outcome.summary(),
    )
    if not outcome.agrees:
        # A Failed state, not an exception: the run shows the task failed with this message, and a person running
        # `actionplan consolidate` reads it without a traceback.
        return Failed(
            message=" ".join([outcome.summary(), *(d.message() for d in outcome.disagreements)]),
            data=_Found(found),
        )
    return found


def _validate(s, current: list[tuple[str, str]], label: str, council: str):
    return validate_with_gx.submit(
        current,
        str(s.inbox_path),
        str(s.archive_path),
        label,
        council,
        str(s.data_docs_path(label, council)),
        str(s.validations_path(label, council)),
    )


def _validate_early(s, council: str | None, period: str | None):
    """((period, council, the current submissions it validates), the validation's future), begun before the load,
    where the run's period is known before it (one asked for) and its council is one (not `all`)."""
    from actionplan.warehouse.inbox import Inbox
    from actionplan.warehouse.validation import predicted_current

    parsed = period_from_text(period) if period else None
    council = council or s.council
    if parsed is None or council == ALL_COUNCILS:
        return None
    try:
        # Not migrated here, nor waited for: the load does both; a warehouse another process holds means no guess.
        wh = open_warehouse(s.warehouse_url, migrate=False)
        try:
            current = predicted_current(wh, Inbox(s.inbox_path, s.archive_path), parsed.label, council)
        finally:
            wh.close()
    except Exception:  # a warehouse not made yet, say: the validation runs after the load, as it would anyway
        return None
    if not current:
        return None
    return (parsed.label, council, current), _validate(s, current, parsed.label, council)


def _discard(future) -> None:
    """Let a validation begun on a wrong guess finish, and remove the results file it wrote."""
    future.wait()
    outcome = future.state.result(raise_on_failure=False)
    if isinstance(outcome, dict) and outcome.get("results_file"):
        Path(outcome["results_file"]).unlink(missing_ok=True)


class _Found(dict):
    """The validation's findings; shown briefly where Prefect logs a failed state (the message says it all)."""

    def __repr__(self) -> str:
        return f"<Great Expectations validation of {self.get('period')}>"


def _run_name() -> str:
    from prefect.runtime import flow_run

    period = flow_run.parameters.get("period")
    return f"consolidate {period}" if period else "consolidate latest period"


@flow(name="consolidate", log_prints=True, timeout_seconds=60 * 60, flow_run_name=_run_name)
def consolidate(
    period: str | None = None,
    as_at: dt.date | None = None,
    out: str | None = None,
    against: str | None = None,
    pdf: bool = False,
    council: str | None = None,
) -> dict:
    """Load the inbox, then write a council's rollup workbook for the period atomically; returns its path and
    numbers. council: the configured council when not given, or `all` for every council in one workbook."""
    from actionplan.warehouse.validation import start_worker

    s = load_settings()
    start_worker()  # GX's process imports GX while this one loads the inbox
    # GX's validation begun now, on the submissions that will be current once the inbox is loaded (a guess checked
    # after the load): it then runs beside the load and the rollup instead of after the load.
    early = _validate_early(s, council, period)
    loaded = load_pending(s.warehouse_url, str(s.inbox_path), str(s.archive_path))
    publish_load_table(loaded, str(s.inbox_path), str(s.archive_path))
    council, period = council_and_period(s.warehouse_url, council, s.council, period)
    if period is None or period_from_text(period) is None:
        raise ValueError(f"unrecognised period {period!r}" if period else "no period on record yet")
    label = period_from_text(period).label
    add_run_tags(run_tags(council, label))
    # The tags go on the flow run only (add_run_tags above): on each task they cost a concurrency-limit lookup
    # against the server per task, seconds a run, for nothing a council filters by.
    # The reference validation, in a thread of the task runner waiting on GX's own process, while this one writes
    # the rollup: a failed task reports a disagreement, and the rollup is built all the same.
    current = current_submissions(s.warehouse_url, label, council)
    wrong = None
    if early is not None and early[0] == (label, council, current):
        checking = early[1]
    else:
        # The guess was wrong (a record did not load, say): validated again (after it, GX's process does one job
        # at a time), and its results are not kept.
        wrong = early[1] if early is not None else None
        checking = _validate(s, current, label, council)
    # The snapshots in the worker process too, once its validation is done, beside the facts and the rollup: the
    # warehouse is loaded, and only read from here on (read_facts opens it read-only).
    snapshots = publish_snapshots.submit(s.warehouse_url, label, council) if council != ALL_COUNCILS else None
    facts = read_facts(s.warehouse_url, period, as_at, against, s.tolerance, council, s.timezone)
    path = publish(facts, out or str(rollup_path(s, period, council)))
    if snapshots is not None:
        snapshots.result()
    if wrong is not None:
        _discard(wrong)
    checking.wait()
    result = {
        "path": path,
        "loaded": len(loaded.loaded),
        "council": council,
        "facts": facts.export(),
        "pdf": None,
        "validation": _validation(checking.state),
    }
    if pdf:
        from actionplan.pdf import PdfUnavailable, libreoffice

        if libreoffice() is None:
            result["pdf_problem"] = PdfUnavailable.__doc__
        else:
            result["pdf"] = print_pdf(path)
    publish_summary(result, s.service_url if s.public_url else None)
    return result


def _validation(state) -> dict:
    """The validation task's findings, whether it completed or failed (a disagreement, or GX could not run)."""
    outcome = state.result(raise_on_failure=False)
    if isinstance(outcome, BaseException):  # GX could not run at all
        return {"summary": None, "agrees": None, "failed": f"{type(outcome).__name__}: {outcome}"}
    if state.is_failed():
        return {**dict(outcome or {}), "failed": state.message}
    return outcome


def publish_summary(result: dict, service_url: str | None) -> None:
    """The run's markdown artifact: Summary table, exceptions, missing departments, the rollup's path or link
    (created in the flow itself, so it belongs to the flow run)."""
    from prefect.artifacts import create_markdown_artifact

    facts = result["facts"]
    link = (
        f"{service_url.rstrip('/')}/rollup/latest.xlsx?period={quote(facts['period'])}"
        if service_url
        else None
    )
    create_markdown_artifact(
        consolidate_markdown(result, link),
        key=artifact_key("consolidate", council_slug(result["council"]), facts["period"]),
        description=f"Rollup {facts['period']}: {counted(facts['exceptions'], 'exception')}, "
        f"{counted(len(facts['missing']), 'department')} not submitted.",
    )
