"""Feeding a source into the pipeline: bulk imports (batched) and live-like replays (one post at a time)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
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
    report: ImportReport | None = None,
) -> ImportReport:
    """Storage every post of `items` in batches; deletions are applied in order; pauses are ignored.

    With `parallel`, once a file proves big (a full batch), matching moves to a worker process.
    Pass `report` to read what was stored when the import is cancelled (Ctrl-C) midway: every batch
    counted there is committed, the one in flight commits whole or not at all.
    """
    report = report if report is not None else ImportReport()
    started = time.perf_counter()
    batch: list[Post] = []
    # One batch is written while the next is parsed and matched: SQLite and the matcher overlap.
    # The pipeline's matcher worker (given to it by the composition root), started once a file proves big.
    pool = pipeline.matcher_pool if parallel else None
    pool_tried = False
    # Batches run shielded: a cancel (Ctrl-C) stops the reading, never a batch halfway through its
    # COMMIT (which the driver's thread would finish anyway, uncounted); each is awaited and counted.
    running: deque[asyncio.Task[IngestResult]] = deque()

    async def settle(keep: int = 0) -> None:
        """Count the oldest batches until at most `keep` are still running (they commit in order)."""
        while len(running) > keep:
            report.result.add(await asyncio.shield(running[0]))
            running.popleft()
            if on_batch:
                on_batch(report)

    async def flush() -> None:
        nonlocal pool_tried
        if pool is not None and not pool_tried and len(batch) >= batch_size:
            pool_tried = True
            pool.start(pipeline.matcher)
        if batch:
            running.append(asyncio.create_task(pipeline.ingest(list(batch), kind=AlertKind.NEW, alert=alert)))
            batch.clear()
            await settle(keep=1)  # batches commit in order: the write lock is first come, first served

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
        # an error (or Ctrl-C) mid-import: the batches in flight commit or fail whole, and are counted
        # when they committed (the first error is the one reported)
        while running:
            with contextlib.suppress(Exception):
                report.result.add(await running[0])
            running.popleft()
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
