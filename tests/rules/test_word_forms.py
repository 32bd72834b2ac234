"""A term matches every form of its word in its language, and nothing that merely looks alike."""

from __future__ import annotations

import pytest

from tests.rules.conftest import one

CASES_RU = [
    ("эвакуация", "Началась эвакуация жителей", True),
    ("эвакуация", "Власти объявили об эвакуации", True),
    ("эвакуация", "Продолжают эвакуацию", True),
    ("эвакуация", "Вызвали эвакуатор", False),
    ("эвакуация", "Машину увез эвакуатор", False),
    ("эвакуировать", "Жители эвакуированы", True),
    ("эвакуировать", "Детей эвакуировали ночью", True),
    ("эвакуировать", "Всех эвакуируют", True),
    ("эвакуировать", "Началась эвакуация", False),  # another lemma: write it too
    ("Суджа", "Бои в Судже", True),
    ("Суджа", "Жители Суджи", True),
    ("Суджа", "Под Суджей", True),
    ("Суджа", "Суджанский район", False),
    ("=Курск", "Курск", True),
    ("=Курск", "В Курской области", False),
    ("=Курск", "в Курске", False),
    ("Курск", "в Курске", True),
    ("Курск", "Курская АЭС", False),
    ("обстрел", "Под обстрелом", True),
    ("обстрел", "Массированные обстрелы", True),
    ("обстрел*", "обстреляли село", True),
    ("обстрел*", "артобстрел", False),
    ("БПЛА", "сбиты три БПЛА", True),
    ("БПЛА", "сбиты три бпла", True),
    ("ВСУ", "Позиции ВСУ", True),
    ("мобилизация", "Новая волна мобилизации", True),
    ("погибнуть", "Двое погибли", True),
    ("погибнуть", "Погиб мужчина", True),
    ("Гладков", "Заявил Гладкову", True),
    ("Мартыновка", "В Мартыновке слышны взрывы", True),  # unknown place: predicted forms
]

CASES_UK = [
    ("евакуація", "Оголошено евакуацію", True),
    ("евакуація", "Під час евакуації", True),
    ("евакуювати", "Людей евакуйовано", True),
    ("евакуювати", "Мешканців евакуювали", True),
    ("обстріл", "Внаслідок обстрілу", True),
    ("обстріл", "Нічні обстріли", True),
    ("Суджа", "Бої у Суджі", True),
    ("мобілізація", "Закон про мобілізацію", True),
    ("загинути", "Троє людей загинули", True),
    ("обстріл", "обстрел", False),  # the Russian spelling is another term
]

CASES_EN = [
    ("evacuate", "Residents evacuated overnight", True),
    ("evacuate", "They are evacuating the town", True),
    ("evacuation", "Evacuations continue", True),
    ("invasion", "An invasive species", False),
    ("invasion", "The invasion began", True),
    ("shelling", "Heavy shelling overnight", True),
    ("shelling", "A Shell gas station", False),
    ("drone", "Two drones were downed", True),
    ("Kursk", "Russia's Kursk region", True),
    ("Kursk", "Ukraine's forces in Kursk's outskirts", True),
]


@pytest.mark.parametrize(("term", "text", "hit"), CASES_RU)
def test_russian_term_matches_its_word_forms_only(term: str, text: str, hit: bool) -> None:
    assert bool(one(term).match(text)) is hit


@pytest.mark.parametrize(("term", "text", "hit"), CASES_UK)
def test_ukrainian_term_matches_its_word_forms_only(term: str, text: str, hit: bool) -> None:
    assert bool(one(term).match(text)) is hit


@pytest.mark.parametrize(("term", "text", "hit"), CASES_EN)
def test_english_term_matches_its_inflections_without_conflating_words(
    term: str, text: str, hit: bool
) -> None:
    assert bool(one(term).match(text)) is hit
