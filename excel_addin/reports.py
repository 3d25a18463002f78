"""The committee report download: GET /report/latest.docx, the council's for admins, a department's own for its key.

The report is written on request from the warehouse, read-only (the service never writes it), with the same facts
the rollup has. When the warehouse is busy with a load, the council's report published beside the rollup
(`actionplan report`, `actionplan demo`) is sent instead, if there is one.
"""

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import Response

from actionplan.settings import Settings

from . import council
from .auth import SignedIn

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
REPORT_PATH = "/report/latest.docx"


def report_link(settings: Settings, period: str) -> str:
    """The address of a period's committee report on this service (what the add-in's rollup answer mentions)."""
    from urllib.parse import quote

    return f"{settings.service_url.rstrip('/')}{REPORT_PATH}?period={quote(period)}"


def report_bytes(settings: Settings, period: str | None, department: str | None) -> tuple[str, bytes]:
    """The period (latest on record when not given) and its committee report as .docx bytes (department's own)."""
    from actionplan.report import report_file

    wh, why = council.open_read_only(settings)
    if wh is None:
        label = period or _latest_published(settings)
        published = report_file(council.rollup_file(settings, label), department)
        if published.exists():
            return label, published.read_bytes()
        raise HTTPException(
            503,
            f"The committee report cannot be written just now ({why}). Try again in a "
            "minute; corporate performance can also publish it with `actionplan report`.",
        )
    try:
        from actionplan.warehouse.consolidate import report_from_warehouse

        on_record = wh.periods(settings.council)
        label = period or (on_record[-1] if on_record else None)
        if label is None:
            raise HTTPException(
                404, "No department has submitted a plan yet, so there is no committee report."
            )
        with tempfile.TemporaryDirectory(prefix="actionplan-report-") as scratch:
            out = report_from_warehouse(
                wh,
                label,
                Path(scratch, "report.docx"),
                council=settings.council,
                department=department,
                template=Path(settings.report_template) if settings.report_template else None,
                tolerance=settings.tolerance,
            )
            return label, out.read_bytes()
    finally:
        wh.close()


def _latest_published(settings: Settings) -> str:
    """council.latest_published, said as a 404 about the report (the warehouse being unreadable is why we ask)."""
    try:
        return council.latest_published(settings)
    except council.NoRollupYet:
        raise HTTPException(
            404,
            "No committee report has been published yet, and the warehouse cannot be read "
            "just now. Try again in a minute.",
        ) from None


def add_report_routes(app: FastAPI, settings: Settings) -> None:
    """Add the report routes for these settings to the app, signed in with the service's own key check (auth.py)."""
    # Added to the app itself, not as an included APIRouter: this FastAPI keeps an included router as one
    # opaque entry of app.routes, and the access-matrix test reads every route's path from there.

    @app.get(REPORT_PATH)
    def report_download(
        token: SignedIn,
        period: Annotated[str | None, Query(description="e.g. 2024/25 Q2, or 2024/25")] = None,
        department: Annotated[str | None, Query(description="admins: one department's")] = None,
    ):
        label = council.period_label(period)
        if token.department:
            if department and department.strip().casefold() != token.department.casefold():
                raise HTTPException(
                    403,
                    f"This key is {token.department}'s: it can download only "
                    f"{token.department}'s own report.",
                )
            department = token.department
        label, data = report_bytes(settings, label, department)
        safe = label.replace("/", "-").replace(" ", "-")
        whose = (
            "".join(c if c.isalnum() else "-" for c in department).strip("-").lower() if department else ""
        )
        name = f"committee-report-{safe}{'-' + whose if whose else ''}.docx"
        return Response(
            data,
            media_type=DOCX,
            headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
        )
