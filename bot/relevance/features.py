"""Features of a text for relevance models: word unigrams and bigrams and character n-grams of words.

The text is normalised like the matcher sees it (case, ё/е, look-alike letters, invisible characters),
digits are folded to 0, and each word contributes its character 3- to 5-grams with word boundaries
marked, so every inflected form of a word shares most of its features with the others.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from functools import lru_cache

from bot.rules.normalize import normalize

MAX_CHARS = 4000  # a longer post is judged on its beginning (alerts quote the beginning too)
CHAR_SIZES = (3, 4, 5)
_DIGITS = re.compile(r"\d")


def words(text: str) -> list[str]:
    """The normalised words of a text, digits folded to 0."""
    spaced = normalize(text[:MAX_CHARS]).spaced
    return _DIGITS.sub("0", spaced).replace("_", " ").split()


@lru_cache(maxsize=100_000)  # words repeat across posts (Zipf): most look-ups are cached
def word_features(word: str) -> tuple[str, ...]:
    """The features one word brings on its own: itself and its character n-grams."""
    padded = f"<{word}>"
    out = [f"w:{word}"]
    for size in CHAR_SIZES:
        out.extend(f"c:{padded[i : i + size]}" for i in range(len(padded) - size + 1))
    return tuple(out)


def features(text: str) -> set[str]:
    """Every feature of a text (binary: present or not)."""
    tokens = words(text)
    found: set[str] = set()
    for word in set(tokens):
        found.update(word_features(word))
    found.update(f"b:{a} {b}" for a, b in itertools.pairwise(tokens))
    return found


def bigrams_of(tokens: Iterable[str]) -> list[tuple[str, str]]:
    """Adjacent word pairs."""
    seq = list(tokens)
    return list(itertools.pairwise(seq))
