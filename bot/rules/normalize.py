"""Text normalisation for matching, keeping a map from every normalised character to the original text.

The pipeline: NFKC, case folding, ё→е, apostrophe variants unified, zero-width characters, soft hyphens
and combining accents dropped, hyphen-newline word splits joined, and Latin look-alike letters inside
Cyrillic words (and the reverse) replaced. Ukrainian і/ї/є/ґ stay distinct from Russian letters.
Most posts need none of the length-changing steps, so a fast path does the 1:1 steps with C-level
string methods and keeps the identity offset map.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from bot.domain.text import INVISIBLE

# Characters removed outright: soft hyphen, zero-width and bidi controls, variation selectors, BOM (the
# same set full-text search ignores).
_REMOVABLE = INVISIBLE
_REMOVABLE_SET = frozenset(_REMOVABLE)
# invisible characters around the break (a soft hyphen after the newline) do not keep the word apart
_HYPHEN_NEWLINE = re.compile(
    "(?<=\\w)[" + _REMOVABLE + "]*[-\u2010\u2011][ \t" + _REMOVABLE + "]*\r?\n[ \t" + _REMOVABLE + "]*(?=\\w)"
)

# 1:1 replacements applied after folding; all keep the string length.
_APOSTROPHES = (
    "\u2019",  # right single quotation mark, the usual typed apostrophe
    "\u02bc",  # modifier letter apostrophe, the official Ukrainian one
    "\u02b9",
    "\u2032",
    "`",
    "\u2018",
)
_CYR = "а-яіїєґўј"
_MIXED = re.compile(rf"[a-z][{_CYR}]|[{_CYR}][a-z]")
# the same test led by the rarer Latin letter: the regex engine skips to Latin letters at C speed, so a
# Cyrillic text costs a fraction of what the alternation above does
_MIXED_AT_LATIN = re.compile(rf"[a-z](?:(?<=[{_CYR}].)|(?=[{_CYR}]))")
_WORD = re.compile(r"[\w']+")
_NONWORD = re.compile(r"[^\w']|_")
_CYR_LETTERS = frozenset("абвгдежзийклмнопрстуфхцчшщъыьэюяіїєґўј")
_WORD_REST = re.compile(rf"(?:[^\W_]|(?<=[{_CYR}])'(?=[{_CYR}]))*")
_LOOSE_APOSTROPHE = re.compile(rf"(?<![{_CYR}])'|'(?![{_CYR}])")

# Look-alike letters after case folding (upper-case shapes folded: H→h looks like Н, so h→н).
_LAT_TO_CYR = {
    "a": "а",
    "c": "с",
    "e": "е",
    "o": "о",
    "p": "р",
    "x": "х",
    "y": "у",
    "k": "к",
    "m": "м",
    "h": "н",
    "t": "т",
    "b": "в",
    "i": "і",
}
_CYR_TO_LAT = {
    "а": "a",
    "с": "c",
    "е": "e",
    "о": "o",
    "р": "p",
    "х": "x",
    "у": "y",
    "к": "k",
    "м": "m",
    "н": "h",
    "т": "t",
    "в": "b",
    "і": "i",
    "ј": "j",
    "ѕ": "s",
}
_TO_CYR = str.maketrans(_LAT_TO_CYR)
_TO_LAT = str.maketrans(_CYR_TO_LAT)

NARROW = "cp1251"  # one byte for every Russian and Ukrainian letter
# byte of NARROW -> L for a Latin letter, C for a Cyrillic letter of _CYR, space for anything else
_SCRIPT_OF_BYTE = bytes(
    ord("L") if 97 <= b <= 122 else ord("C") if bytes([b]).decode(NARROW, "replace") in _CYR_LETTERS else 32
    for b in range(256)
)


class NormalizedText:
    """A normalised text: `folded` keeps punctuation, `spaced` has every non-word character as a space.

    Both have the same length; `starts[i]`/`ends[i]` give the original span of normalised character i
    (both None when the map is the identity). `spaced` is made on first use: matching reads `folded`,
    or `narrow`: `folded` in one byte a character (see `narrow`).
    """

    __slots__ = ("_narrow", "_spaced", "ends", "folded", "original", "starts")

    def __init__(
        self,
        original: str,
        folded: str,
        starts: tuple[int, ...] | None = None,
        ends: tuple[int, ...] | None = None,
        narrow: bytes | None = None,
    ) -> None:
        self.original = original
        self.folded = folded
        self.starts = starts
        self.ends = ends
        self._spaced: str | None = None
        self._narrow = narrow

    @property
    def narrow(self) -> bytes:
        """`folded` in windows-1251 (Russian, Ukrainian and Latin letters, digits, common punctuation),
        every other character a "?": byte i is character i, so byte offsets are character offsets."""
        if self._narrow is None:
            self._narrow = to_narrow(self.folded)
        return self._narrow

    @property
    def spaced(self) -> str:
        if self._spaced is None:
            spaced = _NONWORD.sub(" ", self.folded)
            if "'" in spaced:
                spaced = _LOOSE_APOSTROPHE.sub(" ", spaced)
            self._spaced = spaced
        return self._spaced

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original-text span of normalised characters [start, end)."""
        if self.starts is None or self.ends is None:
            return start, end
        if end <= start:
            pos = self.starts[start] if start < len(self.starts) else len(self.original)
            return pos, pos
        return self.starts[start], self.ends[end - 1]


def _fix_mixed_word(word: str) -> str:
    """Turn a word mixing Latin and Cyrillic letters into one script, judged by its unambiguous letters."""
    strong_cyr = strong_lat = cyr = lat = 0
    for ch in word:
        if "\u0400" <= ch <= "\u04ff":
            cyr += 1
            strong_cyr += ch not in _CYR_TO_LAT
        elif "a" <= ch <= "z":
            lat += 1
            strong_lat += ch not in _LAT_TO_CYR
    if strong_cyr and strong_lat:
        return word  # genuinely mixed (e.g. a transliteration joke): leave it alone
    if strong_cyr or (not strong_lat and cyr >= lat):
        return word.translate(_TO_CYR)
    return word.translate(_TO_LAT)


def to_narrow(folded: str) -> bytes:
    """`NormalizedText.narrow` of a folded text (the codec writes one "?" for each character it lacks)."""
    return folded.encode(NARROW, "replace")


def has_mixed_word(narrow: bytes) -> bool:
    """`_MIXED_AT_LATIN.search` on the folded text, from its narrow bytes: a Latin letter next to one of
    `_CYR`'s Cyrillic letters (C-level passes instead of a regex step at every Latin letter)."""
    scripts = narrow.translate(_SCRIPT_OF_BYTE)
    first = scripts.find(b"L")  # a quarter of the posts have no Latin letter at all
    if first < 0:
        return False
    return scripts.find(b"LC", first) >= 0 or scripts.find(b"CL", max(first - 1, 0)) >= 0


def _fix_homoglyphs(folded: str) -> str:
    """Replace look-alike letters inside mixed-script words; length is preserved."""
    if not _MIXED_AT_LATIN.search(folded):
        return folded
    parts: list[str] = []
    last = 0
    for m in _WORD.finditer(folded):
        word = m.group()
        if _MIXED.search(word):
            parts.append(folded[last : m.start()])
            parts.append(_fix_mixed_word(word))
            last = m.end()
    parts.append(folded[last:])
    return "".join(parts)


def _finish(original: str, folded: str, starts: list[int] | None, ends: list[int] | None) -> NormalizedText:
    if "ё" in folded:
        folded = folded.replace("ё", "е")
    for apostrophe in _APOSTROPHES:
        if apostrophe in folded:
            folded = folded.replace(apostrophe, "'")
    narrow = to_narrow(folded)
    if has_mixed_word(narrow):
        folded = _fix_homoglyphs(folded)
        narrow = to_narrow(folded)
    return NormalizedText(
        original,
        folded,
        tuple(starts) if starts is not None else None,
        tuple(ends) if ends is not None else None,
        narrow,
    )


def _slow_fold(text: str) -> tuple[str, list[int], list[int]]:
    """Folding for texts that need length-changing steps: character by character where it matters.

    Runs of plain characters (folded alone to one character, as `str.casefold` folds them, and not
    followed by a combining mark) are folded in bulk with the identity map; every other position goes
    through `_fold_at`, which is the definition.
    """
    skip: set[int] = set()
    for m in _HYPHEN_NEWLINE.finditer(text):
        skip.update(range(m.start(), m.end()))
    marks = set(skip)
    odd = frozenset(c for c in set(text) if not _is_plain(c))
    if odd:
        for m in _charset(odd).finditer(text):
            p = m.start()
            marks.add(p)
            if p and unicodedata.combining(text[p]) and text[p] not in _REMOVABLE_SET:
                marks.add(p - 1)  # the character a combining mark attaches to folds with it
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i = 0
    for p in sorted(marks):
        if p < i:
            continue  # inside the cluster just folded
        if p > i:
            out.append(text[i:p].casefold())
            starts.extend(range(i, p))
            ends.extend(range(i + 1, p + 1))
        i = _fold_at(text, p, skip, out, starts, ends)
    if i < len(text):
        out.append(text[i:].casefold())
        starts.extend(range(i, len(text)))
        ends.extend(range(i + 1, len(text) + 1))
    return "".join(out), starts, ends


def _fold_at(text: str, i: int, skip: set[int], out: list[str], starts: list[int], ends: list[int]) -> int:
    """Fold the character at i with the combining marks after it; the position after them."""
    ch = text[i]
    if i in skip or ch in _REMOVABLE_SET:
        return i + 1
    n = len(text)
    j = i + 1
    while j < n and unicodedata.combining(text[j]) and text[j] not in _REMOVABLE_SET:
        j += 1
    norm = _fold_cluster("'" if ch == "\u00b4" else text[i:j])  # NFKC would turn an acute accent into a space
    for c in norm:
        out.append(c)
        starts.append(i)
        ends.append(j)
    return j


@lru_cache(maxsize=8192)
def _fold_cluster(cluster: str) -> str:
    norm = unicodedata.normalize("NFKC", cluster).casefold()
    if len(norm) > 1 or not norm.isascii():
        # drop accents that did not compose (stress marks on Cyrillic vowels, stray diacritics)
        norm = unicodedata.normalize("NFC", "".join(c for c in norm if not ("\u0300" <= c <= "\u036f")))
    return norm


@lru_cache(maxsize=8192)
def _is_plain(ch: str) -> bool:
    """Whether `_fold_at` folds `ch` (not followed by combining marks) exactly as `str.casefold` does."""
    if ch in _REMOVABLE_SET or ch == "\u00b4" or unicodedata.combining(ch):
        return False
    folded = ch.casefold()
    return len(folded) == 1 and _fold_cluster(ch) == folded


@lru_cache(maxsize=256)
def _charset(chars: frozenset[str]) -> re.Pattern[str]:
    return re.compile("[" + "".join(re.escape(c) for c in sorted(chars)) + "]")


def _space_like_table() -> set[int]:
    """Non-letter characters that NFKC would rewrite (no-break spaces, '…', '№', fractions, ™...) and
    invisible characters outside words: all stand for a word break, so a space keeps the length."""
    table = {ord(c) for c in _REMOVABLE}
    ranges = [(0x00A0, 0x0100), (0x02B0, 0x0370), (0x2000, 0x2BFF), (0x3000, 0x3040), (0xFE10, 0xFE70)]
    ranges += [(0xFF00, 0xFF10), (0xFF1A, 0xFF21), (0xFF3B, 0xFF41), (0xFF5B, 0xFFF0)]
    for lo, hi in ranges:
        for cp in range(lo, hi):
            c = chr(cp)
            n = unicodedata.normalize("NFKC", c)
            if n != c and not any(ch.isalnum() or "\u0300" <= ch <= "\u036f" for ch in n) and c != "\u00b4":
                table.add(cp)
    return table


_SPACE_LIKE = re.compile("[" + "".join(re.escape(chr(cp)) for cp in sorted(_space_like_table())) + "]")
_INSIDE_WORD = re.compile("(?<=\\w)[" + _REMOVABLE + "]+(?=\\w)")
# _INSIDE_WORD led by its character class, which the regex engine scans for far faster than a look-behind
# (only a pattern that starts with a plain class gets that scan: a repeated one does not);
# the look-behind is then checked on the few runs found (two removable characters are word characters
# themselves, Hangul fillers: texts with them take the plain regex)
_REMOVABLE_BEFORE_WORD = re.compile(
    "[" + _REMOVABLE + "][" + _REMOVABLE + "]*(?=\\w)"
)  # not [...]+: see below
_WORDY_REMOVABLE = tuple(c for c in _REMOVABLE if c.isalnum())
_COMBINING = re.compile("[\u0300-\u036f\u00b4]")
_SPLIT_WORD = re.compile("[-\u2010\u2011][ \t]*\r?\n")
_SPLIT_AT_MINUS = re.compile("-[ \t]*\r?\n")  # a literal lead character is found at memchr speed
_REMOVABLE_RE = re.compile("[" + _REMOVABLE + "]")
_SUSPECT = re.compile("[" + _REMOVABLE + "\u0300-\u036f\u00b4]")  # removable or combining


def _has_split_word(text: str) -> bool:
    """Whether a hyphen at a line end splits a word (`_SPLIT_WORD.search`, with cheap rejections first)."""
    if "\n" not in text:
        return False
    if "-" in text and _SPLIT_AT_MINUS.search(text):
        return True
    return ("\u2010" in text or "\u2011" in text) and _SPLIT_WORD.search(text) is not None


def _has_invisible_inside_word(text: str) -> bool:
    """`_INSIDE_WORD.search(text)`, fast: a run of removable characters between two word characters."""
    if any(c in text for c in _WORDY_REMOVABLE):
        return _INSIDE_WORD.search(text) is not None
    for m in _REMOVABLE_BEFORE_WORD.finditer(text):
        start = m.start()
        if start and (text[start - 1].isalnum() or text[start - 1] == "_"):
            return True
    return False


def normalize(text: str) -> NormalizedText:
    """Normalise `text` for matching and keep the map back to its original characters."""
    nfkc = unicodedata.is_normalized("NFKC", text)
    suspect = _SUSPECT.search(text)
    if nfkc and suspect is None and not _has_split_word(text):
        # the common case: nothing to drop, join or recompose; only case folding can change the length
        folded = text.casefold()
        if len(folded) == len(text):
            return _finish(text, folded, None, None)
        slow, starts, ends = _slow_fold(text)
        return _finish(text, slow, starts, ends)
    clean = nfkc and (suspect is None or not _REMOVABLE_RE.search(text, suspect.start()))
    if not clean:
        if _has_invisible_inside_word(text):
            slow, starts, ends = _slow_fold(text)
            return _finish(text, slow, starts, ends)
        # the usual culprits (emoji variation selectors, no-break spaces, '…') sit between words:
        # turning them into spaces keeps every offset, so the fast path still applies
        work = _SPACE_LIKE.sub(" ", text)
    else:
        work = text
    folded = work.casefold()
    if (
        len(folded) == len(work)
        and not _COMBINING.search(work)
        and not _has_split_word(work)
        and (clean or unicodedata.is_normalized("NFKC", work))
    ):
        return _finish(text, folded, None, None)
    slow, starts, ends = _slow_fold(text)
    return _finish(text, slow, starts, ends)


def normalize_word(word: str) -> str:
    """The normalised form of one word or phrase as it will appear in `NormalizedText.spaced`."""
    return " ".join(normalize(word).spaced.split())


def is_word(form: str) -> bool:
    """Whether `form` can be one word of `NormalizedText.spaced`: letters and digits, with apostrophes
    only between Cyrillic letters (other apostrophes and every other character split words)."""
    return bool(form) and all(c.isalnum() or c == "'" for c in form) and not _LOOSE_APOSTROPHE.search(form)


def is_gap(folded: str, i: int) -> bool:
    """Whether folded character i is a space in `spaced` (a word boundary)."""
    ch = folded[i]
    if ch.isalnum():
        return False
    if ch != "'":
        return True
    return not (0 < i < len(folded) - 1 and folded[i - 1] in _CYR_LETTERS and folded[i + 1] in _CYR_LETTERS)


def word_end(folded: str, i: int) -> int:
    """The end of the word that goes on at folded position i (i itself when i is a boundary)."""
    return _WORD_REST.match(folded, i).end()  # type: ignore[union-attr]  # `*` always matches


def word_start(folded: str, i: int) -> int:
    """The start of the word that ends at folded position i (i itself when i follows a boundary)."""
    while i and not is_gap(folded, i - 1):
        i -= 1
    return i


def is_cyrillic_letter(ch: str) -> bool:
    """True for letters of the Cyrillic block."""
    return "\u0400" <= ch <= "\u04ff"
