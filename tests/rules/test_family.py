"""`~word` terms: the word's family (noun, verbs, participles, adjectives) without false friends."""

from __future__ import annotations

import pytest

from bot.domain.errors import RuleError
from bot.domain.models import RuleSpec
from bot.rules import compile_rules
from bot.rules.terms import TermSyntaxError, parse_term


@pytest.mark.parametrize(
    ("term", "text"),
    [
        ("~эвакуация", "Жителей эвакуировали ночью"),
        ("~эвакуация", "Работает эвакуационный пункт"),
        ("~эвакуация", "Эвакуированные разместились в школе"),
        ("~евакуація", "Людей евакуйовано з прикордоння"),
        ("~евакуація", "Місто евакуюють"),
        ("~evacuation", "Residents were evacuated"),
        ("~evacuation", "Evacuees arrived in Kyiv"),
        ("~мобилизация", "Мобилизованных отправили на учения"),
    ],
)
def test_a_family_term_reaches_the_words_derived_from_it(term: str, text: str) -> None:
    assert compile_rules([RuleSpec("r", any_=(term,))]).match(text)


@pytest.mark.parametrize(
    ("term", "text"),
    [
        ("~эвакуация", "Эвакуатор увёз машину"),
        ("~евакуація", "Викликали евакуатор"),
        ("эвакуация", "Жителей эвакуировали ночью"),  # without ~ a noun stays a noun
    ],
)
def test_a_family_leaves_out_agent_nouns_and_plain_terms_stay_narrow(term: str, text: str) -> None:
    assert not compile_rules([RuleSpec("r", any_=(term,))]).match(text)


def test_family_syntax_errors() -> None:
    assert parse_term("~эвакуация").kind == "family"
    with pytest.raises(TermSyntaxError, match="only one of"):
        parse_term("~эвакуация*")
    with pytest.raises(TermSyntaxError, match="at least 6 letters"):
        parse_term("~удар")
    with pytest.raises(RuleError, match="only at its start"):
        compile_rules([RuleSpec("r", any_=("эваку~ация",))])


def test_the_example_configs_evacuation_rule_does_what_its_comment_says() -> None:
    from pathlib import Path

    from config.loader import load

    example = Path(__file__).resolve().parents[2] / "config" / "example.toml"
    spec = next(r for r in load(example, {}).rules if r.name == "evacuation")
    m = compile_rules([spec])
    for text in (
        "Жители эвакуированы",
        "Триває евакуація",
        "Residents evacuated",
        "Работает эвакуационный пункт",
    ):
        assert m.match(text), text
    assert not m.match("Эвакуатор увёз машину")
    assert not m.match("Эвакуировали автомобиль со двора")
