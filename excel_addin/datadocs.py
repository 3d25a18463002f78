"""The Great Expectations Data Docs sites the consolidate flow builds, one per council and period, served to admins.

A browser following the sites' own links sends no Authorization header, so an admin's page first POSTs
/data-docs/session with the key, which sets it in a cookie scoped to /data-docs/ (HttpOnly, SameSite=Strict).
Every request under /data-docs/ then needs an admin key, from the header or that cookie.
"""

from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.routing import APIRoute

from actionplan.checkpoint import data_docs_sites, data_docs_validation_pages
from actionplan.errors import ActionplanError
from actionplan.settings import Settings
from actionplan.vocabulary import period_from_text

from .service import service_of
from .tokens import Token, token_from_header

COOKIE = "actionplan_docs"
# GX writes workbook values into the pages unescaped (a cell holding <img onerror=…> would run as script on the
# service's origin, where the page keeps the access key), so no script runs at all: the validation pages are plain
# HTML, and /data-docs/ lists them because the GX index draws its table with script. Styles may come from the
# CDNs GX's templates name; images and fonts only from the site itself, so no style can send data elsewhere.
CDNS = (
    "https://maxcdn.bootstrapcdn.com https://unpkg.com https://cdn.jsdelivr.net https://cdnjs.cloudflare.com"
)
CSP = (
    f"default-src 'self'; script-src 'none'; style-src 'self' 'unsafe-inline' {CDNS}; font-src 'self' data:; "
    "img-src 'self' data:; connect-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


ROUTES = ("/data-docs/session", "/data-docs/sites.json", "/data-docs/", "/data-docs/{site}/{path:path}")


def _admin(request: Request) -> Token:
    """An admin key, from the Authorization header or the Data Docs cookie."""
    secret = token_from_header(request.headers.get("authorization")) or request.cookies.get(COOKIE)
    try:
        token, why = service_of(request).tokens.verify(secret)
    except ActionplanError:
        raise HTTPException(
            503, "Access keys cannot be checked just now. Tell corporate performance."
        ) from None
    if token is None:
        raise HTTPException(401, why, headers={"WWW-Authenticate": "Bearer"})
    if not token.admin:
        raise HTTPException(
            403,
            "The Data Docs need corporate performance's (admin) access key; a department's key cannot open them.",
        )
    return token


Admin = Annotated[Token, Depends(_admin)]


def add_data_docs_routes(app: FastAPI, settings: Settings) -> None:
    """Add the /data-docs/ routes (ROUTES) to the app: a session cookie for admins, the list of sites, each
    site's files. Added route by route, not as an included APIRouter: FastAPI 0.154 keeps an included router as
    one entry of app.routes, and the service's tests walk app.routes to check every endpoint's access rule."""
    router = APIRouter(prefix="/data-docs", include_in_schema=False)
    root = settings.home_path / "data-docs"

    @router.post("/session")
    def session(request: Request, token: Admin) -> JSONResponse:
        response = JSONResponse({"signed_in": True})
        response.set_cookie(
            COOKIE,
            token_from_header(request.headers.get("authorization")) or "",
            path="/data-docs",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https" or settings.service_url.startswith("https"),
        )
        return response

    @router.get("/sites.json")
    def sites(token: Admin, period: str | None = None) -> dict:
        """The sites built, and the one of the council's period asked for (null when not built yet)."""
        built = data_docs_sites(settings)
        parsed = period_from_text(period) if period else None
        folder = settings.period_folder(parsed.label, settings.council) if parsed else None
        return {"sites": built, "period_site": folder if folder in built else None}

    @router.get("/")
    def index(token: Admin) -> HTMLResponse:
        items = "".join(
            f'<li><a href="{name}/index.html">{name}</a>: '
            + ", ".join(
                f'<a href="{name}/{quote(path)}">{kind}</a>'
                for kind, path in data_docs_validation_pages(settings, name)
            )
            + "</li>"
            for name in data_docs_sites(settings)
        )
        body = (
            f"<ul>{items}</ul>"
            if items
            else "<p>No Data Docs have been built yet: `actionplan consolidate` "
            "builds them for the period it rolls up.</p>"
        )
        return HTMLResponse(
            f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Data Docs – '
            f"actionplan</title></head><body><h1>Great Expectations Data Docs</h1>{body}</body></html>",
            headers={"Content-Security-Policy": CSP, "Cache-Control": "no-store"},
        )

    @router.get("/{site}/{path:path}")
    def site_file(site: str, path: str, token: Admin) -> FileResponse:
        file = _inside(root, site, path or "index.html")
        if file is None:
            raise HTTPException(
                404, f"No such page in the Data Docs: {site}/{path}. Open /data-docs/ for the list."
            )
        return FileResponse(
            file,
            headers={
                "Content-Security-Policy": CSP,
                "Cache-Control": "no-cache",
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
            },
        )

    for route in router.routes:
        assert isinstance(route, APIRoute)  # the four added above
        app.add_api_route(
            route.path, route.endpoint, methods=list(route.methods or ()), include_in_schema=False
        )


def _inside(root: Path, site: str, path: str) -> Path | None:
    """The file a request names, only when it is a file inside a built site (no .., no links out)."""
    if site.startswith(".") or "/" in site:
        return None
    base = (root / site).resolve()
    try:
        file = (base / path).resolve()
        file.relative_to(base)
    except (ValueError, OSError):
        return None
    return file if file.is_file() else None
