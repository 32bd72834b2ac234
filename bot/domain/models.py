"""Domain dataclasses shared by every layer; this module imports nothing of ours."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class Severity(enum.IntEnum):
    """How urgent a rule's matches are; ordered so `>=` compares urgency."""

    INFO = 10
    WARNING = 20
    CRITICAL = 30

    @classmethod
    def parse(cls, value: str) -> Severity:
        """Turn 'info' / 'warning' / 'critical' (any case) into a Severity; ValueError otherwise."""
        try:
            return cls[value.strip().upper()]
        except KeyError:
            raise ValueError(f"{value!r} is not a severity; use one of: info, warning, critical") from None

    @property
    def label(self) -> str:
        return self.name.lower()


class AlertKind(enum.StrEnum):
    """Why an alert was raised for a post."""

    NEW = "new"  # a post seen live (or replayed) matched
    LATE = "late"  # a post recovered by catch-up or a gap check matched
    EDITED = "edited"  # an edit made a post newly match a rule
    DELETED = "deleted"  # an alerted post was deleted


class AlertStatus(enum.StrEnum):
    """Where an alert is in the durable outbox."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after the maximum number of attempts
    HELD = "held"  # waiting for a digest (quiet hours or an info-level digest route)
    SUPPRESSED = "suppressed"  # muted, or merged into another alert


@dataclass(frozen=True, slots=True)
class ChannelRef:
    """What a source knows about a post's channel: a Telegram id, a username, or both.

    `tg_id` is the bare positive channel id (1234, not -1001234).
    """

    tg_id: int | None = None
    username: str | None = None
    title: str | None = None

    def __post_init__(self) -> None:
        if self.tg_id is None and not self.username:
            raise ValueError("a channel needs a Telegram id or a username")

    @property
    def display(self) -> str:
        if self.title:
            return self.title
        if self.username:
            return f"@{self.username}"
        return f"channel {self.tg_id}"


@dataclass(frozen=True, slots=True)
class Channel:
    """A channel as stored: our row id plus what Telegram told us."""

    id: int
    tg_id: int | None
    username: str | None
    title: str | None
    label: str | None = None
    tags: tuple[str, ...] = ()

    @property
    def ref(self) -> ChannelRef:
        return ChannelRef(tg_id=self.tg_id, username=self.username, title=self.title)

    @property
    def display(self) -> str:
        return self.ref.display

    def post_link(self, message_id: int) -> str | None:
        """The public link to a post: t.me/name/id, or t.me/c/id/msg for channels without a name."""
        if self.username:
            return f"https://t.me/{self.username}/{message_id}"
        if self.tg_id is not None:
            return f"https://t.me/c/{self.tg_id}/{message_id}"
        return None


@dataclass(frozen=True, slots=True)
class TextEntity:
    """A formatting or link entity of a post's text (offsets in UTF-16 code units, as Telegram sends)."""

    kind: str  # bold, italic, url, text_link, mention, hashtag, code, ...
    offset: int
    length: int
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Media:
    """One attachment of a post (an album post carries several)."""

    kind: str  # photo, video, document, audio, voice, sticker, poll, geo, webpage, other
    file_name: str | None = None
    mime_type: str | None = None
    size: int | None = None
    message_id: int | None = None  # the album part carrying it (None: the post's own message)
    file_ref: str | None = None  # Telegram's id of the file ("photo:123"): the same in every repost
    local_path: str | None = None  # an imported export's copy of the file, when it ships one


@dataclass(frozen=True, slots=True)
class ForwardOrigin:
    """Where a forwarded post came from."""

    channel_tg_id: int | None = None
    message_id: int | None = None
    name: str | None = None  # channel title or user name as shown by Telegram
    date: datetime | None = None

    @property
    def key(self) -> str:
        """A stable identity for the original post, used to deduplicate reposts."""
        if self.channel_tg_id is not None and self.message_id is not None:
            return f"{self.channel_tg_id}/{self.message_id}"
        return f"{self.name or '?'}@{self.date.isoformat() if self.date else '?'}"


@dataclass(frozen=True, slots=True)
class Post:
    """One channel post as captured. Dates are timezone-aware UTC."""

    channel: ChannelRef
    message_id: int
    date: datetime
    text: str = ""
    entities: tuple[TextEntity, ...] = ()
    media: tuple[Media, ...] = ()
    forward: ForwardOrigin | None = None
    reply_to: int | None = None
    grouped_id: int | None = None
    views: int | None = None
    forwards: int | None = None
    edit_date: datetime | None = None
    author: str | None = None
    is_service: bool = False

    @property
    def links(self) -> tuple[str, ...]:
        """URLs carried by the post's entities."""
        return tuple(e.url for e in self.entities if e.url)


@dataclass(frozen=True, slots=True)
class StoredPost:
    """A post as read back from storage, with its row ids and lifecycle marks."""

    id: int
    channel: Channel
    post: Post
    captured_at: datetime
    deleted_at: datetime | None = None
    version_count: int = 1

    @property
    def link(self) -> str | None:
        return self.channel.post_link(self.post.message_id)


@dataclass(frozen=True, slots=True)
class PostVersion:
    """One earlier or current text of a post; version 1 is the first captured."""

    version: int
    text: str
    edit_date: datetime | None
    captured_at: datetime


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A rule as written in the config, before compilation.

    Each entry of any_/all_/none_ is a term in the rule syntax (word, =exact, prefix*, "phrase",
    /regex/); `near` holds (term, term, scope) proximity conditions, where scope is a number of words
    or SENTENCE (0: both in one sentence) or TEXT (-1: anywhere in the text). `unless_near` and `only_near` gate the hits of some positive
    terms (or of every one, with ANY_TERM): (terms, other terms, scope) cancels a hit that has one of the
    other terms within scope, or keeps it only when one of them is within scope.
    """

    name: str
    any_: tuple[str, ...] = ()
    all_: tuple[str, ...] = ()
    none_: tuple[str, ...] = ()
    near: tuple[tuple[str, str, int], ...] = ()
    severity: Severity = Severity.WARNING
    channels: tuple[str, ...] = ()  # channel handles in scope; empty = every channel
    labels: tuple[str, ...] = ()  # channel labels/tags in scope; empty = every label
    enabled: bool = True
    description: str = ""
    unless_near: tuple[tuple[tuple[str, ...], tuple[str, ...], int], ...] = ()
    only_near: tuple[tuple[tuple[str, ...], tuple[str, ...], int], ...] = ()


SENTENCE = 0  # the scope of a near / unless_near / only_near condition meaning "in the same sentence"
TEXT = -1  # the scope meaning "anywhere in the text"
ANY_TERM = "*"  # the term of an unless_near / only_near condition meaning "every positive term of the rule"


@dataclass(frozen=True, slots=True)
class MatchedTerm:
    """A term of a rule and the words of the text that matched it, with spans in the original text."""

    term: str
    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Match:
    """A rule that matched a text."""

    rule: str
    severity: Severity
    hits: tuple[MatchedTerm, ...] = field(default_factory=tuple)

    @property
    def words(self) -> tuple[str, ...]:
        """The distinct matched words, in order of appearance."""
        seen: dict[str, None] = {}
        for hit in sorted(self.hits, key=lambda h: h.start):
            seen.setdefault(hit.text, None)
        return tuple(seen)


@dataclass(frozen=True, slots=True)
class Alert:
    """An outbox entry: one rule matched one post, to be delivered to one sink."""

    id: int
    dedup_key: str
    post_id: int
    rule: str
    severity: Severity
    kind: AlertKind
    sink: str
    status: AlertStatus
    attempts: int
    created_at: datetime
    next_try_at: datetime | None = None
    sent_at: datetime | None = None
    last_error: str | None = None
    score: float | None = None  # the rule's relevance model's score of the post, when it has a model
    demoted: bool = False  # scored below its route's min_score: sent in the digest as probably not relevant
