"""The web service on a real loopback server: xlwings round trips, auth, limits, upload, status and the rollup.

Requests carry the JSON xlwings' Office.js client sends, built from real workbooks the way xlwings.ts builds it
("" for empty cells, dates as ISO strings). `FakeExcel` applies the answer's actions the way Excel would, so a
second request sees the workbook as the first one left it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from actionplan.sample import xlwings_payload
from actionplan.settings import load_settings
from tests.conftest import GOOD_KPI, action, canonical_workbook

PERIOD = "2024/25 Q2"
PUBLISHED = "2019/20 Q1"  # the matrix's rollup download period: a file is put there by the fixture


# -- helpers other test modules use ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """`actionplan serve`'s app under uvicorn on a free loopback port, in a thread of this process."""

    def __init__(self, home: Path, **overrides: Any) -> None:
        import uvicorn

        from actionplan.excel_addin.app import create_app

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.settings = load_settings(environ={"ACTIONPLAN_HOME": str(home)}, port=self.port, **overrides)
        config = uvicorn.Config(
            create_app(self.settings), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "the service did not start"
            time.sleep(0.05)
        self.client = httpx.Client(base_url=self.url, timeout=120)
        return self

    def __exit__(self, *exc) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(timeout=30)

    def token(self, department: str | None = None, admin: bool = False) -> tuple[str, str]:
        """A new access key (id, key) issued the way `actionplan token add` issues it."""
        from actionplan.excel_addin.tokens import TokenStore

        token, secret = TokenStore.for_home(self.settings.home_path, self.settings.council).add(
            department=department, admin=admin
        )
        return token.id, secret

    def pending(self) -> list[Path]:
        return sorted((self.settings.inbox_path / "pending").glob("*.json"))

    def rejected(self) -> list[Path]:
        return sorted((self.settings.archive_path / "rejected").glob("*.json"))


class FakeExcel:
    """A workbook as Excel holds it after applying the service's actions: values, fills and alerts."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self.book = dict(payload["book"])
        self.sheets = [
            {"name": s["name"], "values": [list(r) for r in s["values"]]} for s in payload["sheets"]
        ]
        self.fills: dict[tuple[str, int, int], str] = {}
        self.alerts: list[str] = []

    def sheet(self, name: str) -> list[list[Any]]:
        return next(s["values"] for s in self.sheets if s["name"] == name)

    def names(self) -> list[str]:
        return [s["name"] for s in self.sheets]

    def apply(self, actions: list[dict[str, Any]]) -> FakeExcel:
        for a in actions:
            f = a["func"]
            sheet = self.sheets[a["sheet_position"]] if a["sheet_position"] is not None else None
            cells = (
                [
                    (a["start_row"] + r, a["start_column"] + c)
                    for r in range(a["row_count"] or 0)
                    for c in range(a["column_count"] or 0)
                ]
                if a["start_row"] is not None
                else []
            )
            if f == "addSheet":
                self.sheets.insert(a["args"][0], {"name": a["args"][1], "values": [[]]})
            elif f == "sheetClear":
                sheet["values"] = [[]]
                self.fills = {k: v for k, v in self.fills.items() if k[0] != sheet["name"]}
            elif f == "setValues":
                grid = sheet["values"]
                for r, row in enumerate(a["values"]):
                    for c, value in enumerate(row):
                        rr, cc = a["start_row"] + r, a["start_column"] + c
                        while len(grid) <= rr:
                            grid.append([])
                        while len(grid[rr]) <= cc:
                            grid[rr].append("")
                        # Excel keeps a leading apostrophe as the "text" prefix, not as part of the value.
                        grid[rr][cc] = (
                            value[1:] if isinstance(value, str) and value.startswith("'") else value
                        )
            elif f == "setRangeColor":
                for rc in cells:
                    if a["args"][0]:
                        self.fills[(sheet["name"], *rc)] = a["args"][0]
                    else:
                        self.fills.pop((sheet["name"], *rc), None)
            elif f == "alert":
                self.alerts.append(a["args"][0])
        return self

    def payload(self) -> dict[str, Any]:
        sheets = []
        for s in self.sheets:
            width = max((len(r) for r in s["values"]), default=0)
            sheets.append(
                {
                    "name": s["name"],
                    "pictures": [],
                    "tables": [],
                    "values": [list(r) + [""] * (width - len(r)) for r in s["values"]] or [[]],
                }
            )
        return {"client": "Office.js", "version": "0.37.8", "book": self.book, "names": [], "sheets": sheets}


def post_json(srv: LiveServer, path: str, payload: Any, key: str | None) -> httpx.Response:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", **({"Authorization": key} if key else {})}
    return srv.client.post(path, content=body, headers=headers)


def actions_of(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    return response.json()["actions"]


def report_rows(excel: FakeExcel) -> list[list[Any]]:
    """The report sheet's table rows (below Sheet | Cell | Value | Problem)."""
    values = excel.sheet("Submission report")
    start = next(i for i, r in enumerate(values) if r[:4] == ["Sheet", "Cell", "Value", "Problem"])
    return [r[:4] for r in values[start + 1 :] if any(v != "" for v in r)]


# -- fixtures ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    home = tmp_path_factory.mktemp("service") / "home"
    # A council that publishes its rollup to departments (publish_rollup): the matrix's department download is 200.
    with LiveServer(home, max_upload_mb=2, publish_rollup=True) as server:
        yield server


@pytest.fixture(scope="module")
def keys(srv):
    """Access keys: Finance and Legal departments, an admin, and a revoked Finance key."""
    from actionplan.excel_addin.tokens import TokenStore

    out = {
        "finance": srv.token("Finance")[1],
        "legal": srv.token("Legal, HR & Property")[1],
        "admin": srv.token(admin=True)[1],
    }
    rid, out["revoked"] = srv.token("Finance")
    TokenStore.for_home(srv.settings.home_path).revoke(rid)
    return out


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    d = tmp_path_factory.mktemp("books")
    return {
        "good": canonical_workbook(
            d / "finance.xlsx",
            actions=[action("F1", status="Complete"), action("F2", status="G")],
            kpis=[GOOD_KPI],
        ),
        "warn": canonical_workbook(
            d / "warn.xlsx",
            actions=[
                action("F1", lead=None, status=None, update=None),
                action("F2", status="A", update=None),
            ],
        ),
        "bad": canonical_workbook(
            d / "bad.xlsx", actions=[action("F1", due="31/11/24", status="Greenish"), action("F2", lead=None)]
        ),
        "legal": canonical_workbook(
            d / "legal.xlsx", "Legal, HR & Property", actions=[action("L1", status="G")]
        ),
    }


# -- the xlwings round trip ---------------------------------------------------------------------------------------


def test_xlwings_check_writes_report_colours_error_cells_and_alerts(srv, keys, books):
    payload = xlwings_payload(books["bad"])
    before = (len(srv.pending()), len(srv.rejected()))
    actions = actions_of(post_json(srv, "/xlwings/check", payload, keys["finance"]))

    # A new sheet after the workbook's own three, then the title line with the outcome.
    assert actions[0]["func"] == "addSheet" and actions[0]["args"] == [2, "Submission report"]
    assert actions[1]["func"] == "setValues" and actions[1]["values"] == [
        ["Check found 2 errors and 1 warning"]
    ]
    assert actions[1]["sheet_position"] == 2
    # The cells in error are filled light red in their own sheet (Actions is sheet 1; F2 and H2 are 0-based 1,5 / 1,7).
    fills = [
        (a["sheet_position"], a["start_row"], a["start_column"], a["row_count"], a["args"][0])
        for a in actions
        if a["func"] == "setRangeColor" and a["sheet_position"] == 1
    ]
    assert fills == [(1, 2, 4, 1, "#FFEB9C"), (1, 1, 5, 1, "#FFC7CE"), (1, 1, 7, 1, "#FFC7CE")]
    alert = [a for a in actions if a["func"] == "alert"]
    assert len(alert) == 1 and alert[0]["args"][0].startswith(
        "Check found 2 errors and 1 warning. Fix the cells coloured red"
    )
    assert "Nothing was stored" in alert[0]["args"][0]

    excel = FakeExcel(payload).apply(actions)
    assert excel.names() == ["Plan", "Actions", "Submission report"]
    assert report_rows(excel) == [
        ["Actions", "F2", "31/11/24", "Error: not a real date (November has 30 days). Use dd/mm/yyyy."],
        [
            "Actions",
            "H2",
            "Greenish",
            "Error: not a status word we recognise. Use B, G, A, R or blank (or Blue, "
            "Green, Amber, Red, Complete, On track, At risk, Off target, …).",
        ],
        ["Actions", "E3", "", "Warning: no lead officer. Name the officer responsible for this item."],
    ]
    assert (len(srv.pending()), len(srv.rejected())) == before  # Check stores nothing


def test_xlwings_recheck_replaces_the_report_sheet_and_uncolours_fixed_cells(srv, keys, books):
    excel = FakeExcel(xlwings_payload(books["bad"]))
    excel.apply(actions_of(post_json(srv, "/xlwings/check", excel.payload(), keys["finance"])))
    assert excel.fills[("Actions", 1, 5)] == "#FFC7CE"

    # The officer fixes the date; the status is still wrong.
    excel.sheet("Actions")[1][5] = "30/11/2024"
    actions = actions_of(post_json(srv, "/xlwings/check", excel.payload(), keys["finance"]))
    assert not [a for a in actions if a["func"] == "addSheet"]
    assert actions[0] == {
        **actions[0],
        "func": "sheetClear",
        "sheet_position": 2,
    }  # cleared before anything is written
    excel.apply(actions)
    assert excel.names().count("Submission report") == 1
    assert ("Actions", 1, 5) not in excel.fills  # the fixed cell lost its red fill
    assert excel.fills[("Actions", 1, 7)] == "#FFC7CE"
    assert [r[1] for r in report_rows(excel)] == ["H2", "E3"]
    assert excel.alerts[-1].startswith("Check found 1 error and 1 warning.")


def test_xlwings_submit_accepted_with_warnings_is_stored_once(srv, keys, books):
    payload = xlwings_payload(books["warn"])
    before = len(srv.pending())
    excel = FakeExcel(payload).apply(actions_of(post_json(srv, "/xlwings/submit", payload, keys["finance"])))
    assert excel.alerts == [
        "Accepted with 3 warnings. Stored for the council rollup (2 actions, 0 objectives, "
        "0 KPIs). Warnings are coloured amber and listed on the 'Submission report' sheet."
    ]
    assert excel.sheet("Submission report")[0][0] == "Accepted with 3 warnings"
    assert {v for k, v in excel.fills.items() if k[0] == "Actions"} == {"#FFEB9C"}
    assert len(srv.pending()) == before + 1
    records = [json.loads(p.read_text()) for p in srv.pending()]
    mine = [r for r in records if r["file"] == "warn.xlsx"]
    assert len(mine) == 1 and mine[0]["department"] == "Finance" and mine[0]["file_ext"] == "json"
    assert mine[0]["submitted_by"].startswith("Finance (key ")

    # The same workbook again, now with the report sheet in it: the same content, so one submission.
    again = actions_of(post_json(srv, "/xlwings/submit", excel.payload(), keys["finance"]))
    assert (
        excel.apply(again)
        .alerts[-1]
        .startswith(
            "Accepted with 3 warnings. This is identical to the plan you "
            "already sent: it was not stored twice."
        )
    )
    assert len(srv.pending()) == before + 1
    assert excel.names().count("Submission report") == 1


def test_xlwings_submit_rejected_stores_nothing(srv, keys, books):
    payload = xlwings_payload(books["bad"])
    pending, rejected = len(srv.pending()), len(srv.rejected())
    excel = FakeExcel(payload).apply(actions_of(post_json(srv, "/xlwings/submit", payload, keys["finance"])))
    assert excel.alerts[0].startswith("Rejected: 2 errors, nothing was stored. Fix the cells coloured red")
    assert excel.sheet("Submission report")[0][0] == "Rejected: 2 errors, nothing was stored"
    assert len(srv.pending()) == pending and len(srv.rejected()) == rejected + 1


def test_xlwings_department_text_is_never_a_formula(srv, keys, books):
    payload = xlwings_payload(books["good"])
    plan, acts = payload["sheets"][0]["values"], payload["sheets"][1]["values"]
    plan[0][1] = "=cmd|' /C calc'!A0"  # an admin submits a workbook whose department is a formula
    acts[1][7] = "=1+1"  # a status that is a formula's text
    actions = actions_of(post_json(srv, "/xlwings/check", payload, keys["admin"]))
    written = [v for a in actions if a["func"] == "setValues" for row in a["values"] for v in row]
    assert "'=cmd|' /C calc'!A0" in written and "'=1+1" in written
    risky = [v for v in written if isinstance(v, str) and v[:1] in "=+-@"]
    assert not risky, risky


def test_xlwings_check_of_another_departments_workbook_is_rejected(srv, keys, books):
    actions = actions_of(post_json(srv, "/xlwings/submit", xlwings_payload(books["legal"]), keys["finance"]))
    excel = FakeExcel(xlwings_payload(books["legal"])).apply(actions)
    assert excel.alerts[0].startswith("Rejected: 1 error, nothing was stored")
    assert report_rows(excel)[0][2:] == [
        "Legal, HR & Property",
        "Error: this workbook is for 'Legal, HR & "
        "Property' but you are signed in for 'Finance'. Submit your own "
        "department's plan, or ask corporate performance for the right access.",
    ]


def test_concurrent_submissions_each_get_their_own_report(srv, keys, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    jobs = []
    for i in range(6):
        dept, key = (("Finance", keys["finance"]), ("Legal, HR & Property", keys["legal"]))[i % 2]
        rows = [action(f"C{i}-{n}", status="Greenish" if i % 3 == 0 else "G") for n in range(i + 1)]
        book = canonical_workbook(tmp_path / f"c{i}.xlsx", dept, actions=rows, period="2020/21 Q1")
        jobs.append((dept, key, xlwings_payload(book), i % 3 != 0, i + 1))

    def run(job):
        dept, key, payload, ok, n = job
        excel = FakeExcel(payload).apply(actions_of(post_json(srv, "/xlwings/submit", payload, key)))
        return excel

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(run, jobs))
    for (dept, _, _, ok, n), excel in zip(jobs, results, strict=True):
        details = {r[0]: r[1] for r in excel.sheet("Submission report")[1:6] if r and r[0]}
        assert details["Department"] == dept
        assert details["Read"].startswith(f"{n} action{'s' if n > 1 else ''}")
        assert excel.alerts[0].startswith("Accepted" if ok else f"Rejected: {n} error")


# -- auth ------------------------------------------------------------------------------------------------------

ENDPOINTS = {
    "check": ("POST", "/xlwings/check"),
    "submit": ("POST", "/xlwings/submit"),
    "rollup": ("POST", "/xlwings/rollup"),
    "upload": ("POST", "/api/submissions?check_only=true"),
    "status": ("GET", "/api/status"),
    "download": ("GET", f"/rollup/latest.xlsx?period={PUBLISHED}"),
    "report": ("GET", f"/report/latest.docx?period={PUBLISHED}"),
    "tokens": ("GET", "/api/tokens"),
    # The quarter's admin endpoints (excel_addin/quarter.py).
    "departments": ("GET", "/api/departments"),
    "departments-add": ("POST", "/api/departments"),
    "deadlines": ("GET", "/api/deadlines"),
    "deadline-set": ("POST", "/api/deadlines"),
    "submissions-on-file": ("GET", "/api/admin/submissions"),
    "submission": ("GET", "/api/admin/submissions/{sid}"),
    "workbook": ("GET", "/api/admin/submissions/{sid}/workbook"),
    "return": ("POST", "/api/admin/submissions/{sid}/return"),
    "remind": ("POST", f"/api/admin/remind?period={PUBLISHED}"),
}
ADMIN_ONLY = (
    "tokens",
    "departments",
    "departments-add",
    "deadlines",
    "deadline-set",
    "submissions-on-file",
    "submission",
    "workbook",
    "return",
    "remind",
)
# Bodies the quarter's POST endpoints are sent: refused (400) or naming no submission (404) once the key is let
# through, so the matrix changes nothing in the module's register (other tests read its status).
BODIES = {
    "departments-add": {"name": " "},
    "deadline-set": {"period": PUBLISHED, "date": "not a date"},
    "return": {"comment": "please add the KPIs"},
}
ADMIN_STATUS = {
    "departments-add": 400,
    "deadline-set": 400,
    "submission": 404,
    "workbook": 404,
    "return": 404,
}
# Who may do what (the same table is in excel_addin/app.py's docstring and excel_addin/README.md).
MATRIX = (
    [(who, endpoint, 401) for who in ("none", "wrong", "revoked") for endpoint in ENDPOINTS]
    + [("department", endpoint, 403 if endpoint in ADMIN_ONLY else 200) for endpoint in ENDPOINTS]
    + [("bearer", endpoint, 403 if endpoint in ADMIN_ONLY else 200) for endpoint in ENDPOINTS]
    + [("admin", endpoint, ADMIN_STATUS.get(endpoint, 200)) for endpoint in ENDPOINTS]
)


@pytest.fixture(scope="module")
def published(srv, books):
    """Any workbook where the PUBLISHED period's rollup lives, so downloads have something to send."""

    from actionplan.report import report_file

    target = srv.settings.rollup_file(PUBLISHED)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(books["good"], target)
    for department in (None, "Finance"):  # the committee report, sent from here while there is no warehouse
        shutil.copyfile(books["good"], report_file(target, department))
    return target


def _request(srv, keys, books, who: str, endpoint: str) -> httpx.Response:
    method, path = ENDPOINTS[endpoint]
    key = {
        "none": None,
        "wrong": "0000.not-a-key",
        "revoked": keys["revoked"],
        "department": keys["finance"],
        "bearer": f"Bearer {keys['finance']}",
        "admin": keys["admin"],
    }[who]
    headers = {"Authorization": key} if key else {}
    path = path.replace("{sid}", "feedfacecafe")
    if endpoint in BODIES or endpoint == "remind":
        return srv.client.post(path, json=BODIES.get(endpoint, {}), headers=headers)
    if endpoint == "upload":
        files = {"file": ("finance.xlsx", books["good"].read_bytes(), "application/octet-stream")}
        return srv.client.post(path, files=files, headers=headers)
    if method == "POST":
        return post_json(srv, path, xlwings_payload(books["good"]), key)
    return srv.client.get(path, headers=headers)


@pytest.mark.parametrize(("who", "endpoint", "status"), MATRIX, ids=[f"{w}-{e}" for w, e, _ in MATRIX])
def test_auth_matrix(srv, keys, books, published, who, endpoint, status):
    r = _request(srv, keys, books, who, endpoint)
    assert r.status_code == status, r.text
    if status == 401:
        assert r.headers["www-authenticate"] == "Bearer"
        detail = r.json()["detail"]
        assert ("revoked" in detail) == (who == "revoked")
        assert "access key" in detail
    elif status == 403:
        assert r.json() == {
            "detail": "This needs corporate performance's (admin) access key; a department's key "
            "cannot do it."
        }


@pytest.mark.parametrize(
    "path", ["/healthz", "/", "/manifest.xml", "/static/taskpane.html", "/icons/app-32.png"]
)
def test_public_paths_need_no_key(srv, path):
    assert srv.client.get(path).status_code == 200


@pytest.mark.parametrize("endpoint", ["check", "submit", "upload"])
def test_department_key_submits_only_its_own_department(srv, keys, books, endpoint):
    path = ENDPOINTS[endpoint][1].replace("?check_only=true", "?check_only=false")
    for book, ok in ((books["good"], True), (books["legal"], False)):
        if endpoint == "upload":
            r = srv.client.post(
                path,
                files={"file": (book.name, book.read_bytes())},
                headers={"Authorization": keys["finance"]},
            )
            assert r.status_code == 200 and r.json()["accepted"] is ok
            if not ok:
                assert [e["code"] for e in r.json()["errors"]] == ["wrong-department"]
        else:
            answer = actions_of(post_json(srv, path, xlwings_payload(book), keys["finance"]))
            excel = FakeExcel(xlwings_payload(book)).apply(answer)
            refused = excel.alerts[0].startswith(("Rejected: 1 error", "Check found 1 error"))
            assert refused is not ok
            assert ("signed in for 'Finance'" in json.dumps(excel.sheet("Submission report"))) is not ok


def test_admin_key_submits_for_the_department_the_workbook_names(srv, keys, books):
    r = srv.client.post(
        "/api/submissions?check_only=true",
        files={"file": ("legal.xlsx", books["legal"].read_bytes())},
        headers={"Authorization": keys["admin"]},
    )
    assert r.json()["accepted"] and r.json()["department"] == "Legal, HR & Property"


def test_token_cli_add_list_revoke(srv, tmp_path):
    env = {**os.environ, "ACTIONPLAN_HOME": str(srv.settings.home_path)}

    def cli(*args):
        p = subprocess.run(
            [sys.executable, "-m", "actionplan", "token", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert p.returncode == 0 and "Traceback" not in p.stdout + p.stderr, p.stderr
        return p.stdout

    out = cli("add", "--department", "Children's Services")
    key = out.split()[-1]
    tid = key.split(".")[0]
    assert f"Token for Children's Services (id {tid}): {key}" in out
    assert srv.client.get("/api/status", headers={"Authorization": key}).status_code == 200
    listing = cli("list")
    assert tid in listing and "Children's Services" in listing and key.split(".")[1] not in listing
    assert key not in (srv.settings.home_path / "tokens.json").read_text()  # stored hashed only
    assert f"Access key {tid} for Children's Services revoked" in cli("revoke", tid)
    r = srv.client.get("/api/status", headers={"Authorization": key})
    assert r.status_code == 401 and "revoked" in r.json()["detail"]

    p = subprocess.run(
        [sys.executable, "-m", "actionplan", "token", "revoke", "nosuchid"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (p.returncode, p.stderr) == (
        2,
        "actionplan: No access key with id 'nosuchid'. See `actionplan token list`.\n",
    )


def test_cli_help_loads_no_web_framework():
    code = (
        "import sys; from actionplan.cli import build_parser; build_parser(); "
        "print(sorted(m for m in ('fastapi', 'uvicorn', 'starlette', 'xlwings') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert out.strip() == "[]"


# -- limits and bad requests ------------------------------------------------------------------------------------


def test_body_over_the_limit_is_413_by_length_and_by_counting(srv, keys):
    big = b"{" + b" " * (2 * 1024 * 1024 + 10) + b"}"
    r = post_json(srv, "/xlwings/submit", big, keys["finance"])
    assert r.status_code == 413
    assert r.json()["detail"].startswith("The workbook is larger than the 2 MB this service accepts.")

    def chunks():  # no Content-Length: the service has to count
        for _ in range(30):
            yield b" " * 100_000

    r = srv.client.post("/xlwings/submit", content=chunks(), headers={"Authorization": keys["finance"]})
    assert r.status_code == 413 and "2 MB" in r.json()["detail"]
    assert srv.client.get("/healthz").status_code == 200


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (
            b"{bad json",
            "The request body is not valid JSON (line 1, column 2: Expecting property name enclosed in "
            "double quotes).",
        ),
        (b"\xff\xfe\x00", "The request body is not valid JSON"),
        (b"", "The request body is not valid JSON"),
        (b"[1, 2]", "The request body must be a JSON object with the workbook's sheets (xlwings format)."),
        (b'{"sheets": 5}', "The workbook JSON has no 'sheets' list of {name, values}"),
        (b'{"sheets": [{"name": "Plan", "values": 3}]}', "Sheet 'Plan' has no 2-D 'values' list"),
    ],
)
@pytest.mark.parametrize("path", ["/xlwings/check", "/xlwings/submit", "/xlwings/rollup"])
def test_malformed_json_is_400_with_words(srv, keys, path, body, detail):
    r = post_json(srv, path, body, keys["finance"])
    assert r.status_code == 400 and r.json()["detail"].startswith(detail), r.text


@pytest.mark.parametrize(
    ("request_args", "detail"),
    [
        (
            {"content": b"not a form", "headers": {"Content-Type": "text/plain"}},
            "Send the workbook as a multipart/form-data upload in a field named 'file'.",
        ),
        (
            {"data": {"period": PERIOD}, "files": {"other": ("x.txt", b"x")}},
            "No workbook was uploaded: send it in a field named 'file'.",
        ),
    ],
)
def test_upload_without_a_workbook_is_400(srv, keys, request_args, detail):
    args = dict(request_args)
    headers = {"Authorization": keys["finance"], **args.pop("headers", {})}
    r = srv.client.post("/api/submissions", headers=headers, **args)
    assert r.status_code == 400 and r.json() == {"detail": detail}


def test_bad_period_is_400_with_an_example(srv, keys):
    r = srv.client.get("/api/status?period=next+tuesday", headers={"Authorization": keys["finance"]})
    assert r.status_code == 400
    assert r.json()["detail"] == (
        "'next tuesday' is not a period actionplan recognises. Use e.g. 2024/25 Q2 (or "
        "2024/25 for the whole year)."
    )


# -- upload ----------------------------------------------------------------------------------------------------------


def test_upload_stores_identical_bytes_once_and_check_only_stores_nothing(srv, keys, tmp_path):
    book = canonical_workbook(
        tmp_path / "upload.xlsx",
        "Legal, HR & Property",
        actions=[action("U1", status="B")],
        period="2022/23 Q1",
    )
    data = book.read_bytes()
    headers = {"Authorization": keys["legal"]}
    before = len(srv.pending())
    r = srv.client.post(
        "/api/submissions",
        files={"file": ("upload.xlsx", data)},
        data={"check_only": "true"},
        headers=headers,
    )
    assert r.json()["accepted"] and r.json()["outcome"] == "Check passed" and not r.json()["stored"]
    assert len(srv.pending()) == before
    first = srv.client.post("/api/submissions", files={"file": ("upload.xlsx", data)}, headers=headers).json()
    second = srv.client.post(
        "/api/submissions", files={"file": ("upload.xlsx", data)}, headers=headers
    ).json()
    assert (first["new"], first["stored"], second["new"], second["stored"]) == (True, True, False, False)
    assert first["submission_id"] == second["submission_id"]
    assert len(srv.pending()) == before + 1
    assert (
        second["message"]
        == "Accepted. This is identical to the plan you already sent: it was not stored twice."
    )


def test_upload_of_a_pdf_is_a_rejection_not_an_error(srv, keys):
    r = srv.client.post(
        "/api/submissions",
        files={"file": ("plan.xlsx", b"%PDF-1.4 ...")},
        headers={"Authorization": keys["finance"]},
    )
    assert r.status_code == 200
    assert (
        r.json()["errors"][0]["message"]
        == "plan.xlsx is a PDF, not an Excel workbook. Submit the .xlsx file itself."
    )
    assert r.json()["outcome"] == "Rejected: 1 error, nothing was stored"


# -- status -------------------------------------------------------------------------------------------------------


def test_status_lists_every_known_department_and_the_missing_ones(srv, keys, tmp_path):
    period = "2021/22 Q3"
    srv.token("Adult Social Services")
    book = canonical_workbook(tmp_path / "f.xlsx", actions=[action("S1", lead=None)], period=period)
    assert srv.client.post(
        "/api/submissions",
        files={"file": ("f.xlsx", book.read_bytes())},
        headers={"Authorization": keys["finance"]},
    ).json()["accepted"]
    rejected = canonical_workbook(
        tmp_path / "l.xlsx", "Legal, HR & Property", actions=[action("S1", status="?!")], period=period
    )
    assert not srv.client.post(
        "/api/submissions",
        files={"file": ("l.xlsx", rejected.read_bytes())},
        headers={"Authorization": keys["legal"]},
    ).json()["accepted"]
    s = srv.client.get(f"/api/status?period={period}", headers={"Authorization": keys["legal"]}).json()
    by = {d["department"]: d for d in s["departments"]}
    assert s["period"] == period and s["source"] == "inbox only (warehouse not created yet)"
    assert {"Adult Social Services", "Legal, HR & Property"} <= set(s["missing"])
    assert "Finance" not in s["missing"]
    assert (
        by["Adult Social Services"]["status"] == "missing"
        and by["Adult Social Services"]["submitted_at"] is None
    )
    legal = by["Legal, HR & Property"]  # tried, but a rejected workbook is not a return
    assert (legal["status"], legal["outcome"], legal["errors"], legal["current"]) == (
        "rejected",
        "rejected",
        1,
        None,
    )
    f = by["Finance"]
    assert (f["status"], f["outcome"], f["warnings"], f["errors"]) == ("submitted", "accepted", 1, 0)
    assert f["submitted_by"].startswith("Finance (key ") and f["current"]["state"] == "waiting to load"
    assert dt.datetime.fromisoformat(f["submitted_at"]) > dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    assert s["you"] == {
        "department": "Legal, HR & Property",
        "admin": False,
        "key_id": keys["legal"].split(".")[0],
    }


# -- the council: warehouse, published rollup, download -------------------------------------------------------------


@pytest.fixture(scope="module")
def council(tmp_path_factory):
    """A second service whose inbox has been loaded into a warehouse, for the rollup and the warehouse's status."""
    home = tmp_path_factory.mktemp("council") / "home"
    books = tmp_path_factory.mktemp("council-books")
    with LiveServer(
        home, publish_rollup=True
    ) as server:  # departments see the council's rollup (the setting)
        finance, legal = server.token("Finance")[1], server.token("Legal, HR & Property")[1]
        server.token("Registrars")
        for key, path in (
            (
                finance,
                canonical_workbook(
                    books / "f.xlsx",
                    actions=[
                        action("F1", status="R", update="Waiting for audit"),
                        action("F2", due="31/03/2025"),
                        action("F3", text="=SUM(A1:A9)", status="B", update="+ done"),
                    ],
                    kpis=[GOOD_KPI],
                ),
            ),
            (
                legal,
                canonical_workbook(
                    books / "l.xlsx",
                    "Legal, HR & Property",
                    actions=[action("L1", status="A", update=None), action("L2", due="31/03/2025")],
                ),
            ),
        ):
            r = post_json(server, "/xlwings/submit", xlwings_payload(path), key)
            assert "Accepted" in json.dumps(r.json())
        server.keys = {"finance": finance, "legal": legal, "admin": server.token(admin=True)[1]}
        yield server


def _load_and_publish(server: LiveServer) -> Path:
    """What the ingest and consolidate flows do, called as plain functions: inbox → warehouse → rollup workbook."""
    from actionplan.rollup_writer import write_rollup
    from actionplan.warehouse import open_warehouse
    from actionplan.warehouse.consolidate import facts_from_warehouse
    from actionplan.warehouse.inbox import Inbox
    from actionplan.warehouse.load import load_inbox

    s = server.settings
    wh = open_warehouse(s.warehouse_url)
    try:
        load_inbox(Inbox(s.inbox_path, s.archive_path), wh)
        facts = facts_from_warehouse(wh, PERIOD)
    finally:
        wh.close()
    return write_rollup(facts, s.rollup_file(PERIOD))


@pytest.fixture(scope="module")
def published_council(council):
    """The council service after the ingest and consolidate steps have run."""
    _load_and_publish(council)
    return council


@pytest.fixture
def locked_warehouse(published_council):
    """Another process holding the warehouse for writing, as the ingest flow does while it loads."""
    code = (
        "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('locked', flush=True); "
        "sys.stdin.read()"
    )
    p = subprocess.Popen(
        [sys.executable, "-c", code, published_council.settings.warehouse_url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert p.stdout.readline().strip() == "locked"
    yield published_council
    p.stdin.close()
    p.wait(timeout=30)


def test_rollup_when_nothing_is_published_yet(tmp_path, books):
    with LiveServer(tmp_path / "home", publish_rollup=True) as server:
        headers = {"Authorization": server.token("Finance")[1]}
        r = server.client.get("/rollup/latest.xlsx", headers=headers)
        assert r.status_code == 404
        assert r.json()["detail"] == (
            "No council rollup has been published yet. Corporate performance publishes it "
            "with `actionplan consolidate` once departments have submitted."
        )
        a = actions_of(
            post_json(server, "/xlwings/rollup", xlwings_payload(books["good"]), headers["Authorization"])
        )
        assert [x["func"] for x in a] == ["alert"]
        assert a[0]["args"][0] == (
            "No council rollup has been published for 2024/25 Q2 yet. Corporate performance "
            "publishes it with `actionplan consolidate`; try again later."
        )


def test_rollup_download_is_404_until_published_then_200(council, request):
    headers = {"Authorization": council.keys["finance"]}
    for period in (PERIOD, "2018/19 Q1"):
        if period == PERIOD and council.settings.rollups_path.exists():
            continue  # published already by a test before this one
        r = council.client.get(f"/rollup/latest.xlsx?period={period}", headers=headers)
        assert r.status_code == 404
        assert r.json() == {
            "detail": f"No council rollup has been published for {period} yet. Corporate "
            "performance publishes it with `actionplan consolidate`."
        }
    rollups = request.getfixturevalue("published_council").settings.rollups_path
    rollup_file = next(rollups.glob("rollup-*.xlsx"))
    for path in (f"/rollup/latest.xlsx?period={PERIOD}", "/rollup/latest.xlsx"):
        r = council.client.get(path, headers=headers)
        assert r.status_code == 200 and r.content == rollup_file.read_bytes()
        assert r.headers["content-disposition"] == 'attachment; filename="council-rollup-2024-25-Q2.xlsx"'
        assert (
            r.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )


def _book(server: LiveServer) -> Path:
    return canonical_workbook(server.settings.home_path.parent / "mine.xlsx", actions=[action("F9")])


def _council_sheets(server: LiveServer, key: str) -> FakeExcel:
    payload = xlwings_payload(_book(server))
    return FakeExcel(payload).apply(actions_of(post_json(server, "/xlwings/rollup", payload, key)))


def test_xlwings_rollup_writes_council_sheets_from_the_warehouse(published_council):
    council = published_council
    excel = _council_sheets(council, council.keys["finance"])
    assert excel.names() == ["Plan", "Actions", "Council summary", "Council exceptions", "Our actions"]
    assert excel.alerts[0].startswith(
        "Council rollup for 2024/25 Q2 written to the sheets 'Council summary', "
        "'Council exceptions' and 'Our actions' (from the warehouse at "
    )
    summary = excel.sheet("Council summary")
    assert summary[0][0].startswith("Council summary, 2024/25 Q2 (from the warehouse at ")
    assert summary[2][:7] == ["Department", "Blue", "Green", "Amber", "Red", "Not rated", "Total"]
    assert [r[0] for r in summary[3:]] == ["Finance", "Legal, HR & Property", "Council total"]
    ours = excel.sheet("Our actions")
    assert {r[0] for r in ours[3:]} == {"Finance"} and len(ours) == 3 + 3
    assert "=SUM(A1:A9)" in [v for r in ours for v in r]  # written as text (apostrophe) and read back as text
    exceptions = excel.sheet("Council exceptions")
    assert {r[1] for r in exceptions[3:]} == {"F1", "L1"}

    admin = _council_sheets(council, council.keys["admin"])
    assert "Council actions" in admin.names()
    assert {r[0] for r in admin.sheet("Council actions")[3:]} == {"Finance", "Legal, HR & Property"}

    # Run again: the same sheets are emptied and rewritten, never duplicated.
    again = FakeExcel(excel.payload())
    again.apply(actions_of(post_json(council, "/xlwings/rollup", excel.payload(), council.keys["finance"])))
    assert again.names() == excel.names()


def test_busy_warehouse_status_from_inbox_and_rollup_from_published_file(locked_warehouse):
    council = locked_warehouse
    s = council.client.get(
        f"/api/status?period={PERIOD}", headers={"Authorization": council.keys["legal"]}
    ).json()
    assert s["source"] == "inbox only (warehouse busy)"
    assert s["missing"] == ["Registrars"]
    assert {d["department"]: d["current"]["state"] for d in s["departments"] if d["current"]} == {
        "Finance": "loaded",
        "Legal, HR & Property": "loaded",
    }
    excel = _council_sheets(council, council.keys["finance"])
    assert "(from the rollup workbook published " in excel.alerts[0]
    assert [r[0] for r in excel.sheet("Council summary")[3:]] == [
        "Finance",
        "Legal, HR & Property",
        "Council total",
    ]
    assert {r[0] for r in excel.sheet("Our actions")[3:]} == {"Finance"}


def test_status_from_the_warehouse(published_council):
    council = published_council
    s = council.client.get(
        f"/api/status?period={PERIOD}", headers={"Authorization": council.keys["admin"]}
    ).json()
    assert s["source"] == "warehouse and inbox" and s["missing"] == ["Registrars"]
    assert s["periods"] == [PERIOD]
    # Each loaded return lists its KPIs by performance; none of these is annual, so none is "not due".
    kpis = {d["department"]: d["current"]["kpis"] for d in s["departments"] if d["current"]}
    assert kpis and all(k is None or "not due" not in k for k in kpis.values())
    assert any(k and sum(k.values()) for k in kpis.values()), kpis
