"""Live posts that arrive together are stored in one commit, with every guarantee of one-by-one storing:
order per channel, every version, deletions, the outbox row committed with its post, delivery once."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from bot.app.runtime import open_runtime
from bot.domain.ports import OutgoingAlert
from bot.watch.watcher import Watcher
from config.settings import Settings, TelegramSettings
from tests.fakes import FakeTelegram
from tests.ports_fakes import RecordingSink, WordMatcher
from tests.telegram.conftest import MakeRig
from tests.telegram.harness import channel, started


async def two_channels() -> FakeTelegram:
    """Updates handed over as Telethon does by default: each in a task of its own, nobody waiting."""
    fake = FakeTelegram(sequential_updates=False)
    fake.add_channel("alpha", tg_id=11)
    fake.add_channel("beta", tg_id=12)
    await fake.connect()
    return fake


async def test_posts_arriving_together_share_a_commit_and_keep_each_channels_order(rigs: MakeRig) -> None:
    fake = await two_channels()
    rig = await started(await rigs(fake, [channel("@alpha"), channel("@beta")]))
    for i in range(60):
        await fake.publish("alpha" if i % 3 else "beta", f"Residents evacuated, report {i}")
    await fake.settle()

    assert rig.watcher.live.batches < 60
    assert rig.watcher.live.largest > 1
    posts = await rig.posts()
    assert [m for tg, m, _ in posts if tg == 11] == list(range(1, 41))
    assert [m for tg, m, _ in posts if tg == 12] == list(range(1, 21))
    rows = await rig.store.db.fetchall(
        "SELECT c.tg_id, p.message_id FROM alerts a JOIN posts p ON p.id = a.post_id "
        "JOIN channels c ON c.id = p.channel_id ORDER BY a.id"
    )
    for tg in (11, 12):  # the outbox holds each channel's alerts in the order its posts came
        ids = [r[1] for r in rows if r[0] == tg]
        assert ids == sorted(ids)
        assert len(ids) == len(set(ids))
    assert len(rows) == 60
    assert rig.watcher.watched[11].safe == 40
    assert rig.watcher.watched[12].safe == 20


async def test_a_post_its_edit_and_its_deletion_arriving_together_are_stored_in_that_order(
    rigs: MakeRig,
) -> None:
    fake = await two_channels()
    rig = await started(await rigs(fake, [channel("@alpha"), channel("@beta")]))
    first = await fake.publish("alpha", "Residents evacuated from the village")
    await fake.publish("beta", "Residents evacuated from the town")
    await fake.edit("alpha", first.message_id, "Residents evacuated from the village overnight")
    await fake.publish("alpha", "calm day")
    await fake.delete("alpha", first.message_id)
    await fake.settle()

    row = await rig.store.db.fetchone(
        "SELECT p.id, p.text, p.version_count, p.deleted_at FROM posts p JOIN channels c ON c.id = p.channel_id "
        "WHERE c.tg_id = 11 AND p.message_id = ?",
        (first.message_id,),
    )
    assert row is not None
    assert row["text"] == "Residents evacuated from the village overnight"
    assert row["version_count"] == 2
    assert row["deleted_at"] is not None
    versions = await rig.store.posts.versions(row["id"])
    assert [v.text for v in versions] == [
        "Residents evacuated from the village",
        "Residents evacuated from the village overnight",
    ]
    kinds = await rig.store.db.fetchall("SELECT kind FROM alerts WHERE post_id = ? ORDER BY id", (row["id"],))
    assert [k[0] for k in kinds] == ["new", "deleted"]  # the deletion is reported after the alert
    assert [m for tg, m, _ in await rig.posts() if tg == 11] == [1, 2]


class Crash(BaseException):
    """The process dying."""


class CrashingSink(RecordingSink):
    """Dies while delivering the first message it is given (before any chat saw it)."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = True

    async def deliver(self, alert: OutgoingAlert) -> None:
        if self.armed:
            self.armed = False
            raise Crash
        await super().deliver(alert)


async def test_a_crash_between_the_batch_commit_and_delivery_loses_and_repeats_nothing(
    tmp_path: Path,
) -> None:
    fake = await two_channels()
    settings = Settings(
        channels=(channel("@alpha"), channel("@beta")), telegram=TelegramSettings(requests_per_second=10_000)
    )
    sink = CrashingSink()
    matcher = WordMatcher({"evac": ["evacuated"]})
    async with open_runtime(settings, tmp_path / "w.db", sinks={"console": sink}, matcher=matcher) as rt:
        watcher = Watcher(fake, rt.pipeline, settings)
        await watcher.resolve_all()
        await watcher.catch_up_all()
        for i in range(30):
            await fake.publish("alpha" if i % 2 else "beta", f"Residents evacuated, report {i}")
        await fake.settle()
        assert watcher.live.batches < 30
        with contextlib.suppress(Crash):  # committed with their posts; the process dies on delivery
            await rt.dispatcher.run_once()
        assert sink.delivered == []
    async with open_runtime(settings, tmp_path / "w.db", sinks={"console": sink}, matcher=matcher) as rt:
        while (await rt.dispatcher.run_once()).sent:
            pass
        counts = await rt.store.alerts.counts()
    assert len(sink.keys) == 30
    assert len(set(sink.keys)) == 30
    assert counts.get("sent") == 30
    assert not counts.get("pending")


async def test_delivery_goes_on_while_the_store_commits_and_every_message_is_marked(
    tmp_path: Path,
) -> None:
    fake = await two_channels()
    settings = Settings(channels=(channel("@alpha"),), telegram=TelegramSettings(requests_per_second=10_000))
    sink = RecordingSink()
    matcher = WordMatcher({"evac": ["evacuated"]})
    async with open_runtime(settings, tmp_path / "w.db", sinks={"console": sink}, matcher=matcher) as rt:
        watcher = Watcher(fake, rt.pipeline, settings)
        await watcher.resolve_all()
        await watcher.catch_up_all()
        for i in range(10):
            await fake.publish("alpha", f"Residents evacuated, report {i}")
        await fake.settle()
        holding = asyncio.Event()
        release = asyncio.Event()

        async def long_commit() -> None:
            async with rt.store.transaction():
                holding.set()
                await release.wait()

        holder: list[asyncio.Task[None]] = []
        deliver = sink.deliver

        async def first_starts_a_commit(alert: OutgoingAlert) -> None:
            # The pass has claimed its alerts (one write); then the watcher starts a long commit.
            if not holder:
                holder.append(asyncio.create_task(long_commit()))
                await holding.wait()
            await deliver(alert)

        sink.deliver = first_starts_a_commit  # type: ignore[method-assign]
        dispatch = asyncio.create_task(rt.dispatcher.run_once())
        while len(sink.delivered) < 10:  # noqa: ASYNC110  # the sink has no event to wait on
            await asyncio.sleep(0.005)
        assert not dispatch.done()  # every message went out; the marks wait for the commit
        release.set()
        await holder[0]
        result = await dispatch
        counts = await rt.store.alerts.counts()
    assert result.sent == 10
    assert len(set(sink.keys)) == 10
    assert counts.get("sent") == 10
    assert not counts.get("pending")
