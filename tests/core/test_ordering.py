"""Batches commit in the order they were handed in, even when a later one is ready first."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import bot.ingest.pipeline
from bot.alerts.routing import Router
from bot.domain.models import ChannelRef, Match, Post
from bot.ingest.importer import import_items
from bot.ingest.matching_pool import MatcherSlot
from bot.ingest.ordering import InOrder
from bot.ingest.pipeline import Pipeline
from config.settings import RouteSettings
from storage.store import Store
from tests.ports_fakes import FakeClock, WordMatcher

T0 = datetime(2024, 8, 7, 6, 30, tzinfo=UTC)
GOV = ChannelRef(username="gov_region")


async def test_later_tickets_wait_for_earlier_ones() -> None:
    order = InOrder()
    entered: list[int] = []

    async def writer(ticket: int, delay: float) -> None:
        await asyncio.sleep(delay)  # readiness in reverse order of arrival
        async with order.turn(ticket):
            entered.append(ticket)

    tickets = [order.ticket() for _ in range(3)]
    await asyncio.gather(*(writer(t, 0.03 * (3 - t)) for t in tickets))
    assert entered == [0, 1, 2]


async def test_a_cancelled_waiter_does_not_stall_the_ones_behind_it() -> None:
    order = InOrder()
    first, second, third = order.ticket(), order.ticket(), order.ticket()
    release = asyncio.Event()

    async def holder() -> None:
        async with order.turn(first):
            await release.wait()

    async def enter(ticket: int) -> int:
        async with order.turn(ticket):
            return ticket

    holding = asyncio.create_task(holder())
    doomed = asyncio.create_task(enter(second))
    last = asyncio.create_task(enter(third))
    await asyncio.sleep(0.01)
    doomed.cancel()
    release.set()
    await holding
    assert await asyncio.wait_for(last, 1) == third


class SlowPoolOnOriginals:
    """A matcher pool (bot.ingest.matching_pool) whose first batch takes long: the second is ready to commit first."""

    def __init__(self, matcher: WordMatcher) -> None:
        self.matcher = matcher

    async def match(self, jobs: Sequence[tuple[str, str | None, tuple[str, ...]]]) -> list[list[Match]]:
        if any("original" in text for text, _, _ in jobs):
            await asyncio.sleep(0.2)
        return [self.matcher.match(text, channel=c, tags=t) for text, c, t in jobs]

    async def peak_rss_mb(self) -> float:
        return 0.0

    def close(self) -> None:
        pass


async def test_an_edit_in_the_next_batch_never_commits_before_its_original(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.ingest.pipeline, "POOLED_BATCH", 1)
    store = await Store.open(tmp_path / "o.db")
    matcher = WordMatcher({"shelling": ["обстрел"]})
    slot = MatcherSlot(SlowPoolOnOriginals)  # the worker is given at construction, started by the import
    pipeline = Pipeline(
        store, matcher, Router((RouteSettings("c", "console"),)), clock=FakeClock(), matcher_pool=slot
    )
    items = [
        Post(GOV, 1, T0, "original text"),
        Post(GOV, 2, T0, "original two"),
        Post(GOV, 1, T0, "edited: обстрел", edit_date=T0 + timedelta(hours=1)),
    ]
    report = await import_items(items, pipeline, batch_size=2, alert=True, parallel=True)
    assert (report.result.new, report.result.edited, report.result.alerts) == (2, 1, 1)
    versions = await store.posts.versions(1)
    assert [v.text for v in versions] == ["original text", "edited: обстрел"]
    await store.close()


async def test_a_real_matcher_worker_gives_the_same_matches_as_in_process(tmp_path: Path) -> None:
    from bot.ingest.matching_pool import MatcherPool

    matcher = WordMatcher({"shelling": ["обстрел"], "sudzha": ["Суджи"]})
    pool = MatcherPool(matcher)
    try:
        jobs = [("обстрел Суджи", "gov", ()), ("тишина", None, ())]
        assert await pool.match(jobs) == [matcher.match(t) for t, _, _ in jobs]
    finally:
        pool.close()


async def test_a_parallel_import_matches_in_a_worker_and_closes_it(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "w.db")
    pipeline = Pipeline(
        store,
        WordMatcher({"shelling": ["обстрел"]}),
        Router((RouteSettings("c", "console"),)),
        clock=FakeClock(),
        matcher_pool=MatcherSlot(),
    )
    items = [Post(GOV, i, T0, f"обстрел №{i}" if i % 2 else "тишина") for i in range(1, 201)]
    report = await import_items(items, pipeline, batch_size=100, parallel=True)
    assert (report.result.new, report.result.matches) == (200, 100)
    assert report.worker_rss_mb > 0, "the matching ran in the worker process"
    assert pipeline.matcher_pool is not None
    assert pipeline.matcher_pool.worker is None, "the worker is closed after the import"
    await store.close()


async def test_the_import_starts_the_worker_the_composition_root_gave_the_pipeline_once(
    tmp_path: Path,
) -> None:
    """The pool is wired at construction (bot.app.runtime), never set on the pipeline from outside; a
    worker that cannot start is tried once per import, not again for every batch."""
    from bot.app.runtime import open_runtime
    from config.settings import Settings

    async with open_runtime(Settings(), tmp_path / "r.db", build_sinks=False, sinks={}) as rt:
        slot = rt.pipeline.matcher_pool
        assert slot is not None
        assert slot.worker is None  # idle until a file proves big
    starts: list[object] = []

    def cannot_start(matcher: object) -> None:
        starts.append(matcher)

    store = await Store.open(tmp_path / "n.db")
    pipeline = Pipeline(
        store,
        WordMatcher({"shelling": ["обстрел"]}),
        Router((RouteSettings("c", "console"),)),
        clock=FakeClock(),
        matcher_pool=MatcherSlot(cannot_start),
    )
    before = set(vars(pipeline))
    items = [Post(GOV, i, T0, f"обстрел №{i}") for i in range(1, 31)]
    report = await import_items(items, pipeline, batch_size=10, parallel=True)
    assert report.result.matches == 30  # matched in-process
    assert starts == [pipeline.matcher]
    assert set(vars(pipeline)) == before
    await store.close()


async def test_a_batch_cancelled_while_it_prepares_does_not_stall_the_next_one(tmp_path: Path) -> None:
    """Ctrl-C during an import cancels the batch being matched; the writers behind it must still run."""
    store = await Store.open(tmp_path / "c.db")
    pipeline = Pipeline(
        store, WordMatcher({"e": ["эвакуация"]}), Router((RouteSettings("c", "console"),)), clock=FakeClock()
    )
    try:
        first = asyncio.create_task(
            pipeline.ingest([Post(channel=ChannelRef(username="new_chan"), message_id=1, date=T0, text="a")])
        )
        await asyncio.sleep(0)  # it has its ticket and waits inside its preparation (a new channel's row)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        done = await asyncio.wait_for(
            pipeline.ingest([Post(channel=GOV, message_id=2, date=T0, text="эвакуация")]), 5
        )
        assert done.new == 1
    finally:
        await store.close()
