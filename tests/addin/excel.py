"""Excel for the add-in's client: a workbook state, one user step at a time run in Node (js/harness.js).

The state is what js/officejs.js holds for Excel: each sheet's values (dates as serial numbers with a date format),
fills, bold cells, protection. `Excel.press("checkPlan")` loads commands.html and its scripts from the live
service, runs the ribbon function, lets the "user" press OK in each dialog, and keeps the workbook it leaves.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

JS = Path(__file__).resolve().parent / "js"
EPOCH = dt.datetime(1899, 12, 30)


def node() -> str:
    """The node binary; the tests are skipped without it outside CI (CI installs it, see .ci/run)."""
    found = shutil.which("node")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("node is not installed: .ci/run installs nodejs; run it as root")
        pytest.skip("node is not installed (apt-get install nodejs)")
    return found


def state_from_xlsx(path: Path) -> dict[str, Any]:
    """A workbook as Excel would hold it: values from A1, dates as serial numbers, fills and bold cells."""
    import openpyxl

    wb = openpyxl.load_workbook(path)
    sheets = []
    for i, ws in enumerate(wb.worksheets):
        values, formats, fills, bold = [], {}, {}, {}
        for r, row in enumerate(ws.iter_rows()):
            out = []
            for c, cell in enumerate(row):
                v = cell.value
                if isinstance(v, dt.datetime | dt.date):
                    day = v if isinstance(v, dt.datetime) else dt.datetime(v.year, v.month, v.day)
                    v = (day - EPOCH).days + (day - EPOCH).seconds / 86400
                    formats[f"{r},{c}"] = "dd/mm/yyyy"
                out.append("" if v is None else v)
                if (
                    cell.fill is not None
                    and cell.fill.fill_type == "solid"
                    and cell.fill.fgColor.type == "rgb"
                ):
                    fills[f"{r},{c}"] = "#" + cell.fill.fgColor.rgb[-6:].upper()
                if cell.font is not None and cell.font.b:
                    bold[f"{r},{c}"] = True
            values.append(out)
        while values and all(v == "" for v in values[-1]):
            values.pop()
        sheets.append(
            blank_sheet(f"s{i + 1}", ws.title)
            | {"values": values, "formats": formats, "fills": fills, "bold": bold}
        )
    return {"name": path.name, "active": "s1", "nextId": len(sheets), "sheets": sheets}


def blank_sheet(sid: str, name: str) -> dict[str, Any]:
    return {
        "id": sid,
        "name": name,
        "values": [],
        "formats": {},
        "fills": {},
        "bold": {},
        "fontSize": {},
        "links": {},
        "wrap": {},
        "columnWidths": {},
        "protected": False,
        "frozenRows": 0,
        "autoFilter": None,
        "marks": [],
    }


class Excel:
    """One user's Excel with the add-in: the open workbook, the add-in's localStorage and its cached files."""

    def __init__(
        self,
        state: dict[str, Any],
        base: str,
        tmp: Path,
        *,
        api: str = "1.12",
        partition_key: str | None = None,
    ) -> None:
        self.state = state
        self.base = base.rstrip("/")
        self.tmp = tmp
        self.api = api
        self.partition_key = partition_key
        self.storage: dict[str, str] = {}
        self.cache: dict[str, str] = {}
        self.last: dict[str, Any] = {}
        self.steps = 0

    def run(self, page: str, **step: Any) -> dict[str, Any]:
        """Run one step in Node; the workbook, storage and cache carry over to the next step."""
        self.steps += 1
        src, dst = self.tmp / f"step{self.steps}.json", self.tmp / f"result{self.steps}.json"
        src.write_text(
            json.dumps(
                {
                    "page": f"{self.base}/static/{page}",
                    "state": self.state,
                    "api": self.api,
                    "partitionKey": self.partition_key,
                    "storage": self.storage,
                    "cache": self.cache,
                    **step,
                }
            )
        )
        done = subprocess.run(
            [node(), str(JS / "harness.js"), str(src), str(dst)], capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stderr
        assert "unhandled rejection" not in done.stderr, done.stderr
        self.last = json.loads(dst.read_text())
        self.state, self.storage, self.cache = self.last["state"], self.last["storage"], self.last["cache"]
        return self.last

    def sign_in(self, key: str) -> dict[str, Any]:
        return self.run("taskpane.html", pane=[{"type": "saveKey", "key": key}])

    def press(self, command: str, **step: Any) -> list[str]:
        """Press a ribbon button; the texts of the dialogs it showed."""
        out = self.run("commands.html", command=command, **step)
        assert out["completed"], "the ribbon function never called event.completed()"
        return [d.get("text") for d in out["dialogs"]]

    # -- reading the workbook ---------------------------------------------------------------------------------
    def names(self) -> list[str]:
        return [s["name"] for s in self.state["sheets"]]

    def sheet(self, name: str) -> dict[str, Any]:
        return next(s for s in self.state["sheets"] if s["name"] == name)

    def values(self, name: str) -> list[list[Any]]:
        return self.sheet(name)["values"]

    def move(self, name: str, to: int) -> None:
        """Drag a sheet's tab to another place, as a user does."""
        sheet = self.sheet(name)
        self.state["sheets"].remove(sheet)
        self.state["sheets"].insert(to, sheet)


def report_rows(excel: Excel) -> list[list[Any]]:
    """The report sheet's table rows (below Sheet | Cell | Value | Problem)."""
    values = excel.values("Submission report")
    start = next(i for i, r in enumerate(values) if r[:4] == ["Sheet", "Cell", "Value", "Problem"])
    return [r[:4] for r in values[start + 1 :] if any(v != "" for v in r)]


class Proxy:
    """A reverse proxy on loopback in front of the service, as a council's puts it under a path (/actionplan).

    `hang` makes it accept requests to the xlwings endpoints and never answer; `answers` replaces the service's
    answer for a path (to send the client something it must refuse).
    """

    def __init__(self, target: str, prefix: str = "/actionplan") -> None:
        import http.server
        import threading

        import httpx

        self.prefix, self.hang, self.answers = prefix, False, {}
        proxy = self
        client = httpx.Client(base_url=target, timeout=300)
        release = threading.Event()
        self.release = release

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep the test output quiet
                pass

            def _forward(self, method: str) -> None:
                if not self.path.startswith(proxy.prefix + "/"):
                    self.send_error(404)
                    return
                path = self.path[len(proxy.prefix) :]
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if path.startswith("/xlwings/") and proxy.hang:
                    release.wait(60)
                    return
                if path in proxy.answers:
                    status, data = 200, json.dumps(proxy.answers[path]).encode()
                    headers = {"content-type": "application/json"}
                else:
                    r = client.request(
                        method,
                        path,
                        content=body,
                        headers={
                            k: v
                            for k, v in self.headers.items()
                            if k.lower() in ("authorization", "content-type")
                        },
                    )
                    status, data, headers = r.status_code, r.content, r.headers
                self.send_response(status)
                for k in ("content-type", "cache-control"):
                    if k in headers:
                        self.send_header(k, headers[k])
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._forward("GET")

            def do_POST(self):
                self._forward("POST")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{prefix}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Proxy:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
