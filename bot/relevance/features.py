"""Features of a text for relevance models: word unigrams and bigrams and character n-grams of words.

The text is normalised like the matcher sees it (case, ё/е, look-alike letters, invisible characters)
and digits are folded to 0. A text is the set of its *tokens* — its distinct words and distinct
adjacent word pairs — and each token brings its features: a word brings itself and its character 3-
to 5-grams (word boundaries marked), so every inflected form of a word shares most of its features with
the others; a pair brings itself. A text's vector is the sum of its tokens' feature vectors, scaled
to about unit length, which lets a model keep one weight per word (the sum over its features).
"""

from __future__ import annotations

import re
from functools import lru_cache

from bot.rules.normalize import normalize

MAX_CHARS = 4000  # a longer post is judged on its beginning (alerts quote the beginning too)
CHAR_SIZES = (3, 4, 5)
_DIGITS = re.compile(r"\d")


def words(text: str) -> list[str]:
    """The normalised words of a text, digits folded to 0."""
    spaced = normalize(text[:MAX_CHARS]).spaced
    return _DIGITS.sub("0", spaced).replace("_", " ").split()


def tokens(text: str) -> list[str]:
    """The distinct words of a text, then its distinct adjacent pairs ("a b"), in order of appearance."""
    return sized_tokens(text)[0]


def sized_tokens(text: str) -> tuple[list[str], int]:
    """The tokens of a text and how many features they bring (a text's vector is scaled by it)."""
    seq = words(text)
    unique = list(dict.fromkeys(seq))
    pairs = list(dict.fromkeys(map("{} {}".format, seq, seq[1:])))
    return unique + pairs, len(pairs) + sum(map(len, map(word_features, unique)))


def token_features(token: str) -> tuple[str, ...]:
    """The features of one token: a pair is its own feature; a word is itself and its character n-grams."""
    return (f"b:{token}",) if " " in token else word_features(token)


@lru_cache(maxsize=200_000)  # words repeat across posts (Zipf): most look-ups are cached
def word_features(token: str) -> tuple[str, ...]:
    """A word and its character n-grams, word boundaries marked."""
    padded = f"<{token}>"
    out = [f"w:{token}"]
    for size in CHAR_SIZES:
        out.extend(f"c:{padded[i : i + size]}" for i in range(len(padded) - size + 1))
    return tuple(out)


def features(text: str) -> list[str]:
    """Every feature of a text, once per token that brings it (the vector is their counts)."""
    return [f for token in tokens(text) for f in token_features(token)]
