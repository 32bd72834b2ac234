"""Adversarial watcher cases: live updates racing catch-up, channels not yet started, bad posts, stopping."""

from __future__ import annotations

import asyncio

import pytest

from bot.app.run import keep_watching
from bot.domain.errors import ChannelUnavailable, Disconnected
from tests.fakes import FakeTelegram
from tests.telegram.conftest import MakeRig
from tests.telegram.harness import Rig, alpha_world, channel, started, wait_until


@pytest.fixture
async def rig(rigs: MakeRig) -> Rig:
    fake = await alpha_world()
    return await rigs(fake, [channel("@alpha")])


async def deleted_ids(rig: Rig) -> list[int]:
    rows = await rig.store.db.fetchall("SELECT message_id FROM posts WHERE deleted_at IS NOT NULL")
    return sorted(r[0] for r in rows)


# -- channels not started yet ---------------------------------------------------------------------


async def test_a_live_post_before_a_channel_starts_does_not_pull_its_whole_history(rig: Rig) -> None:
    rig.fake.add_posts("alpha", 300, "old evacuated {n}")
    await rig.watcher.resolve_all()
    await rig.fake.publish("alpha", "evacuated now")  # arrives before catch_up_all reaches the channel
    await rig.watcher.drain()
    await rig.watcher.catch_up_all()
    assert await rig.posts() == [(11, 301, "evacuated now")]
    assert await rig.alerts() == [(301, "new")]
    assert rig.watcher.watched[11].safe == 301


async def test_a_live_post_before_a_new_channel_starts_keeps_its_backfill(rigs: MakeRig) -> None:
    fake = await alpha_world()
    fake.add_posts("alpha", 300)
    rig = await rigs(fake, [channel("@alpha", backfill_count=10)])
    await rig.watcher.resolve_all()
    await fake.publish("alpha", "live")
    await rig.watcher.drain()
    await rig.watcher.catch_up_all()
    assert [m for _, m, _ in await rig.posts()] == list(range(292, 302))


async def test_a_gap_check_of_a_channel_whose_start_failed_starts_it_instead_of_fetching_everything(
    rig: Rig,
) -> None:
    rig.fake.add_posts("alpha", 300, "old evacuated {n}")
    rig.fake.fail("recent", ChannelUnavailable("@alpha", "private"))
    await started(rig)  # the start fails: the channel stays unstarted
    w = rig.watcher.watched[11]
    assert not w.started
    await rig.watcher.gap_check(w)
    assert await rig.posts() == []
    assert await rig.alerts() == []
    assert w.safe == 300


# -- updates racing a catch-up page ---------------------------------------------------------------


async def test_a_deletion_arriving_while_its_page_is_in_flight_marks_the_stored_post_deleted(
    rig: Rig,
) -> None:
    await started(rig)
    rig.fake.add_posts("alpha", 5)
    rig.fake.during("history", lambda: rig.fake.delete("alpha", 3))
    await rig.watcher.catch_up(rig.watcher.watched[11])
    assert [m for _, m, _ in await rig.posts()] == [1, 2, 3, 4, 5]
    assert await deleted_ids(rig) == [3]


async def test_a_deletion_of_a_buffered_live_album_marks_the_album_deleted(rig: Rig) -> None:
    await started(rig)
    await rig.fake.publish_album("alpha", "evacuated, photos", 3, grouped_id=7)
    await rig.fake.delete("alpha", 1, 2, 3)  # before the album buffer flushed
    await rig.watcher.drain()
    assert [m for _, m, _ in await rig.posts()] == [1]
    assert await deleted_ids(rig) == [1]


async def test_an_edit_arriving_while_its_page_is_in_flight_is_kept(rig: Rig) -> None:
    await started(rig)
    rig.fake.add_posts("alpha", 3)
    rig.fake.during("history", lambda: rig.fake.edit("alpha", 2, "now evacuated"))
    await rig.watcher.catch_up(rig.watcher.watched[11])
    assert [t for _, _, t in await rig.posts()] == ["post 0", "now evacuated", "post 2"]
    assert len(await rig.alerts()) == 1


async def test_an_edit_of_a_buffered_album_part_keeps_one_post_with_every_photo(rig: Rig) -> None:
    await started(rig)
    await rig.fake.publish_album("alpha", "calm, photos", 3, grouped_id=7)
    await rig.fake.edit("alpha", 1, "evacuated, photos")
    await rig.fake.edit("alpha", 3, "")  # a caption-less part edited (e.g. its media replaced)
    await rig.watcher.drain()
    assert await rig.posts() == [(11, 1, "evacuated, photos")]
    row = await rig.store.db.fetchone("SELECT media FROM posts")
    assert row is not None
    assert row[0].count("photo") == 3
    assert await rig.alerts() == [(1, "new")]


async def test_an_edit_of_an_album_part_in_a_page_in_flight_updates_the_album_not_a_new_post(
    rig: Rig,
) -> None:
    await started(rig)
    rig.fake.add_album("alpha", "calm, photos", 3, grouped_id=7)
    rig.fake.during("history", lambda: rig.fake.edit("alpha", 2, "evacuated too"))
    await rig.watcher.catch_up(rig.watcher.watched[11])
    await rig.watcher.drain()
    stored = await rig.posts()
    assert [m for _, m, _ in stored] == [1], "one post for the album"
    assert "evacuated too" in stored[0][2]


async def test_a_live_post_arriving_mid_catch_up_is_stored_once_and_the_mark_ends_at_the_newest(
    rig: Rig,
) -> None:
    await started(rig)
    rig.fake.add_posts("alpha", 250, "quiet {n}")
    rig.fake.during("history", lambda: rig.fake.publish("alpha", "evacuated live"))
    await rig.watcher.catch_up(rig.watcher.watched[11])
    await rig.watcher.drain()
    assert [m for _, m, _ in await rig.posts()] == list(range(1, 252))
    assert await rig.alerts() == [(251, "new")]
    assert rig.watcher.watched[11].safe == 251
    assert await rig.watcher.state.safe_marks() == {rig.watcher.watched[11].channel_id: 251}


# -- bad posts and bugs never stop the watcher ----------------------------------------------------


async def test_a_post_the_store_rejects_is_kept_in_salvaged_form_and_catch_up_continues(rig: Rig) -> None:
    await started(rig)
    rig.fake.add_post("alpha", "before")
    rig.fake.add_post("alpha", "broken emoji \ud83d evacuated")  # a lone surrogate SQLite cannot encode
    rig.fake.add_post("alpha", "after evacuated")
    await rig.watcher.catch_up_all()
    stored = await rig.posts()
    assert [m for _, m, _ in stored] == [1, 2, 3]
    assert "evacuated" in stored[1][2]
    assert await rig.alerts() == [(2, "late"), (3, "late")]
    assert rig.watcher.watched[11].safe == 3


async def test_a_live_post_the_store_rejects_is_salvaged_not_raised(rig: Rig) -> None:
    await started(rig)
    await rig.fake.publish("alpha", "bad \udc00 text")
    await rig.fake.publish("alpha", "fine")
    assert [m for _, m, _ in await rig.posts()] == [1, 2]
    assert rig.watcher.watched[11].safe == 2


async def test_an_unexpected_error_in_one_channel_leaves_the_others_caught_up(rigs: MakeRig) -> None:
    fake = FakeTelegram()
    fake.add_channel("alpha", tg_id=11)
    fake.add_channel("bravo", tg_id=12)
    await fake.connect()
    fake.add_posts("alpha", 3)
    fake.add_posts("bravo", 3)
    rig = await rigs(fake, [channel("@alpha", backfill_count=5), channel("@bravo", backfill_count=5)])
    await rig.watcher.resolve_all()
    fake.fail("recent", RuntimeError("a bug deep in the client library"))
    await rig.watcher.catch_up_all()  # must not raise
    stored = await rig.posts()
    assert len(stored) == 3, "the healthy channel is caught up"
    cursor = await rig.store.db.fetchone("SELECT count(*) FROM cursors WHERE last_error IS NOT NULL")
    assert cursor is not None
    assert cursor[0] == 1, "the failure is recorded on its channel"


# -- stopping ---------------------------------------------------------------------------------------


async def test_stopping_during_a_long_catch_up_returns_between_pages_and_a_restart_finishes_it(
    rigs: MakeRig,
) -> None:
    fake = await alpha_world()
    first = await rigs(fake, [channel("@alpha")])
    await started(first)
    await first.watcher.flush_marks()
    fake.add_posts("alpha", 2000, "evacuated {n}")
    await first.close()

    second = await rigs(fake, [channel("@alpha")])
    stop = asyncio.Event()

    async def sigterm() -> None:
        stop.set()

    fake.during("history", sigterm)  # SIGTERM while the first page is in flight
    await asyncio.wait_for(keep_watching(second.watcher, stop, max_backoff=0.01), 5)
    assert fake.count("history") <= 2, "stopped between pages, not after all 20"
    stored = [m for _, m, _ in await second.posts()]
    assert stored == list(range(1, len(stored) + 1)), "whole pages only"
    marks = await second.watcher.state.safe_marks()
    assert list(marks.values()) == [len(stored)]
    await second.close()

    third = await rigs(fake, [channel("@alpha")])
    await started(third)
    assert [m for _, m, _ in await third.posts()] == list(range(1, 2001))
    alerts = await third.alerts()
    assert len(alerts) == len({m for m, _ in alerts}) == 2000


async def test_a_flood_wait_is_abandoned_when_the_watcher_stops(rig: Rig) -> None:
    never = asyncio.Event()

    async def sleep_forever(seconds: float) -> None:
        await never.wait()

    rig.clock.sleep = sleep_forever  # type: ignore[method-assign]
    await started(rig)
    rig.fake.add_posts("alpha", 3)
    rig.fake.flood("history", 3000)
    task = asyncio.create_task(rig.watcher.gap_check(rig.watcher.watched[11]))
    await wait_until(lambda: bool(rig.watcher.pacer.floods))
    rig.watcher.stop()
    with pytest.raises(Disconnected):  # what the job runner and keep_watching already expect
        await asyncio.wait_for(task, 2)
    assert await rig.posts() == []


@pytest.mark.parametrize(("posts", "want"), [(3, 5), (150, 200), (120, 100)])
async def test_backfill_count_stores_the_newest_posts_even_when_the_channel_has_fewer(
    rigs: MakeRig, posts: int, want: int
) -> None:
    fake = await alpha_world()
    fake.add_posts("alpha", posts)
    rig = await rigs(fake, [channel("@alpha", backfill_count=want)])
    await started(rig)
    assert [m for _, m, _ in await rig.posts()] == list(range(max(1, posts - want + 1), posts + 1))
