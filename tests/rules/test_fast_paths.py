"""The matcher's fast paths give exactly what their plain definitions give."""

from __future__ import annotations

import dataclasses
import re
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.models import RuleSpec
from bot.rules import CompiledRules, compile_rules
from bot.rules import normalize as nz
from bot.rules.compiler import _automaton
from bot.rules.engine import TextState

ODD = [
    *"абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґАБЁЇaceopxyAKMHTBiz _-\n\r\t.,!?'’ʼ´«(#",
    "\u00ad", "\u200b", "\u200d", "\u2010", "\u2011", "\ufeff", "\u0301", "\u0308", "\u0306", "\u115f",
    "ﬁ", "ß", "İ", "🔥", "Ｓ", "\ufe0f", "\xa0", "…", "²",
]  # fmt: skip
TEXT = st.text(alphabet=st.sampled_from(ODD), max_size=60)
WORDS = [
    *[
        "суджа",
        "суджи",
        "суджу",
        "курск",
        "обстрел",
        "обстріл",
        "об'єкт",
        "об'єкта",
        "evacuated",
        "sudzha",
        "дрон",
        "в",
        "з",
        "no",
        "one",
        "was",
        "is",
    ],
    *["обстрел суджи", "в суджу", "no one was", "з об'єкта", "в  суджу", "no one, was"],
]
TERM_TEXT = st.lists(st.sampled_from([*WORDS, *ODD]), max_size=25).map("".join)


def reference_fold(text: str) -> tuple[str, list[int], list[int]]:
    """The character-by-character definition of the slow fold."""
    skip: set[int] = set()
    for m in nz._HYPHEN_NEWLINE.finditer(text):
        skip.update(range(m.start(), m.end()))
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if i in skip or ch in nz._REMOVABLE_SET:
            i += 1
            continue
        j = i + 1
        while j < n and unicodedata.combining(text[j]) and text[j] not in nz._REMOVABLE_SET:
            j += 1
        cluster = "'" if ch == "\u00b4" else text[i:j]
        norm = unicodedata.normalize("NFKC", cluster).casefold()
        if len(norm) > 1 or not norm.isascii():
            norm = unicodedata.normalize("NFC", "".join(c for c in norm if not ("\u0300" <= c <= "\u036f")))
        for c in norm:
            out.append(c)
            starts.append(i)
            ends.append(j)
        i = j
    return "".join(out), starts, ends


@given(TEXT)
def test_bulk_folding_equals_folding_character_by_character(text: str) -> None:
    assert nz._slow_fold(text) == reference_fold(text)


@given(st.text(max_size=40))
def test_bulk_folding_equals_folding_character_by_character_on_any_unicode(text: str) -> None:
    assert nz._slow_fold(text) == reference_fold(text)


@given(TEXT)
def test_quick_checks_equal_their_regexes(text: str) -> None:
    assert nz._has_split_word(text) == bool(nz._SPLIT_WORD.search(text))
    assert nz._has_invisible_inside_word(text) == bool(nz._INSIDE_WORD.search(text))
    folded = text.casefold()
    assert bool(nz._MIXED_AT_LATIN.search(folded)) == bool(re.search(nz._MIXED, folded))


@given(st.text())
def test_narrow_bytes_are_one_a_character(text: str) -> None:
    """So the automaton's byte offsets on them are character offsets of the text."""
    narrow = nz.to_narrow(text)
    assert len(narrow) == len(text)
    for ch, byte in zip(text, narrow, strict=True):
        try:
            assert ch.encode(nz.NARROW) == bytes([byte])
        except UnicodeEncodeError:
            assert byte == ord("?")


@given(TEXT)
def test_mixed_word_check_on_narrow_bytes_equals_its_regex(text: str) -> None:
    folded = text.casefold().replace("ё", "е")
    assert nz.has_mixed_word(nz.to_narrow(folded)) == bool(nz._MIXED_AT_LATIN.search(folded))


@given(TEXT)
def test_word_boundaries_on_the_folded_text_are_the_spaces_of_the_spaced_text(text: str) -> None:
    n = nz.normalize(text)
    assert [nz.is_gap(n.folded, i) for i in range(len(n.folded))] == [c == " " for c in n.spaced]
    for i in range(len(n.folded) + 1):
        end = n.spaced.find(" ", i)
        assert nz.word_end(n.folded, i) == (len(n.spaced) if end < 0 else end)


SPECS = [
    RuleSpec("words", any_=("Суджа", "=курск", "обстріл", "evacuate")),
    RuleSpec("prefixes", any_=("обстр*", "об'єк*", "дрон*", "sudzh*")),
    RuleSpec("phrases", any_=('"обстрел суджи"', '"в суджу"', '"no one was"', '"з об\'єкта"')),
    RuleSpec("gated", any_=("обстрел", "дрон"), unless_near=((("обстрел",), ("не", "=з", '"no one"'), 2),)),
    RuleSpec("excluded", any_=("курск",), none_=("в",)),
]


@given(TERM_TEXT)
def test_automaton_on_the_folded_text_finds_what_padded_keys_find_on_the_spaced_text(text: str) -> None:
    """Also: atoms left out of the automaton (short words of phrases) are found alike when asked for."""
    tables = compile_rules(SPECS).tables
    automaton = _automaton(tables.atoms, pad=True)
    padded = dataclasses.replace(
        tables, automaton=automaton, key_count=len(automaton), padded=True, lazy_atoms=frozenset()
    )
    assert not tables.padded
    assert tables.lazy_atoms
    ours, theirs = TextState(tables, text), TextState(padded, text)
    assert [ours.atom_spans(a) for a in range(len(tables.atoms))] == [
        theirs.atom_spans(a) for a in range(len(tables.atoms))
    ]
    assert [ours.hits(t) for t in range(len(tables.terms))] == [
        theirs.hits(t) for t in range(len(tables.terms))
    ]
    assert CompiledRules(tables).match(text) == CompiledRules(padded).match(text)


def test_only_short_words_with_a_longer_partner_are_left_out_of_the_automaton() -> None:
    tables = compile_rules(SPECS).tables
    lazy = {tables.atoms[a].word for a in tables.lazy_atoms}
    # "one" is the longest of "no one was"; "не" and "=з" are only a context, "в" only an exclusion
    assert lazy == {"в", "з", "no", "was", "не"}
    assert {tables.terms[t].raw for t in tables.unkeyed_terms} == {"в", "не", "=з"}


def reference_phrase_hits(state: TextState, aids: tuple[int, ...]) -> list[tuple[int, int]]:
    """Phrase hits by word number in the spaced text."""
    starts = [m.start() for m in re.finditer(r"\S+", state.norm.spaced)]

    def word(pos: int) -> int:
        return max(i for i, s in enumerate(starts) if s <= pos)

    per_word = []
    for aid in aids:
        found = state.atom_spans(aid)
        if not found:
            return []
        per_word.append({word(s): (s, e) for s, e in found})
    return [
        (s, per_word[-1][first + len(aids) - 1][1])
        for first, (s, _) in sorted(per_word[0].items())
        if all(first + k in per_word[k] for k in range(1, len(aids)))
    ]


@given(TERM_TEXT)
def test_phrases_words_and_sentence_words_are_found_on_the_folded_text_as_on_the_spaced_one(
    text: str,
) -> None:
    tables = compile_rules(SPECS).tables
    state = TextState(tables, text)
    spaced, folded = state.norm.spaced, state.norm.folded
    assert state.word_starts() == [m.start() for m in re.finditer(r"\S+", spaced)]
    for i in range(len(folded) + 1):
        assert folded[nz.word_start(folded, i) : i] == spaced[spaced.rfind(" ", 0, i) + 1 : i]
    for tid, aids in enumerate(tables.term_atoms):
        if len(aids) > 1:
            assert state.hits(tid) == reference_phrase_hits(state, aids)


def test_automata_survive_pickling_for_the_import_workers() -> None:
    import pickle

    tables = compile_rules(SPECS).tables
    for automaton in (tables.automaton, _automaton(tables.atoms, pad=True)):
        copy = pickle.loads(pickle.dumps(automaton))
        text = " обстрел суджи в суджу no one was "
        haystack = nz.to_narrow(text) if automaton.narrow else text
        assert copy.find(haystack) == automaton.find(haystack) != []
        assert (copy.keys, copy.values, copy.overlapping) == (
            automaton.keys,
            automaton.values,
            automaton.overlapping,
        )


def test_results_built_through_the_slots_equal_the_dataclasses() -> None:
    from bot.domain.models import Match, MatchedTerm, Severity
    from bot.rules.engine import _hit, _match

    hit = _hit("суджа", "Судже", 3, 8)
    assert hit == MatchedTerm("суджа", "Судже", 3, 8)
    assert hash(hit) == hash(MatchedTerm("суджа", "Судже", 3, 8))
    assert repr(_match("r", Severity.CRITICAL, (hit,))) == repr(Match("r", Severity.CRITICAL, (hit,)))
    assert _match("r", Severity.CRITICAL, (hit,)) == Match("r", Severity.CRITICAL, (hit,))
