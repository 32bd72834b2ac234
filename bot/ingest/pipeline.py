"""post -> store -> match -> outbox, in one transaction per batch. No Telethon, no SQL text."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from bot.alerts.gate import AlertGate, Candidate
from bot.alerts.routing import Router, dedup_key
from bot.domain.errors import StorageUnavailable
from bot.domain.models import AlertKind, AlertStatus, Channel, ChannelRef, Match, Post, StoredPost
from bot.domain.ports import Clock, Matcher, RelevanceScorer, SystemClock
from bot.domain.records import NewAlert, SaveOutcome, SaveStatus
from bot.domain.retry import Backoff
from bot.domain.storage import Storage, Transaction
from bot.ingest.matching_pool import MatcherSlot
from bot.ingest.ordering import InOrder
from config.settings import RouteSettings

log = logging.getLogger(__name__)

POOLED_BATCH = 64  # smaller batches (live posts come one by one) match in-process: no round trip

# Decides whether a new alert is sent now, held for a digest, or suppressed (mutes, quiet hours).
AlertPolicy = Callable[[Match, Channel, str], AlertStatus]


def send_now(match: Match, channel: Channel, route: str) -> AlertStatus:
    return AlertStatus.PENDING


@dataclass(slots=True)
class IngestResult:
    """Counts of one or more ingested batches."""

    new: int = 0
    edited: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    matches: int = 0
    alerts: int = 0
    superseded: int = 0  # matches a rescan found the changed rule no longer makes (kept, marked superseded)
    alerted_posts: list[int] = field(default_factory=list)

    @property
    def stored(self) -> int:
        return self.new + self.edited + self.updated + self.unchanged

    def add(self, other: IngestResult) -> None:
        self.new += other.new
        self.edited += other.edited
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.deleted += other.deleted
        self.matches += other.matches
        self.alerts += other.alerts
        self.superseded += other.superseded
        self.alerted_posts.extend(other.alerted_posts)


OCR_MARK = "[OCR] "  # marks words matched in text read from an image, not in the post's text


class Pipeline:
    """Stores posts, matches them, and enqueues alerts; one transaction per batch so a crash loses nothing."""

    def __init__(
        self,
        store: Storage,
        matcher: Matcher,
        router: Router,
        *,
        clock: Clock | None = None,
        policy: AlertPolicy = send_now,
        gate: AlertGate | None = None,
        relevance: RelevanceScorer | None = None,
        matcher_pool: MatcherSlot | None = None,
    ) -> None:
        self.store = store
        self.matcher = matcher
        self.router = router
        self.clock = clock or SystemClock()
        self.policy = policy
        # Mutes, pause, quiet hours, digests and cross-channel dedup (bot.alerts.gate), when wired.
        self.gate = gate
        # Scores each match; a route's min_score sends low scores to its digest (bot.alerts.relevance).
        self.relevance = relevance
        self.order = InOrder()
        # The matcher worker bulk imports start (bot.ingest.importer); None: always match in-process.
        self.matcher_pool = matcher_pool
        # A database server gone for a moment (PostgreSQL restarting, a network blip): the batch is
        # stored again after 0.5, 1, 2 ... 30 s; after that the error is raised (nothing was committed,
        # and the watcher fetches the posts again from the stored cursor).
        self.unavailable_retries = 10
        self.retry_base = 0.5
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    async def ingest(
        self, posts: Sequence[Post], *, kind: AlertKind = AlertKind.NEW, alert: bool = True
    ) -> IngestResult:
        """Storage a batch; match new posts and changed texts; enqueue alerts (unless `alert` is False)."""
        result = IngestResult()
        if not posts:
            return result
        ticket = self.order.ticket()  # taken before any await: commits follow the order of calls
        try:
            matched = await self._prematch(posts)
        except BaseException:
            self.order.give_up(ticket)
            raise
        async with self.order.turn(ticket):
            return await self._retrying(lambda: self._store_batch(posts, matched, kind, alert))

    async def _store_batch(
        self,
        posts: Sequence[Post],
        matched: dict[tuple[ChannelRef, int, str], list[Match]],
        kind: AlertKind,
        alert: bool,
    ) -> IngestResult:
        result = IngestResult()
        async with self.store.transaction() as tx:
            now = self.clock.now()
            outcomes = await self.store.posts.save(tx, posts, now)
            new_matches: list[tuple[int, Match]] = []
            alerts: list[Candidate] = []
            for outcome in outcomes:
                self._count(result, outcome)
                if outcome.status is SaveStatus.NEW:
                    found = matched.get(_text_key(outcome.post), [])
                    new_matches.extend((outcome.post_id, m) for m in found)
                    if alert:
                        alerts.extend(self._alerts(outcome, found, kind))
                elif outcome.status is SaveStatus.EDITED:
                    if new_matches:  # the original may be in this very batch: record its matches first
                        await self.store.matches.insert_new(tx, new_matches, now)
                        result.matches += len(new_matches)
                        new_matches = []
                    found = matched.get(_text_key(outcome.post), [])
                    result.matches += len(found)
                    fresh = await self.store.matches.replace(tx, outcome.post_id, found, now, outcome.version)
                    if alert:
                        alerts.extend(self._alerts(outcome, fresh, AlertKind.EDITED))
            if new_matches:
                await self.store.matches.insert_new(tx, new_matches, now)
                result.matches += len(new_matches)
            if alerts:
                result.alerts += await self._enqueue(tx, alerts, now)
                result.alerted_posts.extend(sorted({c.alert.post_id for c in alerts}))
            await self._advance_cursors(tx, outcomes)
        return result

    async def _retrying(self, unit: Callable[[], Awaitable[IngestResult]]) -> IngestResult:
        """Run one unit of work; when the database server is unreachable or dropped the connection (the
        unit was rolled back whole), wait with backoff and run it again, up to `unavailable_retries`."""
        backoff = Backoff(base=self.retry_base, cap=30.0)
        while True:
            try:
                return await unit()
            except StorageUnavailable as e:
                if backoff.attempt >= self.unavailable_retries:
                    raise
                delay = backoff.next()
                log.warning("%s; storing the batch again in %.1f s", e.message, delay)
                await self.sleep(delay)

    async def rescan(
        self, posts: Sequence[StoredPost], matcher: Matcher, rules: Collection[str], *, alert: bool = False
    ) -> IngestResult:
        """Re-match stored posts against `rules` (a new or changed rule): record new matches, mark the
        ones the rule no longer makes as superseded (kept as history, never deleted), and with `alert`
        enqueue alerts marked late for posts that newly match."""
        result = IngestResult()
        ticket = self.order.ticket()
        now = self.clock.now()
        async with self.order.turn(ticket), self.store.transaction() as tx:
            alerts: list[Candidate] = []
            for stored in posts:
                outcome = SaveOutcome(
                    stored.id, stored.channel, stored.post, SaveStatus.UNCHANGED, stored.version_count
                )
                found = [m for m in self._match(outcome, matcher) if m.rule in rules]
                result.matches += len(found)
                gone = set(rules) - {m.rule for m in found}
                result.superseded += await self.store.matches.supersede(tx, stored.id, sorted(gone), now)
                fresh = await self.store.matches.replace(tx, stored.id, found, now, stored.version_count)
                if alert:
                    alerts.extend(self._alerts(outcome, fresh, AlertKind.LATE))
            if alerts:
                result.alerts += await self._enqueue(tx, alerts, now)
        return result

    async def ocr_text(self, post_id: int, text: str, *, alert: bool = True) -> IngestResult:
        """Text read in one of a stored post's images: rules it matches that the post's own text did
        not are recorded (their words marked "[OCR]", with no span in the post's text) and alerted."""
        result = IngestResult()
        stored = await self.store.posts.get(post_id)
        if stored is None or not text.strip():
            return result
        handle, tags = _scope(stored.channel)
        try:
            found = self.matcher.match(text, channel=handle, tags=tags)
        except Exception:  # a matcher bug must never stop the archive
            log.exception("matching OCR text of post %d failed", post_id)
            return result
        ticket = self.order.ticket()
        async with self.order.turn(ticket), self.store.transaction() as tx:
            known = {m.rule for m in await self.store.matches.for_post(post_id)}
            fresh = [
                replace(
                    m, hits=tuple(replace(h, text=f"{OCR_MARK}{h.text}", start=-1, end=-1) for h in m.hits)
                )
                for m in found
                if m.rule not in known
            ]
            if not fresh:
                return result
            now = self.clock.now()
            await self.store.matches.insert_new(tx, [(post_id, m) for m in fresh], now)
            result.matches = len(fresh)
            if alert:
                outcome = SaveOutcome(
                    stored.id, stored.channel, stored.post, SaveStatus.UNCHANGED, stored.version_count
                )
                candidates = self._alerts(outcome, fresh, AlertKind.NEW)
                if candidates:
                    result.alerts = await self._enqueue(tx, candidates, now)
                    result.alerted_posts.append(post_id)
        return result

    async def delete(
        self, channel: ChannelRef, message_ids: Sequence[int], *, alert: bool = True
    ) -> IngestResult:
        """Mark posts deleted (kept as evidence); report the deletion of posts that had alerted."""
        ticket = self.order.ticket()
        now = self.clock.now()
        async with self.order.turn(ticket):
            return await self._retrying(lambda: self._mark_deleted(channel, message_ids, alert, now))

    async def _mark_deleted(
        self, channel: ChannelRef, message_ids: Sequence[int], alert: bool, now: datetime
    ) -> IngestResult:
        result = IngestResult()
        async with self.store.transaction() as tx:
            row = await self.store.channels.ensure(tx, channel)
            marked = await self.store.posts.mark_deleted(tx, row.id, message_ids, now)
            result.deleted = len(marked)
            alerts: list[Candidate] = []
            for post_id, message_id in marked if alert else []:
                earlier = await self.store.alerts.alerted_rules(tx, post_id)
                for rule, severity in earlier:
                    match = Match(rule=rule, severity=severity)
                    for route in self.router.routes_for(match, row):
                        new = NewAlert(
                            dedup_key=dedup_key(row, message_id, rule, AlertKind.DELETED, route.name),
                            post_id=post_id,
                            rule=rule,
                            severity=match.severity,
                            kind=AlertKind.DELETED,
                            route=route.name,
                            sink=route.sink,
                            target=route.target,
                        )
                        alerts.append(_candidate(new, match, row, route.settings, None))
            if alerts:
                result.alerts = await self._enqueue(tx, alerts, now)
        return result

    async def _enqueue(self, tx: Transaction, candidates: Sequence[Candidate], now: datetime) -> int:
        if self.gate is not None:
            return await self.gate.enqueue(self.store, tx, candidates, now)
        return await self.store.alerts.enqueue(tx, [c.alert for c in candidates], now)

    async def _prematch(self, posts: Sequence[Post]) -> dict[tuple[ChannelRef, int, str], list[Match]]:
        """Match a batch before its transaction. With a matcher pool (bulk imports), big batches match in
        another process while this one writes the previous batch."""
        channels: dict[ChannelRef, Channel] = {}
        for ref in {p.channel for p in posts}:
            known = self.store.channels.known(ref)
            if known is None:
                async with self.store.transaction() as tx:
                    known = await self.store.channels.ensure(tx, ref)
            channels[ref] = known

        matchable = [p for p in posts if p.text and not p.is_service]
        worker = self.matcher_pool.worker if self.matcher_pool is not None else None
        if worker is not None and len(matchable) >= POOLED_BATCH:
            jobs = [(p.text, *_scope(channels[p.channel])) for p in matchable]
            try:
                results = await worker.match(jobs)
                return {_text_key(p): found for p, found in zip(matchable, results, strict=True)}
            except Exception:  # a broken worker must not stop an import: match here instead
                log.exception("matcher worker failed; matching in-process")
                if self.matcher_pool is not None:
                    self.matcher_pool.discard()
        return {_text_key(p): self._match_post(p, channels[p.channel]) for p in matchable}

    def _match(self, outcome: SaveOutcome, matcher: Matcher | None = None) -> list[Match]:
        return self._match_post(outcome.post, outcome.channel, matcher)

    def _match_post(self, post: Post, channel: Channel, matcher: Matcher | None = None) -> list[Match]:
        if not post.text or post.is_service:
            return []
        handle, tags = _scope(channel)
        try:
            return (matcher or self.matcher).match(post.text, channel=handle, tags=tags)
        except Exception:  # a matcher bug must never lose the post: it is stored, just unmatched
            log.exception("matching failed for %s/%s", channel.display, post.message_id)
            return []

    def _alerts(self, outcome: SaveOutcome, matches: Sequence[Match], kind: AlertKind) -> list[Candidate]:
        alerts: list[Candidate] = []
        for match in matches:
            routes = self.router.routes_for(match, outcome.channel)
            score = self._score(match.rule, outcome.post.text) if routes else None
            for route in routes:
                status = self.policy(match, outcome.channel, route.name)
                demoted = score is not None and score < route.settings.min_score
                if demoted and status is AlertStatus.PENDING:
                    status = AlertStatus.HELD  # probably not relevant: the route's digest, never dropped
                new = NewAlert(
                    dedup_key=dedup_key(
                        outcome.channel, outcome.post.message_id, match.rule, kind, route.name
                    ),
                    post_id=outcome.post_id,
                    rule=match.rule,
                    severity=match.severity,
                    kind=kind,
                    route=route.name,
                    sink=route.sink,
                    target=route.target,
                    status=status,
                    group_key=outcome.post.forward.key if outcome.post.forward else None,
                    score=score,
                    demoted=demoted,
                )
                alerts.append(_candidate(new, match, outcome.channel, route.settings, outcome.post))
        return alerts

    def _score(self, rule: str, text: str) -> float | None:
        if self.relevance is None or not text:
            return None
        try:
            return self.relevance.score_value(rule, text)
        except Exception:  # a scoring bug must never lose an alert: it is sent unscored
            log.exception("relevance scoring failed for rule %s", rule)
            return None

    async def _advance_cursors(self, tx: Transaction, outcomes: Sequence[SaveOutcome]) -> None:
        newest: dict[int, SaveOutcome] = {}
        for o in outcomes:
            best = newest.get(o.channel.id)
            if best is None or o.post.message_id > best.post.message_id:
                newest[o.channel.id] = o
        await self.store.cursors.advance_many(
            tx, [(channel_id, o.post.message_id, o.post.date) for channel_id, o in newest.items()]
        )

    @staticmethod
    def _count(result: IngestResult, outcome: SaveOutcome) -> None:
        if outcome.status is SaveStatus.NEW:
            result.new += 1
        elif outcome.status is SaveStatus.EDITED:
            result.edited += 1
        elif outcome.status is SaveStatus.UPDATED:
            result.updated += 1
        else:
            result.unchanged += 1


def _scope(channel: Channel) -> tuple[str | None, tuple[str, ...]]:
    """What a rule's channel scope is checked against: the handle (username, else id) and the labels."""
    handle = channel.username or (str(channel.tg_id) if channel.tg_id is not None else None)
    return handle, (*channel.tags, channel.label) if channel.label else channel.tags


def _text_key(post: Post) -> tuple[ChannelRef, int, str]:
    """Identifies one text of one post within a batch (an original and its edit differ by text)."""
    return (post.channel, post.message_id, post.text)


def _candidate(
    alert: NewAlert, match: Match, channel: Channel, route: RouteSettings, post: Post | None
) -> Candidate:
    return Candidate(alert=alert, match=match, channel=channel, route=route, post=post)
