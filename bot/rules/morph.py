"""Word forms of a term: pymorphy3 for Russian and Ukrainian, lemminflect for English, all offline.

The analysers take about a second to load, so they are created once, lazily, and shared.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import Any, Literal

Lang = Literal["ru", "uk", "en"]

_UK_ONLY = re.compile(r"[іїєґ']")
_RU_ONLY = re.compile(r"[ыэъё]")
_LATIN = re.compile(r"[a-z]")
_CYRILLIC = re.compile(r"[а-яіїєґ]")


@cache
def analyzer(lang: Literal["ru", "uk"]) -> Any:
    """The shared pymorphy3 analyser for `lang`, created on first use."""
    import pymorphy3  # imported late: loading dictionaries costs ~1s and most commands never need it

    return pymorphy3.MorphAnalyzer(lang=lang)


def languages(word: str) -> tuple[Lang, ...]:
    """The languages whose forms a normalised word expands into, judged by script and dictionaries."""
    if _LATIN.search(word) and not _CYRILLIC.search(word):
        return ("en",)
    if not _CYRILLIC.search(word):
        return ()
    if _UK_ONLY.search(word):
        return ("uk",)
    if _RU_ONLY.search(word):
        return ("ru",)
    both: tuple[Literal["ru", "uk"], ...] = ("ru", "uk")
    known = tuple(lang for lang in both if analyzer(lang).word_is_known(word))
    # unknown words (place names, surnames) go to both predictors: a stray predicted form costs nothing
    return known or both


def _pymorphy_forms(word: str, lang: Literal["ru", "uk"]) -> set[str]:
    parses = analyzer(lang).parse(word)
    if not parses:
        return {word}
    known = [p for p in parses if p.is_known] or parses
    # A term is normally written as a dictionary form: prefer the readings where it is the lemma,
    # so "стали" written as a noun does not drag in "стать", and vice versa only when intended.
    lemma_readings = [p for p in known if p.normal_form == word]
    chosen = lemma_readings or known[:1]
    forms = {word}
    seen: set[tuple[str, str]] = set()
    for p in chosen:
        key = (p.normal_form, str(p.tag.POS))
        if key in seen:
            continue
        seen.add(key)
        forms.update(f.word.replace("ё", "е") for f in p.lexeme)
    return forms


def _english_forms(word: str) -> set[str]:
    from lemminflect import getAllInflections, getAllInflectionsOOV, getAllLemmas

    lemmas: dict[str, tuple[str, ...]] = getAllLemmas(word)
    if not lemmas:
        # unknown (a name, a new noun): add the regular plural; possessives are split off by tokenisation
        return {word, *(f for forms in getAllInflectionsOOV(word, "NOUN").values() for f in forms)}
    if word.endswith("ing") and not any(word in lems for lems in lemmas.values()):
        # "shelling" means the noun: do not drag in "shell", "shells"; write the verb for its forms
        return {word, word + "s"}
    # Only the parts of speech where the word itself is the lemma, when there are any:
    # "shelling" (noun) must not drag in "shell" (noun).
    own = {pos: (word,) for pos, lems in lemmas.items() if word in lems}
    chosen = own or lemmas
    forms = {word}
    for pos, lems in chosen.items():
        for lemma in lems:
            forms.add(lemma)
            for infl in getAllInflections(lemma, upos=pos).values():
                forms.update(infl)
    return {f.lower() for f in forms}


@lru_cache(maxsize=65536)
def word_forms(word: str) -> frozenset[str]:
    """Every form of a normalised (case-folded) word in the languages it belongs to, itself included."""
    forms: set[str] = {word}
    for lang in languages(word):
        if lang == "en":
            forms |= _english_forms(word)
        else:
            forms |= _pymorphy_forms(word, lang)
    return frozenset(f for f in forms if f)


def is_abbreviation(raw: str) -> bool:
    """An all-capitals short word such as БПЛА or ВСУ: matched as written, never inflected."""
    letters = [c for c in raw if c.isalpha()]
    return 2 <= len(letters) <= 6 and all(c.isupper() for c in letters)


# Derivational endings stripped to find a family's stem (longest first). The stem keeps 4+ letters.
_FAMILY_ENDINGS: dict[str, tuple[str, ...]] = {
    "ru": (
        "ированность", "ирование", "ированный", "ироваться", "ировать", "ационный", "ация", "ение", "ание",
        "ость", "ный", "ской", "ский", "ать", "ять", "ить", "еть", "ия", "ие", "ий", "ый", "ой", "а", "я",
    ),
    "uk": (
        "йованість", "ювання", "юватися", "ювати", "йований", "аційний", "ація", "ування", "увати", "ення",
        "ання", "ість", "ний", "ський", "ати", "ити", "ія", "ий", "а", "я",
    ),
}  # fmt: skip
_EN_ENDINGS = (
    "ations",
    "ation",
    "ating",
    "ated",
    "ates",
    "ate",
    "ees",
    "ee",
    "ions",
    "ion",
    "ing",
    "ed",
    "es",
    "e",
    "s",
)
_EN_FAMILY = (
    "", "e", "es", "ed", "ing", "ate", "ates", "ated", "ating", "ation", "ations", "ee", "ees", "ion", "ions",
    "ive", "ment", "ments", "ize", "ise", "ized", "ised", "izing", "ising", "ization", "isation",
)  # fmt: skip
# Agent and instrument nouns leave the family: эвакуатор (a tow truck) is not an evacuation.
_AGENT = re.compile(r"(?:а|я|и)?тор")
MIN_STEM = 4
MAX_FAMILY_FORMS = 1500


def _family_stem(word: str, endings: tuple[str, ...]) -> str:
    for ending in endings:
        if word.endswith(ending) and len(word) - len(ending) >= MIN_STEM:
            return word[: -len(ending)]
    return word


def _pymorphy_family(word: str, lang: Literal["ru", "uk"]) -> set[str]:
    morph = analyzer(lang)
    stem = _family_stem(word, _FAMILY_ENDINGS[lang])
    forms = _pymorphy_forms(word, lang)
    for key in morph.dictionary.words.keys(stem):
        for p in morph.parse(key):
            rest = p.normal_form.replace("ё", "е")[len(stem) :]
            if p.normal_form.replace("ё", "е").startswith(stem) and not _AGENT.match(rest):
                forms.add(key.replace("ё", "е"))
                break
    return forms


def _english_family(word: str) -> set[str]:
    from lemminflect import getAllLemmas

    stem = _family_stem(word, _EN_ENDINGS)
    forms = _english_forms(word)
    for ending in _EN_FAMILY:
        candidate = stem + ending
        if candidate != word and getAllLemmas(candidate):
            forms |= _english_forms(candidate)
    return forms


@lru_cache(maxsize=4096)
def family_forms(word: str) -> frozenset[str]:
    """Every form of every dictionary word sharing the word's derivational stem (эвакуация ->
    эвакуировать, эвакуированный, эвакуационный...), without agent nouns such as эвакуатор."""
    forms: set[str] = {word}
    for lang in languages(word):
        forms |= _english_family(word) if lang == "en" else _pymorphy_family(word, lang)
    return frozenset(f for f in forms if f)
