"""Microsoft 365 sign-in against a locally generated signing key set, served on loopback the way Entra ID publishes
a tenant's keys, and a live service that validates the tokens."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from actionplan.register import Register
from tests.conftest import action, canonical_workbook
from tests.test_service import LiveServer

TENANT = "c0ffee00-1111-2222-3333-444455556666"
CLIENT_ID = "a11ce000-aaaa-bbbb-cccc-ddddeeeeffff"
AUDIENCE = f"api://actionplan.council.example/{CLIENT_ID}"


def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwk(private, kid: str) -> dict:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    return {**public, "kid": kid, "use": "sig", "alg": "RS256"}


class KeySet:
    """The tenant's published signing keys on a loopback HTTP server, counting how often they are fetched."""

    def __init__(self) -> None:
        self.keys: list[dict] = []
        self.fetches = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                if self.path != f"/{TENANT}/discovery/v2.0/keys":
                    self.send_error(404)
                    return
                outer.fetches += 1
                body = json.dumps({"keys": outer.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def tenant(tmp_path_factory):
    """A tenant with one published key, a council registering Finance's contact, and its service."""
    keys = KeySet()
    signing = _key()
    keys.keys.append(_jwk(signing, "k1"))
    home = tmp_path_factory.mktemp("entra") / "home"
    Register.for_home(home).add("Finance", ["Anita.Patel@council.gov.uk"])
    with LiveServer(
        home,
        entra_tenant=TENANT,
        entra_client_id=CLIENT_ID,
        entra_authority=keys.url,
        entra_admin_groups="9f9f9f9f-0000-1111-2222-333344445555",
    ) as server:
        server.keys_set, server.signing = keys, signing
        yield server
    keys.close()


def _token(tenant, *, key=None, kid="k1", **claims) -> str:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    body = {
        "iss": f"{tenant.keys_set.url}/{TENANT}/v2.0",
        "aud": AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "oid": "0123456789abcdef",
        "name": "Anita Patel",
        "preferred_username": "anita.patel@council.gov.uk",
        **claims,
    }
    return jwt.encode(body, key or tenant.signing, algorithm="RS256", headers={"kid": kid})


def _status(tenant, token):
    return tenant.client.get("/api/status", headers={"Authorization": f"Bearer {token}"})


def test_sign_in_maps_a_registered_contact_to_their_department_and_submits(tenant, tmp_path):
    r = _status(tenant, _token(tenant))
    assert r.status_code == 200, r.text
    assert r.json()["you"] == {"department": "Finance", "admin": False, "key_id": "sso-01234567"}
    book = canonical_workbook(tmp_path / "f.xlsx", "FINANCE", actions=[action("F1")])
    r = tenant.client.post(
        "/api/submissions",
        files={"file": ("f.xlsx", book.read_bytes())},
        headers={"Authorization": f"Bearer {_token(tenant)}"},
    )
    assert r.json()["accepted"] and r.json()["department"] == "Finance"
    record = json.loads(next((tenant.settings.inbox_path / "pending").glob("*.json")).read_text())
    assert record["submitted_by"] == "Anita Patel <anita.patel@council.gov.uk>"


@pytest.mark.parametrize(
    ("claims", "admin"),
    [
        ({"roles": ["actionplan.admin"]}, True),
        ({"groups": ["9f9f9f9f-0000-1111-2222-333344445555"]}, True),
        ({"aud": CLIENT_ID}, False),
    ],
)
def test_sign_in_admins_by_role_or_group(tenant, claims, admin):
    r = _status(tenant, _token(tenant, **claims))
    assert r.status_code == 200 and r.json()["you"]["admin"] is admin


def test_sign_in_refusals_say_why(tenant):
    now = int(dt.datetime.now(dt.UTC).timestamp())
    cases = [
        (
            _token(tenant, exp=now - 600),
            "Your Microsoft 365 sign-in has expired. Close and reopen the actionplan pane to sign in again.",
        ),
        (
            _token(tenant, aud="api://elsewhere/0000"),
            "This Microsoft 365 sign-in was issued for another application, "
            "not the actionplan add-in. Ask IT to check the add-in's app id (ACTIONPLAN_ENTRA_CLIENT_ID).",
        ),
        (
            _token(tenant, iss="https://login.microsoftonline.com/another-tenant/v2.0"),
            "This Microsoft 365 sign-in was "
            "issued by another organisation, not this council's tenant. Sign in with your council account.",
        ),
        (
            _token(tenant, key=_key(), kid="k1"),
            "This Microsoft 365 sign-in could not be verified. Sign in again, or "
            "use your department's access key.",
        ),
        (
            _token(tenant, key=_key(), kid="forged"),
            "This Microsoft 365 sign-in was not issued for this council's "
            "tenant. Sign in with your council account, or use your department's access key.",
        ),
        (
            _token(tenant, preferred_username="someone@council.gov.uk"),
            "You are signed in as someone@council.gov.uk, "
            "but that address is not a contact of any department in the register. Ask corporate performance to add it "
            "(actionplan departments add DEPARTMENT --contact someone@council.gov.uk), or use your department's access "
            "key.",
        ),
    ]
    for token, detail in cases:
        r = _status(tenant, token)
        assert (r.status_code, r.json()) == (401, {"detail": detail})


def test_sign_in_keys_are_cached_and_fetched_again_after_a_rollover(tenant):
    from actionplan.excel_addin.entra import EntraSignIn

    assert _status(tenant, _token(tenant)).status_code == 200
    before = tenant.keys_set.fetches
    assert _status(tenant, _token(tenant)).status_code == 200
    assert tenant.keys_set.fetches == before  # cached
    # A key id never seen: fetched again, but within the cool-down only once (made-up ids cannot flood the tenant).
    for _ in range(3):
        assert _status(tenant, _token(tenant, key=_key(), kid="made-up")).status_code == 401
    assert tenant.keys_set.fetches <= before + 1
    # After Microsoft rolls its keys, a token signed with the new key is accepted once the set is fetched again.
    sign_in = EntraSignIn(
        TENANT,
        CLIENT_ID,
        Register.for_settings(tenant.settings),
        authority=tenant.keys_set.url,
        refetch_after=0,
    )
    assert sign_in.token_for(_token(tenant)).department == "Finance"
    rolled = _key()
    tenant.keys_set.keys.append(_jwk(rolled, "k2"))
    assert sign_in.token_for(_token(tenant, key=rolled, kid="k2")).department == "Finance"


def test_access_keys_still_work_beside_sign_in(tenant):
    _, key = tenant.token("Finance")
    r = tenant.client.get("/api/status", headers={"Authorization": key})
    assert r.status_code == 200 and r.json()["you"]["department"] == "Finance"


def test_council_without_entra_treats_a_token_as_an_unknown_key(tmp_path):
    with LiveServer(tmp_path / "home") as server:
        r = server.client.get("/api/status", headers={"Authorization": "Bearer a.b.c"})
    assert r.status_code == 401 and r.json()["detail"].startswith("This access key is not recognised.")


def test_manifest_asks_office_for_sign_in_only_where_the_council_set_it_up(tenant, tmp_path):
    import xml.etree.ElementTree as ET

    ns = {"ov": "http://schemas.microsoft.com/office/taskpaneappversionoverrides"}
    info = ET.fromstring(tenant.client.get("/manifest.xml").content).find(".//ov:WebApplicationInfo", ns)
    assert info.find("ov:Id", ns).text == CLIENT_ID
    assert info.find("ov:Resource", ns).text == f"api://127.0.0.1:{tenant.port}/{CLIENT_ID}"
    assert [s.text for s in info.findall("ov:Scopes/ov:Scope", ns)] == ["openid", "profile"]
    with LiveServer(tmp_path / "home") as server:
        plain = ET.fromstring(server.client.get("/manifest.xml").content)
    assert plain.find(".//ov:WebApplicationInfo", ns) is None


def test_manifest_with_sign_in_validates_against_microsofts_schema(tenant, tmp_path):
    from tests.test_addin_manifest import _xmllint

    path = tmp_path / "manifest.xml"
    path.write_bytes(tenant.client.get("/manifest.xml").content)
    done = _xmllint(path)
    assert done.returncode == 0 and done.stderr.strip() == f"{path} validates", done.stderr
