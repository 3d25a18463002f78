"""Access keys (tokens): one per department or for corporate performance (admin), stored hashed in <home>/tokens.json.

Each council has its own keys: councils sharing a home keep them in tokens-<council>.json (the default council in
tokens.json), so a key issued for one council's service never opens another's.

A token is `<id>.<secret>`: the id finds the stored entry, the secret is 256 random bits. Only the SHA-256 of the
whole token is kept. A slow hash (scrypt) would add tens of milliseconds to every Submit for no gain: it protects
guessable passwords, and these tokens cannot be guessed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from actionplan.councils import DEFAULT_COUNCIL, council_in_file_name
from actionplan.errors import ActionplanError
from actionplan.files import write_atomic

TOKENS_FILE = "tokens.json"


class UnknownToken(ActionplanError):
    """No access key has that id."""


@dataclass(frozen=True)
class Token:
    """One access key as stored: who it speaks for, never the key itself."""

    id: str
    department: str | None
    admin: bool
    created: str
    label: str | None = None
    revoked: str | None = None
    sha256: str = ""

    @property
    def who(self) -> str:
        """How submissions made with this key name the submitter."""
        if self.label:
            return self.label
        return f"{'corporate performance' if self.admin else self.department} (key {self.id})"

    def public(self) -> dict:
        """The entry without its hash: safe to print or serve."""
        data = asdict(self)
        data.pop("sha256")
        return data


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_from_header(value: str | None) -> str | None:
    """The token in an Authorization header: `Bearer <token>` or the bare token."""
    if not value:
        return None
    value = value.strip()
    scheme, _, rest = value.partition(" ")
    if rest and scheme.lower() == "bearer":
        value = rest.strip()
    return value or None


class TokenStore:
    """The access keys in one JSON file, re-read whenever another process (the CLI) changes it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sso = None  # an entra.EntraSignIn when the council signs in with Microsoft 365 too
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._tokens: dict[str, Token] = {}

    @classmethod
    def for_home(cls, home: Path, council: str = DEFAULT_COUNCIL) -> TokenStore:
        """The keys of one council's service in a home folder."""
        whose = council_in_file_name(council)
        return cls(home / (f"tokens-{whose}.json" if whose else TOKENS_FILE))

    def _load(self) -> dict[str, Token]:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self._stamp, self._tokens = None, {}
            return self._tokens
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            try:
                entries = json.loads(self.path.read_text(encoding="utf-8")).get("tokens", [])
                tokens = {e["id"]: Token(**e) for e in entries}
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise ActionplanError(
                    f"{self.path} is damaged ({exc}); restore it from backup or delete it and "
                    "issue new access keys."
                ) from None
            self._stamp, self._tokens = stamp, tokens
        return self._tokens

    def _save(self, tokens: dict[str, Token]) -> None:
        body = {"tokens": [asdict(t) for t in tokens.values()]}
        write_atomic(self.path, json.dumps(body, indent=1, ensure_ascii=False).encode("utf-8"))
        os.chmod(self.path, 0o600)
        self._stamp = None  # re-read on next use

    def all(self) -> list[Token]:
        """Every key, oldest first (revoked ones included)."""
        with self._lock:
            return sorted(self._load().values(), key=lambda t: (t.created, t.id))

    def departments(self) -> list[str]:
        """Departments holding a key that is not revoked: the departments expected to submit."""
        return sorted({t.department for t in self.all() if t.department and not t.revoked}, key=str.casefold)

    def add(
        self,
        *,
        department: str | None = None,
        admin: bool = False,
        label: str | None = None,
        now: dt.datetime | None = None,
    ) -> tuple[Token, str]:
        """Issue a new key; returns the stored entry and the key itself (shown once, never stored)."""
        if bool(department) == bool(admin):
            raise ActionplanError("Give either --department NAME or --admin.")
        department = " ".join(department.split()) if department else None
        with self._lock:
            tokens = dict(self._load())
            tid = secrets.token_hex(4)
            while tid in tokens:
                tid = secrets.token_hex(4)
            secret = f"{tid}.{secrets.token_urlsafe(32)}"
            created = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0).isoformat()
            token = Token(tid, department, admin, created, label or None, None, _digest(secret))
            tokens[tid] = token
            self._save(tokens)
        return token, secret

    def revoke(self, tid: str, now: dt.datetime | None = None) -> Token:
        """Revoke a key by id (or a unique start of it): it stops working at once."""
        with self._lock:
            tokens = dict(self._load())
            matches = [t for t in tokens if t == tid] or [t for t in tokens if t.startswith(tid)]
            if len(matches) != 1:
                raise UnknownToken(
                    f"No access key with id '{tid}'. See `actionplan token list`."
                    if not matches
                    else f"'{tid}' matches several keys: give the whole id."
                )
            old = tokens[matches[0]]
            if old.revoked:
                return old
            when = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0).isoformat()
            tokens[old.id] = Token(**{**asdict(old), "revoked": when})
            self._save(tokens)
            return tokens[old.id]

    def _match(self, secret: str) -> Token | None:
        """The entry this whole key belongs to (revoked or not), compared in constant time; None if none."""
        tid = secret.partition(".")[0]
        with self._lock:
            token = self._load().get(tid)
        # Compare against a dummy when the id is unknown so timing says nothing about which ids exist.
        expected = token.sha256 if token else _digest("")
        if not hmac.compare_digest(_digest(secret), expected) or token is None:
            return None
        return token

    def verify(self, secret: str | None) -> tuple[Token | None, str]:
        """The key's entry when the secret is valid; else None and why, in words for the user."""
        if not secret:
            return None, "No access key was sent. Type your department's access key into the actionplan pane."
        if self.sso is not None and secret.count(".") == 2:  # a Microsoft 365 sign-in token, not a key
            return self.sso.verify(secret)
        token = self._match(secret)
        if token is None:
            return (
                None,
                "This access key is not recognised. Check it was copied whole, or ask corporate "
                "performance for a new one.",
            )
        if token.revoked:
            return None, "This access key has been revoked. Ask corporate performance for a new one."
        return token, ""

    def sender(self, secret: str | None) -> Token | None:
        """Whose key this is, revoked or not, for the audit log; None when none was sent or it is not one of ours."""
        if not secret:
            return None
        try:
            return self._match(secret)
        except ActionplanError:
            return None


def key_holders(home: Path, council: str = DEFAULT_COUNCIL) -> list[str]:
    """The departments holding a live access key for a council (none for the combined rollup of every council):
    expected to report when the council has no register, on the rollup as on the status page."""
    from actionplan.councils import ALL_COUNCILS

    return [] if council == ALL_COUNCILS else TokenStore.for_home(home, council).departments()
