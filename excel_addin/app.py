"""The web service: the Excel add-in's xlwings endpoints, the upload page, status, the rollup download, auth.

Endpoints are shells: read the request, call one function of the core, the inbox or `council`, and turn what
goes wrong into a JSON {"detail": "..."} a council officer can act on. A user never sees a traceback.
Access rules (see README.md beside this file):

| endpoint                         | no/wrong/revoked key | department key             | admin key        |
|----------------------------------|----------------------|----------------------------|------------------|
| GET /healthz, /, /static, icons, /manifest.xml | 200    | 200                        | 200              |
| POST /xlwings/check, /xlwings/submit, /api/submissions | 401 | 200, own department only | 200, any department |
| POST /xlwings/rollup             | 401                  | 200: council summary + own exceptions and actions (all exceptions when publish_rollup) | 200: all |
| GET /api/status                  | 401                  | 200 (every department)     | 200              |
| GET /rollup/latest.xlsx          | 401                  | 403 (200 when publish_rollup is on) | 200     |
| GET /report/latest.docx          | 401                  | 200, own department only   | 200, council's or one department's |
| GET /api/tokens                  | 401                  | 403                        | 200              |
| the quarter's (quarter.py): /api/departments, /api/deadlines, /api/admin/… | 401 | 403      | 200              |

Before any request body is read, the gate (gate.py) checks the key and the size and gives the request a fair turn:
one in progress per key, up to 30 waiting, 4 in all. The POST endpoints allow each key 60 requests at once, then 60
a minute (429 with Retry-After beyond either). Every
attempt is audited in <archive>/audit.jsonl: submissions by the inbox, refusals and server errors by `audit.py`.
"""

import gc
import logging
import secrets
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from actionplan.check import check_xlwings
from actionplan.columns import template_headings
from actionplan.errors import ActionplanError
from actionplan.settings import Settings, load_settings

from . import xlbook
from .api_routes import add_api_routes
from .gate import RequestGate
from .pages import add_page_routes, mount_static
from .quarter import add_quarter_routes
from .reports import add_report_routes
from .service import Service, service_of
from .xlwings_routes import add_xlwings_routes

log = logging.getLogger("actionplan.service")


def _warm(settings: Settings) -> None:
    """Pay the one-off costs (Great Expectations, xlwings, Prefect's import for rollup paths) before the first user."""
    row = {"Ref": "W1", "Objective": "o", "Theme": "t", "Action": "Warm up", "Lead officer": "Someone"}
    row |= {"Due date": "31/07/2024", "Status": "G", "Progress update": "ok"}
    headings = template_headings("actions")
    payload = {
        "book": {"name": "warm-up.xlsx"},
        "sheets": [
            {
                "name": "Plan",
                "values": [["Department", "Warm-up"], ["Plan", "Warm-up"], ["Period", "2024/25 Q2"]],
            },
            {
                "name": "Actions",
                "values": [
                    list(headings),
                    [row.get(h, "") for h in headings],
                ],
            },
        ],
    }
    check_xlwings(payload, settings=settings)
    xlbook.warm()


def create_app(settings: Settings | None = None, *, warm: bool = True) -> FastAPI:
    """The service for these settings (read from the environment when not given).

    Its shared state is one Service in app.state; each group of endpoints is added by its own module and takes
    what it needs from there (Added to the app itself, not as included APIRouters: FastAPI 0.154 keeps an
    included router as one opaque entry of app.routes, and the access-matrix test reads every route from there.)"""
    from actionplan.read import assert_safe_xml

    assert_safe_xml()  # workbooks are parsed by openpyxl only through defusedxml
    settings = settings or load_settings()
    svc = Service(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if warm:
            try:
                await run_in_threadpool(_warm, settings)
            except Exception:  # a slower first request is better than no service: say so in the log
                log.warning("warm-up check failed; the first request will be slower", exc_info=True)
            # Take everything loaded so far out of the garbage collector's sight: otherwise its full collections
            # walk every object the service has loaded and add tens of milliseconds to one Submit in ten.
            gc.collect()
            gc.freeze()
        yield
        svc.refusals.flush()

    app = FastAPI(
        title="actionplan", version="1", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.service = svc
    _add_error_handlers(app)
    # Key, size and a fair turn before any body is read (gate.py); the endpoints check the key again for its rights.
    app.add_middleware(
        RequestGate,
        max_bytes=int(settings.max_upload_mb * 1024 * 1024),
        authenticate=svc.key_of,
        on_refuse=svc.audit_scope,
    )
    # The quarter's admin endpoints: register, deadlines, submissions on file, returns, reminders (quarter.py).
    add_quarter_routes(app, settings, svc.inbox, svc.tokens)
    # The committee report download (admins: the council's; departments: their own).
    add_report_routes(app, settings)
    add_xlwings_routes(app)
    add_api_routes(app)
    add_page_routes(app)
    # Great Expectations Data Docs, for admins (its own module: datadocs.py).
    from .datadocs import add_data_docs_routes

    add_data_docs_routes(app, settings)
    mount_static(app)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    """Errors are always JSON {"detail": ...} a council officer can act on, never a traceback; refusals audited."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        service_of(request).audit_request(request, exc.status_code, exc.detail)
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'request'}: {e.get('msg')}"
            for e in exc.errors()
        )
        detail = f"The request is not valid: {problems}."
        service_of(request).audit_request(request, 400, detail)
        return JSONResponse({"detail": detail}, status_code=400)

    @app.exception_handler(ActionplanError)
    async def user_error(request: Request, exc: ActionplanError):
        service_of(request).audit_request(request, 400, str(exc))
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        ref = secrets.token_hex(4)
        log.exception("unexpected error %s on %s %s", ref, request.method, request.url.path)
        service_of(request).audit_request(
            request, 500, f"unexpected error, reference {ref} (traceback in the server log)"
        )
        return JSONResponse(
            {
                "detail": f"Something went wrong on the server (reference {ref}). Try again; if it "
                "happens again, tell corporate performance the reference."
            },
            status_code=500,
        )


__all__ = ["create_app"]
