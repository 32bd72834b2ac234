"""Characters that never change what a text says: the matcher drops them, and so does full-text search
(its index and every query), so "эваку\u00adация" is found by "эвакуация" and the reverse."""

from __future__ import annotations

import re

# Soft hyphen, zero-width and bidi controls, variation selectors, BOM. Search's SQLite triggers strip the
# same set (storage/migrations/0011_search_invisible.sql; a test keeps the two equal).
INVISIBLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e"
    "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\u206a\u206b\u206c\u206d\u206e\u206f"
    "\ufe00\ufe01\ufe02\ufe03\ufe04\ufe05\ufe06\ufe07\ufe08\ufe09\ufe0a\ufe0b\ufe0c\ufe0d\ufe0e\ufe0f"
    "\ufeff"
)
_DROP = str.maketrans(dict.fromkeys(INVISIBLE))


def strip_invisible(text: str) -> str:
    """`text` without the INVISIBLE characters."""
    return text.translate(_DROP)


_YO = str.maketrans({"ё": "е", "Ё": "Е"})


def search_form(text: str) -> str:
    """`text` as full-text search indexes and queries it: no INVISIBLE characters, ё read as е (the
    SQLite triggers of storage/migrations/0012_search_yo.sql do the same to stored texts)."""
    return strip_invisible(text).translate(_YO)


MAX_SEARCH_TERMS = 32  # words, prefix* and "phrases" of one search: more cost seconds (a prefix each a scan)
_SEARCH_TERM = re.compile(r'"[^"]*"?|[^\s()"]+')
_SEARCH_OPERATORS = frozenset({"AND", "OR", "NOT", "NEAR"})


def search_terms_problem(query: str) -> str | None:
    """Why a full-text search query is refused (too many terms), or None: one line for pages and CLI."""
    count = sum(1 for t in _SEARCH_TERM.findall(query) if t not in _SEARCH_OPERATORS and t.strip('"*'))
    if count > MAX_SEARCH_TERMS:
        return (
            f"the search has {count:,} terms; at most {MAX_SEARCH_TERMS} (each word, prefix* and "
            '"phrase" counts once)'
        )
    return None
