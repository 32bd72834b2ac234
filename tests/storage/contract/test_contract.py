"""What every storage implementation must do, stated against the port (bot.domain.storage) only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.models import AlertKind, AlertStatus, ChannelRef, Match, MatchedTerm, Post, Severity
from bot.domain.records import NewAlert, SaveStatus, SearchFilter
from bot.domain.storage import Storage

T0 = datetime(2024, 8, 7, 6, 0, tzinfo=UTC)
ALPHA = ChannelRef(tg_id=1001, username="alpha", title="Alpha")


def post(message_id: int, text: str, *, edit: datetime | None = None) -> Post:
    return Post(channel=ALPHA, message_id=message_id, date=T0, text=text, edit_date=edit)


def alert(post_id: int, key: str, *, sink: str = "console") -> NewAlert:
    return NewAlert(
        dedup_key=key,
        post_id=post_id,
        rule="evacuation",
        severity=Severity.WARNING,
        kind=AlertKind.NEW,
        route="screen",
        sink=sink,
    )


async def save(storage: Storage, *posts: Post) -> list[int]:
    async with storage.transaction() as tx:
        await storage.channels.ensure(tx, ALPHA)  # a post's channel row exists before the post
        outcomes = await storage.posts.save(tx, list(posts), T0)
    return [o.post_id for o in outcomes]


async def test_a_unit_of_work_commits_together_or_not_at_all(storage: Storage) -> None:
    async def crash() -> None:
        async with storage.transaction() as tx:
            await storage.channels.ensure(tx, ALPHA)
            await storage.posts.save(tx, [post(1, "first")], T0)
            raise RuntimeError("crash before commit")

    with pytest.raises(RuntimeError):
        await crash()
    assert await storage.posts.count() == 0
    await save(storage, post(1, "first"))
    assert await storage.posts.count() == 1


async def test_saving_a_post_again_is_idempotent_and_an_edit_is_a_new_version(storage: Storage) -> None:
    async with storage.transaction() as tx:
        await storage.channels.ensure(tx, ALPHA)
        [first] = await storage.posts.save(tx, [post(5, "Жители эвакуированы")], T0)
        [again] = await storage.posts.save(tx, [post(5, "Жители эвакуированы")], T0)
        [edited] = await storage.posts.save(
            tx, [post(5, "Жители эвакуированы из Суджи", edit=T0 + timedelta(minutes=5))], T0
        )
    assert (first.status, again.status, edited.status) == (
        SaveStatus.NEW,
        SaveStatus.UNCHANGED,
        SaveStatus.EDITED,
    )
    assert first.post_id == again.post_id == edited.post_id
    versions = await storage.posts.versions(first.post_id)
    assert [v.text for v in versions] == ["Жители эвакуированы", "Жители эвакуированы из Суджи"]


async def test_a_deleted_post_is_marked_never_erased(storage: Storage) -> None:
    [post_id] = await save(storage, post(7, "kept as evidence"))
    channel = await storage.channels.find("@alpha")
    assert channel is not None
    async with storage.transaction() as tx:
        marked = await storage.posts.mark_deleted(tx, channel.id, [7, 8], T0)
    assert marked == [(post_id, 7)]
    stored = await storage.posts.get(post_id)
    assert stored is not None
    assert stored.deleted_at is not None
    assert stored.post.text == "kept as evidence"


@pytest.mark.parametrize(
    "handle",
    ["@alpha", "alpha", "ALPHA", "https://t.me/alpha", "t.me/alpha", "t.me/s/alpha", "1001", "-1001001"],
)
async def test_a_channel_is_found_by_every_spelling_of_its_handle(storage: Storage, handle: str) -> None:
    await save(storage, post(1, "x"))
    found = await storage.channels.find(handle)
    assert found is not None
    assert (found.tg_id, found.username) == (1001, "alpha")


async def test_an_unknown_or_unparseable_handle_finds_nothing(storage: Storage) -> None:
    await save(storage, post(1, "x"))
    assert await storage.channels.find("@nobody") is None
    assert await storage.channels.find("not a handle!") is None


async def test_full_text_search_finds_posts_by_word(storage: Storage) -> None:
    await save(storage, post(1, "Heavy shelling overnight"), post(2, "Quiet morning"))
    found = await storage.posts.search("shelling", SearchFilter())
    assert [p.post.message_id for p in found] == [1]


async def test_an_alert_is_enqueued_once_and_delivered_once(storage: Storage) -> None:
    [post_id] = await save(storage, post(1, "evacuated"))
    async with storage.transaction() as tx:
        assert await storage.alerts.enqueue(tx, [alert(post_id, "k1")], T0) == 1
        assert await storage.alerts.enqueue(tx, [alert(post_id, "k1")], T0) == 0
    [due] = await storage.alerts.due(T0, 10, sinks={"console"})
    assert due.status is AlertStatus.PENDING
    assert await storage.alerts.due(T0, 10, sinks={"telegram"}) == []
    await storage.alerts.mark_sent([due.id], T0, 77)
    assert await storage.alerts.due(T0, 10, sinks={"console"}) == []
    sent = await storage.alerts.get(due.id)
    assert sent is not None
    assert sent.status is AlertStatus.SENT


async def test_undelivered_alerts_are_grouped_by_route_with_why(storage: Storage) -> None:
    [post_id] = await save(storage, post(1, "evacuated"))
    async with storage.transaction() as tx:
        await storage.alerts.enqueue(tx, [alert(post_id, "k1", sink="telegram")], T0)
    [group] = await storage.alerts.undelivered(0, all_pending=True)
    assert (group.route, group.sink, group.count, group.status) == (
        "screen",
        "telegram",
        1,
        AlertStatus.PENDING,
    )


async def test_matches_are_kept_per_post(storage: Storage) -> None:
    [post_id] = await save(storage, post(1, "evacuated"))
    match = Match(
        rule="evacuation", severity=Severity.WARNING, hits=(MatchedTerm("evacuated", "evacuated", 0, 9),)
    )
    async with storage.transaction() as tx:
        await storage.matches.insert_new(tx, [(post_id, match)], T0)
    [stored] = await storage.matches.for_post(post_id)
    assert stored.rule == "evacuation"


async def test_a_cursor_never_moves_backwards(storage: Storage) -> None:
    await save(storage, post(1, "x"))
    channel = await storage.channels.find("@alpha")
    assert channel is not None
    async with storage.transaction() as tx:
        await storage.cursors.advance(tx, channel.id, 10, T0)
        await storage.cursors.advance(tx, channel.id, 4, T0)
    assert (await storage.cursors.get(channel.id)).last_message_id == 10


async def test_mutes_end_and_the_pause_is_one_flag(storage: Storage) -> None:
    await storage.mutes.add_mute("rule", "evacuation", "evacuation", T0 + timedelta(hours=1), "ana", T0)
    assert [m.value for m in await storage.mutes.active_mutes(T0)] == ["evacuation"]
    assert await storage.mutes.active_mutes(T0 + timedelta(hours=2)) == []
    assert await storage.mutes.paused() is None
    await storage.mutes.set_paused("ana", T0)
    paused = await storage.mutes.paused()
    assert paused is not None
    assert paused.by == "ana"
    assert await storage.mutes.clear_paused()
    assert await storage.mutes.paused() is None


async def test_settings_kept_in_the_database_round_trip(storage: Storage) -> None:
    assert await storage.meta("x") is None
    await storage.set_meta("x", "1")
    await storage.set_meta("x", "2")
    assert await storage.meta("x") == "2"
    await storage.watch.put_status("last_flood", {"seconds": 30})
    assert await storage.watch.status("last_flood") == {"seconds": 30}
