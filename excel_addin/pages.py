"""The service's page, the add-in's files (manifest, icons, static client) and the health check: no key needed."""

from __future__ import annotations

import string
import urllib.parse
import xml.sax.saxutils
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from .icons import KINDS, SIZES, icon_png
from .quarter import sso_manifest
from .service import Svc

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"


def add_page_routes(app: FastAPI) -> None:
    """Add /healthz, the page at /, /manifest.xml, /icons/… and /static/… to the app."""
    manifest = string.Template((HERE / "manifest.xml").read_text(encoding="utf-8"))

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

    @app.get("/manifest.xml", include_in_schema=False)
    def manifest_xml(svc: Svc):
        base = svc.settings.service_url.rstrip("/")
        # An AppDomain is an origin only (scheme, host, port): Microsoft's manifest rules allow no path there.
        origin = "{0.scheme}://{0.netloc}".format(urllib.parse.urlsplit(base))
        escape = {'"': "&quot;"}
        return Response(
            manifest.substitute(
                base=xml.sax.saxutils.escape(base, escape),
                origin=xml.sax.saxutils.escape(origin, escape),
                sso=sso_manifest(svc.settings),
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


def mount_static(app: FastAPI) -> None:
    """The add-in's client at /static (after every route: a mount matches everything under its path)."""
    app.mount("/static", _Revalidated(directory=STATIC), name="static")


class _Revalidated(StaticFiles):
    """The add-in's files, revalidated on every load (ETag), so Office never keeps an old client after an upgrade."""

    async def get_response(self, path: str, scope):
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = "no-cache"
        return response
