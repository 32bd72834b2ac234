"""The bundled demo: config/demo/scenario.jsonl reads cleanly and shows every feature demo.toml's rules need."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from bot.domain.models import Post
from bot.rules import CompiledRules, compile_rules
from bot.sources import BadRecord, Deletion, Pause, SourceItem, open_source
from config.loader import load
from config.settings import Settings

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo"
LATIN_IN_CYRILLIC = re.compile(r"[а-яё][a-z]|[a-z][а-яё]", re.IGNORECASE)


@pytest.fixture(scope="module")
def items() -> list[SourceItem]:
    return list(open_source(DEMO / "scenario.jsonl"))


@pytest.fixture(scope="module")
def posts(items: list[SourceItem]) -> list[Post]:
    return [i for i in items if isinstance(i, Post)]


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load(DEMO / "demo.toml", {})


@pytest.fixture(scope="module")
def rules(settings: Settings) -> CompiledRules:
    return compile_rules(settings.rules)


def matched(rules: CompiledRules, settings: Settings, post: Post) -> set[str]:
    labels = {c.ref.lstrip("@"): c.label or "" for c in settings.channels}
    username = post.channel.username or ""
    return {m.rule for m in rules.match(post.text, channel=username, tags=[labels[username]])}


def test_scenario_reads_without_bad_records_and_replays_in_5_to_8_seconds(items: list[SourceItem]) -> None:
    assert [i for i in items if isinstance(i, BadRecord)] == []
    posts = [i for i in items if isinstance(i, Post)]
    assert 40 <= len(posts) <= 60
    assert 5.0 <= sum(i.seconds for i in items if isinstance(i, Pause)) <= 8.0


def test_scenario_has_an_album_a_reply_forwards_an_edit_and_a_deletion(
    items: list[SourceItem], posts: list[Post]
) -> None:
    first_seen: dict[tuple[str | None, int], Post] = {}
    for post in posts:
        first_seen.setdefault((post.channel.username, post.message_id), post)
    albums = Counter(p.grouped_id for p in posts if p.grouped_id is not None)
    assert max(albums.values()) >= 3
    replies = [p for p in posts if p.reply_to is not None]
    assert replies
    assert all((p.channel.username, p.reply_to) in first_seen for p in replies)
    origins = Counter(p.forward.key for p in posts if p.forward is not None)
    assert max(origins.values()) >= 2
    edits = [p for p in posts if p.edit_date is not None]
    assert edits
    assert all(first_seen[(p.channel.username, p.message_id)] is not p for p in edits)
    [deletion] = [i for i in items if isinstance(i, Deletion)]
    assert all((deletion.channel.username, mid) in first_seen for mid in deletion.message_ids)


def test_scenario_is_in_three_languages_with_evasion_tricks(posts: list[Post]) -> None:
    text = "\n".join(p.text for p in posts)
    assert re.search(r"[іїєґ]", text), "Ukrainian"
    assert re.search(r"\b(the|and)\b", text), "English"
    assert "ё" in text
    assert "\u00ad" in text
    assert "\u200b" in text
    assert LATIN_IN_CYRILLIC.search(text.replace("\u00ad", "").replace("\u200b", ""))


def test_every_channel_of_the_scenario_is_configured_with_a_label(
    posts: list[Post], settings: Settings
) -> None:
    configured = {c.ref.lstrip("@"): c.label for c in settings.channels}
    assert {p.channel.username for p in posts} == set(configured)
    assert set(configured.values()) == {"official", "milblogger", "media"}
    assert [r.sink for r in settings.routes] == ["console"]


def test_every_demo_rule_fires_and_the_tow_truck_ad_does_not(
    posts: list[Post], rules: CompiledRules, settings: Settings
) -> None:
    fired = Counter(rule for p in posts for rule in matched(rules, settings, p))
    assert set(fired) == {r.name for r in settings.rules}
    ad = next(p for p in posts if "Эвакуатор" in p.text)
    assert matched(rules, settings, ad) == set()


def test_the_edit_makes_a_quiet_post_match_and_the_deleted_post_had_matched(
    items: list[SourceItem], posts: list[Post], rules: CompiledRules, settings: Settings
) -> None:
    edit = next(p for p in posts if p.edit_date is not None)
    original = next(p for p in posts if p.message_id == edit.message_id and p.edit_date is None)
    assert matched(rules, settings, original) == set()
    assert "evacuation" in matched(rules, settings, edit)
    [deletion] = [i for i in items if isinstance(i, Deletion)]
    deleted = [p for p in posts if p.message_id in deletion.message_ids]
    assert deleted
    assert all(matched(rules, settings, p) for p in deleted)


def test_posts_with_evasion_tricks_still_match(
    posts: list[Post], rules: CompiledRules, settings: Settings
) -> None:
    tricky = [
        p
        for p in posts
        if "\u00ad" in p.text or "\u200b" in p.text or LATIN_IN_CYRILLIC.search(p.text) or "ё" in p.text
        if any(word in p.text.lower() for word in ("уничтожён", "дрoны", "oбстрела", "эваку\u200bация"))
    ]
    assert len(tricky) >= 4
    assert all(matched(rules, settings, p) for p in tricky)
