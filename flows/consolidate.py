"""The consolidate flow: ingest, then rebuild the council rollup workbook for a period."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from prefect import flow, task

from actionplan.model import RollupFacts
from actionplan.settings import load_settings
from actionplan.vocabulary import period_from_text
from actionplan.workbooks import write_rollup
from warehouse import open_warehouse
from warehouse.consolidate import facts_from_warehouse

from .ingest import load_pending


@task(name="read-facts", retries=2, retry_delay_seconds=[5, 20])
def read_facts(warehouse_url: str, period: str, as_at: dt.date | None, against: str | None,
               tolerance: float) -> RollupFacts:
    wh = open_warehouse(warehouse_url, wait_seconds=10)
    try:
        return facts_from_warehouse(wh, period, as_at=as_at, against=against, tolerance=tolerance)
    finally:
        wh.close()


def latest_period(warehouse_url: str) -> str | None:
    """The most recent period with a submission (what a scheduled run rebuilds)."""
    wh = open_warehouse(warehouse_url, wait_seconds=10)
    try:
        periods = wh.periods()
    finally:
        wh.close()
    return periods[-1] if periods else None


@task(name="write-rollup")
def publish(facts: RollupFacts, out: str) -> str:
    from actionplan.workbooks import sweep_orphans

    sweep_orphans(Path(out).parent)  # temp files a killed earlier publish left behind
    return str(write_rollup(facts, Path(out)))


def rollup_path(settings, period: str) -> Path:
    """Where a period's published rollup lives (the settings' rule)."""
    return settings.rollup_file(period_from_text(period).label)


@task(name="print-pdf", retries=1, retry_delay_seconds=5)
def print_pdf(workbook: str) -> str:
    from actionplan.pdf import pdf_from_workbook

    return str(pdf_from_workbook(Path(workbook)))


@flow(name="consolidate", log_prints=True, timeout_seconds=60 * 60)
def consolidate(period: str | None = None, as_at: dt.date | None = None, out: str | None = None,
                against: str | None = None, pdf: bool = False) -> dict:
    """Load the inbox, then write the period's rollup workbook atomically; returns its path and numbers."""
    s = load_settings()
    loaded = load_pending(s.warehouse_url, str(s.inbox_path), str(s.archive_path))
    period = period or latest_period(s.warehouse_url)
    if period is None or period_from_text(period) is None:
        raise ValueError(f"unrecognised period {period!r}" if period else "no period on record yet")
    facts = read_facts(s.warehouse_url, period, as_at, against, s.tolerance)
    path = publish(facts, out or str(rollup_path(s, period)))
    result = {"path": path, "loaded": len(loaded.loaded), "facts": facts.export(), "pdf": None}
    if pdf:
        from actionplan.pdf import PdfUnavailable, libreoffice

        if libreoffice() is None:
            result["pdf_problem"] = PdfUnavailable.__doc__
        else:
            result["pdf"] = print_pdf(path)
    return result
