"""Records the storage port takes and returns (beyond bot.domain.models): plain, frozen dataclasses."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.domain.models import Alert, AlertKind, AlertStatus, Channel, Media, Post, Severity
from bot.domain.ports import ResolvedChannel


@dataclass(frozen=True, slots=True)
class NewAlert:
    """An alert to enqueue; `dedup_key` makes enqueueing the same alert twice a no-op."""

    dedup_key: str
    post_id: int
    rule: str
    severity: Severity
    kind: AlertKind
    route: str
    sink: str
    target: str | None = None
    status: AlertStatus = AlertStatus.PENDING
    group_key: str | None = None
    score: float | None = None  # the rule's relevance score of the post, when it has a model
    demoted: bool = False  # scored below the route's min_score: held for the digest


@dataclass(frozen=True, slots=True)
class AlertFilter:
    statuses: tuple[AlertStatus, ...] = ()
    rule: str | None = None
    review: str | None = None  # relevant | false_positive | unreviewed
    since: datetime | None = None


@dataclass(frozen=True, slots=True)
class RulePrecision:
    rule: str
    alerts: int
    relevant: int
    false_positive: int

    @property
    def precision(self) -> float | None:
        reviewed = self.relevant + self.false_positive
        return self.relevant / reviewed if reviewed else None


@dataclass(frozen=True, slots=True)
class UndeliveredGroup:
    """Alerts of one route in one undelivered state, with why (for run summaries and `telewatch status`)."""

    route: str
    sink: str
    target: str | None
    status: AlertStatus
    waiting_for: str | None
    last_error: str | None
    count: int


class SaveStatus(enum.StrEnum):
    NEW = "new"
    EDITED = "edited"  # the text changed: a version was added
    UPDATED = "updated"  # only metadata (views, forwards, media...) changed
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class SaveOutcome:
    """What saving one post did."""

    post_id: int
    channel: Channel
    post: Post
    status: SaveStatus
    version: int


@dataclass(frozen=True, slots=True)
class SearchFilter:
    """Narrowing of `search` and `recent`: channels (row ids), a time window, deleted posts or not."""

    channel_ids: tuple[int, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    include_deleted: bool = True


@dataclass(frozen=True, slots=True)
class Cursor:
    channel_id: int
    last_message_id: int = 0
    last_post_at: datetime | None = None
    last_checked_at: datetime | None = None
    errors: int = 0
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class Mute:
    """A rule or channel muted until `until`."""

    id: int
    kind: str  # rule | channel
    value: str  # rule name, or channel row id as text
    label: str
    until: datetime
    created_by: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Pause:
    """Alert delivery paused by someone, at some time."""

    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class AlertInfo:
    """An alert with the columns chat control needs beyond bot.domain.models.Alert."""

    alert: Alert
    route: str
    target: str | None
    group_key: str | None
    merged_into: str | None
    sent_message_id: int | None
    review: str | None
    reviewed_by: str | None


@dataclass(frozen=True, slots=True)
class RecentText:
    """A recently alerted post's normalised text and its shingle hashes."""

    post_id: int
    channel_id: int
    group_key: str
    norm: str
    shingles: bytes | None = None
    seen_at: str = ""
    order: int = 0  # > 0: remembered in the batch being judged, later ones higher (newer than any row)


@dataclass(frozen=True, slots=True)
class RememberedText:
    """A text to remember for deduplication, with its fingerprint."""

    post_id: int
    channel_id: int
    group_key: str
    norm: str
    shingles: bytes
    keys: Sequence[int]


@dataclass(frozen=True, slots=True)
class HeldRoute:
    """Alerts held for a route's digest."""

    route: str
    count: int
    oldest: datetime
    max_severity: int  # of the alerts not demoted (0 when all are)
    sink: str
    target: str | None
    demoted: int = 0  # of `count`, held only because they scored below the route's min_score

    @property
    def only_demoted(self) -> bool:
        return self.demoted >= self.count


@dataclass(frozen=True, slots=True)
class Digest:
    """A digest being (or having been) delivered."""

    id: int
    route: str
    sink: str
    target: str | None
    status: str
    parts_sent: int
    attempts: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ChannelOverview:
    """What `/channels` shows about one stored channel."""

    channel_id: int
    state: str
    last_post_at: datetime | None
    posts_since: int


@dataclass(frozen=True, slots=True)
class CachedChannel:
    """A channel resolution remembered from an earlier run (so restarts need no username look-up)."""

    channel_id: int
    resolved: ResolvedChannel
    state: str
    reference: str | None
    resolved_at: datetime | None


@dataclass(frozen=True, slots=True)
class WindowRow:
    """A stored post as a re-check compares it with Telegram's answer."""

    message_id: int
    text: str
    edit_date: datetime | None
    grouped_id: int | None
    deleted: bool


@dataclass(frozen=True, slots=True)
class AlbumRow:
    """The stored post an album was merged into."""

    message_id: int
    text: str
    media: tuple[Media, ...]


@dataclass(frozen=True, slots=True)
class ChannelStatus:
    """A channel a live run resolved, with its cursor: what `telewatch status` lists."""

    id: int
    tg_id: int
    username: str | None
    title: str | None
    state: str
    joined: bool
    last_message_id: int
    last_post_at: datetime | None
    last_checked_at: datetime | None
    errors: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class ArchiveSummary:
    """What a database holds."""

    posts: int
    channels: int  # channels with posts
    alerts: int
    newest_post: datetime | None


@dataclass(frozen=True, slots=True)
class Mark:
    """One reviewed (rule, post): the post's current text and the newest mark given to any of its alerts."""

    rule: str
    post_id: int
    text: str
    relevant: bool


@dataclass(frozen=True, slots=True)
class MarkCounts:
    """Relevant and false-positive marks of a rule (one per reviewed post)."""

    rule: str
    relevant: int
    false_positive: int

    @property
    def total(self) -> int:
        return self.relevant + self.false_positive


@dataclass(frozen=True, slots=True)
class StoredModel:
    """A relevance model learnt from a rule's marks, as stored (JSON text)."""

    rule: str
    model: str
    relevant: int
    false_positive: int
    marks_seen: int  # marks of the rule when it was trained
    trained_at: datetime


@dataclass(frozen=True, slots=True)
class ScoredPrecision:
    """Review marks of a rule's alerts: all of them (rules alone), and those sent at once (not demoted)."""

    rule: str
    relevant: int
    false_positive: int
    kept_relevant: int
    kept_false_positive: int
    demoted: int  # alerts sent to a digest as probably not relevant (reviewed or not)

    @property
    def before(self) -> float | None:
        n = self.relevant + self.false_positive
        return self.relevant / n if n else None

    @property
    def after(self) -> float | None:
        n = self.kept_relevant + self.kept_false_positive
        return self.kept_relevant / n if n else None


@dataclass(frozen=True, slots=True)
class NewNotice:
    """A notice to enqueue for one route: about telewatch's health or a trend, not about one post."""

    dedup_key: str
    kind: str  # health | spike | surge
    subject: str  # the condition or trend it is about
    state: str  # raised | recovered | alert
    title: str
    body: str
    route: str
    sink: str
    target: str | None = None
    not_before: datetime | None = None  # held until then (a trend notice during the route's quiet hours)


@dataclass(frozen=True, slots=True)
class Notice:
    """A notice in the outbox."""

    id: int
    dedup_key: str
    kind: str
    subject: str
    state: str
    title: str
    body: str
    route: str
    sink: str
    target: str | None
    status: str
    attempts: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Condition:
    """A condition raised and not yet cleared (it alerted once; it alerts again when it clears)."""

    key: str
    kind: str
    raised_at: datetime
    detail: str


@dataclass(frozen=True, slots=True)
class ChannelActivity:
    """A channel's recent posting rhythm, for the silent-channel check."""

    channel_id: int
    last_post_at: datetime | None
    gaps_hours: tuple[float, ...]  # between consecutive posts in the window, oldest first


@dataclass(frozen=True, slots=True)
class TrendPost:
    """A stored post as the trend detector reads it."""

    post_id: int
    channel_id: int
    date: datetime
    text: str
    rules: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WatcherBeat:
    """What a watcher says of itself at each renewal (bot.domain.storage.LeaseStore.sync)."""

    name: str
    account: str
    host: str
    pid: int
    max_channels: int
    lag_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class WatcherInfo:
    """A watcher as the database knows it."""

    name: str
    account: str
    host: str
    pid: int
    max_channels: int
    started_at: datetime
    last_renewal: datetime
    channels_held: int
    lag_seconds: float
    stopped_at: datetime | None


@dataclass(frozen=True, slots=True)
class LeaseInfo:
    """Who holds a channel's lease; `owner` None (or an expired lease) means nobody does."""

    channel_id: int
    owner: str | None
    expires_at: datetime
    renewed_at: datetime | None
    since: datetime  # when the current owner (or the unowned spell) began

    def held(self, now: datetime) -> bool:
        return self.owner is not None and self.expires_at > now


@dataclass(frozen=True, slots=True)
class LeaseGrant:
    """The outcome of one renewal: what the watcher holds now, and what it should hand over."""

    held: tuple[int, ...]  # channel row ids held now (renewed, or just claimed)
    claimed: tuple[int, ...]  # of those, newly claimed
    surplus: tuple[int, ...] = ()  # held beyond its fair share, visible to a watcher with room
    # With room left: when the first lease of another watcher on a channel it sees runs out (renewing
    # then takes it over within lease_seconds of that watcher's last renewal).
    next_free_at: datetime | None = None
