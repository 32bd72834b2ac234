"""The alert gate: decides, inside the pipeline's transaction, whether each new alert is sent now,
held for a digest (pause, quiet hours, info-level digest routes), suppressed by a mute, or merged
into the alert of an earlier copy of the same post from another channel."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.alerts.dedup import normalize, origin_key
from bot.alerts.digest import in_quiet_hours
from bot.alerts.fingerprint import MAX_TEXTS_PER_KEY, Fingerprint, fingerprint
from bot.alerts.mutes import muted_by
from bot.domain.models import AlertKind, AlertStatus, Channel, Match, Post, Severity
from bot.domain.records import Mute, NewAlert, RecentText, RememberedText
from bot.domain.storage import ControlStore, Storage, Transaction
from config.settings import RouteSettings, Settings

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

    def __init__(self, repo: ControlStore, settings: Callable[[], Settings]) -> None:
        self.repo = repo
        self.settings = settings
        self._indexed_since: datetime | None = None  # texts since then all have fingerprints
        self._pruned_at: datetime | None = None

    async def enqueue(
        self, store: Storage, tx: Transaction, candidates: Sequence[Candidate], now: datetime
    ) -> int:
        """Judge and enqueue a batch's alerts in the caller's transaction; returns how many were new."""
        settings = self.settings()
        batch = _Batch(
            mutes=await self.repo.active_mutes(now, tx),
            paused=await self.repo.paused_in(tx),
            since=now - timedelta(minutes=settings.schedule.dedup_window_minutes),
            zone=ZoneInfo(settings.timezone),
        )
        await self._maintain_index(tx, batch.since, now)
        await self._group_all(tx, candidates, batch, now)
        decided = [self._decide(c, batch, now) for c in candidates]
        count = await store.alerts.enqueue(tx, decided, now)
        if batch.merges:
            await self.repo.set_merged(tx, batch.merges)
            for primary in dict.fromkeys(p for _, p in batch.merges):
                await self.repo.request_edit(tx, primary, now)
        return count

    def _decide(self, c: Candidate, batch: _Batch, now: datetime) -> NewAlert:
        alert = c.alert
        if muted_by(batch.mutes, alert.rule, c.channel) is not None:
            return replace(alert, status=AlertStatus.SUPPRESSED)
        if c.post is not None and alert.kind in DEDUP_KINDS:
            group = batch.groups[alert.post_id]
            alert = replace(alert, group_key=group)
            slot = (group, alert.route)
            first = batch.primaries.get(slot)
            if first is not None and first[1] != alert.post_id:
                primary: str | None = first[0]
            else:
                primary = next((k for p, k in batch.earlier.get(slot, ()) if p != alert.post_id), None)
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

    async def _group_all(
        self, tx: Transaction, candidates: Sequence[Candidate], batch: _Batch, now: datetime
    ) -> None:
        """The duplicate group of every post of the batch that takes part in deduplication: its forward
        origin, or the group of the newest near-identical text from another channel in the window.

        A few queries per batch, whatever its size: known groups, index look-ups, inserts, primaries."""
        posts: dict[int, Candidate] = {}
        for c in candidates:
            muted = muted_by(batch.mutes, c.alert.rule, c.channel) is not None
            if c.post is not None and c.alert.kind in DEDUP_KINDS and not muted:
                posts.setdefault(c.alert.post_id, c)
        if not posts:
            return
        batch.groups.update(await self.repo.known_groups(tx, list(posts)))
        fresh = [(pid, c) for pid, c in posts.items() if pid not in batch.groups]
        prints = {pid: fingerprint(normalize(c.post.text if c.post else "")) for pid, c in fresh}
        wanted = sorted({k for pid, c in fresh if c.post and not c.post.forward for k in prints[pid].keys})
        index: dict[int, list[RecentText]] = {}
        for key, text in await self.repo.indexed_texts(
            tx, wanted, batch.since, sorted({c.channel.id for _, c in fresh}), MAX_TEXTS_PER_KEY
        ):
            index.setdefault(key, []).append(text)
        remembered: list[RememberedText] = []
        for order, (pid, c) in enumerate(fresh):
            assert c.post is not None
            fp = prints[pid]
            group = origin_key(c.post, c.channel, pid)
            if c.post.forward is None and fp.norm:
                group = _nearest_group(fp, c.channel.id, fp.keys, index) or group
            batch.groups[pid] = group
            remembered.append(RememberedText(pid, c.channel.id, group, fp.norm, fp.shingle_blob(), fp.keys))
            # later posts of this batch see this one first: newest, like a text remembered just now
            mine = RecentText(pid, c.channel.id, group, fp.norm, fp.shingle_blob(), order=order + 1)
            for key in fp.keys:  # (candidates are sorted newest first by `order`)
                index.setdefault(key, []).append(mine)
        await self.repo.remember_texts(tx, remembered, now)
        groups = sorted(set(batch.groups.values()))
        batch.earlier = await self.repo.group_primaries(tx, groups, batch.since)

    async def _maintain_index(self, tx: Transaction, since: datetime, now: datetime) -> None:
        """Fingerprint texts remembered before fingerprints existed (once per window start), and drop
        the index entries of texts that left the window (at most once per window length)."""
        if self._indexed_since is None or since < self._indexed_since:
            for post_id, norm in await self.repo.unindexed_texts(tx, since):
                fp = fingerprint(norm)
                await self.repo.index_text(tx, post_id, fp.shingle_blob(), fp.keys)
            self._indexed_since = since
        if self._pruned_at is None or now - self._pruned_at >= now - since:
            await self.repo.prune_index(tx, since)
            self._pruned_at = now


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
    # (group, route) -> (post id, dedup key) of live alerts stored before this batch, oldest first
    earlier: dict[tuple[str, str], list[tuple[int, str]]] = field(default_factory=dict)


def _nearest_group(
    fp: Fingerprint, channel_id: int, keys: Sequence[int], index: dict[int, list[RecentText]]
) -> str | None:
    """The group of the newest text from another channel that is near-identical to `fp`."""
    seen: set[int] = set()
    found: list[RecentText] = []
    for key in keys:
        texts = index.get(key, ())
        if len(texts) > MAX_TEXTS_PER_KEY:
            continue  # held by too many texts of the window (with this batch's): a stop word
        for text in texts:
            if text.post_id not in seen and text.channel_id != channel_id:
                seen.add(text.post_id)
                found.append(text)
    found.sort(key=lambda t: (t.order, t.seen_at, t.post_id), reverse=True)
    for text in found:
        if fp.near(text.norm, text.shingles):
            return text.group_key
    return None
