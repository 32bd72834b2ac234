"""Proximity-scoped exclusions (unless_near), context requirements (only_near) and sentence scope."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain.errors import ConfigError, RuleError
from bot.domain.models import SENTENCE, TEXT, RuleSpec
from bot.rules import CompiledRules, compile_rules
from bot.rules.report_text import explanation_lines
from config.edit import rule_to_toml
from config.loader import load


def matched(m: CompiledRules, text: str) -> bool:
    return bool(m.match(text))


@pytest.fixture(scope="module")
def towing() -> CompiledRules:
    return compile_rules(
        [
            RuleSpec(
                "evac",
                any_=("эвакуировать", "евакуювати", "эвакуация"),
                unless_near=((("*",), ("автомобиль", "авто", "паркування", "машина"), 3),),
            )
        ]
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Жителей эвакуировали из Суджи", True),
        ("Эвакуировали автомобиль со штрафстоянки", False),
        ("Евакуювали авто з паркування біля ТЦ", False),
        # the exclusion is scoped: a car far from the hit does not cancel it
        (
            "Людей евакуювали з Вовчанська. Окремо повідомили, що на парковці згорів один припаркований авто",
            True,
        ),
        # a word-scoped exclusion stays inside the hit's sentence
        ("Повреждены несколько машин. Эвакуация жильцов дома продолжается", True),
        # one cancelled hit, one kept: the rule still matches on the kept one
        ("Эвакуировали автомобиль со двора, а позже эвакуировали и жителей соседних домов", True),
    ],
)
def test_unless_near_cancels_only_hits_close_to_the_excluding_term(
    towing: CompiledRules, text: str, expected: bool
) -> None:
    assert matched(towing, text) is expected


def test_a_cancelled_hit_is_not_reported_among_the_matched_words(towing: CompiledRules) -> None:
    text = "Эвакуировали автомобиль со двора, а позже эвакуировали и жителей соседних домов"
    (match,) = towing.match(text)
    assert [h.start for h in match.hits] == [text.rindex("эвакуировали")]


def test_explanation_names_the_exclusion_and_the_hit_it_cancelled(towing: CompiledRules) -> None:
    (report,) = towing.explain("Евакуювали авто з паркування")
    assert not report.matched
    assert report.cancelled == (
        "'Евакуювали' (евакуювати) cancelled by unless_near 'авто': 'авто' within 3 words in the sentence",
    )
    assert "every hit of the any-terms was cancelled" in report.reasons[0]
    lines = explanation_lines([report])
    assert any(line.strip().startswith("cancelled: 'Евакуювали'") for line in lines)
    assert report.to_dict()["cancelled"] == list(report.cancelled)


@pytest.fixture(scope="module")
def strikes() -> CompiledRules:
    return compile_rules(
        [
            RuleSpec(
                "strike",
                any_=("обстрел", "удар"),
                only_near=((("удар",), ("ракетный", "дрон", "по"), 2),),
            )
        ]
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ночью обстрел продолжился", True),
        ("Ракетный удар пришёлся на окраину", True),
        ("Нанесён удар по энергетике", True),
        ("Футболист нанёс удар в створ ворот", False),
        ("Этот закон стал ударом для бизнеса", False),
    ],
)
def test_only_near_keeps_a_hit_only_with_its_context(
    strikes: CompiledRules, text: str, expected: bool
) -> None:
    assert matched(strikes, text) is expected


def test_explanation_says_which_context_was_missing(strikes: CompiledRules) -> None:
    (report,) = strikes.explain("Футболист нанёс удар в створ ворот")
    assert report.cancelled == (
        "'удар' (удар) dropped by only_near: none of 'ракетный', 'дрон', 'по' within 2 words in the sentence",
    )


def test_each_reason_is_given_once_with_every_hit_it_dropped(strikes: CompiledRules) -> None:
    text = "Футболист нанёс удар в створ ворот. " * 31 + "Удар! Ещё удар."
    (report,) = strikes.explain(text)
    assert report.cancelled == (
        "'удар' (удар), 'Удар' (удар) dropped by only_near: none of 'ракетный', 'дрон', 'по' "
        "within 2 words in the sentence",
    )
    lines = explanation_lines([report])
    assert sum("only_near" in line for line in lines) == 1
    (towing_report,) = compile_rules(
        [RuleSpec("evac", any_=("эвакуировать",), unless_near=((("*",), ("авто",), 3),))]
    ).explain("Эвакуировали авто. " * 5)
    assert len(towing_report.cancelled) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Эвакуация жителей Суджи продолжается весь день без перерыва на выходные", True),
        ("Эвакуация объявлена. Суджа под обстрелом", False),
        ("Эвакуация из г. Суджа продолжается", True),  # an abbreviation does not end the sentence
        ("Эвакуация объявлена\nСуджа под обстрелом", False),
        ("Эвакуация идёт... в Судже тихо, но люди уезжают", True),  # lower case after the dots
    ],
)
def test_sentence_scope_of_near(text: str, expected: bool) -> None:
    m = compile_rules([RuleSpec("r", near=(("эвакуация", "Суджа", SENTENCE),))])
    assert matched(m, text) is expected


def test_sentence_scope_of_unless_near() -> None:
    m = compile_rules(
        [RuleSpec("r", any_=("эвакуация",), unless_near=((("эвакуация",), ("учения",), SENTENCE),))]
    )
    assert not matched(m, "На заводе прошли учения: отработали эвакуацию персонала при пожаре")
    assert matched(m, "Учения прошли вчера. Сегодня объявлена эвакуация жителей")


def test_a_gate_on_a_term_the_rule_does_not_match_on_is_refused() -> None:
    with pytest.raises(RuleError, match="not one of the rule's any, all or near terms"):
        compile_rules([RuleSpec("r", any_=("a1",), unless_near=((("b1",), ("c1",), 3),))])


def test_gated_rules_leave_the_fast_path_of_other_rules_alone() -> None:
    m = compile_rules(
        [
            RuleSpec("plain", any_=("эвакуация",)),
            RuleSpec("gated", any_=("эвакуация",), unless_near=((("*",), ("учения",), 3),)),
        ]
    )
    assert len(m.tables.atom_any[0]) == 1
    assert [x.rule for x in m.match("Учения: эвакуация персонала")] == ["plain"]


# -- TOML syntax -----------------------------------------------------------------------------------------


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "telewatch.toml"
    path.write_text('[[rules]]\nname = "r"\nany = ["эвакуировать"]\n' + body, encoding="utf-8")
    return path


def test_toml_syntax_loads_and_round_trips(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'near = [["эвакуировать", "Суджа", "sentence"]]\n'
        'unless_near = [["*", ["автомобиль", "парковка"], 3], ["эвакуировать", "учения", "sentence"]]\n'
        'only_near = [[["эвакуировать", "Суджа"], ["жители"], 6], ["*", "обстрел", "text"]]\n',
    )
    (spec,) = load(path, {}).rules
    assert spec.near == (("эвакуировать", "Суджа", SENTENCE),)
    assert spec.unless_near == (
        (("*",), ("автомобиль", "парковка"), 3),
        (("эвакуировать",), ("учения",), SENTENCE),
    )
    assert spec.only_near == ((("эвакуировать", "Суджа"), ("жители",), 6), (("*",), ("обстрел",), TEXT))
    table = rule_to_toml(spec)
    assert table["near"] == [["эвакуировать", "Суджа", "sentence"]]
    assert table["unless_near"][1] == ["эвакуировать", ["учения"], "sentence"]
    assert table["only_near"] == [[["эвакуировать", "Суджа"], ["жители"], 6], ["*", ["обстрел"], "text"]]


@pytest.mark.parametrize(
    ("body", "key", "problem"),
    [
        ('near = [["a", "b", "paragraph"]]', "rules[0].near[0][2]", "is not a scope"),
        ('near = [["a", "b", 0]]', "rules[0].near[0][2]", "at least 1"),
        ('unless_near = [["*", [], 3]]', "rules[0].unless_near[0]", "is not a proximity condition"),
        ('unless_near = [["*", "авто"]]', "rules[0].unless_near[0]", "is not a proximity condition"),
        ('only_near = [["*", ["a"], -2]]', "rules[0].only_near[0][2]", "at least 1"),
        ('unless_near = [["эвакуация", ["авто"], 3]]', "rules[0].unless_near[0][0]", "does not match on"),
    ],
)
def test_bad_proximity_conditions_name_the_key_and_what_is_valid(
    tmp_path: Path, body: str, key: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load(write(tmp_path, body + "\n"), {})
    err = info.value
    assert err.key == key
    assert problem in str(err)
    assert err.line is not None


def test_only_near_conditions_on_one_term_are_alternatives() -> None:
    m = compile_rules(
        [
            RuleSpec(
                "r",
                any_=("hit",),
                only_near=((("hit",), ("missile",), 2), (("hit",), ("drone", "rocket"), SENTENCE)),
            )
        ]
    )
    assert m.match("A missile hit the depot")
    assert m.match("Russia said it hit a howitzer far away with a kamikaze drone")
    assert not m.match("The song hit the charts")
    (report,) = m.explain("The song hit the charts")
    assert report.cancelled == (
        "'hit' (hit) dropped by only_near: none of 'missile' within 2 words in the sentence; "
        "nor 'drone', 'rocket' in the same sentence",
    )


def test_only_near_groups_for_different_terms_must_each_hold() -> None:
    m = compile_rules(
        [
            RuleSpec(
                "r",
                any_=("пострадать", "погибнуть"),
                only_near=(
                    (("пострадать",), ("человек",), 3),
                    (("*",), ("обстрел", "атака"), TEXT),
                ),
            )
        ]
    )
    assert m.match("После обстрела пострадали два человека")
    assert not m.match("После обстрела пострадали два дома")  # no people next to the verb
    assert not m.match("В аварии пострадали два человека")  # no attack anywhere
    assert m.match("Атака дронов. Погибли двое")
    (report,) = m.explain("В аварии пострадали два человека")
    assert "none of 'обстрел', 'атака' anywhere in the text" in report.cancelled[0]


def test_text_scope_looks_anywhere_in_the_post() -> None:
    m = compile_rules([RuleSpec("r", any_=("погибнуть",), only_near=((("*",), ("обстрел",), TEXT),))])
    assert m.match("Город под обстрелом с утра.\n\nДвое погибли.")
    assert not m.match("На трассе столкнулись две машины. Двое погибли.")


def test_a_gated_matcher_survives_pickling_for_the_import_workers(towing: CompiledRules) -> None:
    import pickle

    copy = pickle.loads(pickle.dumps(towing))
    text = "Эвакуировали автомобиль со двора, а позже эвакуировали и жителей соседних домов"
    assert [h.start for m in copy.match(text) for h in m.hits] == [text.rindex("эвакуировали")]
    assert copy.explain("Евакуювали авто з паркування")[0].cancelled
