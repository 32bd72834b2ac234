"""The alert gate: decides, inside the pipeline's transaction, whether each new alert is sent now,
held for a digest (pause, quiet hours, info-level digest routes), suppressed by a mute, or merged
into the alert of an earlier copy of the same post from another channel."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import aiosqlite

from bot.dedup import near_identical, normalize, origin_key
from bot.digest import in_quiet_hours
from bot.models import AlertKind, AlertStatus, Channel, Match, Post, Severity
from bot.mutes import muted_by
from config.settings import RouteSettings, Settings
from storage.alerts import NewAlert
from storage.control import ControlRepository, Mute
from storage.store import Store

DEDUP_KINDS = (AlertKind.NEW, AlertKind.LATE, AlertKind.EDITED)


@dataclass(frozen=True, slots=True)
class Candidate:
    """An alert the pipeline wants to enqueue, with what the gate needs to judge it."""

    alert: NewAlert
    match: Match
    channel: Channel
    route: RouteSettings
    post: Post | None = None  # None for deletion notices


class AlertGate:
    """Mutes, pause, quiet hours, digests and cross-channel deduplication, applied at enqueue time."""

    def __init__(self, repo: ControlRepository, settings: Callable[[], Settings]) -> None:
        self.repo = repo
        self.settings = settings

    async def enqueue(
        self, store: Store, tx: aiosqlite.Connection, candidates: Sequence[Candidate], now: datetime
    ) -> int:
        """Judge and enqueue a batch's alerts in the caller's transaction; returns how many were new."""
        settings = self.settings()
        batch = _Batch(
            mutes=await self.repo.active_mutes(now, tx),
            paused=await self.repo.paused_in(tx),
            since=now - timedelta(minutes=settings.schedule.dedup_window_minutes),
            zone=ZoneInfo(settings.timezone),
        )
        decided = [await self._decide(tx, c, batch, now) for c in candidates]
        count = await store.alerts.enqueue(tx, decided, now)
        if batch.merges:
            await self.repo.set_merged(tx, batch.merges)
            for primary in dict.fromkeys(p for _, p in batch.merges):
                await self.repo.request_edit(tx, primary, now)
        return count

    async def _decide(self, tx: aiosqlite.Connection, c: Candidate, batch: _Batch, now: datetime) -> NewAlert:
        alert = c.alert
        if muted_by(batch.mutes, alert.rule, c.channel) is not None:
            return replace(alert, status=AlertStatus.SUPPRESSED)
        if c.post is not None and alert.kind in DEDUP_KINDS:
            group = await self._group(tx, c, c.post, batch, now)
            alert = replace(alert, group_key=group)
            slot = (group, alert.route)
            first = batch.primaries.get(slot)
            if first is not None and first[1] != alert.post_id:
                primary: str | None = first[0]
            else:
                primary = await self.repo.group_primary(tx, group, alert.route, alert.post_id, batch.since)
            if primary is not None:
                batch.merges.append((alert.dedup_key, primary))
                return replace(alert, status=AlertStatus.SUPPRESSED)
            batch.primaries.setdefault(slot, (alert.dedup_key, alert.post_id))
        if alert.status is not AlertStatus.PENDING:
            return alert  # an earlier policy already decided
        return replace(alert, status=self._timing(alert.severity, c.route, batch, now))

    @staticmethod
    def _timing(severity: Severity, route: RouteSettings, batch: _Batch, now: datetime) -> AlertStatus:
        if batch.paused:
            return AlertStatus.HELD
        if (
            route.quiet_hours
            and severity < Severity.CRITICAL
            and in_quiet_hours(now, route.quiet_hours, batch.zone)
        ):
            return AlertStatus.HELD
        if route.digest and severity <= Severity.INFO:
            return AlertStatus.HELD
        return AlertStatus.PENDING

    async def _group(
        self, tx: aiosqlite.Connection, c: Candidate, post: Post, batch: _Batch, now: datetime
    ) -> str:
        """The duplicate group of a post: its forward origin, or an earlier near-identical post's group."""
        post_id = c.alert.post_id
        if post_id in batch.groups:
            return batch.groups[post_id]
        known = await self.repo.known_group(tx, post_id)
        if known is not None:
            batch.groups[post_id] = known
            return known
        group = origin_key(post, c.channel, post_id)
        norm = normalize(post.text)
        if post.forward is None and norm:
            for earlier in await self.repo.recent_texts(tx, batch.since, c.channel.id):
                if near_identical(norm, earlier.norm):
                    group = earlier.group_key
                    break
        await self.repo.remember_text(tx, post_id, c.channel.id, group, norm, now)
        batch.groups[post_id] = group
        return group


@dataclass
class _Batch:
    """What the gate looks up once per batch, and what it learns while judging it."""

    mutes: list[Mute]
    paused: bool
    since: datetime
    zone: ZoneInfo
    groups: dict[int, str] = field(default_factory=dict)  # post id -> duplicate group
    primaries: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)  # (group, route) -> first
    merges: list[tuple[str, str]] = field(default_factory=list)  # (copy key, primary key)
