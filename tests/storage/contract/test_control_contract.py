"""The chat-control, health and trend reads on every backend: labels and tags, mutes, digests, safe
marks, notices, posting gaps, rule counts per bucket, trend posts, review marks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.models import AlertKind, AlertStatus, ChannelRef, Match, MatchedTerm, Post, Severity
from bot.domain.records import Condition, NewAlert, NewNotice
from bot.domain.storage import Storage

T0 = datetime(2024, 8, 7, 6, 0, tzinfo=UTC)
ALPHA = ChannelRef(tg_id=1001, username="Alpha", title="Alpha")


async def seed(storage: Storage) -> list[int]:
    """Four posts an hour apart, two matching `evacuation`, alerts for them."""
    async with storage.transaction() as tx:
        channel = await storage.channels.ensure(tx, ALPHA)
        await storage.channels.set_label(tx, channel.id, "Official", ["RU", "border"])
        outcomes = await storage.posts.save(
            tx,
            [
                Post(channel=ALPHA, message_id=i, date=T0 + timedelta(hours=i), text=f"пост {i}")
                for i in range(1, 5)
            ],
            T0,
        )
        ids = [o.post_id for o in outcomes]
        hit = Match("evacuation", Severity.WARNING, (MatchedTerm("эвакуац*", "пост", 0, 4),))
        await storage.matches.insert_new(tx, [(ids[0], hit), (ids[2], hit)], T0)
        await storage.alerts.enqueue(
            tx,
            [
                NewAlert(f"k{i}", i, "evacuation", Severity.WARNING, AlertKind.NEW, "desk", "console")
                for i in (ids[0], ids[2])
            ],
            T0,
        )
    return ids


async def test_channels_are_found_by_label_or_tag_in_any_case(storage: Storage) -> None:
    await seed(storage)
    for label in ("official", "OFFICIAL", "ru", "Border"):
        assert [c.username for c in await storage.channels.with_label(label)] == ["Alpha"], label
    assert await storage.channels.with_label("milblogger") == []
    assert (await storage.channels.find("@ALPHA")) is not None  # usernames are case-insensitive


async def test_gaps_between_posts_and_matches_per_bucket(storage: Storage) -> None:
    ids = await seed(storage)
    channel = await storage.channels.find("@alpha")
    assert channel is not None
    activity = await storage.notices.activity(T0)
    assert activity[channel.id].gaps_hours == pytest.approx((1.0, 1.0, 1.0))
    assert activity[channel.id].last_post_at == T0 + timedelta(hours=4)
    counts = await storage.notices.rule_counts(T0, T0 + timedelta(days=1), 3600)
    base = int(T0.timestamp()) // 3600
    assert sorted(counts) == [("evacuation", base + 1, 1), ("evacuation", base + 3, 1)]
    trend = await storage.notices.trend_posts(0, T0)
    assert [(p.post_id, p.rules) for p in trend] == [
        (ids[0], ("evacuation",)),
        (ids[1], ()),
        (ids[2], ("evacuation",)),
        (ids[3], ()),
    ]
    assert [
        p.post_id for p in await storage.notices.trend_posts(ids[1], T0, until=T0 + timedelta(hours=3))
    ] == [ids[2]]


async def test_stale_pending_counts_alerts_and_notices(storage: Storage) -> None:
    await seed(storage)
    async with storage.transaction() as tx:
        await storage.notices.enqueue(
            tx, [NewNotice("n1", "health", "disk", "raised", "Disk", "full", "ops", "console")], T0
        )
        await storage.notices.raise_condition(tx, Condition("disk", "health", T0, "92 %"))
    count, oldest = await storage.notices.stale_pending(T0 + timedelta(hours=1))
    assert (count, oldest) == (3, T0)
    assert await storage.notices.stale_pending(T0) == (0, None)
    assert list(await storage.notices.conditions()) == ["disk"]


async def test_mutes_expire_and_come_back(storage: Storage) -> None:
    await storage.mutes.add_mute("rule", "evacuation", "evacuation", T0 + timedelta(hours=1), "ed", T0)
    await storage.mutes.add_mute("channel", "1", "@alpha", T0 + timedelta(hours=3), None, T0)
    assert [m.value for m in await storage.mutes.active_mutes(T0)] == ["evacuation", "1"]
    expired = await storage.mutes.expire_mutes(T0 + timedelta(hours=2))
    assert [m.value for m in expired] == ["evacuation"]
    assert [m.value for m in await storage.mutes.active_mutes(T0)] == ["1"]
    await storage.mutes.set_paused("ed", T0)
    assert (await storage.mutes.paused()) is not None
    assert await storage.mutes.clear_paused()


async def test_held_alerts_become_one_digest(storage: Storage) -> None:
    await seed(storage)
    alerts = await storage.alerts.due(T0 + timedelta(days=1))
    await storage.alerts.set_status([a.id for a in alerts], AlertStatus.HELD)
    [held] = await storage.digests.held_routes()
    assert held.route == "desk"
    digest_id = await storage.digests.create_digest("desk", "console", None, T0)
    assert digest_id is not None
    assert len(await storage.digests.digest_alerts(digest_id)) == 2
    assert await storage.digests.retry_digest(digest_id, T0, "busy", count=True) == 1
    await storage.digests.finish_digest(digest_id, T0)
    assert await storage.digests.held_routes() == []


async def test_safe_marks_never_move_backwards(storage: Storage) -> None:
    await storage.watch.save_safe_marks({1: 50, 2: 7})
    await storage.watch.save_safe_marks({1: 40, 2: 9})
    assert await storage.watch.safe_marks() == {1: 50, 2: 9}


async def test_review_marks_count_per_rule_and_precision(storage: Storage) -> None:
    await seed(storage)
    first, second = [a.id for a in await storage.alerts.due(T0 + timedelta(days=1))]
    assert await storage.alerts.review(first, "relevant", "ed", T0)
    assert await storage.alerts.review(second, "false_positive", "ed", T0)
    counts = await storage.relevance.mark_counts()
    assert (counts["evacuation"].relevant, counts["evacuation"].false_positive) == (1, 1)
    [row] = await storage.alerts.precision_by_rule()
    assert row.rule == "evacuation"
