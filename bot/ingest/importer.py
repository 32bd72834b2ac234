"""Feeding a source into the pipeline: bulk imports (batched) and live-like replays (one post at a time)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from bot.alerts.dispatcher import Dispatcher
from bot.domain.models import AlertKind, Post
from bot.domain.ports import Clock, SystemClock
from bot.ingest.pipeline import IngestResult, Pipeline
from bot.sources import BadRecord, Deletion, Pause, SourceItem

BATCH = 2000  # posts per transaction: large enough to amortise commits, small enough to keep memory flat
MAX_BAD_KEPT = 1000  # bad records listed in a report; the rest are only counted


@dataclass(slots=True)
class ImportReport:
    """What an import or a replay did."""

    result: IngestResult = field(default_factory=IngestResult)
    bad: list[BadRecord] = field(default_factory=list)
    bad_count: int = 0
    seconds: float = 0.0
    alerts_sent: int = 0
    worker_rss_mb: float = 0.0

    def add_bad(self, record: BadRecord) -> None:
        self.bad_count += 1
        if len(self.bad) < MAX_BAD_KEPT:
            self.bad.append(record)

    @property
    def records(self) -> int:
        return self.result.stored + self.bad_count

    @property
    def rate(self) -> float:
        return self.result.stored / self.seconds if self.seconds > 0 else 0.0


async def import_items(
    items: Iterable[SourceItem],
    pipeline: Pipeline,
    *,
    alert: bool = False,
    batch_size: int = BATCH,
    on_batch: Callable[[ImportReport], None] | None = None,
    parallel: bool = True,
) -> ImportReport:
    """Storage every post of `items` in batches; deletions are applied in order; pauses are ignored.

    With `parallel`, once a file proves big (a full batch), matching moves to a worker process.
    """
    report = ImportReport()
    started = time.perf_counter()
    batch: list[Post] = []
    # One batch is written while the next is parsed and matched: SQLite and the matcher overlap.
    inflight: asyncio.Task[IngestResult] | None = None
    # The pipeline's matcher worker (given to it by the composition root), started once a file proves big.
    pool = pipeline.matcher_pool if parallel else None
    pool_tried = False

    async def settle() -> None:
        nonlocal inflight
        if inflight is not None:
            task, inflight = inflight, None
            report.result.add(await task)
            if on_batch:
                on_batch(report)

    async def flush() -> None:
        nonlocal inflight, pool_tried
        if pool is not None and not pool_tried and len(batch) >= batch_size:
            pool_tried = True
            pool.start(pipeline.matcher)
        if batch:
            task = asyncio.create_task(pipeline.ingest(list(batch), kind=AlertKind.NEW, alert=alert))
            batch.clear()
            try:
                await settle()  # batches commit in order: the write lock is first come, first served
            except BaseException:
                with contextlib.suppress(Exception):  # the earlier batch's error is the one to report
                    await task
                raise
            inflight = task

    try:
        for item in items:
            if isinstance(item, Post):
                batch.append(item)
                if len(batch) >= batch_size:
                    await flush()
            elif isinstance(item, Deletion):
                await flush()  # a deletion must see the posts before it
                await settle()
                report.result.add(await pipeline.delete(item.channel, item.message_ids, alert=alert))
            elif isinstance(item, BadRecord):
                report.add_bad(item)
        await flush()
        await settle()
        if pool is not None:
            report.worker_rss_mb = await pool.peak_rss_mb()
    finally:
        # an error (or Ctrl-C) mid-import: let the batch in flight commit or fail whole
        if inflight is not None:
            with contextlib.suppress(Exception):
                await inflight
        if pool is not None:
            pool.close()
    report.seconds = time.perf_counter() - started
    return report


async def replay_items(
    items: Iterable[SourceItem],
    pipeline: Pipeline,
    dispatcher: Dispatcher,
    *,
    speed: float = 1.0,
    clock: Clock | None = None,
    on_bad: Callable[[BadRecord], None] | None = None,
) -> ImportReport:
    """Replay posts one at a time as if live, honouring pauses (divided by `speed`), alerting as they fire."""
    clock = clock or SystemClock()
    report = ImportReport()
    started = time.perf_counter()
    for item in items:
        if isinstance(item, Pause):
            if speed > 0:
                await clock.sleep(item.seconds / speed)
            continue
        if isinstance(item, Post):
            report.result.add(await pipeline.ingest([item], kind=AlertKind.NEW))
        elif isinstance(item, Deletion):
            report.result.add(await pipeline.delete(item.channel, item.message_ids))
        elif isinstance(item, BadRecord):
            report.add_bad(item)
            if on_bad:
                on_bad(item)
            continue
        report.alerts_sent += (await dispatcher.run_once()).sent
    report.alerts_sent += (await dispatcher.run_once()).sent
    report.seconds = time.perf_counter() - started
    return report
