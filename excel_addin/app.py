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

import datetime as dt
import gc
import json
import logging
import math
import secrets
import string
import urllib.parse
import xml.sax.saxutils
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from actionplan.check import check_workbook, check_xlwings
from actionplan.errors import ActionplanError
from actionplan.read import book_from_xlwings
from actionplan.settings import Settings, load_settings
from actionplan.vocabulary import period_from_text
from actionplan.warehouse.inbox import Inbox

from . import council, xlbook
from .audit import AUDITED, Refusals
from .gate import FairSlots, KeysUnavailable, RequestGate
from .icons import KINDS, SIZES, icon_png
from .limits import BURST, REQUESTS_PER_MINUTE, PayloadTooLarge, RateLimit, payload_from_body
from .quarter import add_quarter_routes, sso_manifest
from .reports import add_report_routes, report_link
from .tokens import Token, TokenStore, token_from_header

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
log = logging.getLogger("actionplan.service")


def _warm(settings: Settings) -> None:
    """Pay the one-off costs (Great Expectations, xlwings, Prefect's import for rollup paths) before the first user."""
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
                    [
                        "Ref",
                        "Objective",
                        "Theme",
                        "Action",
                        "Lead officer",
                        "Due date",
                        "Revised due date",
                        "Status",
                        "Progress update",
                    ],
                    ["W1", "o", "t", "Warm up", "Someone", "31/07/2024", "", "G", "ok"],
                ],
            },
        ],
    }
    check_xlwings(payload, settings=settings)
    xlbook.warm()


def create_app(settings: Settings | None = None, *, warm: bool = True) -> FastAPI:
    """The service for these settings (read from the environment when not given)."""
    from actionplan.read import assert_safe_xml

    assert_safe_xml()  # workbooks are parsed by openpyxl only through defusedxml
    settings = settings or load_settings()
    tokens = TokenStore.for_home(settings.home_path, settings.council)
    records = council.InboxRecords()
    # Two checks at a time, taken in turn, and the gate lets each key one request at a time: a department's short
    # check runs beside another's 30,000-row one instead of waiting for it to end (under the GIL the two share the
    # processor; neither finishes later in total). With ACTIONPLAN_VALIDATOR=gx one at a time: the shared Great
    # Expectations runner is not documented as thread-safe. Storing (file I/O) is outside.
    checking = FairSlots(1 if settings.validator == "gx" else 2)
    inbox_holder: dict[str, Inbox] = {}
    try:
        zone: dt.tzinfo | None = ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):  # no tz database: the machine's own clock time
        zone = None

    def local_now() -> dt.datetime:
        """Now in the council's time zone (the timezone setting), as reports print it."""
        return dt.datetime.now(zone) if zone else dt.datetime.now()

    def inbox() -> Inbox:
        if "inbox" not in inbox_holder:
            inbox_holder["inbox"] = Inbox(settings.inbox_path, settings.archive_path)
        return inbox_holder["inbox"]

    # Every attempt is audited: submissions by the inbox, refusals (401, 403, 413, 400, 429) and 500s here.
    refusals = Refusals(lambda entry: inbox().audit(entry))
    # Per access key, on the endpoints that run a check or build sheets (constants in limits.py, not settings).
    rate = RateLimit(per_minute=REQUESTS_PER_MINUTE, burst=BURST)

    def audit_refusal(headers: Any, path: str, method: str, client: Any, status: int, reason: str) -> None:
        if status not in AUDITED:
            return
        host = client[0] if client else None
        try:
            token = tokens.sender(token_from_header(headers.get("authorization")))
            if token is not None:
                who = token.who + (" (revoked key)" if token.revoked else "")
                caller, department = token.id, token.department
            else:
                who = "no key" if not headers.get("authorization") else "an unrecognised key"
                caller, department = f"{who} from {host}", None
            refusals.record(
                caller=caller,
                who=who,
                path=path,
                method=method,
                status=status,
                reason=str(reason),
                department=department,
                client=host,
            )
        except Exception:  # the audit must never turn a refusal into a server error
            log.warning("could not audit a refused %s %s", method, path, exc_info=True)

    def audit_request(request: Request, status: int, reason: str) -> None:
        audit_refusal(request.headers, request.url.path, request.method, request.client, status, reason)

    def audit_scope(scope: dict, status: int, reason: str) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        audit_refusal(
            headers, scope.get("path", ""), scope.get("method", ""), scope.get("client"), status, reason
        )

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
        refusals.flush()

    app = FastAPI(
        title="actionplan", version="1", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.settings = settings
    app.state.tokens = tokens

    # -- errors: always JSON {"detail": ...}, never a traceback ------------------------------------------------
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        audit_request(request, exc.status_code, exc.detail)
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
        audit_request(request, 400, detail)
        return JSONResponse({"detail": detail}, status_code=400)

    @app.exception_handler(ActionplanError)
    async def user_error(request: Request, exc: ActionplanError):
        audit_request(request, 400, str(exc))
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        ref = secrets.token_hex(4)
        log.exception("unexpected error %s on %s %s", ref, request.method, request.url.path)
        audit_request(request, 500, f"unexpected error, reference {ref} (traceback in the server log)")
        return JSONResponse(
            {
                "detail": f"Something went wrong on the server (reference {ref}). Try again; if it "
                "happens again, tell corporate performance the reference."
            },
            status_code=500,
        )

    def key_of(headers: dict[str, str]) -> tuple[str | None, str]:
        try:
            token, why = tokens.verify(token_from_header(headers.get("authorization")))
        except ActionplanError as exc:  # tokens.json damaged: the service's fault, not the user's
            log.error("%s", exc)
            raise KeysUnavailable(
                "Access keys cannot be checked just now. Tell corporate performance."
            ) from None
        return (token.id if token else None), why

    # Key, size and a fair turn before any body is read (gate.py); the endpoints check the key again for its rights.
    app.add_middleware(
        RequestGate,
        max_bytes=int(settings.max_upload_mb * 1024 * 1024),
        authenticate=key_of,
        on_refuse=audit_scope,
    )

    # -- auth -----------------------------------------------------------------------------------------------------
    def signed_in(request: Request) -> Token:
        try:
            token, why = tokens.verify(token_from_header(request.headers.get("authorization")))
        except ActionplanError as exc:  # tokens.json damaged: the service's fault, not the user's
            log.error("%s", exc)
            raise HTTPException(
                503, "Access keys cannot be checked just now. Tell corporate performance."
            ) from None
        if token is None:
            raise HTTPException(401, why, headers={"WWW-Authenticate": "Bearer"})
        return token

    SignedIn = Annotated[Token, Depends(signed_in)]

    def admin_only(token: SignedIn) -> Token:
        if not token.admin:
            raise HTTPException(
                403, "This needs corporate performance's (admin) access key; a department's key cannot do it."
            )
        return token

    Admin = Annotated[Token, Depends(admin_only)]
    # The quarter's admin endpoints: register, deadlines, submissions on file, returns, reminders (quarter.py).
    add_quarter_routes(app, settings, inbox, admin_only, tokens)

    def within_rate(token: SignedIn) -> Token:
        wait = rate.take(token.id)
        if wait:
            seconds = max(1, math.ceil(wait))
            raise HTTPException(
                429,
                f"Too many requests with this access key: at most {BURST} at once and "
                f"{REQUESTS_PER_MINUTE} a minute. Try again in {seconds} second"
                f"{'s' if seconds > 1 else ''}.",
                headers={"Retry-After": str(seconds)},
            )
        return token

    Limited = Annotated[Token, Depends(within_rate)]
    # The committee report download (admins: the council's; departments: their own).
    add_report_routes(app, settings, signed_in)
    Period = Annotated[str | None, Query(description="reporting period, e.g. 2024/25 Q2")]

    # -- request bodies ---------------------------------------------------------------------------------------------
    async def xlwings_json(request: Request) -> dict[str, Any]:
        body = await request.body()
        try:  # in a worker thread: parsing megabytes of JSON must not stall every other request
            return await run_in_threadpool(payload_from_body, body)
        except xlbook.BadPayload as exc:
            raise HTTPException(400, str(exc)) from None
        except PayloadTooLarge as exc:
            raise HTTPException(413, str(exc)) from None

    # -- xlwings endpoints (Excel add-in) ---------------------------------------------------------------------------
    def _xlwings_report(
        payload: dict[str, Any], token: Token, period: str | None, store: bool
    ) -> dict[str, Any]:
        plan = xlbook.plan_payload(payload)
        if (ask := xlbook.styles_request(plan, settings)) is not None:
            return ask  # the layout reads cell colours or bold: the add-in sends the workbook again with them
        with checking:
            sub = check_xlwings(plan, period=period, expected_department=token.department, settings=settings)
        if store:
            # The same workbook content twice is one submission: hash the sheets, not the request.
            data = json.dumps(
                plan["sheets"], sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
            ).encode("utf-8")
            report = inbox().submit(
                sub, data, submitted_by=token.who, ext="json", channel="xlwings", council=settings.council
            )
        else:
            report = sub.report()
        return xlbook.report_actions(payload, report, stored=store, now=local_now())

    @app.post("/xlwings/check")
    async def xlwings_check(request: Request, token: Limited, period: Period = None):
        payload = await xlwings_json(request)
        return await run_in_threadpool(_xlwings_report, payload, token, council.period_label(period), False)

    @app.post("/xlwings/submit")
    async def xlwings_submit(request: Request, token: Limited, period: Period = None):
        payload = await xlwings_json(request)
        return await run_in_threadpool(_xlwings_report, payload, token, council.period_label(period), True)

    def _xlwings_rollup(payload: dict[str, Any], token: Token, period: str | None) -> dict[str, Any]:
        try:
            period = period or _period_in_workbook(payload) or _latest_published(settings)
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

    @app.post("/xlwings/rollup")
    async def xlwings_rollup(request: Request, token: Limited, period: Period = None):
        payload = await xlwings_json(request)
        return await run_in_threadpool(_xlwings_rollup, payload, token, council.period_label(period))

    # -- upload, status, rollup download ------------------------------------------------------------------------------
    def _upload(data: bytes, name: str, token: Token, period: str | None, check_only: bool) -> dict[str, Any]:
        with checking:
            sub = check_workbook(
                data, name, period=period, expected_department=token.department, settings=settings
            )
        if check_only:
            report = sub.report()
        else:
            ext = "xlsm" if name.lower().endswith(".xlsm") else "xlsx"
            report = inbox().submit(
                sub, data, submitted_by=token.who, ext=ext, channel="upload", council=settings.council
            )
        outcome = xlbook.outcome_of(report, stored=not check_only, in_excel=False)
        return {
            **report,
            "stored": bool(not check_only and report["accepted"] and report.get("new")),
            "outcome": outcome.title,
            "message": outcome.alert,
        }

    @app.post("/api/submissions")
    async def upload(
        request: Request,
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
            _upload,
            data,
            name,
            token,
            council.period_label(chosen if isinstance(chosen, str) else None),
            only,
        )

    @app.get("/api/status")
    def status(token: SignedIn, period: Period = None):
        # Any valid key sees every department: who has reported is what committee papers publish anyway,
        # and it lets departments see the council's progress (documented in README.md).
        result = council.status_for_period(
            settings, records, council.period_label(period), tokens.departments()
        )
        body = result.as_dict()
        body["you"] = {"department": token.department, "admin": token.admin, "key_id": token.id}
        body["rollup_published"] = council.rollup_file(settings, result.period).exists()
        body["rollup_download_allowed"] = bool(
            token.admin or settings.publish_rollup
        )  # the page may grey the button
        return body

    @app.get("/api/tokens")
    def token_list(token: Admin):
        return {"tokens": [t.public() for t in tokens.all()]}

    @app.get("/rollup/latest.xlsx")
    def rollup_download(token: SignedIn, period: Period = None):
        if not (token.admin or settings.publish_rollup):
            raise HTTPException(
                403,
                "The full council rollup goes to corporate performance until the committee "
                "has seen it. Press Get council rollup in the actionplan pane for the council "
                "summary and your department's own rows.",
            )
        try:
            label = council.period_label(period) or _latest_published(settings)
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

    # -- pages, add-in files, health ----------------------------------------------------------------------------------
    @app.get("/healthz")
    async def healthz():  # on the event loop, not a worker thread: it answers however busy the checks are
        return {"status": "ok"}

    @app.get("/", include_in_schema=False)
    def home():
        return FileResponse(
            STATIC / "index.html",
            media_type="text/html",
            headers={
                "Cache-Control": "no-cache",
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
                # The page uses only its own files; workbook text is shown with textContent, and this is the backstop.
                "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; "
                "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
            },
        )

    manifest = string.Template((HERE / "manifest.xml").read_text(encoding="utf-8"))

    @app.get("/manifest.xml", include_in_schema=False)
    def manifest_xml():
        base = settings.service_url.rstrip("/")
        # An AppDomain is an origin only (scheme, host, port): Microsoft's manifest rules allow no path there.
        origin = "{0.scheme}://{0.netloc}".format(urllib.parse.urlsplit(base))
        escape = {'"': "&quot;"}
        return Response(
            manifest.substitute(
                base=xml.sax.saxutils.escape(base, escape),
                origin=xml.sax.saxutils.escape(origin, escape),
                sso=sso_manifest(settings),
            ),
            media_type="application/xml",
            headers={"Cache-Control": "no-cache"},
        )

    @app.get("/icons/{name}.png", include_in_schema=False)
    def icon(name: str):
        kind, _, size = name.rpartition("-")
        if kind not in KINDS or not size.isdigit() or int(size) not in SIZES:
            raise HTTPException(404, "No such icon.")
        return Response(
            icon_png(kind, int(size)),
            media_type="image/png",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    # Great Expectations Data Docs, for admins (its own module: datadocs.py).
    from .datadocs import add_data_docs_routes

    add_data_docs_routes(app, settings, tokens)

    app.mount("/static", _Revalidated(directory=STATIC), name="static")
    return app


class _Revalidated(StaticFiles):
    """The add-in's files, revalidated on every load (ETag), so Office never keeps an old client after an upgrade."""

    async def get_response(self, path: str, scope):
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = "no-cache"
        return response


def _period_in_workbook(payload: dict[str, Any]) -> str | None:
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


def _latest_published(settings: Settings) -> str:
    """The latest period with a published rollup; NoRollupYet when none has been published at all."""
    published = council.published_periods(settings)
    if not published:
        raise council.NoRollupYet(
            "No council rollup has been published yet. Corporate performance publishes it "
            "with `actionplan consolidate` once departments have submitted."
        )
    return published[-1]


__all__ = ["create_app"]
