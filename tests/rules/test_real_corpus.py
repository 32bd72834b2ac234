"""The shipped packs on real posts: every hit's span indexes the original text, and explain agrees."""

from __future__ import annotations

import json
from pathlib import Path

from bot.domain.ports import Matcher
from bot.rules import compile_rules
from bot.rules.packs import available_packs, pack_path
from config.loader import load_rule_pack


def test_spans_of_real_matches_point_at_the_matched_words(shared_data: Path) -> None:
    folder = shared_data / "replay" / "nktkln_telegram_news_ru_2024"
    texts = [r["text"] for p in sorted(folder.glob("*.json"))[:4] for r in json.loads(p.read_text("utf-8"))]
    matcher: Matcher = compile_rules([s for n in available_packs() for s in load_rule_pack(pack_path(n))])
    matched = 0
    for text in texts[:3000]:
        if not text:
            continue
        for m in matcher.match(text):
            matched += 1
            for h in m.hits:
                assert text[h.start : h.end] == h.text
                assert h.text.strip() == h.text
                assert h.text
    assert matched > 100  # the packs find plenty in three months of Russian news


def test_explain_and_match_agree_on_real_posts(shared_data: Path) -> None:
    folder = shared_data / "replay" / "nktkln_telegram_news_ru_2024"
    texts = [r["text"] or "" for r in json.loads(sorted(folder.glob("*.json"))[5].read_text("utf-8"))][:500]
    rules = compile_rules([s for n in available_packs() for s in load_rule_pack(pack_path(n))])
    for text in texts:
        assert {m.rule for m in rules.match(text)} == {r.rule for r in rules.explain(text) if r.matched}
