"""The storage port: a unit of work (transaction handle) and one Protocol per repository.

storage/ holds the SQLite implementation (a PostgreSQL one plugs in beside it); nothing outside storage/
sees a driver or SQL. Methods that take a `Transaction` write inside the caller's unit of work
(`async with storage.transaction() as tx:`), so a batch of posts, matches and alerts is committed
together or not at all. tests/storage/contract/ states the behaviour every implementation must have.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Protocol

from bot.domain.media import MediaStore
from bot.domain.models import (
    Alert,
    AlertStatus,
    Channel,
    ChannelRef,
    Match,
    Post,
    PostVersion,
    Severity,
    StoredPost,
)
from bot.domain.ports import ResolvedChannel
from bot.domain.records import (
    AlbumRow,
    AlertFilter,
    AlertInfo,
    CachedChannel,
    ChannelActivity,
    ChannelOverview,
    Condition,
    Cursor,
    Digest,
    HeldRoute,
    LeaseGrant,
    LeaseInfo,
    Mark,
    MarkCounts,
    Mute,
    NewAlert,
    NewNotice,
    Notice,
    Pause,
    RecentText,
    RememberedText,
    RulePrecision,
    SaveOutcome,
    ScoredPrecision,
    SearchFilter,
    StoredModel,
    TrendPost,
    UndeliveredGroup,
    WatcherBeat,
    WatcherInfo,
    WindowRow,
)


class Transaction(Protocol):
    """An open unit of work, opaque to callers: pass it on to the repository methods that take one."""


class ChannelStore(Protocol):
    """Channel rows: references resolved to one row per channel, labels and tags."""

    def known(self, ref: ChannelRef) -> Channel | None:
        """The cached row for `ref` when it already agrees with everything `ref` says (no I/O)."""
        ...

    async def ensure(self, tx: Transaction, ref: ChannelRef) -> Channel:
        """The row for `ref`, created if new; fills in a missing id/username/title; records renames."""
        ...

    async def set_label(
        self, tx: Transaction, channel_id: int, label: str | None, tags: Sequence[str]
    ) -> None: ...

    async def get(self, channel_id: int) -> Channel | None: ...

    async def find(self, handle: str) -> Channel | None:
        """A channel by @username, username, t.me link or numeric id; None when unknown."""
        ...

    async def all(self) -> list[Channel]: ...

    async def with_label(self, label: str) -> list[Channel]: ...


class PostStore(Protocol):
    """Posts with their versions and deletion marks; search and reads."""

    async def save(self, tx: Transaction, posts: Sequence[Post], captured_at: datetime) -> list[SaveOutcome]:
        """Store a batch idempotently: new posts inserted, text edits versioned, repeats left alone."""
        ...

    async def mark_deleted(
        self, tx: Transaction, channel_id: int, message_ids: Sequence[int], at: datetime
    ) -> list[tuple[int, int]]:
        """Mark posts deleted (never erase them); returns (post id, message id) of posts newly marked."""
        ...

    async def get(self, post_id: int) -> StoredPost | None: ...

    async def get_many(self, post_ids: Collection[int]) -> dict[int, StoredPost]:
        """The posts of these ids that exist, by id (one look-up for a batch)."""
        ...

    async def get_by_message(self, channel_id: int, message_id: int) -> StoredPost | None: ...

    async def versions(self, post_id: int) -> list[PostVersion]:
        """Every text the post has had, oldest first; the last one is the current text."""
        ...

    async def search(
        self, query: str, where: SearchFilter = SearchFilter(), limit: int = 20
    ) -> list[StoredPost]:
        """Full-text search (FTS5 syntax: words, "phrases", prefix*, OR, NOT), newest first."""
        ...

    async def recent(self, where: SearchFilter = SearchFilter(), limit: int = 20) -> list[StoredPost]: ...

    def iterate(self, where: SearchFilter = SearchFilter(), batch: int = 2000) -> AsyncIterator[StoredPost]:
        """Every post matching `where`, oldest first, read in batches (for re-scans)."""
        ...

    async def count(self) -> int: ...

    async def max_message_id(self, channel_id: int) -> int: ...


class MatchStore(Protocol):
    """Which rules matched which post version."""

    async def insert_new(
        self, tx: Transaction, rows: Sequence[tuple[int, Match]], at: datetime, version: int = 1
    ) -> None:
        """Matches of freshly inserted posts (no earlier matches can exist): one executemany."""
        ...

    async def replace(
        self, tx: Transaction, post_id: int, matches: Sequence[Match], at: datetime, version: int
    ) -> list[Match]:
        """Record the matches of a post's new version; returns the rules that did not match before."""
        ...

    async def supersede(self, tx: Transaction, post_id: int, rules: Sequence[str], at: datetime) -> int:
        """Mark the matches of `rules` that a post no longer makes (a changed rule) as superseded, keeping"""
        ...

    async def superseded(self, post_id: int) -> list[tuple[Match, datetime]]:
        """A post's matches that a later version of their rule no longer makes, with when that was found."""
        ...

    async def for_post(self, post_id: int) -> list[Match]: ...

    async def get(self, post_id: int, rule: str) -> Match | None: ...

    async def get_many(self, keys: Collection[tuple[int, str]]) -> dict[tuple[int, str], Match]:
        """`get` for several (post id, rule) pairs; pairs without a match are left out."""
        ...

    async def count(self, rule: str | None = None) -> int: ...


class AlertStore(Protocol):
    """The alert outbox: enqueue once, deliver, retry, review."""

    async def enqueue(self, tx: Transaction, alerts: Sequence[NewAlert], at: datetime) -> int:
        """Insert alerts, ignoring any whose dedup key exists already; returns how many were new."""
        ...

    async def alerted_rules(self, tx: Transaction, post_id: int) -> list[tuple[str, Severity]]:
        """The rules that raised a (non-deletion) alert for a post."""
        ...

    async def due(
        self,
        now: datetime,
        limit: int = 100,
        *,
        sinks: Collection[str] | None = None,
        claimer: str | None = None,
    ) -> list[Alert]:
        """Pending alerts whose next try has come and that nobody but `claimer` holds a live claim on,
        oldest first; only for `sinks` when given (the others"""
        ...

    async def drop_orphan_followups(self) -> int:
        """Deletion reports whose original alert will never be delivered (failed, muted, merged, or sent"""
        ...

    async def mark_waiting(
        self, alert_ids: Sequence[int], reason: str, next_try: datetime | None = None
    ) -> None:
        """Keep alerts pending, saying what they wait for (a chat to become reachable, a mode with their"""
        ...

    async def note_waiting_for_sink(self, sink: str, reason: str) -> int:
        """Say why pending alerts of a sink that this mode does not have were not tried; returns how many."""
        ...

    async def wake(self, targets: Collection[str], now: datetime) -> int:
        """Alerts waiting for one of these chats are due now (the chat just showed it is reachable)."""
        ...

    async def pending_sinks(self) -> list[str]: ...

    async def max_id(self) -> int: ...

    async def undelivered(self, after_id: int = 0, *, all_pending: bool = False) -> list[UndeliveredGroup]:
        """Alerts not delivered, grouped by route, state and reason: those created after `after_id`"""
        ...

    async def target(self, alert_id: int) -> str | None: ...

    async def targets(self, alert_ids: Sequence[int]) -> dict[int, str | None]:
        """The chat target of each alert, by id."""
        ...

    async def mark_sent(
        self, alert_ids: Sequence[int], at: datetime, message_id: int | None = None
    ) -> None: ...

    async def mark_sent_many(self, sent: Sequence[tuple[Sequence[int], datetime, int | None]]) -> None:
        """`mark_sent` for several messages (alert ids, when sent, message id), in one unit of work."""
        ...

    async def mark_retry(
        self, alert_ids: Sequence[int], next_try: datetime, error: str, *, count: bool = True
    ) -> None:
        """Schedule another try; a flood wait (`count=False`) does not use up an attempt."""
        ...

    async def mark_failed(self, alert_ids: Sequence[int], error: str) -> None: ...

    async def set_status(self, alert_ids: Sequence[int], status: AlertStatus) -> None: ...

    async def review(self, alert_id: int, mark: str, by: str, at: datetime) -> bool:
        """Store a reviewer's mark (relevant / false_positive); False when the alert does not exist."""
        ...

    async def get(self, alert_id: int) -> Alert | None: ...

    async def for_post(self, post_id: int) -> list[Alert]: ...

    async def listing(self, where: AlertFilter = AlertFilter(), limit: int = 50) -> list[dict[str, Any]]:
        """Alerts newest first, joined with their post and channel, as plain rows for listings."""
        ...

    async def counts(self) -> dict[str, int]: ...

    async def precision_by_rule(self) -> list[RulePrecision]: ...

    async def claim(
        self, alert_ids: Sequence[int], claimer: str, now: datetime, until: datetime
    ) -> list[int]:
        """Claim pending alerts for delivery by `claimer` until `until`, atomically across processes;
        returns the ids claimed (those nobody else holds a live claim on). Marking an alert sent,
        retried, waiting or failed ends its claim; `due` leaves out alerts under a live claim."""
        ...

    async def release_claims(self, claimer: str) -> int:
        """End every claim of `claimer` (a clean stop): its alerts and notices are due for the others."""
        ...

    async def reserve_send(self, sink: str, target: str | None, interval: float, now: datetime) -> datetime:
        """Book the next message to a chat `interval` seconds after the one before, across processes;
        returns when this one may be sent (now, or later)."""
        ...


class CursorStore(Protocol):
    """Per-channel read positions and check times."""

    async def get(self, channel_id: int) -> Cursor: ...

    async def advance(
        self, tx: Transaction, channel_id: int, message_id: int, post_date: datetime | None
    ) -> None: ...

    async def advance_many(self, tx: Transaction, marks: Sequence[tuple[int, int, datetime | None]]) -> None:
        """`advance` for several (channel id, newest message id, its date) at once."""
        ...

    async def checked(self, channel_id: int, at: datetime, error: str | None = None) -> None:
        """Record a check of the channel (a gap check, a poll); an error increments the error count."""
        ...

    async def all(self) -> list[Cursor]: ...


class MuteStore(Protocol):
    """Mutes of rules and channels, and the delivery pause."""

    async def add_mute(
        self, kind: str, value: str, label: str, until: datetime, by: str | None, at: datetime
    ) -> None:
        """Mute (or re-mute, replacing the end time) a rule or channel."""
        ...

    async def remove_mute(self, kind: str, value: str) -> bool: ...

    async def active_mutes(self, now: datetime, tx: Transaction | None = None) -> list[Mute]:
        """Mutes still in force at `now` (read inside `tx` when given)."""
        ...

    async def expire_mutes(self, now: datetime) -> list[Mute]:
        """Delete mutes that ended at or before `now`; returns them."""
        ...

    async def paused(self) -> Pause | None: ...

    async def paused_in(self, tx: Transaction) -> bool: ...

    async def set_paused(self, by: str, at: datetime) -> None: ...

    async def clear_paused(self) -> bool: ...


class DedupStore(Protocol):
    """Remembered texts and their fingerprint index, duplicate groups, in-place edit requests."""

    async def remember_texts(self, tx: Transaction, texts: Sequence[RememberedText], at: datetime) -> None:
        """Remember the texts, shingle hashes and index keys (bot.alerts.fingerprint) of alerted posts not"""
        ...

    async def known_groups(self, tx: Transaction, post_ids: Sequence[int]) -> dict[int, str]:
        """The duplicate groups of the posts already remembered, by post id."""
        ...

    async def indexed_texts(
        self,
        tx: Transaction,
        keys: Sequence[int],
        since: datetime,
        channels: Sequence[int],
        max_per_key: int,
    ) -> list[tuple[int, RecentText]]:
        """(index key, text) for every text remembered since `since` under one of `keys`, from a channel"""
        ...

    async def unindexed_texts(self, tx: Transaction, since: datetime) -> list[tuple[int, str]]:
        """(post id, norm) of texts remembered since `since` without a fingerprint (older databases)."""
        ...

    async def index_text(self, tx: Transaction, post_id: int, shingles: bytes, keys: Sequence[int]) -> None:
        """Store the fingerprint of a text remembered before fingerprints existed."""
        ...

    async def prune_index(self, tx: Transaction, before: datetime) -> int:
        """Drop the index keys and shingles of texts remembered before `before`; returns texts dropped."""
        ...

    async def group_primaries(
        self, tx: Transaction, group_keys: Sequence[str], since: datetime
    ) -> dict[tuple[str, str], list[tuple[int, str]]]:
        """Per (group, route): (post id, dedup key) of the live alerts of the group created since"""
        ...

    async def set_merged(self, tx: Transaction, pairs: Sequence[tuple[str, str]]) -> None:
        """Record (copy dedup key, primary dedup key) merges."""
        ...

    async def request_edit(self, tx: Transaction, dedup_key: str, at: datetime) -> None: ...

    async def edit_requests(self) -> list[tuple[str, int]]: ...

    async def drop_edit(self, dedup_key: str) -> None: ...

    async def bump_edit(self, dedup_key: str) -> None: ...

    async def copies(self, primary_key: str) -> list[int]:
        """Post ids merged into the alert with this dedup key, in arrival order."""
        ...

    async def copies_many(self, primary_keys: Collection[str]) -> dict[str, list[int]]:
        """`copies` for several dedup keys; keys without copies are left out."""
        ...


class ReviewStore(Protocol):
    """Alerts with chat-control details, and review marks."""

    async def alert_info(self, alert_id: int) -> AlertInfo | None: ...

    async def alert_info_by_key(self, dedup_key: str) -> AlertInfo | None: ...

    async def message_group(self, alert: AlertInfo) -> list[AlertInfo]:
        """The alerts one message carries: same post, kind and route, not merged elsewhere."""
        ...

    async def review_many(self, alert_ids: Sequence[int], mark: str, by: str, at: datetime) -> None: ...


class DigestStore(Protocol):
    """Alerts held for digests, and the digests sent of them."""

    async def held_routes(self) -> list[HeldRoute]:
        """Routes with alerts waiting for a digest."""
        ...

    async def create_digest(self, route: str, sink: str, target: str | None, at: datetime) -> int | None:
        """Gather a route's held alerts into a new digest; None when there were none."""
        ...

    async def due_digests(self, now: datetime) -> list[Digest]: ...

    async def digest(self, digest_id: int) -> Digest | None: ...

    async def digest_alerts(self, digest_id: int) -> list[Alert]: ...

    async def digest_part_sent(self, digest_id: int, parts_sent: int) -> None: ...

    async def finish_digest(self, digest_id: int, at: datetime) -> None:
        """Mark a digest and every alert in it sent."""
        ...

    async def retry_digest(self, digest_id: int, next_try: datetime, error: str, *, count: bool) -> int:
        """Schedule another try; returns the attempts made so far."""
        ...

    async def fail_digest(self, digest_id: int, error: str) -> None: ...


class OverviewStore(Protocol):
    """Read-only counts for overviews."""

    async def channel_overview(self, since: datetime) -> dict[int, ChannelOverview]:
        """Per channel row id: watch state, newest post time, posts since `since`."""
        ...

    async def channel_by_reference(self, reference_key: str) -> int | None: ...

    async def count_posts_since(self, since: datetime) -> int: ...

    async def count_alerts_since(self, since: datetime) -> int: ...


class WatchStateStore(Protocol):
    """What the watcher remembers between runs: resolutions, safe marks, statuses."""

    async def cached(self, reference_key: str, watcher: str | None = None) -> CachedChannel | None:
        """The resolution cached for a canonical reference key (ParsedRef.key). With `watcher` (several
        watchers, each its own account): that watcher's access hash and joined flag, or None when only
        other watchers resolved the channel (access hashes belong to an account)."""
        ...

    async def by_tg_id(self, tg_id: int) -> CachedChannel | None: ...

    async def remember(
        self,
        reference_key: str | None,
        resolved: ResolvedChannel,
        state: str,
        at: datetime,
        watcher: str | None = None,
    ) -> tuple[int, str | None]:
        """Store a resolution (also as `watcher`'s own, when given); returns (channel row id, previous
        username if the channel was renamed)."""
        ...

    async def set_state(self, channel_id: int, state: str) -> None: ...

    async def states(self) -> dict[int, str]: ...

    async def safe_marks(self) -> dict[int, int]:
        """Per channel row id: the id up to which history is known to be complete."""
        ...

    async def save_safe_marks(self, marks: Mapping[int, int]) -> None:
        """Persist several marks in one transaction; a mark never moves backwards."""
        ...

    async def max_stored_id(self, channel_id: int, excluding: set[int]) -> int:
        """The newest stored message id of a channel, leaving out `excluding` (posts stored live)."""
        ...

    async def window(self, channel_id: int, low: int, high: int) -> list[WindowRow]:
        """Stored posts of a channel with low <= message_id <= high (a re-check's window)."""
        ...

    async def album(self, tg_id: int, grouped_id: int) -> AlbumRow | None:
        """The stored post that album `grouped_id` of channel `tg_id` was merged into."""
        ...

    async def put_status(self, key: str, value: Mapping[str, Any]) -> None: ...

    async def status(self, key: str) -> dict[str, Any] | None: ...


class RelevanceStore(Protocol):
    """Review marks as training data (the alerts' review columns) and the models learnt from them."""

    async def marks(self, rule: str) -> list[Mark]:
        """Every reviewed post of a rule with its text and newest mark."""
        ...

    async def mark_counts(self) -> dict[str, MarkCounts]: ...

    async def save_model(
        self, rule: str, model: str, relevant: int, false_positive: int, marks_seen: int, at: datetime
    ) -> None: ...

    async def models(self, rules: Sequence[str] | None = None) -> list[StoredModel]: ...

    async def forget(self, rules: Sequence[str] | None = None) -> int:
        """Delete learnt models (all, or those of `rules`); the marks stay. Returns how many."""
        ...

    async def precision(self) -> dict[str, ScoredPrecision]:
        """Per rule: precision of all reviewed alerts, and of those sent at once (not demoted)."""
        ...


class NoticeStore(Protocol):
    """Notices in the outbox (health conditions, rule spikes, name surges) and the conditions raised."""

    async def enqueue(self, tx: Transaction, notices: Sequence[NewNotice], at: datetime) -> int:
        """Insert notices, ignoring any whose dedup key exists already; returns how many were new."""
        ...

    async def due(
        self,
        now: datetime,
        limit: int = 100,
        *,
        sinks: Collection[str] | None = None,
        claimer: str | None = None,
    ) -> list[Notice]:
        """Pending notices due now that nobody but `claimer` holds a live claim on, oldest first."""
        ...

    async def mark_sent(self, notice_id: int, at: datetime) -> None: ...

    async def mark_retry(
        self, notice_id: int, next_try: datetime, error: str, *, count: bool = True, waiting: bool = False
    ) -> None: ...

    async def mark_failed(self, notice_id: int, error: str) -> None: ...

    async def claim(self, notice_id: int, claimer: str, now: datetime, until: datetime) -> bool:
        """Claim a pending notice for delivery (see AlertStore.claim); False when another holds it."""
        ...

    async def recent(self, limit: int = 50) -> list[Notice]: ...

    async def counts(self) -> dict[str, int]: ...

    async def conditions(self) -> dict[str, Condition]: ...

    async def raise_condition(self, tx: Transaction, condition: Condition) -> None: ...

    async def clear_condition(self, tx: Transaction, key: str) -> None: ...

    async def activity(self, since: datetime) -> dict[int, ChannelActivity]:
        """Per channel: its newest post time and the gaps between its posts since `since`."""
        ...

    async def stale_pending(self, before: datetime) -> tuple[int, datetime | None]:
        """Alerts and notices still pending that were created before `before`: how many, the oldest."""
        ...

    async def trend_posts(
        self, after_id: int, since: datetime, limit: int = 2000, until: datetime | None = None
    ) -> list[TrendPost]:
        """Posts with id > `after_id` dated `since` or later (and not after `until`), by id, with their rules."""
        ...

    async def rule_counts(self, since: datetime, until: datetime, bucket: int) -> list[tuple[str, int, int]]:
        """(rule, bucket number, matches) of posts dated in [since, until), buckets of `bucket` seconds."""
        ...


class LeaseStore(Protocol):
    """Several watchers on one database: each channel held by one watcher at a time through a lease."""

    async def sync(
        self, me: WatcherBeat, candidates: Sequence[int], now: datetime, lease_seconds: float
    ) -> LeaseGrant:
        """One renewal, atomic across processes: record `me` as alive, renew the leases it holds on
        `candidates` (channel row ids it can see), claim unowned or expired ones up to its fair share
        and capacity, and name held channels it should hand over to a watcher with room."""
        ...

    async def release(self, watcher: str, channel_ids: Sequence[int] | None, now: datetime) -> int:
        """Give up leases (all of the watcher's when `channel_ids` is None); returns how many."""
        ...

    async def stop(self, watcher: str, now: datetime) -> None:
        """A clean stop: every lease and leadership released, the watcher marked stopped."""
        ...

    async def lead(self, role: str, watcher: str, now: datetime, lease_seconds: float) -> bool:
        """Take or renew the lease of a job only one watcher runs; True when `watcher` holds it."""
        ...

    async def watchers(self) -> list[WatcherInfo]: ...

    async def leases(self) -> list[LeaseInfo]: ...


class ControlStore(MuteStore, DedupStore, ReviewStore, DigestStore, OverviewStore, Protocol):
    """Every chat-control store at once (for the parts that use several)."""


class Storage(Protocol):
    """Everything persistent: the repositories, a unit of work, and small settings kept in the database."""

    @property
    def channels(self) -> ChannelStore: ...
    @property
    def posts(self) -> PostStore: ...
    @property
    def matches(self) -> MatchStore: ...
    @property
    def alerts(self) -> AlertStore: ...
    @property
    def cursors(self) -> CursorStore: ...
    @property
    def mutes(self) -> MuteStore: ...
    @property
    def dedup(self) -> DedupStore: ...
    @property
    def reviews(self) -> ReviewStore: ...
    @property
    def digests(self) -> DigestStore: ...
    @property
    def overview(self) -> OverviewStore: ...
    @property
    def watch(self) -> WatchStateStore: ...
    @property
    def control(self) -> ControlStore: ...
    @property
    def notices(self) -> NoticeStore: ...
    @property
    def relevance(self) -> RelevanceStore: ...
    @property
    def leases(self) -> LeaseStore: ...
    @property
    def media(self) -> MediaStore: ...

    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """One serialised write transaction: committed on exit, rolled back on an exception."""
        ...

    @property
    def writing(self) -> bool:
        """Whether a write is running or queued: a caller with writes that can wait batches them."""
        ...

    async def meta(self, key: str) -> str | None: ...

    async def set_meta(self, key: str, value: str) -> None: ...

    async def close(self) -> None: ...
