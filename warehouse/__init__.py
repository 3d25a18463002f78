"""The warehouse: schema and migrations, the DuckDB and PostgreSQL backends behind one interface, the inbox."""

from __future__ import annotations

from .base import Warehouse


def loads_frames(url: str) -> bool:
    """Whether the warehouse a setting names loads a record's tables as frames (DuckDB; PostgreSQL copies rows)."""
    return not url.startswith(("postgresql://", "postgres://"))


def open_warehouse(
    url: str, *, read_only: bool = False, wait_seconds: float = 0.0, migrate: bool = True
) -> Warehouse:
    """Open the warehouse the setting names: a DuckDB file path by default, or a postgresql:// URL."""
    if not loads_frames(url):
        from .postgres import PostgresWarehouse

        wh: Warehouse = PostgresWarehouse(url, read_only=read_only)
    else:
        from .duckdb import DuckDBWarehouse

        wh = DuckDBWarehouse(url, read_only=read_only, wait_seconds=wait_seconds)
    if migrate and not read_only:
        wh.migrate()
    elif read_only and (behind := wh.pending_migrations()):
        # Reading never writes, so it cannot upgrade: the next ingest or consolidation does (they migrate).
        wh.close()
        from actionplan.errors import WarehouseNeedsUpgrade

        names = ", ".join(f"{m.version:04d}_{m.name}" for m in behind)
        raise WarehouseNeedsUpgrade(
            f"The warehouse was made by an earlier version of actionplan and needs upgrading "
            f"({names}). Run `actionplan ingest` once (it upgrades the warehouse, keeping "
            "everything in it), then try again."
        )
    return wh


__all__ = ["Warehouse", "open_warehouse"]
