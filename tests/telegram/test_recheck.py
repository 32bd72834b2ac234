"""Edits and deletions no update ever told us about (made while stopped or disconnected, or an update lost)
are found by re-checking each channel's recent window: on start, on every reconnect, and on a schedule."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.app.run import keep_watching, run_live
from bot.domain.errors import ChannelUnavailable, TelegramError
from bot.domain.models import PostVersion
from bot.watch.jobs import recheck_job
from config.settings import ChannelSettings, Settings, TelegramSettings
from tests.fakes import FakeTelegram
from tests.ports_fakes import RecordingSink, WordMatcher
from tests.telegram.conftest import MakeRig
from tests.telegram.harness import Rig, alpha_world, channel, started, wait_until


async def versions(rig: Rig, message_id: int, tg_id: int = 11) -> list[PostVersion]:
    post = await rig.store.posts.get_by_message(rig.watcher.watched[tg_id].channel_id, message_id)
    assert post is not None, f"post {message_id} is not stored"
    return await rig.store.posts.versions(post.id)


async def deleted_at(rig: Rig) -> dict[int, str | None]:
    rows = await rig.store.db.fetchall("SELECT message_id, deleted_at FROM posts ORDER BY message_id")
    return {int(r[0]): r[1] for r in rows}


async def first_run(rigs: MakeRig, fake: FakeTelegram, *texts: str, **options: object) -> Rig:
    """A run that stores `texts` live, then stops (the store closed, as at the end of `telewatch run`)."""
    rig = await started(await rigs(fake, [channel("@alpha", **options)]))
    for text in texts:
        await fake.publish("alpha", text)
    await rig.watcher.drain()
    await rig.close()
    return rig


async def test_edits_and_deletions_made_while_stopped_are_captured_at_the_next_start(rigs: MakeRig) -> None:
    fake = await alpha_world()
    await first_run(rigs, fake, "calm day", "residents evacuated", "to be deleted", "unchanged")
    await fake.edit("alpha", 1, "now evacuated", push=False)
    await fake.delete("alpha", 2, 3, push=False)

    second = await rigs(fake, [channel("@alpha")])
    second.clock.advance(3600)
    restart = second.clock.now()
    await started(second)

    history = await versions(second, 1)
    assert [v.text for v in history] == ["calm day", "now evacuated"]
    assert history[-1].captured_at == restart  # the new text was first seen at this start
    marks = await deleted_at(second)
    assert marks[2] == marks[3] == restart.isoformat()
    assert marks[1] is None
    assert marks[4] is None
    assert await second.alerts() == [(1, "edited"), (2, "new"), (2, "deleted")]


async def test_edits_and_deletions_made_while_disconnected_are_captured_after_the_reconnect(
    rigs: MakeRig,
) -> None:
    fake = FakeTelegram()
    fake.add_channel("alpha", tg_id=11)
    rig = await rigs(fake, [channel("@alpha")])
    stop = asyncio.Event()
    task = asyncio.create_task(keep_watching(rig.watcher, stop, max_backoff=0.01))
    await wait_until(rig.watcher.connected.is_set)
    await fake.publish("alpha", "quiet")
    await fake.publish("alpha", "alerted evacuated")
    fake.drop_connection()
    fake.refuse_connects = 1
    await fake.edit("alpha", 1, "evacuated after all")  # not connected: never pushed
    await fake.delete("alpha", 2)
    await wait_until(lambda: fake.connects == 2 and rig.watcher.connected.is_set())
    stop.set()
    await task
    assert [v.text for v in await versions(rig, 1)] == ["quiet", "evacuated after all"]
    assert (await deleted_at(rig))[2] is not None
    assert await rig.alerts() == [(1, "edited"), (2, "new"), (2, "deleted")]


async def test_the_scheduled_recheck_finds_an_edit_and_a_deletion_whose_updates_were_lost(
    rigs: MakeRig,
) -> None:
    fake = await alpha_world()
    rig = await started(await rigs(fake, [channel("@alpha")]))
    rig.watcher.connected.set()
    for text in ("first", "second", "third"):
        await fake.publish("alpha", text)
    await fake.edit("alpha", 1, "first, evacuated", push=False)
    await fake.delete("alpha", 3, push=False)
    rig.clock.advance(600)
    await recheck_job(rig.watcher, 11)
    assert [v.text for v in await versions(rig, 1)] == ["first", "first, evacuated"]
    assert (await deleted_at(rig))[3] == rig.clock.now().isoformat()
    assert await rig.alerts() == [(1, "edited")]


async def test_a_post_edited_twice_while_stopped_becomes_one_new_version_with_the_latest_text(
    rigs: MakeRig,
) -> None:
    fake = await alpha_world()
    first_seen = (await first_run(rigs, fake, "draft")).clock.now()
    await fake.edit("alpha", 1, "second draft", push=False)
    final = await fake.edit("alpha", 1, "final text", push=False)
    second = await rigs(fake, [channel("@alpha")])
    second.clock.advance(60)
    await started(second)
    history = await versions(second, 1)
    assert [(v.version, v.text, v.edit_date) for v in history] == [
        (1, "draft", None),
        (2, "final text", final.edit_date),
    ]
    assert [v.captured_at for v in history] == [first_seen, second.clock.now()]


async def test_repeated_rechecks_add_no_second_mark_version_or_alert(rigs: MakeRig) -> None:
    fake = await alpha_world()
    rig = await started(await rigs(fake, [channel("@alpha")]))
    await fake.publish("alpha", "older")
    await fake.publish("alpha", "evacuated")
    await fake.publish("alpha", "calm")
    await fake.delete("alpha", 2, push=False)
    await fake.edit("alpha", 3, "calm again", push=False)
    w = rig.watcher.watched[11]
    first = await rig.watcher.recheck(w)
    marks = await deleted_at(rig)
    rig.clock.advance(3600)
    again = await rig.watcher.recheck(w)
    assert (first.edited, first.deleted) == (1, 1)
    assert (again.edited, again.deleted) == (0, 0)
    assert await deleted_at(rig) == marks
    assert len(await versions(rig, 3)) == 2
    assert await rig.alerts() == [(2, "new"), (2, "deleted")]


async def test_posts_outside_the_fetched_window_are_never_marked_deleted(rigs: MakeRig) -> None:
    fake = await alpha_world()
    rig = await started(await rigs(fake, [channel("@alpha", recheck_posts=150)]))
    for i in range(300):
        fake.add_post("alpha", f"post {i}")
    await rig.watcher.catch_up(rig.watcher.watched[11])
    await fake.delete("alpha", 10, 200, push=False)  # 10 is older than the newest 150; 200 is inside
    before = fake.count("recent")
    result = await rig.watcher.recheck(rig.watcher.watched[11])
    marks = await deleted_at(rig)
    assert [i for i, at in marks.items() if at] == [200]
    assert result.deleted == 1
    assert fake.count("recent") - before == 2  # 100 + 50


async def test_the_newest_post_deleted_while_stopped_is_marked(rigs: MakeRig) -> None:
    fake = await alpha_world()
    await first_run(rigs, fake, "one", "two", "three")
    await fake.delete("alpha", 3, push=False)
    second = await started(await rigs(fake, [channel("@alpha")]))
    assert [i for i, at in (await deleted_at(second)).items() if at] == [3]


async def test_a_recheck_that_fails_part_way_marks_nothing(rigs: MakeRig) -> None:
    fake = await alpha_world()
    rig = await started(await rigs(fake, [channel("@alpha")]))
    for i in range(250):
        fake.add_post("alpha", f"post {i}")
    await rig.watcher.catch_up(rig.watcher.watched[11])
    await fake.delete("alpha", 240, push=False)
    fake.fail("recent", TelegramError("Telegram answered 500"), after=1)
    result = await rig.watcher.recheck(rig.watcher.watched[11])
    assert result.deleted == 0
    assert not any((await deleted_at(rig)).values())
    await rig.watcher.recheck(rig.watcher.watched[11])  # the next re-check does it
    assert [i for i, at in (await deleted_at(rig)).items() if at] == [240]


async def test_a_flood_wait_during_the_recheck_is_waited_out_and_loses_nothing(rigs: MakeRig) -> None:
    fake = await alpha_world()
    rig = await started(await rigs(fake, [channel("@alpha")]))
    for i in range(250):
        fake.add_post("alpha", f"post {i}")
    await rig.watcher.catch_up(rig.watcher.watched[11])
    await fake.delete("alpha", 60, push=False)
    await fake.edit("alpha", 120, "post 119, evacuated", push=False)
    fake.flood("recent", 30, after=1)
    result = await rig.watcher.recheck(rig.watcher.watched[11])
    assert (result.edited, result.deleted) == (1, 1)
    assert [i for i, at in (await deleted_at(rig)).items() if at] == [60]


async def test_service_messages_and_posts_before_the_start_are_neither_marked_nor_stored(
    rigs: MakeRig,
) -> None:
    fake = await alpha_world()
    fake.add_posts("alpha", 3)  # before the channel was added (no backfill): never stored
    rig = await started(await rigs(fake, [channel("@alpha")]))
    fake.add_post("alpha", "pinned a message", is_service=True)
    fake.add_post("alpha", "after")
    await rig.watcher.catch_up(rig.watcher.watched[11])
    await fake.edit("alpha", 2, "old post edited", push=False)
    result = await rig.watcher.recheck(rig.watcher.watched[11])
    assert await rig.posts() == [(11, 4, "pinned a message"), (11, 5, "after")]
    assert (result.edited, result.deleted) == (0, 0)
    assert not any((await deleted_at(rig)).values())


async def test_a_channel_whose_history_cannot_be_read_is_skipped_then_rechecked_when_visible_again(
    rigs: MakeRig,
) -> None:
    fake = await alpha_world()
    rig = await started(await rigs(fake, [channel("@alpha")]))
    for text in ("one", "two"):
        await fake.publish("alpha", text)
    c = fake.channel("alpha")
    c.private, c.joined = True, False  # the account lost access: history answers CHANNEL_PRIVATE
    await fake.edit("alpha", 1, "one, evacuated")
    await fake.delete("alpha", 2)
    w = rig.watcher.watched[11]
    result = await rig.watcher.recheck(w)
    assert (result.edited, result.deleted) == (0, 0)
    assert not any((await deleted_at(rig)).values())
    c.private, c.joined = False, True  # visible again
    result = await rig.watcher.recheck(w)
    assert (result.edited, result.deleted) == (1, 1)
    assert [v.text for v in await versions(rig, 1)] == ["one", "one, evacuated"]


async def test_an_unreadable_channel_is_recorded_not_raised(rigs: MakeRig) -> None:
    fake = await alpha_world()
    rig = await started(await rigs(fake, [channel("@alpha")]))
    await fake.publish("alpha", "one")
    fake.fail("recent", ChannelUnavailable("@alpha", "banned"))
    await rig.watcher.recheck(rig.watcher.watched[11])
    row = await rig.store.db.fetchone("SELECT state FROM channels WHERE tg_id = 11")
    assert row is not None
    assert row[0] == "banned"


async def test_album_caption_edited_while_stopped_is_versioned_and_a_removed_photo_is_not_a_deletion(
    rigs: MakeRig,
) -> None:
    fake = await alpha_world()
    rig = await started(await rigs(fake, [channel("@alpha")]))
    await fake.publish_album("alpha", "photos of the town", 3, grouped_id=77)
    await fake.publish_album("alpha", "second album", 2, grouped_id=78)
    await rig.watcher.drain()
    await asyncio.sleep(0.05)
    await rig.watcher.drain()
    assert [m for _, m, _ in await rig.posts()] == [1, 4]
    await fake.edit("alpha", 1, "photos of the evacuated town", push=False)
    await fake.delete("alpha", 2, push=False)  # one photo of the first album
    await fake.delete("alpha", 4, 5, push=False)  # the whole second album
    result = await rig.watcher.recheck(rig.watcher.watched[11])
    assert (result.edited, result.deleted) == (1, 1)
    assert [v.text for v in await versions(rig, 1)] == ["photos of the town", "photos of the evacuated town"]
    assert [i for i, at in (await deleted_at(rig)).items() if at] == [4]
    media = await rig.store.db.fetchone("SELECT media FROM posts WHERE message_id = 1")
    assert media is not None
    assert media[0].count("photo") == 2


async def test_a_live_edit_of_a_post_older_than_anything_stored_alerts_as_edited_not_new(
    rigs: MakeRig,
) -> None:
    fake = await alpha_world()
    fake.add_posts("alpha", 3)  # before the channel was added: not stored
    rig = await started(await rigs(fake, [channel("@alpha")]))
    await fake.edit("alpha", 2, "old post, now evacuated")
    assert await rig.posts() == [(11, 2, "old post, now evacuated")]
    assert await rig.alerts() == [(2, "edited")]


async def test_a_new_channel_costs_no_recheck_and_a_restart_costs_two_requests(rigs: MakeRig) -> None:
    fake = await alpha_world()
    for i in range(500):
        fake.add_post("alpha", f"post {i}")
    first = await started(await rigs(fake, [channel("@alpha", backfill_count=300)]))
    assert fake.count("recent") == 3  # the backfill only
    await first.close()
    second = await rigs(fake, [channel("@alpha")])
    await started(second)
    assert fake.count("recent") == 3 + 2  # a window of 200 posts: two pages
    assert fake.count("history") == 2  # one catch-up page each start


async def test_recheck_hours_limits_the_pages_fetched(rigs: MakeRig) -> None:
    fake = await alpha_world()
    rig = await started(await rigs(fake, [channel("@alpha", recheck_hours=1)]))
    for i in range(250):
        fake.add_post("alpha", f"post {i}")  # one a second
    await rig.watcher.catch_up(rig.watcher.watched[11])
    rig.clock.current = datetime.fromisoformat("2024-08-07T09:00:00+00:00")  # all older than an hour
    before = fake.count("recent")
    await rig.watcher.recheck(rig.watcher.watched[11])
    assert fake.count("recent") - before == 1  # one page is always compared; no older page fetched


async def test_recheck_posts_zero_turns_the_recheck_off(rigs: MakeRig) -> None:
    fake = await alpha_world()
    rig = await started(await rigs(fake, [channel("@alpha", recheck_posts=0)]))
    await fake.publish("alpha", "one")
    await fake.delete("alpha", 1, push=False)
    before = fake.count("recent")
    await rig.watcher.recheck(rig.watcher.watched[11])
    assert fake.count("recent") == before
    assert not any((await deleted_at(rig)).values())


async def test_register_jobs_adds_one_recheck_job_per_channel(rigs: MakeRig) -> None:
    from bot.watch.jobs import register_jobs

    fake = await alpha_world()
    rig = await started(await rigs(fake, [channel("@alpha")]))
    scheduler = AsyncIOScheduler(timezone="UTC")
    ids = register_jobs(scheduler, rig.watcher)
    assert "recheck:11" in ids
    job = scheduler.get_job("recheck:11")
    assert job is not None
    assert job.func is recheck_job
    assert (job.coalesce, job.max_instances) == (True, 1)
    assert job.trigger.interval.total_seconds() == rig.watcher.settings.schedule.recheck_minutes * 60


async def test_a_post_stored_live_while_the_recheck_is_in_flight_is_not_marked_deleted(rigs: MakeRig) -> None:
    fake = await alpha_world()
    rig = await started(await rigs(fake, [channel("@alpha")]))
    for text in ("one", "two"):
        await fake.publish("alpha", text)
    fake.during("recent", lambda: fake.publish("alpha", "three, live"))  # after the answer was computed
    result = await rig.watcher.recheck(rig.watcher.watched[11])
    assert result.deleted == 0
    assert [m for _, m, _ in await rig.posts()] == [1, 2, 3]
    assert not any((await deleted_at(rig)).values())


async def test_a_polled_channel_gets_its_edits_only_from_the_recheck(rigs: MakeRig) -> None:
    fake = await alpha_world()
    fake.channel("alpha").joined = False  # public, not joined: Telegram pushes nothing for it
    rig = await started(await rigs(fake, [channel("@alpha")]))
    rig.watcher.connected.set()
    await fake.publish("alpha", "calm")
    await rig.watcher.poll(rig.watcher.watched[11])
    await fake.edit("alpha", 1, "evacuated")
    await recheck_job(rig.watcher, 11)
    assert await rig.posts() == [(11, 1, "evacuated")]
    assert await rig.alerts() == [(1, "edited")]


async def test_run_delivers_an_edited_alert_from_the_scheduled_recheck(tmp_path: Path) -> None:
    """`telewatch run` with the real scheduler: the recheck job stores a lost edit and alerts it as edited."""
    fake = FakeTelegram()
    fake.add_channel("alpha", tg_id=11)
    settings = Settings(
        channels=(ChannelSettings("@alpha"),), telegram=TelegramSettings(requests_per_second=1000)
    )
    sink = RecordingSink("console")
    scheduler = AsyncIOScheduler(timezone="UTC")
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_live(
            settings,
            tmp_path / "t.db",
            gateway=fake,
            sinks={"console": sink},
            stop=stop,
            scheduler=scheduler,
            matcher=WordMatcher({"evac": ["evacuated"]}),
        )
    )
    try:
        await wait_until(lambda: scheduler.get_job("recheck:11") is not None)
        await fake.publish("alpha", "a calm morning")
        await fake.publish("alpha", "later")
        await fake.edit("alpha", 1, "a calm morning, then evacuated", push=False)
        scheduler.get_job("recheck:11").modify(next_run_time=datetime.now(UTC))
        await wait_until(lambda: len(sink.delivered) == 1)
        assert sink.delivered[0].data["kind"] == "edited"
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def test_no_recheck_starts_once_the_watcher_is_stopping(rigs: MakeRig) -> None:
    fake = await alpha_world()
    rig = await started(await rigs(fake, [channel("@alpha")]))
    await fake.publish("alpha", "one")
    rig.watcher.stop()
    before = fake.count("recent")
    await rig.watcher.recheck(rig.watcher.watched[11])
    assert fake.count("recent") == before
