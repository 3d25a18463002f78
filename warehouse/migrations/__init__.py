"""Registered, ordered schema migrations: NNNN_name.sql files applied once each, in a transaction."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """Every migration in version order; versions must be unique and start at 1."""
    found = []
    for path in sorted(HERE.glob("[0-9][0-9][0-9][0-9]_*.sql")):
        version = int(path.name[:4])
        found.append(Migration(version, path.stem[5:], path.read_text(encoding="utf-8")))
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 0001, 0002, … without gaps; found {versions}")
    return found


def statements(sql: str) -> list[str]:
    """The SQL statements of a migration file (comments dropped, split on semicolons)."""
    lines = [line.split("--", 1)[0] for line in sql.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
