"""The automaton of every word form of every rule: where each form starts a word in a normalised text.

Keys are word forms (letters and digits, apostrophes only between Cyrillic letters), so a key never
spans a word boundary. Searching leftmost-longest therefore reports, at each word start, the longest key
that starts there, and nothing that overlaps it: every shorter key starting there is a prefix of it.
A whole-word hit is the longest key when it ends where the word does; a prefix term hits where any key
that is a prefix of the longest does, so each key carries the prefix atoms of the keys it begins with.
Keys padded with spaces (forms of several words) are searched for every overlapping hit instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ahocorasick_rs

from bot.rules.normalize import NARROW

# The DFA is the fastest to search but takes ~850 bytes a key (13 MiB for the 15,400 keys of the shipped
# packs, in the main process and again in the matcher worker); past this many keys the contiguous NFA (a
# fraction of that memory, ~1.6× slower to search) bounds it.
DFA_KEYS = 20_000

Found = tuple[int, int, int]  # key index, start, end (code points)
KeyValue = tuple[tuple[int, ...], tuple[int, ...]]  # (prefix atoms, other atoms) a hit of the key finds


class WordAutomaton:
    """Keys with their values (`values[key index]`); `find(text)` gives (key index, start, end)."""

    __slots__ = ("_ac", "find", "keys", "narrow", "overlapping", "values")

    def __init__(self, keys: Sequence[str], values: Sequence[KeyValue], *, overlapping: bool = False) -> None:
        self.keys = tuple(keys)
        self.values = tuple(values)
        self.overlapping = overlapping
        kind = ahocorasick_rs.MatchKind.Standard if overlapping else ahocorasick_rs.MatchKind.LeftmostLongest
        impl = ahocorasick_rs.Implementation
        dfa = impl.DFA if len(self.keys) <= DFA_KEYS else impl.ContiguousNFA
        narrow = None if overlapping else _narrow_keys(self.keys)
        # a text of one byte a character is searched in half the bytes of its UTF-8, with a smaller automaton,
        # and byte offsets are character offsets; keys with a character NARROW lacks search the text itself
        self.narrow = narrow is not None
        self._ac: ahocorasick_rs.AhoCorasick | ahocorasick_rs.BytesAhoCorasick
        if narrow is not None:
            self._ac = ahocorasick_rs.BytesAhoCorasick(narrow, matchkind=kind, implementation=dfa)
        else:
            self._ac = ahocorasick_rs.AhoCorasick(self.keys, matchkind=kind, implementation=dfa)
        # find(text): the leftmost-longest hits in text order, or (overlapping) every hit by where it ends;
        # `text` is a normalised text's `narrow` bytes when `self.narrow`, else the text itself. The
        # library's method itself where it can be: this is called once a post.
        self.find: Callable[[Any], list[Found]] = (
            self._find_overlapping if overlapping else self._ac.find_matches_as_indexes
        )

    def _find_overlapping(self, text: str) -> list[Found]:
        found = self._ac.find_matches_as_indexes(text, overlapping=True)  # type: ignore[arg-type]  # a str automaton
        return sorted(found, key=_end_start)

    def __len__(self) -> int:
        return len(self.keys)

    def __reduce__(self) -> tuple[object, ...]:
        # the compiled automaton cannot be pickled: the matcher pool's workers rebuild it from the keys
        return (_rebuild, (self.keys, self.values, self.overlapping))


def _narrow_keys(keys: Sequence[str]) -> list[bytes] | None:
    """The keys in NARROW bytes, or None when one has a character it lacks (it would be a "?")."""
    try:
        return [key.encode(NARROW) for key in keys]
    except UnicodeEncodeError:
        return None


def _rebuild(keys: tuple[str, ...], values: tuple[KeyValue, ...], overlapping: bool) -> WordAutomaton:
    return WordAutomaton(keys, values, overlapping=overlapping)


def _end_start(found: Found) -> tuple[int, int]:
    return found[2], found[1]
