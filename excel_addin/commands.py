"""CLI commands of the service: `serve` and `token` (no web framework is imported until a command runs)."""

from __future__ import annotations

import sys

LIMIT_CONCURRENCY = 1000  # per worker: far above any council's traffic; an idle connection costs kilobytes


def _settings():
    from actionplan.settings import load_settings

    return load_settings()


def _store():
    from .tokens import TokenStore

    s = _settings()
    return TokenStore.for_home(s.home_path, s.council)


def cmd_serve(args) -> int:
    import os

    import uvicorn

    from actionplan.settings import load_settings

    from .app import create_app

    # --host/--port win over the settings, also for the manifest's URLs and for each worker process's app.
    chosen = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    os.environ.update({f"ACTIONPLAN_{k.upper()}": str(v) for k, v in chosen.items()})
    s = load_settings(**chosen)
    host, port = s.host, s.port
    workers = args.workers
    if workers < 1:
        print("actionplan: --workers must be 1 or more.", file=sys.stderr)
        return 2
    print(
        f"actionplan service on http://{host}:{port} (add-in manifest: {s.service_url}/manifest.xml)"
        + (f", {workers} worker processes" if workers > 1 else ""),
        file=sys.stderr,
    )
    if args.limit_concurrency < 1:
        print("actionplan: --limit-concurrency must be 1 or more.", file=sys.stderr)
        return 2
    # Beyond limit_concurrency connections the server answers 503 at once instead of taking on more. An idle
    # keep-alive connection is closed after 20 s, not uvicorn's 5: a request refused before its body was read (401,
    # 413, 429) is answered while the caller is still sending, and the rest is discarded as it arrives; a caller
    # whose upload pauses for 5 s would otherwise find the connection gone instead of reading its answer.
    # (A body that stalls while it is wanted is given up by the gate: gate.BODY_TIMEOUT.)
    server = {
        "host": host,
        "port": port,
        "log_level": args.log_level,
        "server_header": False,
        "limit_concurrency": args.limit_concurrency,
        "timeout_keep_alive": 20,
    }
    if workers == 1:
        uvicorn.run(create_app(s), **server)
    else:
        # Each worker process builds its own app from the same settings (the environment it inherits). The
        # inbox is safe for many writers; the rate limit and the gate's turns apply per worker process.
        uvicorn.run("actionplan.excel_addin.app:create_app", factory=True, workers=workers, **server)
    return 0


def cmd_token_add(args) -> int:
    from actionplan.councils import DEFAULT_COUNCIL

    department = args.department
    if (
        department
    ):  # a council with a register issues keys only for its registered departments, in its spelling
        from actionplan.register import Register

        department = Register.for_settings(_settings()).expected_name(department)
    token, secret = _store().add(department=department, admin=args.admin, label=args.label)
    who = "corporate performance (admin)" if token.admin else (token.department or "")
    council = _settings().council
    who += "" if council == DEFAULT_COUNCIL else f" of {council}"  # keys are per council (ACTIONPLAN_COUNCIL)
    print("Give this access key to the person who submits; it is shown only now and cannot be shown again.")
    # The key is the last word printed, so scripts can take it with `| tail -1 | awk '{print $NF}'`.
    print(f"Token for {who} (id {token.id}): {secret}")
    return 0


def cmd_token_list(args) -> int:
    tokens = _store().all()
    if not tokens:
        print("No access keys yet. Issue one with `actionplan token add --department NAME`.")
        return 0
    print(f"{'id':<9} {'for':<36} {'created (UTC)':<26} {'state':<30} label")
    for t in tokens:
        who = "corporate performance (admin)" if t.admin else (t.department or "")
        state = f"revoked {t.revoked}" if t.revoked else "active"
        print(f"{t.id:<9} {who:<36} {t.created:<26} {state:<30} {t.label or ''}")
    return 0


def cmd_token_revoke(args) -> int:
    token = _store().revoke(args.id)
    who = "corporate performance (admin)" if token.admin else (token.department or "")
    print(f"Access key {token.id} for {who} revoked at {token.revoked}; it no longer works.")
    return 0


def add_commands(sub) -> None:
    """Register the service's subcommands on the `actionplan` parser."""
    c = sub.add_parser(
        "serve",
        help="Run the web service: Excel add-in endpoints, upload page, status, rollup.",
        description="Run the web service the Excel add-in and the upload page talk to.",
    )
    c.add_argument("--host", help="address to listen on (default: the host setting, 127.0.0.1)")
    c.add_argument("--port", type=int, help="port to listen on (default: the port setting, 8000)")
    c.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes answering requests (default 1; one per core spreads checks over the cores)",
    )
    c.add_argument(
        "--limit-concurrency",
        type=int,
        default=LIMIT_CONCURRENCY,
        help=f"connections served at once; beyond it new ones get 503 (default {LIMIT_CONCURRENCY})",
    )
    c.add_argument(
        "--log-level",
        default="warning",
        choices=["critical", "error", "warning", "info", "debug"],
        help="server log level (default: warning)",
    )
    c.set_defaults(func=cmd_serve)

    t = sub.add_parser(
        "token",
        help="Issue, list and revoke access keys for the add-in and the service.",
        description="Access keys for the Excel add-in and the service. A department key submits "
        "for its own department only; an admin key (corporate performance) may "
        "do everything.",
    )
    tsub = t.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    a = tsub.add_parser("add", help="Issue a new key and print it (once).")
    who = a.add_mutually_exclusive_group(required=True)
    who.add_argument("--department", help="the department the key submits for")
    who.add_argument("--admin", action="store_true", help="a key for corporate performance: every department")
    a.add_argument("--label", help="who holds the key, recorded as the submitter (e.g. 'Anita Patel')")
    a.set_defaults(func=cmd_token_add)
    v = tsub.add_parser("list", help="List keys: ids, departments, created, revoked (never the keys).")
    v.set_defaults(func=cmd_token_list)
    r = tsub.add_parser("revoke", help="Revoke a key by its id; it stops working at once.")
    r.add_argument("id", help="the key's id (see `actionplan token list`)")
    r.set_defaults(func=cmd_token_revoke)
