"""headings._fold folds ASCII text by a byte table: the same keys as the str.translate path it stands in for."""

from __future__ import annotations

import random
import unicodedata

from actionplan import headings


def _by_str_translate(text: str) -> str:
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return " ".join(text.casefold().translate(headings._TO_SPACE).split())


def test_ascii_folds_as_str_translate_does():
    chars = [chr(i) for i in range(128)]
    for a in chars:
        for b in chars:
            text = f"{a}Due{b} date{a}"
            assert headings._fold.__wrapped__(text) == _by_str_translate(text), repr(text)
    rng = random.Random(18)
    for _ in range(20_000):
        text = "".join(rng.choice(chars) for _ in range(rng.randrange(40)))
        assert headings._fold.__wrapped__(text) == _by_str_translate(text), repr(text)


def test_other_text_is_folded_as_before():
    for text in [
        "Progress Update – as at 7/9/17",
        "Ｓｔａｔｕｓ（ＲＡＧ）",
        "Straße",
        "Due\u00a0date",
        "★ Rating",
    ]:
        assert headings.fold(text) == _by_str_translate(text)
    assert headings.fold("Progress Update – as at 7/9/17") == "progress update as at 7 9 17"
