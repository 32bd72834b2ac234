"""The shipped packs' relevance models: present, small, readable, and built beside the current packs."""

from __future__ import annotations

from bot.relevance.shipped import load_packs, model_path, models_dir
from bot.rules.packs import available_packs, pack_path
from config.loader import load_rule_pack

LIMIT = 5_000_000  # bytes, all packs together


def test_every_pack_ships_a_model_per_rule_and_they_are_small() -> None:
    packs = load_packs(available_packs())
    assert set(packs) == set(available_packs())
    for name, pack in packs.items():
        assert set(pack.models) == {s.name for s in load_rule_pack(pack_path(name))}
    total = sum(p.stat().st_size for p in models_dir().glob("*.json"))
    assert total < LIMIT


def test_the_models_were_built_beside_the_current_packs() -> None:
    stale = [name for name, pack in load_packs(available_packs()).items() if not pack.current]
    assert not stale, f"rule pack(s) {stale} changed since their models were built: run `make models`"
    assert model_path("evacuation").is_file()


def test_a_shipped_model_scores_a_text() -> None:
    model = load_packs(["evacuation"])["evacuation"].models["evacuation"]
    assert model.score("Жителей эвакуируют из приграничных сёл").value > 0.5
