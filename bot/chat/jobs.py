"""Scheduler jobs of chat control (digests, mute expiry, in-place duplicate edits), and the wiring
that builds every chat-control service for bot/app/run.py."""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.alerts.dedup import CopiesLookup, DuplicateEditor
from bot.alerts.digest import DigestService
from bot.alerts.gate import AlertGate
from bot.alerts.mutes import Mutes
from bot.alerts.relevance import RelevanceService
from bot.chat.context import OnConfigChange
from bot.chat.control import ChatControl
from bot.domain.ports import AlertSink, Clock, SystemClock
from bot.domain.storage import ControlStore, Storage
from config.settings import Settings

log = logging.getLogger(__name__)

Notify = Callable[[str], Awaitable[None]]


async def digest_job(digests: DigestService, clock: Clock) -> None:
    """Send the digests that are due (and retry unfinished ones)."""
    report = await digests.run_once(clock.now())
    if report.created or report.sent or report.failed:
        log.info("digests: %d created, %d sent, %d failed", report.created, report.sent, report.failed)


async def mute_expiry_job(mutes: Mutes, clock: Clock, notify: Notify | None = None) -> None:
    """Forget ended mutes and say so in the admin chat (a mute stops applying at its end regardless)."""
    for mute in await mutes.expire(clock.now()):
        log.info("mute of %s %s ended", mute.kind, mute.label)
        if notify is not None:
            await notify(f"🔔 The mute of {mute.kind} <b>{html.escape(mute.label)}</b> has ended.")


async def duplicate_edit_job(editor: DuplicateEditor) -> None:
    """Edit sent alerts in place to list the channels that reposted the same post."""
    await editor.run_once()


@dataclass
class ChatServices:
    """Everything chat control adds to a running telewatch."""

    control: ChatControl
    gate: AlertGate  # the pipeline's
    copies: CopiesLookup  # the dispatcher's
    digests: DigestService
    editor: DuplicateEditor
    mutes: Mutes


def build_chat_services(
    store: Storage,
    settings: Callable[[], Settings],
    sinks: Mapping[str, AlertSink],
    *,
    config_path: Path | None,
    clock: Clock | None = None,
    environ: Mapping[str, str] | None = None,
    on_config_change: OnConfigChange | None = None,
    bot_username: str | None = None,
    repo: ControlStore | None = None,
    gate: AlertGate | None = None,
    copies: CopiesLookup | None = None,
    relevance: RelevanceService | None = None,
) -> ChatServices:
    """Build digests, the duplicate editor and ChatControl on one store and one set of sinks; the gate
    and copies lookup the pipeline and dispatcher use are passed in (built here when not given)."""
    clock = clock or SystemClock()
    repo = repo or store.control
    digests = DigestService(store, repo, sinks, settings)
    control = ChatControl(
        store,
        settings,
        config_path=config_path,
        clock=clock,
        environ=environ,
        on_config_change=on_config_change,
        digests=digests,
        bot_username=bot_username,
        relevance=relevance,
    )
    return ChatServices(
        control=control,
        gate=gate or AlertGate(repo, settings),
        copies=copies or CopiesLookup(store, repo),
        digests=digests,
        editor=DuplicateEditor(store, repo, sinks),
        mutes=Mutes(repo),
    )


def register_chat_jobs(
    scheduler: Any,
    services: ChatServices,
    clock: Clock,
    *,
    notify: Notify | None = None,
    digest_seconds: float = 60.0,
    edit_seconds: float = 5.0,
) -> None:
    """Add the chat-control jobs to an APScheduler 3 AsyncIOScheduler (ids are stable: re-adding replaces)."""
    common: dict[str, Any] = {"replace_existing": True, "coalesce": True, "max_instances": 1}
    scheduler.add_job(
        digest_job,
        "interval",
        seconds=digest_seconds,
        id="chat-digests",
        args=[services.digests, clock],
        **common,
    )
    scheduler.add_job(
        mute_expiry_job,
        "interval",
        seconds=60,
        id="chat-mute-expiry",
        args=[services.mutes, clock, notify],
        **common,
    )
    scheduler.add_job(
        duplicate_edit_job,
        "interval",
        seconds=edit_seconds,
        id="chat-dedup-edits",
        args=[services.editor],
        **common,
    )
