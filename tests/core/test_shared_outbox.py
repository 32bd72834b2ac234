"""One outbox, several processes: each alert sent once, a dead claimer's alerts retried, pacing shared."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

from bot.alerts.dispatcher import Dispatcher
from bot.alerts.sinks import JsonlSink
from bot.domain.ports import OutgoingAlert
from tests.core.test_dispatcher import Crash, open_app, posts
from tests.ports_fakes import FakeClock, RecordingSink


class SlowSink(RecordingSink):
    """A sink that yields while sending, so two dispatchers interleave."""

    def __init__(self, log: list[str], **kwargs: float) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.log = log

    async def deliver(self, alert: OutgoingAlert) -> None:
        await asyncio.sleep(0.001)
        await super().deliver(alert)
        self.log.append(alert.dedup_key)


async def test_two_dispatchers_on_one_database_send_each_alert_once(tmp_path: Path) -> None:
    clock = FakeClock()
    sent: list[str] = []
    store_a, pipeline, _ = await open_app(tmp_path / "db", RecordingSink(), clock)
    store_b, _, _ = await open_app(tmp_path / "db", RecordingSink(), clock)
    await pipeline.ingest(posts(40))
    a = Dispatcher(store_a, {"console": SlowSink(sent)}, clock=clock)
    b = Dispatcher(store_b, {"console": SlowSink(sent)}, clock=clock)
    a.claimer, b.claimer = "a", "b"
    a.policy = b.policy = type(a.policy)(batch_size=7)  # small batches: claims interleave
    results = await asyncio.gather(a.run_once(), b.run_once(), a.run_once(), b.run_once())
    assert sum(r.sent for r in results) == 40
    assert len(sent) == len(set(sent)) == 40
    counts = await store_a.alerts.counts()
    assert counts == {"sent": 40}
    await store_a.close()
    await store_b.close()


async def test_the_alerts_of_a_dispatcher_that_died_are_sent_by_another_after_the_claim(
    tmp_path: Path,
) -> None:
    clock = FakeClock()

    class DiesWhileSending(RecordingSink):
        async def deliver(self, alert: OutgoingAlert) -> None:
            raise Crash

    store_a, pipeline, _ = await open_app(tmp_path / "db", RecordingSink(), clock)
    store_b, _, _ = await open_app(tmp_path / "db", RecordingSink(), clock)
    await pipeline.ingest(posts(3))
    dead = Dispatcher(store_a, {"console": DiesWhileSending()}, clock=clock)
    dead.claimer = "a"
    with contextlib.suppress(Crash):
        await dead.run_once()
    survivor_sink = RecordingSink()
    survivor = Dispatcher(store_b, {"console": survivor_sink}, clock=clock)
    survivor.claimer = "b"
    assert (await survivor.run_once()).sent == 0  # still claimed by the dead one
    clock.advance(survivor.policy.claim_seconds + 1)
    assert (await survivor.run_once()).sent == 3
    assert len(survivor_sink.keys) == 3
    await store_a.close()
    await store_b.close()


async def test_pacing_per_chat_holds_across_dispatchers(tmp_path: Path) -> None:
    clock = FakeClock()
    store_a, pipeline, _ = await open_app(tmp_path / "db", RecordingSink(), clock)
    store_b, _, _ = await open_app(tmp_path / "db", RecordingSink(), clock)
    await pipeline.ingest(posts(2))
    a = Dispatcher(store_a, {"console": RecordingSink(min_interval=3.0)}, clock=clock)
    b = Dispatcher(store_b, {"console": RecordingSink(min_interval=3.0)}, clock=clock)
    a.claimer, b.claimer = "a", "b"
    a.policy = b.policy = type(a.policy)(batch_size=1)
    await a.run_once()
    await b.run_once()
    # The second message waited for the slot the first one booked, though another process sent it.
    assert clock.slept
    assert abs(sum(clock.slept) - 3.0) < 0.01
    await store_a.close()
    await store_b.close()


async def test_a_jsonl_file_shared_by_two_sinks_gets_each_alert_once(tmp_path: Path) -> None:
    out = tmp_path / "alerts.jsonl"
    first, second = JsonlSink(out), JsonlSink(out)
    one = OutgoingAlert("k1", "one", "one", {"text": "one"})
    two = OutgoingAlert("k2", "two", "two", {"text": "two"})
    await second.deliver(two)
    await first.deliver(one)
    await second.deliver(one)  # written by the other one meanwhile: not again
    await first.deliver_many([one, two])
    out.write_bytes(out.read_bytes() + b'{"dedup_key": "k3", "te')  # a torn line from a crash
    await second.deliver(OutgoingAlert("k3", "three", "three", {"text": "three"}))
    keys = [json.loads(line)["dedup_key"] for line in out.read_text().splitlines() if line.endswith("}")]
    assert keys == ["k2", "k1", "k3"]
