"""Durable file writes: a reader never sees half a file, and a crash never leaves one in place.

Every writer here goes the same way: a temp file beside the target (".NAME.xxxx.tmp"), synced, then renamed
over the target and the directory synced. Temp files a killed writer left behind are swept by
sweep_temp_files once they are a minute old.
"""

from __future__ import annotations

import os
import secrets
import stat
import time
from collections.abc import Callable
from pathlib import Path

from .errors import ActionplanError

TEMP_AGE_SECONDS = 60.0  # a temp file younger than this may belong to a write still running elsewhere


def fsync_dir(directory: Path) -> None:
    """Make a rename in directory durable (POSIX needs the directory itself synced; Windows cannot open one)."""
    if os.name == "nt":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _reserve_temp(path: Path, *, private: bool) -> Path:
    """Create an empty, uniquely named temp file beside path: owner-only if private, else like any new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = 0o600 if private else 0o666  # less the umask
    for _ in range(100):
        candidate = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        except FileExistsError:
            continue
        os.close(fd)
        return candidate
    raise FileExistsError(f"could not create a temp file for {path.name} in {path.parent}")


def _synced(tmp: Path) -> None:
    with open(tmp, "rb+") as fh:  # the bytes durable before the rename, or a crash could leave an empty file
        fh.flush()
        os.fsync(fh.fileno())


def write_built(path: Path, build: Callable[[Path], object], *, private: bool = False) -> Path:
    """Let build write a temp file beside path, then put it in place of path in one step; return path.

    A rewrite keeps the permissions the old file had. If build fails, nothing changes and no temp file stays.
    """
    path = Path(path)
    tmp = _reserve_temp(path, private=private)
    try:
        build(tmp)
        _synced(tmp)
        if path.exists():
            os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return path


def write_atomic(path: Path, data: bytes) -> Path:
    """Write data to path, replacing what was there; a new file is readable by its owner only."""
    return write_built(Path(path), lambda tmp: tmp.write_bytes(data), private=True)


def create_atomic(path: Path, data: bytes) -> bool:
    """Create path with data unless it exists already; True when this call created it (safe under races)."""
    path = Path(path)
    if path.exists():
        return False
    tmp = _reserve_temp(path, private=True)
    try:
        tmp.write_bytes(data)
        _synced(tmp)
        os.link(tmp, path)  # link fails if path exists: the first of two racing writers wins
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)
    return True


def sweep_temp_files(directory: Path, older_than: float = TEMP_AGE_SECONDS) -> int:
    """Remove temp files (".*.tmp") that interrupted writes left in directory; return how many."""
    directory = Path(directory)
    if not directory.is_dir():
        return 0
    removed = 0
    cutoff = time.time() - older_than
    for candidate in directory.glob(".*.tmp"):
        try:
            info = candidate.lstat()
            if not stat.S_ISREG(info.st_mode) or info.st_mtime > cutoff:
                continue  # younger ones may belong to a write still running in another process
            candidate.unlink()
            removed += 1
        except FileNotFoundError:  # another sweeper or the writer itself got there first
            continue
    return removed


def read_file(path: str) -> bytes:
    """The bytes of a file named on the command line, or ActionplanError saying plainly why not."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise ActionplanError(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise ActionplanError(f"{path} is a folder, not a workbook.") from None
    except PermissionError:
        raise ActionplanError(f"{path}: permission denied.") from None
