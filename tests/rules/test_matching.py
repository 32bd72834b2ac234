"""Rule semantics: any/all/none, phrases, proximity, scope, severity order, spans in the original text."""

from __future__ import annotations

import pytest

from bot.domain.models import Severity
from bot.rules import compile_rules
from tests.rules.conftest import one, rule, words

SUDZHA = "Несколько тысяч жителей эвакуированы из Суджи, сообщил губернатор."


def test_hits_carry_spans_of_the_original_words() -> None:
    [m] = one("эвакуировать", "Суджа").match(SUDZHA)
    assert [(h.term, h.text) for h in m.hits] == [("эвакуировать", "эвакуированы"), ("Суджа", "Суджи")]
    for h in m.hits:
        assert SUDZHA[h.start : h.end] == h.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Эваку\u00adация в Cуджe", ["Эваку\u00adация", "Cуджe"]),  # soft hyphen, Latin C and e
        ("ЭВАКУАЦИЯ!!! 🔥Суджа🔥", ["ЭВАКУАЦИЯ", "Суджа"]),
        ("эва\u200bкуация", ["эва\u200bкуация"]),
        ("эваку-\nация жителей", ["эваку-\nация"]),
        ("Эвакуа́ция", ["Эвакуа́ция"]),  # stress mark
        ("эвакуациЯ из Ｓｕｄｚｈａ", ["эвакуациЯ"]),
    ],
)
def test_evasion_tricks_still_match_and_highlight_the_original(text: str, expected: list[str]) -> None:
    assert words(one("эвакуация", "Суджа"), text) == expected


def test_all_terms_are_required() -> None:
    m = compile_rules([rule(any_=["эвакуация"], all_=["Суджа", "Курск"])])
    assert not m.match("эвакуация из Суджи")
    assert m.match("эвакуация из Суджи и Курска")


def test_rule_with_only_all_terms_needs_each_of_them() -> None:
    m = compile_rules([rule(all_=["Суджа", "эвакуация"])])
    assert m.match("эвакуация в Судже")
    assert not m.match("Суджа")


def test_none_term_excludes_the_post() -> None:
    m = one("эвакуировать", none_=["эвакуатор"])
    assert m.match("Жителей эвакуировали")
    assert not m.match("Машину эвакуировали, эвакуатор приехал")


def test_phrase_needs_its_words_adjacent_and_in_order_in_any_form() -> None:
    m = one('"Курская область"')
    assert words(m, "в Курской области введен режим") == ["Курской области"]
    assert words(m, "КУРСКАЯ, область") == ["КУРСКАЯ, область"]  # punctuation between is fine
    assert not m.match("область Курская")
    assert not m.match("Курская и Белгородская область")


def test_phrase_words_may_be_exact_or_prefixes() -> None:
    m = one('"режим =КТО"', '"обстрел* Курск"')
    assert m.match("введен режим КТО")
    assert not m.match("введен режимы ктоа")
    assert words(m, "обстреляли Курск") == ["обстреляли Курск"]


def test_unquoted_multiword_term_is_a_phrase() -> None:
    assert one("Курская область").match("в Курской области")


def test_regex_term_matches_case_insensitively_on_normalised_text() -> None:
    m = one("/\\bкто\\b/")
    assert words(m, "Режим КТО введен") == ["КТО"]
    assert not m.match("Никто не знает")


def test_regex_span_maps_back_through_removed_characters() -> None:
    text = "режим К\u200bТО"
    [m] = one("/кто/").match(text)
    assert text[m.hits[0].start : m.hits[0].end] == "К\u200bТО"


def test_proximity_counts_words_between_terms() -> None:
    m = compile_rules([rule(near=[("эвакуация", "Суджа", 3)])])
    assert m.match("эвакуация жителей из Суджи")  # 3 words apart
    assert m.match("Суджа: эвакуация")  # either order
    assert not m.match("эвакуация жителей многих сел из Суджи")  # 5 apart
    assert not m.match("эвакуация")


def test_proximity_with_a_phrase_measures_from_its_edge() -> None:
    m = compile_rules([rule(near=[('"Курская область"', "эвакуация", 2)])])
    assert m.match("В Курской области объявлена эвакуация")
    assert not m.match("В Курской области сегодня вечером объявлена эвакуация")


def test_prefix_matches_word_starts_only_and_highlights_the_whole_word() -> None:
    assert words(one("беспилот*"), "Сбиты беспилотники") == ["беспилотники"]
    assert not one("пилот*").match("Сбиты беспилотники")


def test_disabled_rule_never_matches() -> None:
    m = compile_rules([rule(any_=["Суджа"], enabled=False)])
    assert m.match("Суджа") == []


def test_channel_scoped_rule_matches_only_in_its_channels() -> None:
    m = compile_rules([rule(any_=["Суджа"], channels=("@Rybar", "https://t.me/mod_russia"))])
    assert m.match("Суджа", channel="rybar")
    assert m.match("Суджа", channel="mod_russia")
    assert not m.match("Суджа", channel="other")
    assert not m.match("Суджа")


def test_numeric_channel_scope_accepts_the_marked_id() -> None:
    m = compile_rules([rule(any_=["Суджа"], channels=("-1001234567890",))])
    assert m.match("Суджа", channel="1234567890")


def test_label_scoped_rule_matches_channels_with_that_label() -> None:
    m = compile_rules([rule(any_=["Суджа"], labels=("Official",))])
    assert m.match("Суджа", channel="x", tags=["official", "ru"])
    assert not m.match("Суджа", channel="x", tags=["milblogger"])


def test_matches_come_most_severe_first() -> None:
    m = compile_rules(
        [
            rule("a", ["Суджа"], severity=Severity.INFO),
            rule("b", ["Суджа"], severity=Severity.CRITICAL),
            rule("c", ["Суджа"], severity=Severity.WARNING),
        ]
    )
    assert [x.rule for x in m.match("Суджа")] == ["b", "c", "a"]


def test_terms_shared_by_rules_are_compiled_once() -> None:
    m = compile_rules([rule("a", ["эвакуация"]), rule("b", ["эвакуация", "Суджа"])])
    assert len(m.tables.terms) == 2
    assert {x.rule for x in m.match("эвакуация")} == {"a", "b"}


def test_empty_and_wordless_texts_match_nothing() -> None:
    m = one("Суджа")
    assert m.match("") == []
    assert m.match("🔥🔥 !!! \u200b") == []


def test_many_rules_do_not_interfere() -> None:
    specs = [rule(f"r{i}", [f"слово{i}"]) for i in range(300)] + [rule("sudzha", ["Суджа"])]
    m = compile_rules(specs)
    assert [x.rule for x in m.match("в Судже")] == ["sudzha"]
    assert {x.rule for x in m.match("слово7 и слово250")} == {"r7", "r250"}
