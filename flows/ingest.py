"""The ingest flow: inbox → warehouse, one transaction per submission (the warehouse's only writer)."""

from __future__ import annotations

from prefect import flow, task
from prefect.cache_policies import NO_CACHE  # no task result is kept between runs, so none hashes its inputs

from actionplan.settings import load_settings
from actionplan.warehouse import open_warehouse
from actionplan.warehouse.inbox import Inbox
from actionplan.warehouse.load import LoadResult, load_inbox

from .artifacts import add_run_tags, artifact_key, load_description, load_table, run_tags


@task(name="load-inbox", cache_policy=NO_CACHE, retries=3, retry_delay_seconds=[2, 10, 30])
def load_pending(
    warehouse_url: str, inbox_dir: str, archive_dir: str, lock_wait_seconds: float = 10
) -> LoadResult:
    """Open the warehouse (waiting briefly if another writer holds it) and load every pending record."""
    from pathlib import Path

    wh = open_warehouse(warehouse_url, wait_seconds=lock_wait_seconds)
    try:
        return load_inbox(Inbox(Path(inbox_dir), Path(archive_dir)), wh)
    finally:
        wh.close()


def publish_load_table(result: LoadResult, inbox_dir: str, archive_dir: str) -> str:
    """The run's table artifact: departments loaded with their warnings, failures, rejections since the last run.
    Called in the flow itself, not as a task: the artifact belongs to the flow run."""
    from pathlib import Path

    from prefect.artifacts import create_table_artifact

    rejected = Inbox(Path(inbox_dir), Path(archive_dir)).rejected_unreported()
    description = load_description(result.records, result.failed, rejected)
    create_table_artifact(
        load_table(result.records, result.failed, rejected),
        key=artifact_key("ingest"),
        description=description,
    )
    return description


@flow(name="ingest", log_prints=True, timeout_seconds=30 * 60)
def ingest(lock_wait_seconds: float = 10) -> dict:
    """Load accepted submissions waiting in the inbox into the warehouse; each attempt waits up to
    lock_wait_seconds for another writer to let go of it, then the task retries after 2, 10 and 30 s."""
    s = load_settings()
    result = load_pending(s.warehouse_url, str(s.inbox_path), str(s.archive_path), lock_wait_seconds)
    add_run_tags(
        [t for r in result.records for t in run_tags(r.get("council") or s.council, r.get("period"))]
    )
    publish_load_table(result, str(s.inbox_path), str(s.archive_path))
    return {"loaded": result.loaded, "already": result.already, "failed": result.failed}
