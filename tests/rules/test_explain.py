"""`explain` says which words hit which terms and why a rule did not match."""

from __future__ import annotations

from bot.rules import RuleReport, compile_rules
from tests.rules.conftest import rule

RULES = compile_rules(
    [
        rule("evac", ["эвакуация", "эвакуировать"], none_=["эвакуатор"]),
        rule("sudzha", ["эвакуация"], all_=["Суджа"]),
        rule("near", near=[("эвакуация", "Суджа", 2)]),
        rule("scoped", ["эвакуация"], channels=("@rybar",)),
        rule("off", ["эвакуация"], enabled=False),
    ]
)


def report(text: str, name: str, channel: str | None = None) -> RuleReport:
    [r] = RULES.explain(text, rules=[name], channel=channel)
    return r


def test_matched_rule_lists_the_words_for_each_term() -> None:
    r = report("Эвакуация: жителей эвакуировали", "evac")
    assert r.matched
    by_term = {t.term: [h.text for h in t.hits] for t in r.terms}
    assert by_term["эвакуация"] == ["Эвакуация"]
    assert by_term["эвакуировать"] == ["эвакуировали"]


def test_exclusion_names_the_none_term_and_the_word() -> None:
    r = report("эвакуация, приехал эвакуатора водитель", "evac")
    assert not r.matched
    assert r.reasons == ("excluded by none-term 'эвакуатор' (found 'эвакуатора')",)


def test_missing_all_term_is_named() -> None:
    r = report("эвакуация", "sudzha")
    assert r.reasons == ("missing all-term 'Суджа'",)


def test_missing_any_terms_are_listed() -> None:
    r = report("ничего", "evac")
    assert r.reasons == ("none of the any-terms found: 'эвакуация', 'эвакуировать'",)


def test_proximity_failure_gives_the_distance() -> None:
    r = report("эвакуация жителей многих сел Суджи", "near")
    assert r.reasons == ("near('эвакуация', 'Суджа', 2): closest occurrences are 4 words apart",)


def test_scope_and_disabled_are_explained() -> None:
    assert "out of scope" in report("эвакуация", "scoped").reasons[0]
    assert report("эвакуация", "scoped", channel="rybar").matched
    assert "disabled" in report("эвакуация", "off").reasons[0]


def test_explain_agrees_with_match_for_every_rule() -> None:
    text = "Эвакуация из Суджи продолжается"
    matched = {m.rule for m in RULES.match(text)}
    assert {r.rule for r in RULES.explain(text) if r.matched} == matched
    assert matched == {"evac", "sudzha", "near"}


def test_reports_serialise_to_json_ready_dicts() -> None:
    d = RULES.explain("эвакуация", rules=["evac"])[0].to_dict()
    assert d["matched"] is True
    assert d["hits"] == [{"term": "эвакуация", "text": "эвакуация", "start": 0, "end": 9}]
