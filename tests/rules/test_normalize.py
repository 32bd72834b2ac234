"""Normalisation: evasion tricks are undone, and every normalised character maps back to the original."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.rules.normalize import _TO_LAT, normalize, normalize_word


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ЭВАКУАЦИЯ", "эвакуация"),
        ("Ёлка", "елка"),
        ("эваку\u00adация", "эвакуация"),  # soft hyphen
        ("эва\u200bку\u200cа\u200dция", "эвакуация"),  # zero-width space / non-joiner / joiner
        ("\ufeffэвакуация", "эвакуация"),  # BOM
        ("эвакуа́ция", "эвакуация"),  # stress mark
        ("е\u0308лка", "елка"),  # decomposed ё
        ("и\u0306од", "йод"),  # decomposed й survives
        ("Cуджa", "суджа"),  # Latin C and a inside a Cyrillic word
        ("oбcтpeл", "обстрел"),  # mostly Latin look-alikes, decided by the Cyrillic б/т/л
        ("evаcuаted", "evacuated"),  # Cyrillic а inside an English word
        ("Ｓｕｄｚｈａ", "sudzha"),  # full-width letters (NFKC)
        ("𝐊𝐮𝐫𝐬𝐤", "kursk"),  # mathematical bold letters (NFKC)
        ("обстріл", "обстріл"),  # Ukrainian і stays Ukrainian
        ("Київ", "київ"),
        ("ґанок", "ґанок"),
        ("Kиїв", "київ"),  # Latin K in a Ukrainian word
    ],
)
def test_word_is_folded_to_its_plain_form(text: str, expected: str) -> None:
    assert normalize(text).spaced.strip() == expected


def test_hyphen_newline_split_word_is_joined_and_spans_cover_the_split() -> None:
    text = "жители эваку-\nированы"
    n = normalize(text)
    assert n.spaced.split() == ["жители", "эвакуированы"]
    start = n.spaced.index("эвакуированы")
    s, e = n.span(start, start + len("эвакуированы"))
    assert text[s:e] == "эваку-\nированы"


def test_a_hyphenated_compound_on_one_line_stays_two_words() -> None:
    assert normalize("северо-запад").spaced.split() == ["северо", "запад"]


def test_emoji_and_punctuation_around_words_become_spaces() -> None:
    assert normalize("🔥‼️Суджа!!! (эвакуация)…").spaced.split() == ["суджа", "эвакуация"]


def test_ukrainian_apostrophe_variants_are_one_letter_but_english_possessive_splits() -> None:
    assert normalize("обовʼязкова").spaced.strip() == "обов'язкова"
    assert normalize("обов’язкова").spaced.strip() == "обов'язкова"
    assert normalize("Russia's").spaced.split() == ["russia", "s"]


def test_mixed_word_with_unambiguous_letters_of_both_scripts_is_left_alone() -> None:
    assert normalize("Zдравствуйте").spaced.strip() == "zдравствуйте"


def test_normalize_word_collapses_a_phrase() -> None:
    assert normalize_word("  Курская   Область ") == "курская область"


TEXT = st.text(
    alphabet=st.sampled_from(
        [
            *"абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґАБЁЇaceopxyAKMHTBi -\n.,!?'’ʼ´",
            "\u00ad",
            "\u200b",
            "\u200d",
            "\ufeff",
            "\u0301",
            "\u0308",
            "\u0306",
            "ﬁ",
            "ß",
            "İ",
            "🔥",
            "Ｓ",
            "\ufe0f",
        ]
    ),
    max_size=60,
)


@pytest.mark.parametrize("text", ["A-\n\xadA", "a\xad-\na", "а-\n\u200bа"])
def test_a_word_split_at_a_line_end_is_joined_through_invisible_characters(text: str) -> None:
    assert normalize(text).folded in ("aa", "аа")


@given(TEXT)
def test_normalisation_is_idempotent(text: str) -> None:
    once = normalize(text).folded
    assert normalize(once).folded == once


@given(TEXT)
def test_folded_and_spaced_texts_have_one_map_entry_per_character(text: str) -> None:
    n = normalize(text)
    assert len(n.folded) == len(n.spaced)
    if n.starts is not None:
        assert n.ends is not None
        assert len(n.starts) == len(n.ends) == len(n.folded)


def letters(s: str) -> str:
    return re.sub(r"[\W_]", "", s).translate(_TO_LAT)


@given(TEXT, st.data())
def test_every_span_maps_into_the_original_in_order(text: str, data: st.DataObject) -> None:
    n = normalize(text)
    size = len(n.folded)
    a = data.draw(st.integers(0, size))
    b = data.draw(st.integers(a, size))
    s, e = n.span(a, b)
    assert 0 <= s <= e <= len(text)
    if b > a:
        # the original slice normalises to the normalised slice, up to which script a
        # look-alike letter was resolved to (that depends on the rest of the word); punctuation and
        # invisible characters between words may be kept or dropped, so only word characters count
        assert letters(n.folded[a:b]) in letters(normalize(text[s:e]).folded)


@given(TEXT)
def test_original_spans_of_successive_characters_never_go_backwards(text: str) -> None:
    n = normalize(text)
    spans = [n.span(i, i + 1) for i in range(len(n.folded))]
    assert all(p[0] <= q[0] and p[1] <= q[1] for p, q in itertools.pairwise(spans))


@given(st.text(max_size=80))
def test_any_unicode_text_normalises_and_maps_back(text: str) -> None:
    n = normalize(text)
    for i in range(len(n.folded)):
        s, e = n.span(i, i + 1)
        assert 0 <= s < e <= len(text)
