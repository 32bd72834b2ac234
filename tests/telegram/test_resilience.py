"""Flood waits, disconnections and crashes: nothing lost, nothing alerted twice, nothing crashes."""

from __future__ import annotations

import asyncio

import pytest

from bot.app.run import keep_watching
from bot.domain.errors import Disconnected
from tests.fakes import FakeTelegram
from tests.telegram.conftest import MakeRig
from tests.telegram.harness import alpha_world, channel, started, wait_until


class Crash(BaseException):
    """The process dying mid-request (not an error the app may catch)."""


@pytest.mark.parametrize("kind", ["resolve", "join", "recent", "history"])
async def test_a_flood_wait_on_any_start_up_call_is_waited_out_and_resumed(rigs: MakeRig, kind: str) -> None:
    fake = FakeTelegram()
    fake.add_channel("alpha", tg_id=11, joined=False)
    await fake.connect()
    for i in range(150):
        fake.add_post("alpha", "evacuated" if i % 50 == 0 else "calm")
    rig = await rigs(fake, [channel("@alpha", auto_join=True, backfill_count=100, alert_on_backfill=True)])
    fake.flood(kind, 42)
    await started(rig)
    assert rig.clock.slept
    assert 42 <= rig.clock.slept[0] <= 42 * 1.1 + 1
    assert [m for _, m, _ in await rig.posts()] == list(range(51, 151))
    assert await rig.alerts() == [(51, "late"), (101, "late")]
    assert [(f.request, f.seconds) for f in rig.watcher.pacer.floods] == [(kind, 42)]


@pytest.mark.parametrize("kind", ["latest", "history"])
async def test_a_flood_wait_during_a_gap_check_loses_no_post(rigs: MakeRig, kind: str) -> None:
    fake = await alpha_world()
    rig = await rigs(fake, [channel("@alpha")])
    await started(rig)
    for i in range(230):
        fake.add_post("alpha", f"missed {i}")
    fake.flood(kind, 300, after=1 if kind == "history" else 0, times=2)
    assert await rig.watcher.gap_check(rig.watcher.watched[11]) == 230
    assert len(await rig.posts()) == 230
    assert len(rig.clock.slept) == 2
    status = await rig.watcher.state.status("last_flood")
    assert status is not None
    assert status["seconds"] == 300


async def test_a_flood_wait_on_one_channel_holds_back_the_same_request_for_the_others(rigs: MakeRig) -> None:
    fake = FakeTelegram()
    for n in range(3):
        fake.add_channel(f"chan{n}x", tg_id=20 + n)
        fake.add_posts(f"chan{n}x", 3)
    await fake.connect()
    rig = await rigs(fake, [channel(f"@chan{n}x", backfill_count=3) for n in range(3)])
    fake.flood("recent", 10)
    await started(rig)
    assert len(rig.clock.slept) == 1, "one wait, shared"
    assert len(await rig.posts()) == 9


async def test_disconnect_then_reconnect_catches_up_what_was_posted_meanwhile(rigs: MakeRig) -> None:
    fake = FakeTelegram()
    fake.add_channel("alpha", tg_id=11)
    rig = await rigs(fake, [channel("@alpha")])
    stop = asyncio.Event()
    task = asyncio.create_task(keep_watching(rig.watcher, stop, max_backoff=0.01))
    await wait_until(rig.watcher.connected.is_set)
    await fake.publish("alpha", "live one")
    fake.drop_connection()
    fake.refuse_connects = 2
    await fake.publish("alpha", "evacuated while offline")  # stored at Telegram, never pushed
    await wait_until(lambda: fake.connects == 2 and rig.watcher.connected.is_set())
    await fake.publish("alpha", "live again")
    stop.set()
    await task
    assert [t for _, _, t in await rig.posts()] == ["live one", "evacuated while offline", "live again"]
    assert await rig.alerts() == [(2, "late")]


async def test_a_disconnect_during_catch_up_is_retried_after_reconnecting(rigs: MakeRig) -> None:
    fake = FakeTelegram()
    fake.add_channel("alpha", tg_id=11)
    fake.add_posts("alpha", 5)
    rig = await rigs(fake, [channel("@alpha", backfill_count=1000)])
    fake.fail("recent", Disconnected("network gone"))
    stop = asyncio.Event()
    task = asyncio.create_task(keep_watching(rig.watcher, stop, max_backoff=0.01))
    await wait_until(rig.watcher.connected.is_set)
    stop.set()
    await task
    assert len(await rig.posts()) == 5


async def test_a_crash_mid_catch_up_then_a_restart_loses_nothing_and_alerts_nothing_twice(
    rigs: MakeRig,
) -> None:
    fake = await alpha_world()
    first = await rigs(fake, [channel("@alpha")])
    await started(first)
    for i in range(450):
        fake.add_post("alpha", f"evacuated {i}" if i % 7 == 0 else f"calm {i}")
    fake.fail("history", Crash(), after=2)  # dies fetching the third page
    with pytest.raises(Crash):
        await first.watcher.catch_up(first.watcher.watched[11])
    stored_before = len(await first.posts())
    assert 0 < stored_before < 450
    await first.close()  # the process is gone; its in-memory marks with it

    second = await rigs(fake, [channel("@alpha")])
    await started(second)
    ids = [m for _, m, _ in await second.posts()]
    assert ids == list(range(1, 451))
    alerts = await second.alerts()
    assert len(alerts) == len({m for m, _ in alerts}) == len(range(0, 450, 7))


async def test_a_crash_between_storing_and_saving_the_mark_refetches_without_duplicates(
    rigs: MakeRig,
) -> None:
    fake = await alpha_world()
    first = await rigs(fake, [channel("@alpha")])
    await started(first)
    await first.watcher.flush_marks()
    for _ in range(3):
        await fake.publish("alpha", "evacuated live")  # marks advance in memory only
    await first.close()
    second = await rigs(fake, [channel("@alpha")])
    await started(second)
    assert len(await second.posts()) == 3
    assert await second.alerts() == [(1, "new"), (2, "new"), (3, "new")]
