"""Durable file writes: a reader never sees half a file, and a crash never leaves one in place."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path


def fsync_dir(directory: Path) -> None:
    """Make a rename in directory durable (POSIX needs the directory itself synced)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _temp_beside(path: Path, data: bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def write_atomic(path: Path, data: bytes) -> Path:
    """Write data to path via a synced temp file and a rename, replacing what was there."""
    tmp = _temp_beside(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    fsync_dir(path.parent)
    return path


def create_atomic(path: Path, data: bytes) -> bool:
    """Create path with data unless it exists already; True when this call created it (safe under races)."""
    if path.exists():
        return False
    tmp = _temp_beside(path, data)
    try:
        os.link(tmp, path)  # link fails if path exists: the first of two racing writers wins
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)
    fsync_dir(path.parent)
    return True


def sweep_temp_files(directory: Path, older_than: float = 60.0) -> int:
    """Remove temp files a crashed writer left behind; returns how many."""
    if not directory.is_dir():
        return 0
    removed = 0
    cutoff = time.time() - older_than
    for p in directory.glob(".*.tmp"):
        try:
            if p.stat().st_mtime < cutoff:
                p.unlink()
                removed += 1
        except FileNotFoundError:
            pass
    return removed
