"""Headings as officers write them: folded, stripped of qualifiers and hints, and scored against known headings.

A heading is compared in two forms. Its key folds case, spaces, line breaks (Alt+Enter),
punctuation and dashes: `Target date:` and `TARGET-DATE` are the same key. Its core also drops
qualifiers in brackets (`Status (RAG)`, `Lead Officer (as per 2023 plan)`), format hints
(`dd/mm/yyyy`) and a trailing "as at <date>" or "for <period>" (`Progress Update – as at 30/9/24`).

Matches are scored, and the score is the rule that settles a clash (docs/layouts.md):

| how | score | certain? |
|---|---|---|
| the heading itself | 100 | yes |
| its core (qualifiers ignored) | 95 | yes |
| its core starts with a known heading | 85 | a guess |
| its core is a known heading with a typo (Damerau–Levenshtein: 1 edit up to 8 letters, 2 beyond) | 80, 75 | a guess |
| its core contains a known heading as whole words | 70 | a guess |

A guess is reported to the department as a warning naming the heading, so the officer can confirm it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rapidfuzz.distance import DamerauLevenshtein

EXACT, QUALIFIED, STARTS, TYPO, CONTAINS = 100, 95, 85, 80, 70
HOW = {
    EXACT: "exact",
    QUALIFIED: "qualifiers ignored",
    STARTS: "starts with",
    TYPO: "typo",
    CONTAINS: "contains",
}
CERTAIN = QUALIFIED  # scores from here up are not guesses

_LONGEST = 80  # longer cells are data, never headings
_LONGEST_GUESS = 60  # a guess needs a heading-sized text: long cells under a title are prose
_GUESS_WORDS = 9
_CACHE_SIZE = 50_000
_MIN_GUESS_LETTERS = 4  # "No", "ID", "RAG": too short to be found inside another heading or with a typo

# Punctuation and dashes fold to a space; % and symbols (★ ● ▲) are kept, since they carry meaning.
_KEEP = frozenset("%&#£$")
_BRACKETS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|\{[^{}]*\}")
_HINT = re.compile(r"\b(?:dd|mm|mmm|yy|yyyy)(?:\s*[/.\-]\s*(?:dd|mm|mmm|yy|yyyy))+\b", re.IGNORECASE)
_MONTHS = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*"
_PERIODISH = (
    rf"(?:\d|{_MONTHS}\b|q[1-4]\b|qtr\b|quarter\b|year\b|period\b|month\b|this\b|last\b|current\b"
    r"|previous\b|latest\b|end\b)"
)
# "as at 30/9/24", "as of March", "for 2024/25", "at Q2", "– 30 Sept 2024": a hint of when, not what.
_TRAILING_WHEN = re.compile(
    rf"(?:[\s\-–—:,]+(?:as\s+(?:at|of)\b.*|(?:for|at|to|in|during|ending|until|up\s+to|by)\s+{_PERIODISH}.*"
    rf"|(?:\d{{1,2}}(?:st|nd|rd|th)?[\s/.\-]+)?(?:\d{{1,2}}|{_MONTHS})[\s/.\-]+\d{{2,4}}"
    rf"|(?:19|20)?\d\d\s*[/\-–]\s*\d{{2,4}}(?:\s*q[1-4])?|q[1-4]))\s*$",
    re.IGNORECASE,
)
_TRAILING_COLON = re.compile(r"[\s:–—\-]+$")


def fold(text: Any) -> str:
    """A heading's key: lower case, one space between words, punctuation, dashes and line breaks as spaces."""
    return _fold(str(text))


# Every punctuation, separator and control character up to the CJK symbols (NFKC folds full-width forms into
# these) → a space, for str.translate: C speed, since this runs on every short cell of rows a header may be in.
_TO_SPACE = {
    i: " " for i in range(0x3100) if unicodedata.category(chr(i))[0] in "PZC" and chr(i) not in _KEEP
}


# The same for ASCII text, as a byte table (bytes.translate is a table lookup; str.translate a dict lookup a
# character): most cells are ASCII, and most are folded once (an action's text, an officer's name).
_ASCII_TO_SPACE = bytes(32 if i in _TO_SPACE else i for i in range(128)) + bytes(range(128, 256))


@lru_cache(maxsize=16384)
def _fold(text: str) -> str:
    if text.isascii():
        # casefold is lower for ASCII; every ASCII space and control character is in _TO_SPACE, so bytes.split
        # (ASCII whitespace) splits where str.split would.
        return b" ".join(text.lower().encode("ascii").translate(_ASCII_TO_SPACE).split()).decode("ascii")
    text = unicodedata.normalize("NFKC", text)
    return " ".join(text.casefold().translate(_TO_SPACE).split())  # symbols (★ ● ▲) stay words of their own


@lru_cache(maxsize=16384)
def core(text: Any) -> str:
    """A heading's core: its key with bracketed qualifiers, format hints and a trailing "as at …"/"for …" dropped."""
    text = str(text)
    stripped = _HINT.sub(" ", _BRACKETS.sub(" ", _BRACKETS.sub(" ", text.replace("_", " "))))
    stripped = _TRAILING_COLON.sub("", stripped)
    for _ in range(3):  # "Update for Q2 – as at 30/9/24": each hint in turn
        shorter = _TRAILING_COLON.sub("", _TRAILING_WHEN.sub("", stripped))
        if shorter == stripped:
            break
        stripped = shorter
    folded = _fold(stripped)
    return folded or _fold(text)


@dataclass(frozen=True)
class Guess:
    """One reading of a heading: what it names, the known heading it was matched to, and how well."""

    target: str  # a field id, or a layout's own kind of column (e.g. "split:…")
    known: str  # the known heading as written
    score: int

    @property
    def how(self) -> str:
        return HOW.get(self.score, "typo")

    @property
    def certain(self) -> bool:
        return self.score >= CERTAIN


class HeadingMatcher:
    """Scores any heading against one table's known headings (heading as written → target), caching each answer."""

    def __init__(self, known: dict[str, str]) -> None:
        self._by_key: dict[str, tuple[str, str]] = {}
        self._by_core: dict[str, tuple[str, str]] = {}
        for heading, target in known.items():
            self._by_key.setdefault(fold(heading), (target, heading))
        for heading, target in known.items():
            self._by_core.setdefault(core(heading), (target, heading))
        # Longest first: the most specific known heading inside a heading is the one it names.
        self._inside = sorted(
            ((k, v) for k, v in self._by_core.items() if len(k) >= _MIN_GUESS_LETTERS),
            key=lambda kv: (-len(kv[0]), kv[0]),
        )
        self._cache: dict[tuple[str, bool], tuple[Guess, ...]] = {}

    def readings(self, text: Any, guess: bool = True) -> tuple[Guess, ...]:
        """Every target the heading may name, best first (one per target); empty when it names none."""
        if not isinstance(text, str) or not text.strip() or len(text) > _LONGEST:
            return ()
        cached = self._cache.get((text, guess))
        if cached is None:
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()  # a long-running service meets every council's headings: keep it bounded
            cached = self._cache[(text, guess)] = self._readings(text, guess)
        return cached

    def _readings(self, text: str, guess: bool) -> tuple[Guess, ...]:
        key = fold(text)
        if key in self._by_key:
            target, known = self._by_key[key]
            return (Guess(target, known, EXACT),)
        c = core(text)
        hit = self._by_key.get(c) or self._by_core.get(c) or self._by_core.get(key)
        if hit is not None:
            return (Guess(hit[0], hit[1], QUALIFIED),)
        if not guess or len(text) > _LONGEST_GUESS or len(c.split()) > _GUESS_WORDS:
            return ()
        found: dict[str, Guess] = {}

        def add(g: Guess) -> None:
            if g.target not in found or g.score > found[g.target].score:
                found[g.target] = g

        padded = f" {c} "
        for name, (target, known) in self._inside:
            if padded.startswith(f" {name} "):
                add(Guess(target, known, STARTS))
            elif f" {name} " in padded:
                add(Guess(target, known, CONTAINS))
        if len(c) >= _MIN_GUESS_LETTERS + 1:
            for name, (target, known) in self._by_core.items():
                if len(name) < _MIN_GUESS_LETTERS + 1 or abs(len(name) - len(c)) > 2:
                    continue
                allowed = 1 if len(name) <= 8 else 2
                d = DamerauLevenshtein.distance(c, name, score_cutoff=allowed)
                if 0 < d <= allowed:
                    add(Guess(target, known, TYPO - 5 * (d - 1)))
        # Best first; between equals, the longer known heading (more specific) first.
        return tuple(sorted(found.values(), key=lambda g: (-g.score, -len(g.known), g.known)))


def assign(readings: dict[int, tuple[Guess, ...]]) -> tuple[dict[int, Guess], dict[int, Guess]]:
    """Give each target to one column: the best score wins, then the leftmost column; the rest are ignored.

    readings maps a column to its possible readings. Returns (column → the reading used, column →
    its best reading that lost to another column), so a report can say which headings were ignored.
    """
    candidates = sorted(
        ((g.score, c, g) for c, gs in readings.items() for g in gs), key=lambda t: (-t[0], t[1])
    )
    used: dict[int, Guess] = {}
    taken: set[str] = set()
    for _score, c, g in candidates:
        if c in used or g.target in taken:
            continue
        used[c] = g
        taken.add(g.target)
    lost = {c: gs[0] for c, gs in readings.items() if c not in used and gs}
    return used, lost
