"""Maintenance services wired from settings: retention (prune), and the daily job that runs it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.app.runtime import Runtime
from bot.domain.ports import Clock, SystemClock
from bot.media.archiver import MediaArchiver
from bot.watch.watcher import Watcher
from config.settings import Settings
from storage.db import Database
from storage.retention import ChannelPolicy, PruneReport, channel_rows, policies, prune
from storage.store import Store

log = logging.getLogger(__name__)

PRUNE_JOB_ID = "retention-prune"


def retention_enabled(settings: Settings) -> bool:
    """Whether any keep period is set (otherwise posts are kept forever and nothing is scheduled)."""
    st = settings.storage
    return st.keep_days > 0 or any(days > 0 for _, days in st.keep_days_by_label)


async def plan(db: Database, settings: Settings) -> list[ChannelPolicy]:
    """Each stored channel's keep period under the current settings."""
    st = settings.storage
    return policies(await channel_rows(db), st.keep_days, dict(st.keep_days_by_label))


def media_root(settings: Settings) -> Path | None:
    """Where archived media files live."""
    return settings.media.path


def build_archiver(
    runtime: Runtime, gateway: object, watcher: Watcher, clock: Clock, stop: asyncio.Event
) -> MediaArchiver | None:
    """The media download queue of `run` (None when [media] download = false)."""
    if not runtime.settings.media.download:
        return None
    downloader = gateway if callable(getattr(gateway, "download_media", None)) else None
    return MediaArchiver(
        runtime.store.media,
        lambda: runtime.current().media,
        downloader=downloader,  # type: ignore[arg-type]
        channels=lambda: {tg_id: w.resolved for tg_id, w in watcher.watched.items()},
        clock=clock,
        stop=stop,
        on_ocr=lambda post_id, text: _ocr_matched(runtime, post_id, text),
    )


async def _ocr_matched(runtime: Runtime, post_id: int, text: str) -> None:
    """OCR text of an archived image goes through the rules like a post's text (alerts included)."""
    await runtime.pipeline.ocr_text(post_id, text)


async def prune_store(
    store: Store,
    settings: Settings,
    *,
    clock: Clock | None = None,
    dry_run: bool = False,
    include_relevant: bool = False,
    vacuum: bool = False,
    on_batch: Callable[[PruneReport], None] | None = None,
) -> tuple[PruneReport, list[ChannelPolicy]]:
    """Prune an open store by the settings' keep periods."""
    plans = await plan(store.db, settings)
    report = await prune(
        store.db,
        plans,
        now=(clock or SystemClock()).now(),
        include_relevant=include_relevant,
        dry_run=dry_run,
        vacuum=vacuum,
        media_root=media_root(settings),
        on_batch=on_batch,
    )
    return report, plans


async def run_prune(
    settings: Settings, db_path: Path, **options: object
) -> tuple[PruneReport, list[ChannelPolicy]]:
    """`telewatch db prune`: open the database, prune, close."""
    async with await Store.open(db_path) as store:
        return await prune_store(store, settings, **options)  # type: ignore[arg-type]


async def prune_job(store: Store, settings_of: Callable[[], Settings], clock: Clock) -> None:
    """The daily retention pass of `run` under the current settings (never prunes posts with alerts
    marked relevant); does nothing while no keep period is set."""
    settings = settings_of()
    if not retention_enabled(settings):
        return
    report, _ = await prune_store(store, settings, clock=clock)
    if report.posts:
        log.info(
            "retention: pruned %d posts, %d media files; %d bytes returned to the disk",
            report.posts,
            report.media_files,
            report.freed_bytes,
        )
    for problem in report.media_errors[:5]:
        log.warning("retention: media file not removed: %s", problem)


def register_prune_job(
    scheduler: AsyncIOScheduler, store: Store, settings_of: Callable[[], Settings], clock: Clock
) -> None:
    """Schedule prune_job once a day (the first a day after start); live config edits apply to it."""
    scheduler.add_job(
        prune_job,
        "interval",
        hours=24,
        args=(store, settings_of, clock),
        id=PRUNE_JOB_ID,
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        jitter=600,
    )
