"""The shipped rule packs load with the config loader, compile, and catch real phrasing in ru, uk and en."""

from __future__ import annotations

import pytest

from bot.rules import CompiledRules, compile_rules
from bot.rules.packs import available_packs, pack_path
from config.loader import load_rule_pack

PACKS = ["casualties", "evacuation", "incursion", "mobilisation", "shelling"]


def test_every_conflict_pack_is_shipped() -> None:
    assert list(available_packs()) == PACKS
    assert pack_path("evacuation").name == "evacuation.toml"


@pytest.fixture(scope="module")
def packs() -> CompiledRules:
    return compile_rules([spec for name in PACKS for spec in load_rule_pack(pack_path(name))])


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("Несколько тысяч жителей эвакуированы из Суджи", "evacuation"),
        ("Людей евакуйовано з прикордонних сіл", "evacuation"),
        ("Residents were evacuated from the border villages", "evacuation"),
        ("Объявлена обязательная эвакуация семей с детьми", "evacuation-mandatory"),
        ("Оголошено обовʼязкову евакуацію", "evacuation-mandatory"),
        ("ВСУ вторглись в Курскую область", "incursion"),
        ("Ukrainian incursion into Russia", "incursion"),
        ("Бои идут в Суджанском районе", "kursk-region"),
        ("Ситуація на Курщині", "kursk-region"),
        ("Город подвергся обстрелу", "shelling"),
        ("Внаслідок обстрілу пошкоджено будинок", "shelling"),
        ("Heavy shelling of the city overnight", "shelling"),
        ("Над областью сбиты 12 БПЛА", "drones"),
        ("Сили ППО збили безпілотники", "drones"),
        ("Two drones were shot down", "drones"),
        ("В результате атаки погибли двое", "casualties"),
        ("Внаслідок обстрілу є загиблі та поранені", "casualties"),
        ("Three civilians were killed", "casualties"),
        ("Новая волна мобилизации", "mobilisation"),
        ("Повістки вручають у ТЦК", "mobilisation"),
        ("Partial mobilization announced", "mobilisation"),
    ],
)
def test_pack_rule_catches_real_phrasing(packs: CompiledRules, text: str, rule: str) -> None:
    assert rule in {m.rule for m in packs.match(text)}


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("Эвакуатор увез машину со штрафстоянки", "evacuation"),
        ("Прорыв трубы оставил дом без воды", "incursion"),
        ("Пробки у Курского вокзала в Москве", "kursk-region"),
        ("Invasive species spread in the lake", "incursion"),
        ("Shell reported record profits", "shelling"),
        ("Компания решила мобилизовать ресурсы", "mobilisation"),
    ],
)
def test_pack_rule_skips_look_alike_topics(packs: CompiledRules, text: str, rule: str) -> None:
    assert rule not in {m.rule for m in packs.match(text)}
