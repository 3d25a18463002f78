"""The quarter's admin endpoints (corporate performance's key only): the register, deadlines, the submissions on
file, returning a plan, and reminders. Shells over actionplan.register, warehouse.history and actionplan.remind.

| endpoint                                          | does                                                     |
|---------------------------------------------------|----------------------------------------------------------|
| GET  /api/departments, POST /api/departments      | the register; add a department {name, contacts}          |
| GET  /api/deadlines,   POST /api/deadlines        | the deadlines; set one {period, date: dd/mm/yyyy}        |
| GET  /api/admin/submissions?period=&department=   | every submission on file, newest first                   |
| GET  /api/admin/submissions/{id}                  | one: who, when, channel, outcome, warnings, return       |
| GET  /api/admin/submissions/{id}/workbook         | the workbook as received (.xlsx rebuilt for the add-in)  |
| POST /api/admin/submissions/{id}/return           | return it with {comment}                                 |
| POST /api/admin/remind?period=&dry_run=           | email the departments owing the period's plan            |
"""

import datetime as dt
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Body, FastAPI, HTTPException, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from actionplan.register import Register, day_from_text
from actionplan.settings import Settings
from actionplan.vocabulary import period_label

from .auth import Admin
from .service import XLSX

TYPES = {".xlsx": XLSX, ".xlsm": "application/vnd.ms-excel.sheet.macroEnabled.12"}


def _department(d) -> dict[str, Any]:
    return {
        "name": d.name,
        "contacts": d.contacts,
        "added": d.added,
        "retired": d.retired,
        "former_names": d.former_names,
    }


def _required_period(text: str) -> str:
    """The period an endpoint needs; a blank one is a 400 with an example, as a wrong one is."""
    label = period_label(text)
    if label is None:
        raise HTTPException(400, 'No period given. Send one such as "2024/25 Q2".')
    return label


def add_quarter_routes(app: FastAPI, settings: Settings, inbox, tokens: Any = None) -> None:
    """Add the endpoints to the service, given its settings, its inbox (a function returning it) and its access
    keys (which also accept Microsoft 365 sign-in when the council set it up); every endpoint needs the admin key.

    Added to the app itself rather than included as a router: FastAPI 0.154 includes routers lazily, and the
    service's tests walk app.routes to check every endpoint is in the access matrix."""
    from actionplan.warehouse.history import (
        UnknownSubmission,
        return_submission,
        submission_on_file,
        submissions_on_file,
        workbook_of,
    )

    router = app
    register = Register.for_settings(settings)
    if tokens is not None:
        from .entra import EntraSignIn

        tokens.sso = EntraSignIn.from_settings(settings)

    @router.get("/api/departments")
    def departments(token: Admin):
        return {
            "registered": not register.is_empty(),
            "departments": [_department(d) for d in register.departments(retired=True)],
        }

    @router.post("/api/departments")
    def add_department(
        token: Admin,
        name: Annotated[str, Body(embed=True)],
        contacts: Annotated[list[str], Body(embed=True)] = [],  # noqa: B006 (FastAPI copies it)
    ):
        dept, new = register.add(name, contacts)
        return {"department": _department(dept), "new": new}

    @router.get("/api/deadlines")
    def deadlines(token: Admin):
        return {"deadlines": {p: d.isoformat() for p, d in register.deadlines().items()}}

    @router.post("/api/deadlines")
    def set_deadline(
        token: Admin, period: Annotated[str, Body(embed=True)], date: Annotated[str, Body(embed=True)]
    ):
        label, day = _required_period(period), day_from_text(date, "date")
        register.set_deadline(label, day)
        return {"period": label, "deadline": day.isoformat()}

    @router.get("/api/admin/submissions")
    def submissions(
        token: Admin,
        period: Annotated[str | None, Query()] = None,
        department: Annotated[str | None, Query()] = None,
    ):
        found = submissions_on_file(
            inbox(), register, settings.council, period=period_label(period), department=department
        )
        return {"submissions": [e.public() for e in found]}

    def on_file(sid: str):
        try:
            return submission_on_file(inbox(), register, settings.council, sid)
        except UnknownSubmission as exc:
            raise HTTPException(404, str(exc)) from None

    @router.get("/api/admin/submissions/{sid}")
    def submission(token: Admin, sid: str):
        return on_file(sid).public()

    @router.get("/api/admin/submissions/{sid}/workbook")
    def workbook(token: Admin, sid: str):
        entry = on_file(sid)
        data, name = workbook_of(inbox(), entry)
        suffix = name[name.rfind(".") :]
        return Response(
            data,
            media_type=TYPES.get(suffix, XLSX),
            headers={
                "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
                "Cache-Control": "no-store",
            },
        )

    @router.post("/api/admin/submissions/{sid}/return")
    def return_plan(token: Admin, sid: str, comment: Annotated[str, Body(embed=True)]):
        on_file(sid)  # 404 when there is no such submission
        entry, ret = return_submission(
            inbox(), register, settings.council, sid, comment, by=token.who, now=dt.datetime.now(dt.UTC)
        )
        return {
            "submission": entry.public(),
            "department": entry.department,
            "period": entry.period,
            "comment": ret.comment,
        }

    @router.post("/api/admin/remind")
    async def remind(token: Admin, period: Annotated[str, Query()], dry_run: Annotated[bool, Query()] = True):
        from actionplan.remind import remind_period

        result = await run_in_threadpool(remind_period, settings, _required_period(period), dry_run=dry_run)
        return {**result.as_dict(), "dry_run": dry_run}


def sso_manifest(settings: Settings) -> str:
    """The manifest's WebApplicationInfo for Microsoft 365 sign-in (Office SSO), or nothing without Entra ID."""
    if not settings.entra_tenant or not settings.entra_client_id:
        return ""
    from urllib.parse import urlsplit
    from xml.sax.saxutils import escape

    host = urlsplit(settings.service_url).netloc
    client = escape(settings.entra_client_id)
    return (
        f"\n    <WebApplicationInfo>\n      <Id>{client}</Id>\n      <Resource>api://{escape(host)}/{client}</Resource>"
        "\n      <Scopes>\n        <Scope>openid</Scope>\n        <Scope>profile</Scope>\n      </Scopes>"
        "\n    </WebApplicationInfo>"
    )
