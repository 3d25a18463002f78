"""Sign-in with the council's Microsoft 365 account: the add-in's Office SSO token (Office.auth.getAccessToken),
validated against the council's Entra ID tenant and mapped to a department through the register's contacts.

Councils without Entra ID (ACTIONPLAN_ENTRA_TENANT empty) keep access keys only; with it, keys still work.
A token is accepted when its signature verifies against the tenant's published keys (fetched once and cached;
fetched again when a token names a key not seen yet, as after Microsoft rolls its keys), it was issued by the
tenant, for this add-in (audience: the app id or its api://…/app-id URI) and has not expired.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from actionplan.register import Register

from .tokens import Token

ADMIN_NOTE = "corporate performance (Microsoft 365 sign-in)"


class SignInRefused(Exception):
    """The Microsoft 365 sign-in token was not accepted."""


class EntraSignIn:
    """Validates Office SSO tokens for one tenant and app, and says whose they are."""

    def __init__(
        self,
        tenant: str,
        client_id: str,
        register: Register,
        *,
        authority: str = "https://login.microsoftonline.com",
        admin_role: str = "actionplan.admin",
        admin_groups: tuple[str, ...] = (),
        cache_seconds: int = 24 * 3600,
        refetch_after: float = 30.0,
    ) -> None:
        import jwt

        self.tenant, self.client_id, self.register = tenant, client_id, register
        self.authority = authority.rstrip("/")
        self.admin_role, self.admin_groups = admin_role, set(admin_groups)
        self.keys_url = f"{self.authority}/{tenant}/discovery/v2.0/keys"
        # PyJWKClient caches the key set for cache_seconds and fetches it again for a key id it has not seen, at
        # most once every refetch_after seconds: tokens naming made-up key ids cannot make us hammer Microsoft.
        self._keys = jwt.PyJWKClient(
            self.keys_url,
            cache_jwk_set=True,
            lifespan=cache_seconds,
            timeout=10,
            cooldown_duration=refetch_after,
        )
        self._lock = threading.Lock()
        self.issuers = {f"{self.authority}/{tenant}/v2.0", f"https://sts.windows.net/{tenant}/"}

    @classmethod
    def from_settings(cls, settings: Any) -> EntraSignIn | None:
        """The sign-in the settings describe, or None when the council has not set its tenant and app id."""
        if not settings.entra_tenant or not settings.entra_client_id:
            return None
        groups = tuple(g.strip() for g in settings.entra_admin_groups.split(",") if g.strip())
        return cls(
            settings.entra_tenant,
            settings.entra_client_id,
            Register.for_settings(settings),
            authority=settings.entra_authority,
            admin_role=settings.entra_admin_role,
            admin_groups=groups,
        )

    def claims(self, token: str) -> dict[str, Any]:
        """The token's claims once signature, issuer, audience and expiry are checked; SignInRefused saying which."""
        import jwt

        try:
            with self._lock:
                key = self._keys.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientConnectionError:
            raise SignInRefused(
                "Microsoft 365 sign-in cannot be checked just now (the tenant's signing keys could "
                "not be fetched). Try again, or use your department's access key."
            ) from None
        except (jwt.PyJWKClientError, jwt.DecodeError):
            raise SignInRefused(
                "This Microsoft 365 sign-in was not issued for this council's tenant. Sign in with "
                "your council account, or use your department's access key."
            ) from None
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                leeway=60,
                options={"require": ["exp", "iss", "aud"], "verify_aud": False, "verify_iss": False},
            )
        except jwt.ExpiredSignatureError:
            raise SignInRefused(
                "Your Microsoft 365 sign-in has expired. Close and reopen the actionplan pane to sign "
                "in again."
            ) from None
        except jwt.InvalidTokenError:
            raise SignInRefused(
                "This Microsoft 365 sign-in could not be verified. Sign in again, or use your "
                "department's access key."
            ) from None
        if claims.get("iss") not in self.issuers:
            raise SignInRefused(
                "This Microsoft 365 sign-in was issued by another organisation, not this council's "
                "tenant. Sign in with your council account."
            )
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if not any(
            a == self.client_id or (str(a).startswith("api://") and str(a).endswith("/" + self.client_id))
            for a in audiences
        ):
            raise SignInRefused(
                "This Microsoft 365 sign-in was issued for another application, not the actionplan "
                "add-in. Ask IT to check the add-in's app id (ACTIONPLAN_ENTRA_CLIENT_ID)."
            )
        return claims

    def token_for(self, token: str) -> Token:
        """Who a valid sign-in speaks for: an admin (by role or group), or the department whose contact the user is."""
        claims = self.claims(token)
        address = str(
            claims.get("preferred_username") or claims.get("upn") or claims.get("email") or ""
        ).strip()
        name = str(claims.get("name") or address or "a Microsoft 365 user")
        sid = "sso-" + str(claims.get("oid") or claims.get("sub") or address)[:8]
        created = dt.datetime.fromtimestamp(int(claims.get("iat") or claims["exp"]), dt.UTC).isoformat()
        label = f"{name} <{address}>" if address and address != name else name
        roles = set(claims.get("roles") or [])
        groups = set(claims.get("groups") or [])
        if self.admin_role in roles or groups & self.admin_groups:
            return Token(sid, None, True, created, label)
        wanted = address.casefold()
        for dept in self.register.departments():
            if wanted and wanted in {c.casefold() for c in dept.contacts}:
                return Token(sid, dept.name, False, created, label)
        raise SignInRefused(
            f"You are signed in as {address or name}, but that address is not a contact of any "
            "department in the register. Ask corporate performance to add it (actionplan "
            f"departments add DEPARTMENT --contact {address or 'EMAIL'}), or use your department's "
            "access key."
        )

    def verify(self, token: str) -> tuple[Token | None, str]:
        """TokenStore.verify's answer for a sign-in token: (the Token, "") or (None, why)."""
        try:
            return self.token_for(token), ""
        except SignInRefused as exc:
            return None, str(exc)
