"""Deployments of the flows: ingest every few minutes, consolidate on the council's schedule, one at a time."""

from __future__ import annotations

from uuid import UUID

from prefect.client.schemas.schedules import CronSchedule
from prefect.deployments.runner import EntrypointType

from actionplan.councils import DEFAULT_COUNCIL, council_slug
from actionplan.settings import Settings, load_settings

from .consolidate import consolidate
from .ingest import ingest

DEFAULT_POOL = "actionplan"


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def consolidate_name(council: str) -> str:
    """The consolidate deployment of a council: `consolidate`, or `consolidate-sheffield` when councils share a
    Prefect server (each council deploys its own, scheduled for it; ingest is one for all)."""
    return "consolidate" if council == DEFAULT_COUNCIL else f"consolidate-{council_slug(council)}"


def deployments(settings: Settings | None = None, work_pool: str | None = None) -> list:
    """The RunnerDeployments to serve locally (`actionplan deploy --serve`) or register with a work pool."""
    s = settings or load_settings()
    # The council is a parameter, not the worker's setting: one pool of workers serves every council.
    council = {"parameters": {"council": s.council}}
    # Entrypoints by module path (actionplan.flows.ingest.ingest): a worker imports the installed package, wherever it runs.
    extra = {"work_pool_name": work_pool, "entrypoint_type": EntrypointType.MODULE_PATH} if work_pool else {}
    # DuckDB has one writer, so ingest runs take turns; on PostgreSQL they may overlap (each submission still
    # loads once). Consolidation always runs alone: two runs would write the same workbook.
    ingest_limit = None if is_postgres(s.warehouse_url) else 1
    return [
        ingest.to_deployment(
            name="ingest",
            cron="*/10 * * * *",
            concurrency_limit=ingest_limit,
            description="Load accepted submissions from the inbox into the warehouse.",
            **extra,
        ),
        consolidate.to_deployment(
            name=consolidate_name(s.council),
            schedule=CronSchedule(cron=s.schedule, timezone=s.timezone),
            concurrency_limit=1,
            description="Rebuild the council rollup workbook for the latest period.",
            **council,
            **extra,
        ),
    ]


def remind_name(council: str) -> str:
    """The remind deployment of a council: `remind`, or `remind-sheffield` when councils share a Prefect server."""
    return "remind" if council == DEFAULT_COUNCIL else f"remind-{council_slug(council)}"


# Reminders go out once a day, in the morning of the council's working day; the flow itself picks the days.
REMIND_CRON = "0 8 * * *"


def remind_deployment(settings: Settings | None = None, work_pool: str | None = None):
    """The remind deployment: daily, emailing departments that owe a plan ACTIONPLAN_REMIND_DAYS before a deadline."""
    from .remind import remind

    s = settings or load_settings()
    extra = {"work_pool_name": work_pool, "entrypoint_type": EntrypointType.MODULE_PATH} if work_pool else {}
    return remind.to_deployment(
        name=remind_name(s.council),
        schedule=CronSchedule(cron=REMIND_CRON, timezone=s.timezone),
        concurrency_limit=1,
        parameters={"council": s.council},
        description=f"Email departments owing a plan {s.remind_days} days before each deadline.",
        **extra,
    )


def all_deployments(settings: Settings | None = None, work_pool: str | None = None) -> list:
    """Every deployment: ingest, consolidate and remind."""
    return [*deployments(settings, work_pool), remind_deployment(settings, work_pool)]


def ensure_work_pool(name: str) -> bool:
    """Create the work pool as a process pool unless it exists; True when it was created."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound
    from prefect.workers.process import ProcessWorker

    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(name)
            return False
        except ObjectNotFound:
            client.create_work_pool(
                WorkPoolCreate(
                    name=name,
                    type=ProcessWorker.type,
                    base_job_template=ProcessWorker.get_default_base_job_template(),
                )
            )
            return True


def register(work_pool: str = DEFAULT_POOL, settings: Settings | None = None) -> dict[str, UUID]:
    """Register ingest, consolidate and remind with the Prefect server at PREFECT_API_URL, run by the pool's workers."""
    ensure_work_pool(work_pool)
    return {
        f"{d.flow_name}/{d.name}": d.apply(work_pool_name=work_pool)
        for d in all_deployments(settings, work_pool)
    }
