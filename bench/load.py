"""Deadline-day load on the submission service, on loopback: no 5xx, nothing lost, memory bounded.

    python bench/load.py [--clients 60] [--seconds 120] [--rows 2000] [--quick] [--out bench/load-results.json]

Starts `actionplan serve` in a temporary ACTIONPLAN_HOME on a free port and issues one access key per client, each
for a department of its own. Every client then submits its department's generated plan (`actionplan.sample`) for
`--seconds`: .xlsx uploads and xlwings JSON posts (Excel's Submit and Check), including resubmissions of identical
content and revisions that are new. The run is bounded by time and by count (`--max-requests`), every request has
a timeout, and the server is stopped at the end.

Reports throughput, p50/p95/p99 latency, answers by status, 5xx, and the server's peak RSS (VmHWM), then checks
that nothing was lost: every distinct accepted submission is in inbox/pending exactly once, and every submit
attempt left one line in the audit log. Checks run one at a time in the service (the validation engine is shared),
so on a small machine throughput is a few requests a second and latency is the queue: that is expected.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
PERIOD = "2024/25 Q2"
KINDS = ("upload .xlsx", "xlwings submit", "xlwings resubmit", "xlwings check")


@dataclass
class Client:
    """One department's key and workbook, as the upload page and the add-in send it."""

    department: str
    key: str
    xlsx: bytes
    payload: dict[str, Any]
    revision: int = 0
    last_submit: bytes | None = None


@dataclass
class Answer:
    kind: str
    department: str
    status: int | str  # HTTP status, or "timeout"/"transport" when no answer came
    seconds: float
    outcome: str = ""  # new, duplicate, rejected, checked
    submission_id: str | None = None


@dataclass
class Run:
    answers: list[Answer] = field(default_factory=list)
    issued: int = 0
    rss_kb: list[int] = field(default_factory=list)


# -- set-up ------------------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_clients(home: Path, folder: Path, n: int, rows: int, seed: int = 7) -> list[Client]:
    """n departments, each with a key and a seeded plan of `rows` actions (as .xlsx and as the add-in's JSON)."""
    from actionplan.excel_addin.tokens import TokenStore
    from actionplan.sample import DEPARTMENTS, plan_for, write_plan, xlwings_payload

    store = TokenStore.for_home(home)
    clients = []
    for i in range(n):
        name = DEPARTMENTS[i % len(DEPARTMENTS)] + (
            f" {i // len(DEPARTMENTS) + 1}" if i >= len(DEPARTMENTS) else ""
        )
        plan = plan_for(name, PERIOD, rows, random.Random(seed * 1000 + i))
        plan.department = name
        path = write_plan(plan, folder / f"dept-{i:03d}.xlsx", write_only=True)
        clients.append(Client(name, store.add(department=name)[1], path.read_bytes(), xlwings_payload(path)))
    return clients


def start_server(home: Path, port: int, log: Path, workers: int = 1) -> subprocess.Popen:
    env = {**os.environ, "ACTIONPLAN_HOME": str(home)}
    for name in ("ACTIONPLAN_SETTINGS", "ACTIONPLAN_WAREHOUSE", "ACTIONPLAN_INBOX"):
        env.pop(name, None)
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "actionplan",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            cwd=ROOT,
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 180
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"the service did not start:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("the service did not answer /healthz within 180 s")
        time.sleep(0.25)


def _family(pid: int) -> list[int]:
    """The server process and every process under it (`serve --workers N` answers from child processes)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            try:
                todo.extend(int(c) for c in task.read_text().split())
            except (OSError, ValueError):
                pass
    return found


def _proc_kb(pid: int, field_name: str) -> int:
    """A /proc status figure summed over the server's processes (for VmHWM: the sum of each one's peak)."""
    total = 0
    for p in _family(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith(field_name + ":"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def _cpu_seconds(pid: int) -> float:
    total = 0.0
    for p in _family(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rpartition(")")[2].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass
    return total


# -- the clients --------------------------------------------------------------------------------------------------


def _revised(client: Client) -> bytes:
    """The department's plan with one progress update changed: new content, so a new submission."""
    client.revision += 1
    sheets = list(client.payload["sheets"])
    i = next(n for n, s in enumerate(sheets) if s["name"] == "Actions")
    values = list(sheets[i]["values"])
    col = values[0].index("Progress update") if "Progress update" in values[0] else len(values[0]) - 1
    row = list(values[1])
    row[col] = f"{row[col] or 'Update'} (revision {client.revision})"
    values[1] = row
    sheets[i] = {**sheets[i], "values": values}
    return json.dumps({**client.payload, "sheets": sheets}).encode()


def _outcome(kind: str, response: httpx.Response) -> tuple[str, str | None]:
    body = response.json()
    if kind == "upload .xlsx":
        if not body.get("accepted"):
            return "rejected", None
        return ("new" if body.get("new") else "duplicate"), body.get("submission_id")
    alert = next((a["args"][0] for a in body.get("actions", []) if a.get("func") == "alert"), "")
    if kind == "xlwings check":
        return "checked", None
    if alert.startswith("Rejected"):
        return "rejected", None
    return ("duplicate" if "not stored twice" in alert else "new"), None


async def _client(
    http: httpx.AsyncClient, c: Client, start: int, stop_at: float, run: Run, max_requests: int
):
    step = start
    while time.monotonic() < stop_at and run.issued < max_requests:
        run.issued += 1
        kind = KINDS[step % len(KINDS)]
        step += 1
        headers = {"Authorization": c.key}
        if kind == "upload .xlsx":  # the same bytes each time: the first is stored, the rest recognised
            request = http.build_request(
                "POST", "/api/submissions", headers=headers, files={"file": (f"{c.department}.xlsx", c.xlsx)}
            )
        else:
            if kind == "xlwings submit" or c.last_submit is None:
                c.last_submit = _revised(c)
            body = c.last_submit if kind != "xlwings check" else json.dumps(c.payload).encode()
            path = "/xlwings/check" if kind == "xlwings check" else "/xlwings/submit"
            request = http.build_request(
                "POST", path, content=body, headers={**headers, "Content-Type": "application/json"}
            )
        started = time.monotonic()
        try:
            response = await http.send(request)
            answer = Answer(kind, c.department, response.status_code, time.monotonic() - started)
            if response.status_code == 200:
                answer.outcome, answer.submission_id = _outcome(kind, response)
        except httpx.TimeoutException:
            answer = Answer(kind, c.department, "timeout", time.monotonic() - started)
        except httpx.TransportError:
            answer = Answer(kind, c.department, "transport", time.monotonic() - started)
        run.answers.append(answer)


async def _sample_rss(pid: int, run: Run, done: asyncio.Event) -> None:
    while not done.is_set():
        run.rss_kb.append(_proc_kb(pid, "VmRSS"))
        try:
            await asyncio.wait_for(done.wait(), timeout=1.0)
        except TimeoutError:
            pass


async def drive(
    url: str, pid: int, clients: list[Client], seconds: float, max_requests: int, timeout: float
) -> tuple[Run, float]:
    """Every client at once until the time or the count runs out; answers in flight are waited for."""
    run = Run()
    done = asyncio.Event()
    limits = httpx.Limits(max_connections=len(clients) + 4, max_keepalive_connections=len(clients) + 4)
    async with httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits) as http:
        sampler = asyncio.create_task(_sample_rss(pid, run, done))
        started = time.monotonic()
        stop_at = started + seconds
        tasks = [
            asyncio.create_task(_client(http, c, i, stop_at, run, max_requests))
            for i, c in enumerate(clients)
        ]
        # Hard bound: a request started just before stop_at may take up to `timeout`; nothing runs longer.
        _, late = await asyncio.wait(tasks, timeout=seconds + timeout + 30)
        for t in late:
            t.cancel()
        elapsed = time.monotonic() - started
        done.set()
        await sampler
    return run, elapsed


# -- the verdict ----------------------------------------------------------------------------------------------------


def _pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))], 3)


def _stats(answers: list[Answer]) -> dict[str, Any]:
    ok = [a.seconds for a in answers if a.status == 200]
    statuses = Counter(str(a.status) for a in answers)
    return {
        "requests": len(answers),
        "by_status": dict(sorted(statuses.items())),
        "p50_s": _pct(ok, 50),
        "p95_s": _pct(ok, 95),
        "p99_s": _pct(ok, 99),
        "max_s": _pct(ok, 100),
    }


def nothing_lost(home: Path, answers: list[Answer]) -> dict[str, Any]:
    """Compare what callers were told with the inbox and the audit log."""
    from actionplan.settings import load_settings
    from actionplan.warehouse.inbox import Inbox

    settings = load_settings(environ={"ACTIONPLAN_HOME": str(home)})
    inbox = Inbox(settings.inbox_path, settings.archive_path)
    pending = sorted(p.stem for p in inbox.pending_dir.glob("*.json"))
    audit = [
        e
        for e in inbox.audit_log()
        if e.get("channel") in ("upload", "xlwings")
        and e.get("outcome") in ("accepted", "duplicate", "rejected")
    ]
    accepted = [e["submission_id"] for e in audit if e["outcome"] == "accepted"]
    submits = [a for a in answers if a.status == 200 and a.kind != "xlwings check"]
    told_new = sum(a.outcome == "new" for a in submits)
    duplicates = {e["submission_id"] for e in audit if e["outcome"] == "duplicate"}
    upload_ids = {a.submission_id for a in submits if a.submission_id and a.outcome in ("new", "duplicate")}
    lost = sorted(set(accepted) - set(pending))
    return {
        "submit_answers": len(submits),
        "audit_lines": len(audit),
        "told_stored": told_new,
        "accepted_distinct": len(set(accepted)),
        "in_pending": len(pending),
        "stored_twice": sorted(k for k, n in Counter(accepted).items() if n > 1),
        "lost": lost,
        "unexpected_in_pending": sorted(set(pending) - set(accepted)),
        "duplicates_without_original": sorted(duplicates - set(accepted)),
        "uploads_missing": sorted(upload_ids - set(pending)),
        "nothing_lost": (
            len(audit) == len(submits)
            and told_new == len(accepted) == len(set(accepted)) == len(pending)
            and not lost
            and set(pending) == set(accepted)
            and upload_ids <= set(pending)
            and duplicates <= set(accepted)
        ),
    }


def report(result: dict[str, Any]) -> str:
    lines = [
        f"load: {result['clients']} clients, {result['seconds']} s, {result['rows']:,}-row plans, "
        f"{result['elapsed_s']} s wall (server pid {result['server_pid']}, "
        f"{result.get('workers', 1)} worker process{'es' if result.get('workers', 1) > 1 else ''})",
        f"{'':<18} {'requests':>8} {'200':>5} {'4xx':>5} {'5xx':>5} {'no answer':>9} {'p50 s':>7} {'p95 s':>7} "
        f"{'p99 s':>7}",
    ]
    for name, s in [*result["by_kind"].items(), ("all", result["all"])]:
        by = s["by_status"]
        four = sum(n for k, n in by.items() if k.startswith("4"))
        five = sum(n for k, n in by.items() if k.startswith("5"))
        none = sum(n for k, n in by.items() if not k[0].isdigit())
        fmt = [("-" if s[k] is None else f"{s[k]:.2f}") for k in ("p50_s", "p95_s", "p99_s")]
        lines.append(
            f"{name:<18} {s['requests']:>8} {by.get('200', 0):>5} {four:>5} {five:>5} {none:>9} "
            f"{fmt[0]:>7} {fmt[1]:>7} {fmt[2]:>7}"
        )
    lost = result["inbox"]
    lines += [
        f"throughput {result['throughput_rps']} req/s; server CPU {result['server_cpu_s']} s; "
        f"server RSS peak (VmHWM) {result['server_peak_rss_mb']} MB, {result['server_rss_before_mb']} MB "
        "before the run",
        f"5xx: {result['server_errors']}; no answer: {result['no_answer']}",
        f"nothing lost: {'yes' if lost['nothing_lost'] else 'NO'} - {lost['accepted_distinct']} distinct "
        f"accepted, {lost['in_pending']} in inbox/pending, stored twice {len(lost['stored_twice'])}, "
        f"lost {len(lost['lost'])}; {lost['audit_lines']} audit lines for {lost['submit_answers']} submit "
        f"answers; callers told 'stored' {lost['told_stored']} times",
    ]
    throttled = {d: k for d, k in result.get("per_key", {}).items() if k["throttled"]}
    if throttled:
        lines.append(
            "throttled (429) keys: "
            + ", ".join(f"{d} {k['throttled']} of {k['requests']} requests" for d, k in throttled.items())
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--clients", type=int, help="concurrent clients, one department each (default 60; --quick: 12)"
    )
    parser.add_argument(
        "--seconds", type=float, help="how long clients keep sending (default 120; --quick: 20)"
    )
    parser.add_argument("--rows", type=int, help="actions per plan (default 2000; --quick: 300)")
    parser.add_argument(
        "--max-requests", type=int, default=20_000, help="stop after this many requests in all"
    )
    parser.add_argument(
        "--timeout", type=float, default=300, help="seconds one request may take (default 300)"
    )
    parser.add_argument("--quick", action="store_true", help="a short run with fewer, smaller plans")
    parser.add_argument("--workers", type=int, default=1, help="`actionplan serve --workers N` (default 1)")
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "bench" / "load-results.json",
        help="JSON results file; the run is stored under 'full' or 'quick'",
    )
    args = parser.parse_args(argv)
    clients_n = args.clients or (12 if args.quick else 60)
    seconds = args.seconds if args.seconds is not None else (20 if args.quick else 120)
    rows = args.rows or (300 if args.quick else 2000)

    with tempfile.TemporaryDirectory(prefix="actionplan-load-") as tmp:
        work = Path(tmp)
        home = work / "home"
        t = time.monotonic()
        clients = make_clients(home, work / "books", clients_n, rows)
        print(
            f"generated {clients_n} plans of {rows:,} actions in {time.monotonic() - t:.0f} s",
            file=sys.stderr,
            flush=True,
        )
        port = _free_port()
        server = start_server(home, port, work / "server.log", args.workers)
        try:
            before_kb = _proc_kb(server.pid, "VmRSS")
            cpu_before = _cpu_seconds(server.pid)
            run, elapsed = asyncio.run(
                drive(
                    f"http://127.0.0.1:{port}", server.pid, clients, seconds, args.max_requests, args.timeout
                )
            )
            peak_kb = max(_proc_kb(server.pid, "VmHWM"), *run.rss_kb, 0)
            processes = len(_family(server.pid))
            cpu = _cpu_seconds(server.pid) - cpu_before
        finally:
            server.send_signal(signal.SIGTERM)  # graceful: the service writes its last audit counts
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        log = (work / "server.log").read_text(errors="replace")
        answers = run.answers
        result = {
            "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "mode": "quick" if args.quick else "full",
            "clients": clients_n,
            "seconds": seconds,
            "rows": rows,
            "elapsed_s": round(elapsed, 1),
            "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
            "server_pid": server.pid,
            "workers": args.workers,
            "server_processes": processes,
            "requests": len(answers),
            "throughput_rps": round(sum(a.status == 200 for a in answers) / elapsed, 2) if elapsed else 0,
            "by_kind": {k: _stats([a for a in answers if a.kind == k]) for k in KINDS},
            # Per key (one a client): a key is allowed 60 requests at once, then one a second (in each worker).
            "per_key": {
                d: {
                    "requests": sum(a.department == d for a in answers),
                    "throttled": sum(a.department == d and a.status == 429 for a in answers),
                }
                for d in sorted({a.department for a in answers})
            },
            "all": _stats(answers),
            "server_errors": sum(isinstance(a.status, int) and a.status >= 500 for a in answers),
            "no_answer": sum(not isinstance(a.status, int) for a in answers),
            "server_rss_before_mb": round(before_kb / 1024),
            "server_peak_rss_mb": round(peak_kb / 1024),
            "server_cpu_s": round(cpu, 1),
            "server_log_tracebacks": log.count("Traceback"),
            "inbox": nothing_lost(home, answers),
        }
        result["lost"] = result["inbox"]["lost"]
        result["nothing_lost"] = result["inbox"]["nothing_lost"]
    print(report(result))
    try:
        stored = json.loads(args.out.read_text()) if args.out.exists() else {}
    except ValueError:
        stored = {}
    stored[result["mode"]] = result
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(stored, indent=1) + "\n")
    print(f"results in {args.out}", file=sys.stderr)
    healthy = result["server_errors"] == 0 and result["no_answer"] == 0 and result["nothing_lost"]
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
