"""APScheduler jobs of the watcher: per-channel gap checks, polls and re-checks, mark flushing, name refreshes."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.alerts.health import HealthMonitor
from bot.alerts.trend_watch import TrendWatch
from bot.domain.errors import Disconnected
from bot.watch.watcher import Watched, Watcher

log = logging.getLogger(__name__)


async def gap_check_job(watcher: Watcher, tg_id: int) -> None:
    """Compare one channel's newest id with the stored one and fetch any hole."""
    w = watcher.watched.get(tg_id)
    if w is None or not watcher.connected.is_set():
        return  # not connected: the reconnect's catch-up covers this channel
    try:
        await watcher.gap_check(w)
    except Disconnected:
        log.info("gap check of %s skipped: disconnected", w.name)


async def poll_job(watcher: Watcher, tg_id: int) -> None:
    """Fetch new posts of a channel the account has not joined (Telegram pushes none for it)."""
    w = watcher.watched.get(tg_id)
    if w is None or not watcher.connected.is_set():
        return
    try:
        await watcher.poll(w)
    except Disconnected:
        log.info("poll of %s skipped: disconnected", w.name)


async def recheck_job(watcher: Watcher, tg_id: int) -> None:
    """Re-check one channel's recent window for edits and deletions no update reported."""
    w = watcher.watched.get(tg_id)
    if w is None or not watcher.connected.is_set():
        return  # not connected: the reconnect re-checks every channel
    try:
        await watcher.recheck(w)
    except Disconnected:
        log.info("re-check of %s skipped: disconnected", w.name)


async def flush_marks_job(watcher: Watcher) -> None:
    """Persist the safe marks advanced by live posts."""
    await watcher.flush_marks()


async def refresh_names_job(watcher: Watcher) -> None:
    """Look channels up by id to record renames, bans and leaving."""
    if watcher.connected.is_set():
        try:
            await watcher.refresh_names()
        except Disconnected:
            log.info("channel refresh skipped: disconnected")


def _log_job_error(event: JobExecutionEvent) -> None:
    log.error("scheduled job %s failed: %r", event.job_id, event.exception, exc_info=event.exception)


def _interval_job(scheduler: AsyncIOScheduler, func: Any, job_id: str, seconds: float, *args: Any) -> None:
    scheduler.add_job(
        func,
        "interval",
        seconds=seconds,
        args=args,
        id=job_id,
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        jitter=max(1, int(seconds / 10)),  # spread channels so their checks do not burst together
    )


def channel_job_ids(w: Watched) -> tuple[str, str, str]:
    """Ids of a channel's jobs: gap check, poll, re-check."""
    tg_id = w.resolved.tg_id
    return f"gap-check:{tg_id}", f"poll:{tg_id}", f"recheck:{tg_id}"


def register_jobs(scheduler: AsyncIOScheduler, watcher: Watcher, *, flush_seconds: float = 2.0) -> list[str]:
    """Add the watcher's jobs (per channel: a gap check or a poll, and a re-check); returns their ids."""
    schedule = watcher.settings.schedule
    ids = []
    for w in watcher.watched.values():
        gap_id, poll_id, recheck_id = channel_job_ids(w)
        if watcher.recheck_window(w)[1] > 0:
            _interval_job(
                scheduler, recheck_job, recheck_id, schedule.recheck_minutes * 60, watcher, w.resolved.tg_id
            )
            ids.append(recheck_id)
        if w.resolved.joined:
            _interval_job(
                scheduler, gap_check_job, gap_id, schedule.gap_check_minutes * 60, watcher, w.resolved.tg_id
            )
            ids.append(gap_id)
        else:
            minutes = w.setting.poll_minutes or schedule.poll_minutes
            _interval_job(scheduler, poll_job, poll_id, minutes * 60, watcher, w.resolved.tg_id)
            ids.append(poll_id)
    _interval_job(scheduler, flush_marks_job, "flush-marks", flush_seconds, watcher)
    _interval_job(
        scheduler, refresh_names_job, "refresh-names", 6 * 3600 * (1 + random.random() / 10), watcher
    )
    ids += ["flush-marks", "refresh-names"]
    scheduler.add_listener(_log_job_error, EVENT_JOB_ERROR)
    return ids


async def health_job(monitor: HealthMonitor, on_change: Callable[[], None] | None = None) -> None:
    """Run the health checks: a failing one raises a health notice once, a recovered one clears it."""
    raised, cleared = await monitor.run_once()
    if (raised or cleared) and on_change is not None:
        on_change()  # deliver the notices now, not at the next outbox pass


def register_health_job(
    scheduler: AsyncIOScheduler,
    monitor: HealthMonitor,
    minutes: float,
    on_change: Callable[[], None] | None = None,
    *,
    first_in: float = 60.0,
) -> None:
    """Run the health checks every `minutes` (schedule.health_check_minutes), the first `first_in` s after start."""
    scheduler.add_job(
        health_job,
        "interval",
        seconds=minutes * 60,
        args=(monitor, on_change),
        id="health",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        next_run_time=datetime.now(UTC) + timedelta(seconds=first_in),
    )


def register_live_record_job(scheduler: AsyncIOScheduler, monitor: HealthMonitor, seconds: float) -> None:
    """Store the session and connection checks every `seconds` for `telewatch status` (no alerts)."""
    scheduler.add_job(
        monitor.record_live,
        "interval",
        seconds=seconds,
        id="health-live",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
    )


async def trend_job(trends: TrendWatch, on_change: Callable[[], None] | None = None) -> None:
    """Look for rule spikes and name surges; each alerts once per cooldown."""
    if await trends.run_once() and on_change is not None:
        on_change()


def register_trend_job(
    scheduler: AsyncIOScheduler,
    trends: TrendWatch,
    minutes: float,
    on_change: Callable[[], None] | None = None,
) -> None:
    """Run the trend detector every `minutes` ([trends] check_minutes), the first time after one interval
    (at most a minute): it needs no Telegram connection, so posts already stored are looked at at once."""
    first_in = min(minutes * 60, 60.0)
    scheduler.add_job(
        trend_job,
        "interval",
        seconds=minutes * 60,
        args=(trends, on_change),
        id="trends",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        next_run_time=datetime.now(UTC) + timedelta(seconds=first_in),
    )
