"""Who is asking: the access-key dependencies of the service's endpoints (signed in, admin, within the rate)."""

from __future__ import annotations

import logging
import math
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from actionplan.errors import ActionplanError

from .limits import BURST, REQUESTS_PER_MINUTE
from .service import service_of
from .tokens import Token, token_from_header

log = logging.getLogger("actionplan.service")


def signed_in(request: Request) -> Token:
    """The key's holder; 401 for no, a wrong or a revoked key, 503 when the keys cannot be read."""
    tokens = service_of(request).tokens
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
    """Corporate performance's (admin) key; 403 for a department's."""
    if not token.admin:
        raise HTTPException(
            403, "This needs corporate performance's (admin) access key; a department's key cannot do it."
        )
    return token


Admin = Annotated[Token, Depends(admin_only)]


def within_rate(request: Request, token: SignedIn) -> Token:
    """A signed-in key within its rate (limits.py); 429 with Retry-After beyond it."""
    wait = service_of(request).rate.take(token.id)
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
