"""Deflating a workbook's big parts on every core: a sheet's XML cut into blocks compressed side by side, as pigz does.

A rollup's Actions sheet is ~85 MB of XML; deflating it at level 6 is one core's second, the longest single step of
closing the workbook. Each 1 MiB block is compressed by its own zlib stream, primed with the 32 KiB before it (the
window a decompressor has at that point, so no match is lost at a cut) and ended with a sync flush (byte aligned,
not final); the last block ends the stream. The blocks joined are one ordinary deflate stream: any unzip, Excel and
LibreOffice read it as they read zipfile's own. zlib releases the GIL, so threads are enough.

xlsxwriter makes its zip file itself (Workbook._store_workbook); ParallelDeflateWorkbook has it make a
ParallelZipFile instead, whose entries of 4 MiB and more are compressed this way.
"""

from __future__ import annotations

import threading
import zipfile
import zlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import xlsxwriter.workbook
from xlsxwriter.workbook import Workbook

from .background import usable_cores

BLOCK = 1 << 20
WINDOW = 1 << 15  # deflate's window: what a block may refer back to
PARALLEL_FROM = 4 << 20  # smaller entries are not worth the threads
# The big entries' level where the writer asks for none (xlsxwriter does not): on a rollup's 136 MB of XML, level 5
# costs two thirds of level 6's CPU (0.65 s against 0.99 s on one core) for a file 3% larger (11.5 MB, 11.1 MB);
# level 3 would save 0.2 s more for a file 18% larger than level 6's.
LEVEL = 5

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _threads() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=usable_cores(), thread_name_prefix="deflate")
        return _pool


def _block(level: int, data: bytes, primer: bytes, last: bool) -> bytes:
    stream = (
        zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS, 8, zlib.Z_DEFAULT_STRATEGY, primer)
        if primer
        else zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
    )
    return stream.compress(data) + stream.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


class ParallelDeflate:
    """A raw deflate compressor with zlib's compress/flush interface (what zipfile asks of one), its blocks
    compressed on a pool of threads. Output comes back in order, as the blocks before it are done."""

    def __init__(self, level: int = 6) -> None:
        self.level = level
        self._pending = bytearray()
        self._primer = b""
        self._blocks: deque[Future[bytes]] = deque()

    def _submit(self, data: bytes, last: bool) -> None:
        self._blocks.append(_threads().submit(_block, self.level, data, self._primer, last))
        self._primer = data[-WINDOW:]

    def compress(self, data: Any) -> bytes:
        self._pending += data
        while len(self._pending) >= BLOCK:
            block = bytes(self._pending[:BLOCK])
            del self._pending[:BLOCK]
            self._submit(block, last=False)
        out = []
        while self._blocks and (self._blocks[0].done() or len(self._blocks) > 8):  # bounded memory
            out.append(self._blocks.popleft().result())
        return b"".join(out)

    def flush(self, mode: int = zlib.Z_FINISH) -> bytes:
        if mode != zlib.Z_FINISH:
            raise ValueError("ParallelDeflate only ends its stream")
        self._submit(bytes(self._pending), last=True)
        self._pending = bytearray()
        out = [block.result() for block in self._blocks]
        self._blocks.clear()
        return b"".join(out)


class ParallelZipFile(zipfile.ZipFile):
    """A ZipFile whose deflated entries of PARALLEL_FROM bytes and more are compressed by ParallelDeflate."""

    def open(self, name, mode="r", pwd=None, *, force_zip64=False):  # type: ignore[override]
        opened = super().open(name, mode, pwd, force_zip64=force_zip64)
        if (
            mode == "w"
            and isinstance(name, zipfile.ZipInfo)
            and name.compress_type == zipfile.ZIP_DEFLATED
            and name.file_size >= PARALLEL_FROM
        ):
            level = name._compresslevel  # type: ignore[attr-defined]
            opened._compressor = ParallelDeflate(LEVEL if level is None or level < 0 else level)  # type: ignore[attr-defined]
        return opened


_swap = threading.Lock()


class ParallelDeflateWorkbook(Workbook):
    """An xlsxwriter Workbook whose zip file is a ParallelZipFile (the parts' bytes are xlsxwriter's own)."""

    def _store_workbook(self) -> None:
        # xlsxwriter names ZipFile from its module: ours there while this workbook is stored. Another thread's
        # workbook stored meanwhile would get it too, which only makes the same zip faster.
        with _swap:
            saved = xlsxwriter.workbook.ZipFile
            xlsxwriter.workbook.ZipFile = ParallelZipFile  # type: ignore[misc]
            try:
                super()._store_workbook()
            finally:
                xlsxwriter.workbook.ZipFile = saved  # type: ignore[misc]
