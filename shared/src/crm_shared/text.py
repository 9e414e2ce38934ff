"""Text as searches see it: words, case-folded, in any script (Cyrillic and Latin alike)."""

from __future__ import annotations

import re

_WORD = re.compile(r"[^\W_]+")
r"""A run of letters and digits (``str.isalnum``): ``\w`` without the underscore."""


def search_words(text: str) -> list[str]:
    """The words of ``text``, case-folded, split on spaces and punctuation, each once, in order."""
    return list(dict.fromkeys(_WORD.findall(text.casefold())))


def matches_every_word(query: str, *texts: str) -> bool:
    """Whether every word of ``query`` is the start of a word of one of ``texts`` (any order, any case)."""
    words = [w for text in texts for w in search_words(text)]
    return all(any(w.startswith(q) for w in words) for q in search_words(query))
