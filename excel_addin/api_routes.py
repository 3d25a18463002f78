"""The upload, status, access-key list and rollup download endpoints (the service's page and scripts use them)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from actionplan.check import check_workbook

from . import council, xlbook
from .auth import Admin, Limited, SignedIn
from .service import XLSX, Period, Service, Svc
from .tokens import Token


def add_api_routes(app: FastAPI) -> None:
    """Add POST /api/submissions, GET /api/status, /api/tokens and /rollup/latest.xlsx to the app."""

    @app.post("/api/submissions")
    async def upload(
        request: Request,
        svc: Svc,
        token: Limited,
        check_only: Annotated[str | None, Query()] = None,
        period: Period = None,
    ):
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            raise HTTPException(
                400, "Send the workbook as a multipart/form-data upload in a field named 'file'."
            )
        try:
            form = await request.form(max_files=1, max_fields=10)
        except Exception:
            raise HTTPException(
                400, "The upload could not be read as a form with one file in a field named 'file'."
            ) from None
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise HTTPException(400, "No workbook was uploaded: send it in a field named 'file'.")
        data = await upload.read()
        name = Path(upload.filename or "workbook.xlsx").name or "workbook.xlsx"
        flag = check_only if check_only is not None else form.get("check_only")
        only = str(flag or "").strip().lower() in ("1", "true", "yes", "on")
        chosen = period if period is not None else form.get("period")
        return await run_in_threadpool(
            uploaded,
            svc,
            data,
            name,
            token,
            council.period_label(chosen if isinstance(chosen, str) else None),
            only,
        )

    @app.get("/api/status")
    def status(svc: Svc, token: SignedIn, period: Period = None):
        # Any valid key sees every department: who has reported is what committee papers publish anyway,
        # and it lets departments see the council's progress (documented in README.md).
        settings = svc.settings
        result = council.status_for_period(
            settings, svc.records, council.period_label(period), svc.tokens.departments()
        )
        body = result.as_dict()
        body["you"] = {"department": token.department, "admin": token.admin, "key_id": token.id}
        body["rollup_published"] = council.rollup_file(settings, result.period).exists()
        body["rollup_download_allowed"] = bool(
            token.admin or settings.publish_rollup
        )  # the page may grey the button
        return body

    @app.get("/api/tokens")
    def token_list(svc: Svc, token: Admin):
        return {"tokens": [t.public() for t in svc.tokens.all()]}

    @app.get("/rollup/latest.xlsx")
    def rollup_download(svc: Svc, token: SignedIn, period: Period = None):
        settings = svc.settings
        if not (token.admin or settings.publish_rollup):
            raise HTTPException(
                403,
                "The full council rollup goes to corporate performance until the committee "
                "has seen it. Press Get council rollup in the actionplan pane for the council "
                "summary and your department's own rows.",
            )
        try:
            label = council.period_label(period) or council.latest_published(settings)
        except council.NoRollupYet as exc:
            raise HTTPException(404, str(exc)) from None
        path = council.rollup_file(settings, label)
        try:
            data = (
                path.read_bytes()
            )  # one read: a rollup republished meanwhile is never sent half old, half new
        except FileNotFoundError:
            raise HTTPException(
                404,
                f"No council rollup has been published for {label} yet. Corporate "
                "performance publishes it with `actionplan consolidate`.",
            ) from None
        safe = label.replace("/", "-").replace(" ", "-")
        return Response(
            data,
            media_type=XLSX,
            headers={
                "Content-Disposition": f'attachment; filename="council-rollup-{safe}.xlsx"',
                "Cache-Control": "no-store",
            },
        )


def uploaded(
    svc: Service, data: bytes, name: str, token: Token, period: str | None, check_only: bool
) -> dict[str, Any]:
    """Check (unless check_only, also submit) an uploaded workbook; its report with the outcome in words."""
    with svc.checking:
        sub = check_workbook(
            data, name, period=period, expected_department=token.department, settings=svc.settings
        )
    if check_only:
        report = sub.report()
    else:
        ext = "xlsm" if name.lower().endswith(".xlsm") else "xlsx"
        report = svc.inbox().submit(
            sub, data, submitted_by=token.who, ext=ext, channel="upload", council=svc.settings.council
        )
    outcome = xlbook.outcome_of(report, stored=not check_only, in_excel=False)
    return {
        **report,
        "stored": bool(not check_only and report["accepted"] and report.get("new")),
        "outcome": outcome.title,
        "message": outcome.alert,
    }
