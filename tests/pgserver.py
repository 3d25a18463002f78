"""A throwaway PostgreSQL server for the tests: initdb + pg_ctl in a temp folder, on a free loopback port."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

USER = "actionplan"


def postgres_bin_dir() -> Path | None:
    """Where initdb and pg_ctl are: Debian's /usr/lib/postgresql/<newest>/bin, else on PATH; None if absent."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_as() -> tuple[list[str], int | None, int | None]:
    # initdb and postgres refuse to run as root (CI and this machine): run them as the postgres user.
    if os.geteuid() != 0:
        return [], None, None
    for name in ("postgres", "nobody"):
        try:
            pw = pwd.getpwnam(name)
        except KeyError:
            continue
        return ["runuser", "-u", name, "--"], pw.pw_uid, pw.pw_gid
    raise RuntimeError("running as root and no 'postgres' or 'nobody' user to run PostgreSQL as")


@contextmanager
def running_postgres(bin_dir: Path, *, fsync: bool = False) -> Iterator[str]:
    """Start a private server (trust auth, loopback only, socket in the temp folder); yields its admin URL."""
    run_as, uid, gid = _run_as()
    # Not under pytest's tmp folder: that is private to root and the postgres user could not reach it.
    root = Path(tempfile.mkdtemp(prefix="actionplan-pg-"))
    if uid is not None:
        os.chown(root, uid, gid)
    data, log = root / "data", root / "server.log"
    # A British collation, as a council's server would have: text sorts unlike DuckDB's code-point order.
    subprocess.run(
        [
            *run_as,
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            USER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--locale-provider=icu",
            "--icu-locale=en-GB",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    speed = "" if fsync else " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    port = 0
    try:
        for _attempt in range(3):  # the free port can be taken between finding and binding it
            port = free_port()
            started = subprocess.run(
                [
                    *run_as,
                    str(bin_dir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(log),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    f"-h 127.0.0.1 -p {port} -k {root} -c max_connections=200{speed}",
                    "start",
                ],
                capture_output=True,
                text=True,
                timeout=90,
            )
            if started.returncode == 0:
                break
        else:
            raise RuntimeError(
                f"PostgreSQL did not start: {started.stderr}\n{log.read_text(errors='replace')}"
            )
        yield f"postgresql://{USER}@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(root, ignore_errors=True)


def database_url(server_url: str, name: str) -> str:
    return server_url.rsplit("/", 1)[0] + "/" + name


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new empty database on the server for one test, dropped afterwards; yields its URL."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name}")
    try:
        yield database_url(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as con:
            con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
