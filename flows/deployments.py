"""Deployments of the flows: ingest every few minutes, consolidate on the council's schedule, one at a time."""

from __future__ import annotations

from prefect.client.schemas.schedules import CronSchedule

from actionplan.settings import Settings, load_settings

from .consolidate import consolidate
from .ingest import ingest


def deployments(settings: Settings | None = None, work_pool: str | None = None) -> list:
    """The RunnerDeployments to serve locally (`actionplan deploy --serve`) or register with a work pool."""
    s = settings or load_settings()
    extra = {"work_pool_name": work_pool} if work_pool else {}
    return [
        ingest.to_deployment(name="ingest", cron="*/10 * * * *", concurrency_limit=1,
                             description="Load accepted submissions from the inbox into the warehouse.", **extra),
        consolidate.to_deployment(
            name="consolidate", schedule=CronSchedule(cron=s.schedule, timezone=s.timezone),
            concurrency_limit=1,
            description="Rebuild the council rollup workbook for the latest period.", **extra),
    ]
