"""The ingest flow: inbox → warehouse, one transaction per submission (the warehouse's only writer)."""

from __future__ import annotations

from actionplan.warehouse import open_warehouse
from actionplan.warehouse.inbox import Inbox
from actionplan.warehouse.load import LoadResult, load_inbox
from prefect import flow, task

from actionplan.settings import load_settings


@task(name="load-inbox", retries=3, retry_delay_seconds=[2, 10, 30])
def load_pending(warehouse_url: str, inbox_dir: str, archive_dir: str) -> LoadResult:
    """Open the warehouse (waiting briefly if another writer holds it) and load every pending record."""
    from pathlib import Path

    wh = open_warehouse(warehouse_url, wait_seconds=10)
    try:
        return load_inbox(Inbox(Path(inbox_dir), Path(archive_dir)), wh)
    finally:
        wh.close()


@flow(name="ingest", log_prints=True, timeout_seconds=30 * 60)
def ingest() -> dict:
    """Load accepted submissions waiting in the inbox into the warehouse."""
    s = load_settings()
    result = load_pending(s.warehouse_url, str(s.inbox_path), str(s.archive_path))
    return {"loaded": result.loaded, "already": result.already, "failed": result.failed}
