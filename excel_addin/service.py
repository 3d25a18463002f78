"""What the service's endpoints share, made once per app and kept in app.state: settings, access keys, the
inbox, the fair slots checks run in, the rate limit and the audit of refusals.

Endpoints take it with `Svc` (a FastAPI dependency reading request.app.state), so each group of routes can
live in a module of its own and be added to any app made by create_app.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Depends, Query, Request

from actionplan.errors import ActionplanError
from actionplan.settings import Settings
from actionplan.warehouse.inbox import Inbox

from . import council
from .audit import AUDITED, Refusals
from .gate import FairSlots, KeysUnavailable
from .limits import BURST, REQUESTS_PER_MINUTE, RateLimit
from .tokens import TokenStore, token_from_header

log = logging.getLogger("actionplan.service")


class Service:
    """The state of one running service (one app), shared by its endpoints."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.tokens = TokenStore.for_home(settings.home_path, settings.council)
        self.records = council.InboxRecords()
        # Two checks at a time, taken in turn, and the gate lets each key one request at a time: a department's
        # short check runs beside another's 30,000-row one instead of waiting for it to end (under the GIL the two
        # share the processor; neither finishes later in total). With ACTIONPLAN_VALIDATOR=gx one at a time: the
        # shared Great Expectations runner is not documented as thread-safe. Storing (file I/O) is outside.
        self.checking = FairSlots(1 if settings.validator == "gx" else 2)
        self._inbox: Inbox | None = None
        try:
            self.zone: dt.tzinfo | None = ZoneInfo(settings.timezone)
        except (ZoneInfoNotFoundError, ValueError):  # no tz database: the machine's own clock time
            self.zone = None
        # Every attempt is audited: submissions by the inbox, refusals (401, 403, 413, 400, 429) and 500s here.
        self.refusals = Refusals(lambda entry: self.inbox().audit(entry))
        # Per access key, on the endpoints that run a check or build sheets (constants in limits.py, not settings).
        self.rate = RateLimit(per_minute=REQUESTS_PER_MINUTE, burst=BURST)

    def local_now(self) -> dt.datetime:
        """Now in the council's time zone (the timezone setting), as reports print it."""
        return dt.datetime.now(self.zone) if self.zone else dt.datetime.now()

    def inbox(self) -> Inbox:
        """The inbox, opened at first use (a service that only shows pages never touches its folders)."""
        if self._inbox is None:
            self._inbox = Inbox(self.settings.inbox_path, self.settings.archive_path)
        return self._inbox

    def key_of(self, headers: dict[str, str]) -> tuple[str | None, str]:
        """The id of the key a request carries (None when it is not a valid one) and why not; for the gate."""
        try:
            token, why = self.tokens.verify(token_from_header(headers.get("authorization")))
        except ActionplanError as exc:  # tokens.json damaged: the service's fault, not the user's
            log.error("%s", exc)
            raise KeysUnavailable(
                "Access keys cannot be checked just now. Tell corporate performance."
            ) from None
        return (token.id if token else None), why

    # -- the audit of refusals ----------------------------------------------------------------------------------
    def audit_refusal(
        self, headers: Any, path: str, method: str, client: Any, status: int, reason: str
    ) -> None:
        if status not in AUDITED:
            return
        host = client[0] if client else None
        try:
            token = self.tokens.sender(token_from_header(headers.get("authorization")))
            if token is not None:
                who = token.who + (" (revoked key)" if token.revoked else "")
                caller, department = token.id, token.department
            else:
                who = "no key" if not headers.get("authorization") else "an unrecognised key"
                caller, department = f"{who} from {host}", None
            self.refusals.record(
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

    def audit_request(self, request: Request, status: int, reason: str) -> None:
        self.audit_refusal(request.headers, request.url.path, request.method, request.client, status, reason)

    def audit_scope(self, scope: dict, status: int, reason: str) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        self.audit_refusal(
            headers, scope.get("path", ""), scope.get("method", ""), scope.get("client"), status, reason
        )


def service_of(request: Request) -> Service:
    """The app's Service (set by create_app)."""
    return request.app.state.service


Svc = Annotated[Service, Depends(service_of)]
# The `period` query parameter of the endpoints that take one (blank: the latest).
Period = Annotated[str | None, Query(description="reporting period, e.g. 2024/25 Q2")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
