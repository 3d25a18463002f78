"""The add-in's ribbon icons, drawn by code as small PNGs (Office manifests take PNG, not SVG)."""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Callable
from functools import lru_cache

SIZES = (16, 32, 64, 80)
KINDS = ("app", "check", "submit", "rollup")

_BLUE = (31, 78, 121)
_GREEN = (0, 122, 61)
_WHITE = (255, 255, 255)
_RAGB = ((192, 0, 0), (237, 125, 49), (0, 150, 70), (46, 117, 182))

Shape = Callable[[float, float], tuple[int, int, int] | None]


def _segment_distance(x: float, y: float, a: tuple[float, float], b: tuple[float, float]) -> float:
    ax, ay = a
    bx, by = b
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(x - ax - t * dx, y - ay - t * dy)


def _rounded_square(x: float, y: float, radius: float = 0.18) -> bool:
    cx = min(max(x, radius), 1 - radius)
    cy = min(max(y, radius), 1 - radius)
    return math.hypot(x - cx, y - cy) <= radius


def _app(x: float, y: float):
    if not _rounded_square(x, y):
        return None
    for i, (left, top) in enumerate(((0.2, 0.55), (0.43, 0.35), (0.66, 0.2))):
        if left <= x <= left + 0.15 and top <= y <= 0.8:
            return _WHITE if i < 2 else (255, 210, 80)
    return _BLUE


def _check(x: float, y: float):
    if math.hypot(x - 0.5, y - 0.5) > 0.48:
        return None
    d = min(
        _segment_distance(x, y, (0.27, 0.52), (0.43, 0.68)),
        _segment_distance(x, y, (0.43, 0.68), (0.74, 0.34)),
    )
    return _WHITE if d < 0.07 else _GREEN


def _submit(x: float, y: float):
    if math.hypot(x - 0.5, y - 0.5) > 0.48:
        return None
    d = min(
        _segment_distance(x, y, (0.5, 0.24), (0.5, 0.76)),
        _segment_distance(x, y, (0.5, 0.24), (0.3, 0.45)),
        _segment_distance(x, y, (0.5, 0.24), (0.7, 0.45)),
    )
    return _WHITE if d < 0.07 else _BLUE


def _rollup(x: float, y: float):
    if not _rounded_square(x, y, 0.12):
        return None
    if 0.1 <= y <= 0.9 and 0.08 <= x <= 0.92:
        for i, top in enumerate((0.55, 0.4, 0.28, 0.15)):
            left = 0.12 + i * 0.2
            if left <= x <= left + 0.16 and top <= y <= 0.86:
                return _RAGB[i]
    return (242, 242, 242) if not (0.86 < y < 0.9) else (89, 89, 89)


_SHAPES: dict[str, Shape] = {"app": _app, "check": _check, "submit": _submit, "rollup": _rollup}


def _png(width: int, height: int, rgba: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    raw = b"".join(b"\x00" + rgba[r * width * 4 : (r + 1) * width * 4] for r in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


@lru_cache(maxsize=32)
def icon_png(kind: str, size: int) -> bytes:
    """The named icon as a size×size PNG, anti-aliased by sampling each pixel 4×4 times."""
    shape = _SHAPES[kind]
    n = 4
    out = bytearray()
    for py in range(size):
        for px in range(size):
            r = g = b = a = 0
            for sy in range(n):
                for sx in range(n):
                    colour = shape((px + (sx + 0.5) / n) / size, (py + (sy + 0.5) / n) / size)
                    if colour is not None:
                        r, g, b, a = r + colour[0], g + colour[1], b + colour[2], a + 1
            if a:
                out += bytes((r // a, g // a, b // a, 255 * a // (n * n)))
            else:
                out += b"\x00\x00\x00\x00"
    return _png(size, size, bytes(out))
