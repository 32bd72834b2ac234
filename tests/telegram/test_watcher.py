"""The watcher against FakeTelegram: catch-up, backfill, gap checks, live posts, edits, deletions, albums."""

from __future__ import annotations

import asyncio

import pytest

from bot.domain.models import Media
from tests.fakes import FakeTelegram
from tests.telegram.conftest import MakeRig
from tests.telegram.harness import Rig, alpha_world, channel, started


@pytest.fixture
async def rig(rigs: MakeRig) -> Rig:
    fake = await alpha_world()
    return await rigs(fake, [channel("@alpha")])


async def test_a_new_channel_without_backfill_starts_at_its_newest_post(rig: Rig) -> None:
    rig.fake.add_posts("alpha", 5)
    await started(rig)
    assert await rig.posts() == []
    assert rig.watcher.watched[11].safe == 5
    await rig.fake.publish("alpha", "people evacuated")
    assert await rig.posts() == [(11, 6, "people evacuated")]
    assert await rig.alerts() == [(6, "new")]


async def test_backfill_count_stores_recent_posts_without_alerting(rigs: MakeRig) -> None:
    fake = await alpha_world()
    for i in range(250):
        fake.add_post("alpha", f"town evacuated {i}")
    r = await rigs(fake, [channel("@alpha", backfill_count=120)])
    await started(r)
    stored = await r.posts()
    assert [m for _, m, _ in stored] == list(range(131, 251))
    assert await r.alerts() == []
    assert fake.count("recent") == 2


async def test_backfill_days_with_alert_on_backfill_alerts_late(rigs: MakeRig) -> None:
    fake = await alpha_world()
    fake.add_post("alpha", "old evacuated", date=fake.next_date().replace(year=2023))
    fake.add_post("alpha", "fresh evacuated")
    r = await rigs(fake, [channel("@alpha", backfill_days=2, alert_on_backfill=True)])
    r.clock.advance(3600)
    await started(r)
    assert [t for _, _, t in await r.posts()] == ["fresh evacuated"]
    assert await r.alerts() == [(2, "late")]


async def test_catch_up_after_downtime_fetches_every_missed_post_oldest_first_and_marks_them_late(
    rigs: MakeRig,
) -> None:
    fake = await alpha_world()
    first = await rigs(fake, [channel("@alpha")])
    await started(first)
    await fake.publish("alpha", "before the stop")
    await first.watcher.flush_marks()
    await first.close()

    for i in range(250):  # while telewatch was down
        fake.add_post("alpha", "evacuated" if i == 200 else f"quiet {i}")
    second = await rigs(fake, [channel("@alpha")])
    before, pages = fake.count("resolve"), fake.count("history")
    await second.watcher.resolve_all()
    assert fake.count("resolve") == before, "a restart uses the cached resolution"
    await second.watcher.catch_up_all()
    ids = [m for _, m, _ in await second.posts()]
    assert ids == list(range(1, 252))
    assert await second.alerts() == [(202, "late")]
    assert fake.count("history") - pages == 3  # pages of 100, 100 and 50


async def test_gap_check_finds_posts_whose_live_updates_were_lost(rig: Rig) -> None:
    await started(rig)
    rig.fake.add_post("alpha", "evacuated quietly")  # no live update arrived
    w = rig.watcher.watched[11]
    assert await rig.watcher.gap_check(w) == 1
    assert await rig.alerts() == [(1, "late")]
    assert await rig.watcher.gap_check(w) == 0
    assert rig.fake.count("history") == 2  # start-up catch-up + one fill; the second check found nothing


async def test_a_live_post_after_a_hole_fetches_the_hole(rig: Rig) -> None:
    await started(rig)
    rig.fake.add_post("alpha", "missed evacuated")
    await rig.fake.publish("alpha", "seen live")
    await rig.watcher.drain()
    assert [m for _, m, _ in await rig.posts()] == [1, 2]
    assert await rig.alerts() == [(1, "late")]
    assert rig.watcher.watched[11].safe == 2


async def test_edits_are_versioned_and_deletions_marked(rig: Rig) -> None:
    await started(rig)
    post = await rig.fake.publish("alpha", "calm")
    await rig.fake.edit("alpha", post.message_id, "now evacuated")
    row = await rig.store.db.fetchone("SELECT text, version_count FROM posts")
    assert row is not None
    assert tuple(row) == ("now evacuated", 2)
    assert await rig.alerts() == [(1, "edited")]
    await rig.fake.delete("alpha", post.message_id)
    deleted = await rig.store.db.fetchone("SELECT deleted_at FROM posts")
    assert deleted is not None
    assert deleted[0] is not None


async def test_live_album_parts_become_one_post_with_every_photo(rig: Rig) -> None:
    await started(rig)
    await rig.fake.publish_album("alpha", "evacuated, photos", 3, grouped_id=77)
    assert await rig.posts() == []  # parts are buffered briefly
    await asyncio.sleep(0.05)
    assert await rig.posts() == [(11, 1, "evacuated, photos")]
    media = await rig.store.db.fetchone("SELECT media FROM posts")
    assert media is not None
    assert media[0].count("photo") == 3
    assert rig.watcher.watched[11].safe == 3
    await rig.fake.edit("alpha", 1, "evacuated, new caption")
    row = await rig.store.db.fetchone("SELECT text, media FROM posts")
    assert row is not None
    assert row[0] == "evacuated, new caption"
    assert row[1].count("photo") == 3


async def test_an_album_split_across_history_pages_is_stored_once(rig: Rig) -> None:
    await started(rig)
    rig.fake.add_posts("alpha", 98)
    rig.fake.add_album("alpha", "album", 4, grouped_id=5)  # ids 99..102: the first page ends mid-album
    rig.fake.add_post("alpha", "after")
    await rig.watcher.catch_up(rig.watcher.watched[11])
    stored = await rig.posts()
    assert len(stored) == 100
    assert (11, 99, "album") in stored
    assert stored[-1] == (11, 103, "after")


async def test_updates_of_channels_not_configured_are_ignored(rig: Rig) -> None:
    rig.fake.add_channel("other", tg_id=99)
    await rig.watcher.resolve_all()
    await rig.fake.publish("other", "evacuated")
    assert await rig.posts() == []


async def test_unavailable_channels_are_reported_with_their_state(rigs: MakeRig) -> None:
    fake = FakeTelegram()
    fake.add_channel("secret", tg_id=12, private=True, joined=False)
    fake.add_channel("club", tg_id=13, invite_hash="AbCdEf123", joined=False)
    fake.add_channel("open", tg_id=14, joined=False)
    await fake.connect()
    r = await rigs(
        fake,
        [channel("@missing"), channel("@secret"), channel("t.me/+AbCdEf123"), channel("@open")],
    )
    reports = await r.watcher.resolve_all()
    assert [x.state for x in reports] == ["not found", "private", "not joined", "not joined"]
    assert set(r.watcher.watched) == {14}


async def test_auto_join_joins_by_username_and_by_invite(rigs: MakeRig) -> None:
    fake = FakeTelegram()
    fake.add_channel("open", tg_id=14, joined=False)
    fake.add_channel("club", tg_id=13, invite_hash="AbCdEf123", joined=False)
    await fake.connect()
    r = await rigs(fake, [channel("@open", auto_join=True), channel("t.me/+AbCdEf123", auto_join=True)])
    reports = await r.watcher.resolve_all()
    assert [x.state for x in reports] == ["ok", "ok"]
    assert fake.channel("open").joined
    assert fake.channel("club").joined


async def test_a_renamed_channel_is_detected_and_recorded(rig: Rig) -> None:
    await rig.watcher.resolve_all()
    rig.fake.rename("alpha", "alpha_new")
    reports = await rig.watcher.refresh_names()
    assert (reports[0].state, reports[0].detail) == ("renamed", "was @alpha")
    names = await rig.store.db.fetchall("SELECT username FROM channel_names")
    assert [n[0] for n in names] == ["alpha"]
    row = await rig.store.db.fetchone("SELECT username, state FROM channels WHERE tg_id = 11")
    assert row is not None
    assert tuple(row) == ("alpha_new", "renamed")


async def test_service_posts_and_media_posts_are_stored(rig: Rig) -> None:
    await started(rig)
    rig.fake.add_post("alpha", "title changed", is_service=True)
    rig.fake.add_post("alpha", "", media=(Media(kind="video"),))
    await rig.watcher.catch_up(rig.watcher.watched[11])
    assert len(await rig.posts()) == 2


async def test_a_channel_empty_when_first_seen_is_caught_up_after_a_restart(rigs: MakeRig) -> None:
    fake = await alpha_world()
    first = await rigs(fake, [channel("@alpha")])
    await started(first)
    await first.close()
    fake.add_posts("alpha", 3, "evacuated {n}")
    second = await rigs(fake, [channel("@alpha")])
    await started(second)
    assert [m for _, m, _ in await second.posts()] == [1, 2, 3]
    assert await second.alerts() == [(1, "late"), (2, "late"), (3, "late")]
