"""Relevance models: training separates marks, scores explain themselves, stored models are plain data."""

from __future__ import annotations

import json

import pytest

from bot.relevance import Example, ModelFormatError, RelevanceModel, train
from bot.relevance.features import features, words

RELEVANT = [
    "Жителей эвакуируют из Суджи из-за обстрелов",
    "Из приграничных сёл эвакуированы тысячи жителей",
    "Власти объявили эвакуацию детей из района",
    "Residents were evacuated from the border town after shelling",
    "Евакуація мешканців з прикордонних сіл триває",
    "Эвакуация населения продолжается, автобусы вывозят людей",
]
FALSE = [
    "Эвакуатор увез неправильно припаркованный автомобиль",
    "В школе прошли учения по эвакуации при пожаре",
    "Евакуатор забрав авто з парковки",
    "Fire drill: staff evacuated the office building during the exercise",
    "Эвакуаторы работают круглосуточно, штрафстоянка переполнена",
    "Учебная эвакуация в торговом центре прошла по плану",
]


def examples(times: int = 4) -> list[Example]:
    out = []
    for i in range(times):
        out += [Example(f"{t} {i}", True) for t in RELEVANT] + [Example(f"{t} {i}", False) for t in FALSE]
    return out


def test_features_are_normalised_words_bigrams_and_char_ngrams() -> None:
    assert words("Жёлтый  ТАНК 2024") == ["желтый", "танк", "0000"]
    found = set(features("Эвакуация жителей"))
    assert {"w:эвакуация", "b:эвакуация жителей", "c:<эва", "c:ция>"} <= found


def test_a_trained_model_scores_unseen_relevant_texts_above_false_positives() -> None:
    model = train("evacuation", examples())
    good = model.score("Жители эвакуированы из посёлка после обстрела").value
    bad = model.score("Эвакуатор забрал машину со стоянки").value
    assert 0.0 <= bad < 0.5 < good <= 1.0


def test_a_score_names_the_words_for_and_against() -> None:
    model = train("evacuation", examples())
    score = model.score("Эвакуатор увез автомобиль жителей")
    assert score.against
    assert score.against[0][1] < 0
    assert any(w == "эвакуатор" for w, _ in score.against)
    assert "relevance" in score.describe()
    assert "against: " in score.describe()


def test_training_needs_both_kinds_of_marks() -> None:
    with pytest.raises(ValueError, match="relevant and false-positive"):
        train("evacuation", [Example("a", True), Example("b", True)])


def test_a_model_round_trips_through_json_and_scores_the_same() -> None:
    model = train("evacuation", examples(), trained_at="2026-01-01T00:00:00Z")
    back = RelevanceModel.loads(model.dumps())
    text = "Жителей эвакуировали"
    assert back.rule == "evacuation"
    assert back.relevant == 24
    assert back.false_positive == 24
    assert back.score(text).value == pytest.approx(model.score(text).value, abs=1e-4)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ("[1, 2]", "not a relevance model"),
        ('{"format": "telewatch-relevance/1", "rule": "r", "bias": 0, "weights": {"w:a": "x"}}', "finite"),
        ('{"format": "telewatch-relevance/1", "rule": "r", "bias": 0, "weights": {"w:a": 1e999}}', "finite"),
        ('{"format": "telewatch-relevance/1", "rule": "", "bias": 0, "weights": {}}', "rule name"),
        ('{"format": "telewatch-relevance/1", "rule": "r", "bias": "x", "weights": {}}', "bias"),
        ("{not json", "not valid JSON"),
    ],
)
def test_a_broken_stored_model_is_refused_with_what_is_wrong(data: str, problem: str) -> None:
    with pytest.raises(ModelFormatError, match=problem):
        RelevanceModel.loads(data)


def test_a_model_stores_only_numbers_and_strings() -> None:
    data = json.loads(train("evacuation", examples()).dumps())
    assert all(isinstance(k, str) and isinstance(v, float) for k, v in data["weights"].items())


def test_a_route_min_score_defaults_to_the_documented_value_and_must_be_a_score(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bot.domain.errors import ConfigError
    from config.loader import load
    from config.settings import DEFAULT_MIN_SCORE

    path = tmp_path / "c.toml"
    path.write_text('[[routes]]\nname = "desk"\nsink = "console"\n', encoding="utf-8")
    assert load(path, {}).routes[0].min_score == DEFAULT_MIN_SCORE == 0.15
    for bad in ("1.5", "-0.1", "nan", '"high"'):
        path.write_text(f'[[routes]]\nname = "desk"\nsink = "console"\nmin_score = {bad}\n', encoding="utf-8")
        with pytest.raises(ConfigError) as info:
            load(path, {})
        assert info.value.key == "routes[0].min_score"
