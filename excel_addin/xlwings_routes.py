"""The Excel add-in's xlwings endpoints: check, submit and the council rollup, answered as xlwings actions."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from actionplan.check import check_xlwings
from actionplan.errors import ActionplanError
from actionplan.read import book_from_xlwings
from actionplan.vocabulary import period_from_text

from . import council, xlbook
from .auth import Limited
from .limits import PayloadTooLarge, payload_from_body
from .reports import report_link
from .service import Period, Service, Svc
from .tokens import Token


def add_xlwings_routes(app: FastAPI) -> None:
    """Add POST /xlwings/check, /xlwings/submit and /xlwings/rollup to the app (its Service in app.state)."""

    @app.post("/xlwings/check")
    async def xlwings_check(request: Request, svc: Svc, token: Limited, period: Period = None):
        payload = await xlwings_json(request)
        return await run_in_threadpool(report, svc, payload, token, council.period_label(period), False)

    @app.post("/xlwings/submit")
    async def xlwings_submit(request: Request, svc: Svc, token: Limited, period: Period = None):
        payload = await xlwings_json(request)
        return await run_in_threadpool(report, svc, payload, token, council.period_label(period), True)

    @app.post("/xlwings/rollup")
    async def xlwings_rollup(request: Request, svc: Svc, token: Limited, period: Period = None):
        payload = await xlwings_json(request)
        return await run_in_threadpool(rollup, svc, payload, token, council.period_label(period))


async def xlwings_json(request: Request) -> dict[str, Any]:
    """The request's xlwings payload; 400 when it is not one, 413 when it is too large."""
    body = await request.body()
    try:  # in a worker thread: parsing megabytes of JSON must not stall every other request
        return await run_in_threadpool(payload_from_body, body)
    except xlbook.BadPayload as exc:
        raise HTTPException(400, str(exc)) from None
    except PayloadTooLarge as exc:
        raise HTTPException(413, str(exc)) from None


def report(
    svc: Service, payload: dict[str, Any], token: Token, period: str | None, store: bool
) -> dict[str, Any]:
    """Check (and with store, submit) the workbook in payload; the report written into it as xlwings actions."""
    settings = svc.settings
    plan = xlbook.plan_payload(payload)
    if (ask := xlbook.styles_request(plan, settings)) is not None:
        return ask  # the layout reads cell colours or bold: the add-in sends the workbook again with them
    with svc.checking:
        sub = check_xlwings(plan, period=period, expected_department=token.department, settings=settings)
    if store:
        # The same workbook content twice is one submission: hash the sheets, not the request.
        data = json.dumps(
            plan["sheets"], sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
        ).encode("utf-8")
        found = svc.inbox().submit(
            sub, data, submitted_by=token.who, ext="json", channel="xlwings", council=settings.council
        )
    else:
        found = sub.report()
    return xlbook.report_actions(payload, found, stored=store, now=svc.local_now())


def rollup(svc: Service, payload: dict[str, Any], token: Token, period: str | None) -> dict[str, Any]:
    """The council summary, the exceptions and the key's own actions, as sheets written into the workbook."""
    settings = svc.settings
    try:
        period = period or period_in_workbook(payload) or council.latest_published(settings)
        tables = council.council_tables(settings, period)
    except council.NoRollupYet as exc:
        return xlbook.alert_actions(payload, str(exc))
    own = council.own_rows(tables.actions, token.department)
    # Other departments' exceptions are their actions too: shown to departments only when the council publishes.
    everyone = token.admin or settings.publish_rollup
    exceptions = tables.exceptions if everyone else council.own_rows(tables.exceptions, token.department)
    whose_exceptions = "Council exceptions" if everyone else f"{token.department}'s exceptions"
    actions_sheet = xlbook.OWN_ACTIONS_SHEET if token.department else xlbook.ALL_ACTIONS_SHEET
    whose = f"{token.department}'s actions" if token.department else "Every department's actions"
    dates = ("Due date", "Revised due date")
    sheets = [
        xlbook.CouncilSheet(
            xlbook.SUMMARY_SHEET,
            f"Council summary, {period} (from {tables.source})",
            tables.summary,
            percent_columns=("% complete", "% on track"),
        ),
        xlbook.CouncilSheet(
            xlbook.EXCEPTIONS_SHEET,
            f"{whose_exceptions}, {period}: red, overdue, or amber/red with no update",
            exceptions,
            date_columns=dates,
        ),
        xlbook.CouncilSheet(actions_sheet, f"{whose}, {period}", own, date_columns=dates),
    ]
    alert = (
        f"Council rollup for {period} written to the sheets '{xlbook.SUMMARY_SHEET}', "
        f"'{xlbook.EXCEPTIONS_SHEET}' and '{actions_sheet}' (from {tables.source}). "
        f"Download the committee report{' for ' + token.department if token.department else ''} from "
        f"the service's page, or from {report_link(settings, period)} with your access key."
    )
    return xlbook.rollup_actions(payload, sheets, alert)


def period_in_workbook(payload: dict[str, Any]) -> str | None:
    """The period named on the workbook's Plan sheet, if any (label in column A, value in column B)."""
    try:
        plan = book_from_xlwings(xlbook.plan_payload(payload)).sheet("Plan")
    except ActionplanError:
        return None
    for row in (plan.rows if plan else [])[:30]:
        if len(row) > 1 and isinstance(row[0], str) and row[0].strip().casefold() == "period":
            parsed = period_from_text(row[1])
            return parsed.label if parsed else None
    return None
