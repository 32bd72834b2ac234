"""Chat commands: each with good and bad arguments, authorisation, config edits that keep comments."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from bot.chat.pages import TELEGRAM_LIMIT
from tests.chat.conftest import BLOG, GOV, App
from tests.chat_fakes import OTHER_CHAT, STRANGER


async def test_a_stranger_gets_no_answer_and_the_attempt_is_logged(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        assert await app.chat.say("/help", user=STRANGER) == []
    assert "ignored /help from user 666" in caplog.text


async def test_an_allowed_user_outside_the_admin_chats_gets_no_answer(app: App) -> None:
    assert await app.chat.say("/stats", chat=OTHER_CHAT) == []


async def test_me_in_admin_chats_means_the_allowed_users_private_chat_with_the_bot(app: App) -> None:
    assert "telewatch commands" in await app.chat.say_one("/help", private=True)
    assert await app.chat.say("/help", user=STRANGER, private=True) == []


async def test_commands_addressed_to_another_bot_are_ignored(app: App) -> None:
    app.services.control.bot_username = "telewatch_bot"
    assert await app.chat.say("/help@other_bot") == []
    assert "telewatch commands" in await app.chat.say_one("/help@telewatch_bot")


async def test_plain_text_and_unknown_commands(app: App) -> None:
    assert await app.chat.say("hello") == []
    assert "Unknown command /frobnicate" in await app.chat.say_one("/frobnicate")


async def test_help_lists_every_command_with_usage(app: App) -> None:
    text = await app.chat.say_one("/help")
    for name in ("watch", "unwatch", "channels", "rules", "rule add", "test", "search", "recent", "post"):
        assert f"/{name}" in text
    for name in ("stats", "mute", "pause", "resume"):
        assert f"/{name}" in text


async def test_watch_adds_the_channel_to_the_file_keeping_comments_and_applies_at_once(app: App) -> None:
    text = await app.chat.say_one("/watch @newsdesk media")
    assert "Now watching @newsdesk with label media" in text
    saved = app.path.read_text(encoding="utf-8")
    assert "# the regional governor" in saved
    assert "# shelling reports" in saved
    assert 'ref = "@newsdesk"' in saved
    assert 'label = "media"' in saved
    assert app.settings.changes == 1
    assert [c.ref for c in app.settings.current.channels][-1] == "@newsdesk"


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/watch", "usage: /watch <channel> [label]"),
        ("/watch @a b c", "give one channel and at most one label"),
        ("/watch not/a/channel!", "is not a channel reference"),
        ("/watch @gov_region", "already listed"),
    ],
)
async def test_watch_with_bad_arguments_answers_with_the_problem(
    app: App, command: str, expected: str
) -> None:
    before = app.path.read_text(encoding="utf-8")
    assert expected in await app.chat.say_one(command)
    assert app.path.read_text(encoding="utf-8") == before


async def test_unwatch_removes_the_channel(app: App) -> None:
    assert "Stopped watching @milblog" in await app.chat.say_one("/unwatch https://t.me/milblog")
    assert "@milblog" not in app.path.read_text(encoding="utf-8")
    assert "is not in" in await app.chat.say_one("/unwatch @milblog")
    assert "usage: /unwatch <channel>" in await app.chat.say_one("/unwatch")


async def test_channels_shows_state_last_post_and_posts_today(app: App) -> None:
    await app.publish(GOV, "первый")
    await app.publish(GOV, "второй")
    text = await app.chat.say_one("/channels")
    assert "@gov_region [official] — unknown · last post 07.08 13:00 · 2 today" in text
    assert "@milblog [milblogger] — not resolved yet" in text
    assert "usage: /channels" in await app.chat.say_one("/channels now")


async def test_rules_lists_rules_and_rule_show_prints_the_toml(app: App) -> None:
    text = await app.chat.say_one("/rules")
    assert "shelling warning — обстрел" in text
    assert "evacuation critical — эвакуация" in text
    shown = await app.chat.say_one("/rule show evacuation")
    assert 'name = "evacuation"' in shown
    assert 'severity = "critical"' in shown
    assert "no rule named 'nope'" in await app.chat.say_one("/rule show nope")
    assert "usage:" in await app.chat.say_one("/rules everything")


async def test_rule_add_writes_the_rule_and_it_matches_at_once(app: App) -> None:
    text = await app.chat.say_one('/rule add sudzha critical Суджа, "режим КТО"; none: учения')
    assert "Rule added and in force" in text
    assert "sudzha critical" in text
    saved = app.path.read_text(encoding="utf-8")
    assert 'name = "sudzha"' in saved
    assert "учения" in saved
    assert "# shelling reports" in saved
    tested = await app.chat.say_one("/test В Судже введён режим КТО")
    assert "✓ match: sudzha (critical)" in tested


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/rule", "say add, rm or show"),
        ("/rule add", "give the rule a name"),
        ("/rule add lonely", "needs at least one term"),
        ("/rule add onlynone none: учения", "needs any: or all: terms"),
        ("/rule add x a; b", "needs a heading"),
        ("/rule add shelling обстрел", "already exists"),
        ("/rule add bad /[unclosed/", "rules"),
        ("/rule rm", "give one rule name"),
        ("/rule rm ghost", "is not in"),
    ],
)
async def test_rule_with_bad_arguments_answers_and_changes_nothing(
    app: App, command: str, expected: str
) -> None:
    before = app.path.read_text(encoding="utf-8")
    text = await app.chat.say_one(command)
    assert expected in text
    assert "Traceback" not in text
    assert app.path.read_text(encoding="utf-8") == before


async def test_rule_rm_removes_the_rule(app: App) -> None:
    assert "Rule evacuation removed" in await app.chat.say_one("/rule rm evacuation")
    assert "evacuation" not in await app.chat.say_one("/rules")


async def test_test_explains_matches_like_the_cli(app: App) -> None:
    text = await app.chat.say_one("/test Ночью начался обстрел окраин")
    assert "✓ match: shelling (warning)" in text
    assert "any: 'обстрел' → обстрел" in text
    assert "1 of 2 rules match" in text
    assert "usage: /test <text>" in await app.chat.say_one("/test")


async def test_search_with_channel_label_and_since(app: App) -> None:
    await app.publish(GOV, "Обстрел Суджи продолжается")
    app.clock.advance(3 * 86400)
    await app.publish(BLOG, "Суджа: новый обстрел")
    everywhere = await app.chat.say_one("/search Суджи")
    assert "1 result(s)" in everywhere
    assert "Обстрел Суджи продолжается" in everywhere
    assert "2 result(s)" in await app.chat.say_one("/search обстрел")
    in_label = await app.chat.say_one("/search обстрел in milblogger")
    assert "1 result(s)" in in_label
    assert "Milblog" in in_label
    in_channel = await app.chat.say_one("/search обстрел in @gov_region")
    assert "Обстрел Суджи продолжается" in in_channel
    since = await app.chat.say_one("/search обстрел since 1d")
    assert "1 result(s)" in since
    assert "новый обстрел" in since
    assert "No stored post matches" in await app.chat.say_one("/search ничего")


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/search", "give something to search for"),
        ("/search обстрел in nowhere", "no stored channel or label named 'nowhere'"),
        ("/search обстрел since someday", "'someday' is not a date"),
        ("/search in @gov_region", "usage: /search"),
    ],
)
async def test_search_with_bad_arguments(app: App, command: str, expected: str) -> None:
    await app.publish(GOV, "обстрел")
    assert expected in await app.chat.say_one(command)


async def test_recent_lists_newest_posts_overall_and_per_channel(app: App) -> None:
    assert "Nothing stored yet" in await app.chat.say_one("/recent")
    await app.publish(GOV, "от губернатора")
    await app.publish(BLOG, "от блогера")
    overall = await app.chat.say_one("/recent")
    assert overall.index("от блогера") < overall.index("от губернатора")  # newest first
    only = await app.chat.say_one("/recent @milblog")
    assert "от блогера" in only
    assert "от губернатора" not in only
    assert "at most one" in await app.chat.say_one("/recent a b")
    assert "no stored channel or label" in await app.chat.say_one("/recent @ghost_channel")


async def test_post_shows_edit_history_and_deletion_mark(app: App) -> None:
    original = await app.publish(GOV, "Первая версия")
    edited = replace(original, text="Вторая версия")
    await app.pipeline.ingest([edited])
    await app.pipeline.delete(GOV, [original.message_id])
    text = await app.chat.say_one(f"/post https://t.me/gov_region/{original.message_id}")
    assert "Вторая версия" in text
    assert "Edit history (1 edit(s))" in text
    assert "v1" in text
    assert "Первая версия" in text
    assert "deleted" in text
    assert "Вторая версия" in await app.chat.say_one("/post #1")


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/post", "give one post link or id"),
        ("/post hello", "is not a post link or id"),
        ("/post https://t.me/gov_region/999", "No stored post"),
        ("/post https://t.me/c/1001/999", "No stored post"),
    ],
)
async def test_post_with_bad_arguments(app: App, command: str, expected: str) -> None:
    await app.publish(GOV, "что-то")
    assert expected in await app.chat.say_one(command)


async def test_stats_counts_posts_alerts_and_precision_per_rule(app: App) -> None:
    await app.publish(GOV, "обстрел один")
    await app.publish(GOV, "обстрел два")
    await app.dispatcher.run_once()
    ids = [r["id"] for r in await app.store.alerts.listing()]
    await app.store.alerts.review(ids[0], "relevant", "t", app.clock.now())
    await app.store.alerts.review(ids[1], "false_positive", "t", app.clock.now())
    text = await app.chat.say_one("/stats")
    assert "Posts stored: 2 (2 today)" in text
    assert "sent 2" in text
    assert "shelling: 50% · 1 relevant, 1 false positive, 0 unreviewed" in text
    assert "usage: /stats" in await app.chat.say_one("/stats please")


async def test_long_replies_are_paged_within_telegram_limits(app: App) -> None:
    for i in range(60):
        await app.publish(GOV, f"обстрел номер {i} " + "подробности " * 20)
    replies = await app.chat.say("/search обстрел")
    assert len(replies) == 1
    first = replies[0]
    assert len(first.html) <= TELEGRAM_LIMIT
    assert "page 1/" in first.text
    assert [label for label, _ in first.buttons] == ["next ›"]


async def test_unexpected_failures_answer_without_a_traceback(app: App) -> None:
    await app.store.close()  # the database is gone: every query fails
    text = await app.chat.say_one("/stats")
    assert "failed unexpectedly" in text
    assert "Traceback" not in text
    app.store = await type(app.store).open(app.path.parent / "tw.db")


async def test_config_edits_without_a_config_file_are_refused(app: App) -> None:
    app.services.control.ctx.editor = None
    assert "without a config file" in await app.chat.say_one("/watch @newsdesk")


async def test_post_lists_its_media_with_what_became_of_each_file(app: App) -> None:
    from bot.domain.media import MediaState
    from bot.domain.models import Media

    await app.publish(GOV, "Фото и видео", media=(Media("photo", size=2048), Media("video", size=9 * 2**20)))
    await app.store.media.scan()
    first, second = await app.store.media.for_post(1)
    await app.store.media.give_up(second.id, MediaState.SKIPPED, "9.0 MB is over the video cap of 1.0 MB")
    await app.store.media.set_ocr(first.id, "ЭВАКУАЦИЯ")
    text = await app.chat.say_one("/post #1")
    assert "photo 2 KB waiting for download" in text
    assert "OCR text: ЭВАКУАЦИЯ" in text
    assert "video 9.0 MB skipped: 9.0 MB is over the video cap of 1.0 MB" in text
