"""The service against hostile callers: keys, the rate limit, the audit of refusals, and absurd request bodies.

Real servers on loopback (uvicorn in a thread, or `actionplan serve` as a process where its memory is measured).
Every refusal is a JSON {"detail": ...} a person can act on, never a 500, and leaves a line in the audit log.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from actionplan.excel_addin.limits import BURST, MAX_CELLS, MAX_SHEETS, REQUESTS_PER_MINUTE, RateLimit
from actionplan.excel_addin.tokens import TokenStore
from actionplan.warehouse.inbox import Inbox
from tests.conftest import action, canonical_workbook
from tests.test_service import (
    ADMIN_ONLY,
    ENDPOINTS,
    MATRIX,
    LiveServer,
    _free_port,
    post_json,
    xlwings_payload,
)

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = {"/", "/healthz", "/manifest.xml", "/icons/{name}.png", "/static"}


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    home = tmp_path_factory.mktemp("limits") / "home"
    with LiveServer(home, max_upload_mb=1) as server:
        yield server


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> dict:
    path = canonical_workbook(tmp_path_factory.mktemp("books") / "finance.xlsx", actions=[action("F1")])
    return xlwings_payload(path)


def _audit(server: LiveServer) -> list[dict]:
    return Inbox(server.settings.inbox_path, server.settings.archive_path).audit_log()


# -- keys --------------------------------------------------------------------------------------------------------


def test_auth_matrix_covers_every_endpoint_that_needs_a_key(srv):
    # The Data Docs routes have their own matrix (tests/test_datadocs.py): admins only.
    from actionplan.excel_addin.datadocs import ROUTES as DATA_DOCS

    protected = {route.path for route in srv.server.config.app.routes if route.path not in PUBLIC} - set(
        DATA_DOCS
    )
    covered = {path.partition("?")[0] for _, path in ENDPOINTS.values()}
    assert protected == covered
    for endpoint in ENDPOINTS:  # every endpoint refuses no key, a wrong key and a revoked key with 401
        assert {who for who, e, status in MATRIX if e == endpoint and status == 401} == {
            "none",
            "wrong",
            "revoked",
        }
    # The admin endpoints: access keys and the quarter's (register, deadlines, submissions, returns, reminders).
    assert [e for _, e, status in MATRIX if status == 403] == [*ADMIN_ONLY, *ADMIN_ONLY]


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer  x",
        "Basic dXNlcjpwYXNz",
        "Bearer a.b.c",
        "x" * 6000,
        "Bearer \u00e9\u00e8.key",
        ".",
        "Bearer ../../tokens.json",
    ],
)
def test_malformed_authorization_is_401_never_500(srv, header):
    r = srv.client.get("/api/status", headers={"Authorization": header.encode("utf-8")})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


def test_tokens_are_stored_hashed_and_compared_in_constant_time(srv):
    token, key = TokenStore.for_home(srv.settings.home_path).add(department="Registrars")
    stored = (srv.settings.home_path / "tokens.json").read_text(encoding="utf-8")
    secret = key.partition(".")[2]
    assert key not in stored and secret not in stored
    assert json.loads(stored)["tokens"][-1]["sha256"] == token.sha256 and len(token.sha256) == 64
    assert oct((srv.settings.home_path / "tokens.json").stat().st_mode & 0o777) == "0o600"
    assert "hmac.compare_digest(" in inspect.getsource(TokenStore._match)
    assert srv.client.get("/api/status", headers={"Authorization": key}).status_code == 200


# -- the rate limit ----------------------------------------------------------------------------------------------


def test_rate_limit_bucket_allows_a_burst_then_one_a_second():
    now = [0.0]
    limit = RateLimit(per_minute=60, burst=3, clock=lambda: now[0])
    assert [limit.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limit.take("a") == pytest.approx(1.0)  # empty: one more in a second
    assert limit.take("b") == 0.0  # each key has its own bucket
    now[0] = 0.5
    assert limit.take("a") == pytest.approx(0.5)
    now[0] = 1.0
    assert limit.take("a") == 0.0
    now[0] = 100.0  # refills to the burst, never beyond
    assert [limit.take("a") for _ in range(4)][-1] == pytest.approx(1.0)


def test_rate_limit_is_429_with_retry_after_per_key_and_audited(srv):
    key = srv.token("Print Section")[1]
    other = srv.token("Customer Services")[1]
    answers = []
    for _ in range(BURST + 40):  # cheap requests (not JSON): each still counts
        answers.append(post_json(srv, "/xlwings/check", b"not json", key))
        if answers[-1].status_code == 429:
            break
    assert [r.status_code for r in answers[:BURST]] == [400] * BURST
    refused = answers[-1]
    assert refused.status_code == 429
    wait = int(refused.headers["retry-after"])
    assert 1 <= wait <= 60 / REQUESTS_PER_MINUTE + 1
    assert refused.json() == {
        "detail": f"Too many requests with this access key: at most {BURST} at once and "
        f"{REQUESTS_PER_MINUTE} a minute. Try again in {wait} second"
        f"{'s' if wait > 1 else ''}."
    }
    assert (
        post_json(srv, "/xlwings/check", b"not json", other).status_code == 400
    )  # another key is not slowed
    assert (
        srv.client.get("/api/status", headers={"Authorization": key}).status_code == 200
    )  # reads are not limited
    time.sleep(wait)
    assert post_json(srv, "/xlwings/check", b"not json", key).status_code == 400
    lines = [e for e in _audit(srv) if e.get("status") == 429]
    assert lines[-1]["who"].startswith("Print Section (key ") and lines[-1]["outcome"] == "refused"
    assert lines[-1]["reason"].startswith("Too many requests with this access key")


# -- the audit of refusals -----------------------------------------------------------------------------------------


def test_every_refusal_is_audited_with_who_and_why(srv, good):
    store = TokenStore.for_home(srv.settings.home_path)
    _, legal = store.add(department="Legal, HR & Property")
    revoked_entry, revoked = store.add(department="Finance")
    store.revoke(revoked_entry.id)
    before = len(_audit(srv))
    cases = [
        (lambda: post_json(srv, "/xlwings/submit", good, None), 401, "no key"),
        (lambda: post_json(srv, "/xlwings/submit", good, "abcd.not-a-key"), 401, "an unrecognised key"),
        (lambda: post_json(srv, "/xlwings/submit", good, revoked), 401, "Finance (key "),
        (
            lambda: srv.client.get("/api/tokens", headers={"Authorization": legal}),
            403,
            "Legal, HR & Property",
        ),
        (lambda: post_json(srv, "/xlwings/submit", b"{", legal), 400, "Legal, HR & Property"),
        (
            lambda: post_json(srv, "/xlwings/submit", b" " * (1024 * 1024 + 1), legal),
            413,
            "Legal, HR & Property",
        ),
        (lambda: srv.client.get("/api/status?period=soon", headers={"Authorization": legal}), 400, "Legal"),
    ]
    for send, status, _ in cases:
        assert send().status_code == status
    lines = _audit(srv)[before:]
    assert [(e["outcome"], e["status"]) for e in lines] == [("refused", status) for _, status, _ in cases]
    for line, (_, _, who) in zip(lines, cases, strict=True):
        assert line["who"].startswith(who) and line["reason"] and line["client"] == "127.0.0.1"
    assert lines[2]["who"].endswith("(revoked key)")
    assert [e["channel"] for e in lines] == ["xlwings"] * 3 + ["service", "xlwings", "xlwings", "service"]
    assert lines[5]["reason"].startswith("The workbook is larger than the 1 MB this service accepts.")
    assert "not-a-key" not in json.dumps(lines) and legal not in json.dumps(lines)  # keys are never written


def test_a_flood_of_refusals_is_counted_not_written_line_by_line(tmp_path):
    with LiveServer(tmp_path / "home") as server:
        for _ in range(90):
            assert server.client.get("/api/status").status_code == 401
        written = [e for e in _audit(server) if e["outcome"] == "refused"]
        assert 60 <= len(written) < 90
    # Each written refusal stands for itself and the ones counted before it; the rest are written at shutdown.
    after = [e for e in _audit(server) if e["outcome"] == "refused"]
    assert sum(e["status"] is not None for e in after) + sum(e.get("unlogged_before", 0) for e in after) == 90


# -- request bodies ------------------------------------------------------------------------------------------------


def test_upload_over_the_limit_is_413(srv):
    key = srv.token("Registrars")[1]
    r = srv.client.post(
        "/api/submissions",
        files={"file": ("big.xlsx", b"PK" + b"\0" * (1024 * 1024))},
        headers={"Authorization": key},
    )
    assert r.status_code == 413
    assert r.json()["detail"].startswith("The workbook is larger than the 1 MB this service accepts.")


def _plan(sheets: list[dict]) -> dict:
    return {
        "client": "Office.js",
        "book": {"name": "odd.xlsx"},
        "names": [],
        "sheets": [
            {"name": "Plan", "values": [["Department", "Finance"], ["Period", "2024/25 Q2"]]},
            *sheets,
        ],
    }


def _body(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def _with_cell(good: dict, value) -> bytes:
    payload = json.loads(json.dumps(good))
    payload["sheets"][1]["values"][1][3] = value
    return _body(payload)


ABSURD = [
    (
        "sheets-not-a-list",
        lambda g: b'{"sheets": {"Plan": [[1]]}}',
        400,
        "The workbook JSON has no 'sheets' list of {name, values}",
    ),
    ("no-sheets", lambda g: b'{"sheets": []}', 400, "The workbook JSON has no sheets"),
    (
        "deeply-nested",
        lambda g: b'{"sheets": [{"name": "Plan", "values": ' + b"[" * 100_000 + b"]" * 100_000 + b"}]}",
        400,
        "The request body is not valid JSON (it is nested too deeply to be a workbook).",
    ),
    ("nan", lambda g: _with_cell(g, float("nan")), 400, "The request body is not valid JSON."),
    (
        "number-beyond-excel",
        lambda g: _with_cell(g, 10**400),
        400,
        "Sheet 'Actions' cell D2 holds a number too large for Excel.",
    ),
    (
        "1e999",
        lambda g: _body(g).replace(b'"Close the accounts"', b"1e999"),
        400,
        "Sheet 'Actions' cell D2 holds a number too large for Excel.",
    ),
    (
        "object-in-a-cell",
        lambda g: _with_cell(g, {"formula": "=1"}),
        400,
        "Sheet 'Actions' cell D2 holds a JSON object, not a cell value.",
    ),
    (
        "list-in-a-cell",
        lambda g: _with_cell(g, [1, 2]),
        400,
        "Sheet 'Actions' cell D2 holds a list, not a cell value.",
    ),
    (
        "half-a-surrogate-pair",
        lambda g: _with_cell(g, "ok \ud83d"),
        400,
        "Sheet 'Actions' cell D2 holds a broken character (half of a UTF-16 pair",
    ),
    (
        "10000-sheets",
        lambda g: _body(_plan([{"name": f"S{i}", "values": [["x"]]} for i in range(10_000)])),
        413,
        f"The workbook has 10,001 sheets; the service reads at most {MAX_SHEETS}.",
    ),
    (
        "50000x50-grid",
        lambda g: _body(_plan([{"name": "Actions", "values": [[""] * 50] * 50_000}])),
        413,
        f"The workbook has more than {MAX_CELLS:,} cells in use (sheet 'Actions' takes it past the limit)",
    ),
    (
        "100001-rows",
        lambda g: _body(_plan([{"name": "Actions", "values": [[]] * 100_001}])),
        413,
        "Sheet 'Actions' has content down to row 100,001, far below any action plan (at most 100,000 rows are read).",
    ),
]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`actionplan serve` as its own process (its memory is measured) with a 12 MB body limit, and a key."""
    home = tmp_path_factory.mktemp("served") / "home"
    port = _free_port()
    env = {**os.environ, "ACTIONPLAN_HOME": str(home), "ACTIONPLAN_MAX_UPLOAD_MB": "12"}
    key = TokenStore.for_home(home).add(department="Finance")[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "actionplan", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        assert proc.poll() is None, proc.stderr.read()
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the service did not start"
        time.sleep(0.2)
    with httpx.Client(base_url=url, timeout=60, headers={"Authorization": key}) as client:
        client.pid = proc.pid
        yield client
    proc.terminate()
    proc.wait(timeout=30)


def _peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) / 1024


@pytest.mark.parametrize(("case", "make", "status", "detail"), ABSURD, ids=[c[0] for c in ABSURD])
@pytest.mark.parametrize("path", ["/xlwings/check", "/xlwings/submit"])
def test_absurd_payload_is_refused_with_words_quickly_in_bounded_memory(
    served, good, path, case, make, status, detail
):
    body = make(good)
    assert len(body) < 12 * 1024 * 1024  # within the body limit: the shape is what is refused
    started = time.monotonic()
    r = served.post(path, content=body, headers={"Content-Type": "application/json"})
    assert time.monotonic() - started < 5
    assert r.status_code == status and r.json()["detail"].startswith(detail), r.text[:300]
    assert (
        _peak_rss_mb(served.pid) < 600
    )  # about 260 MB once warm; parsing never held more than the body's worth
    assert served.get("/healthz").status_code == 200
