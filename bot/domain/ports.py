"""Protocols the core depends on; adapters (Telethon, SQLite, console) and test fakes implement them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, cast, runtime_checkable

from bot.domain.models import ChannelRef, Match, Post


class Clock(Protocol):
    """Time, injectable so tests can run hours of schedule in milliseconds."""

    def now(self) -> datetime: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock: UTC wall time and asyncio.sleep."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class RelevanceScorer(Protocol):
    """Scores how relevant a matched text is to a rule (bot.alerts.relevance)."""

    def score_value(self, rule: str, text: str) -> float | None:
        """A score in [0, 1], or None when the rule has no model."""
        ...


class Matcher(Protocol):
    """Finds the rules a text matches. Implemented by bot.rules; pure and synchronous."""

    def match(self, text: str, *, channel: str | None = None, tags: Sequence[str] = ()) -> list[Match]:
        """Rules matching `text`; `channel` (username or id as text) and `tags` restrict scoped rules."""
        ...


@dataclass(frozen=True, slots=True)
class OutgoingAlert:
    """A rendered alert ready for a sink: plain text for consoles, HTML for Telegram, data for JSON."""

    dedup_key: str
    plain: str
    html: str
    data: dict[str, object]
    target: str | None = None  # a chat for Telegram sinks; None for console / JSONL
    buttons: tuple[tuple[str, str], ...] = ()  # (label, callback data) review buttons
    # The post an alert is about: (channel @name or numeric id, message id), for sinks that forward it.
    original: tuple[str, int] | None = None


@dataclass(frozen=True, slots=True)
class SinkCapabilities:
    """What a sink can do beyond `deliver`; the dispatcher and the duplicate editor read only this."""

    batch: bool = False  # has deliver_many(alerts): confirms many at once (one flush to disk)
    edit: bool = False  # has edit(alert, message_id): re-renders a message it sent earlier
    coalesces: bool = False  # many alerts due for one target at once go out as one message
    min_interval: float = 0.0  # seconds between two messages to one target (chat flood limits)
    # Transient failures never use up an alert: once the backoff's attempts are spent, its alerts wait for
    # the destination (tried again every few minutes) instead of failing. For destinations that go down
    # and come back (webhooks, chat services): a failed alert would be a lost one.
    patient: bool = False


@runtime_checkable
class AlertSink(Protocol):
    """Delivers alerts. Must raise (DeliveryFailed / RateLimited / TargetUnreachable) rather than return
    on failure; returns what was sent (a chat sink: the message, so the alert can be edited later; a sink
    without addressable messages: None)."""

    name: str
    capabilities: SinkCapabilities

    async def deliver(self, alert: OutgoingAlert) -> SentMessage | None: ...


@runtime_checkable
class BatchSink(AlertSink, Protocol):
    """A sink with `capabilities.batch`: confirms many alerts at once.

    `deliver_many` either delivers every alert or raises; delivering one again must be harmless."""

    async def deliver_many(self, alerts: Sequence[OutgoingAlert]) -> None: ...


@runtime_checkable
class EditableSink(AlertSink, Protocol):
    """A sink with `capabilities.edit`: re-renders an alert it delivered (a repost merged in, a review mark)."""

    async def edit(self, alert: OutgoingAlert, message_id: int) -> None:
        """Replace the text and buttons of message `message_id` in `alert.target`; raises like deliver."""
        ...


def as_batch(sink: AlertSink) -> BatchSink | None:
    """The sink as a BatchSink when it declares the capability."""
    return cast(BatchSink, sink) if sink.capabilities.batch else None


def as_editable(sink: AlertSink | None) -> EditableSink | None:
    """The sink as an EditableSink when it declares the capability."""
    return cast(EditableSink, sink) if sink is not None and sink.capabilities.edit else None


class MessageEditor(Protocol):
    """Edits a chat message the bot sent (the alert chat adapter implements it)."""

    async def edit_message(
        self, chat: str, message_id: int, html: str, buttons: Sequence[tuple[str, str]] = ()
    ) -> None:
        """Raise RateLimited, DeliveryFailed (permanent when it can never be edited) or a TelegramError."""
        ...


@dataclass(frozen=True, slots=True)
class ResolvedChannel:
    """What Telegram says about a channel reference."""

    tg_id: int
    username: str | None
    title: str
    access_hash: int | None = None
    joined: bool = False
    broadcast: bool = True


@dataclass(frozen=True, slots=True)
class PostUpdate:
    """A live update from Telegram, already converted to our model."""

    kind: str  # "new" | "edited" | "deleted"
    posts: tuple[Post, ...] = ()
    channel_tg_id: int | None = None  # for deletions
    deleted_ids: tuple[int, ...] = ()


UpdateHandler = Callable[[PostUpdate], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class SentMessage:
    """What Telegram returned for a sent message."""

    chat: str
    message_id: int


@dataclass(slots=True)
class RequestLog:
    """Counts requests made through a gateway (for `telewatch status` and benchmarks)."""

    counts: dict[str, int] = field(default_factory=dict)

    def record(self, kind: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class TelegramGateway(Protocol):
    """Everything the app asks of Telegram. The Telethon adapter lives in bot/telegram/.

    Each coroutine is one request (so callers can pace and count them) and raises from bot.domain.errors:
    RateLimited on a flood wait, ChannelUnavailable, AuthError, Disconnected. Posts are per message:
    album parts arrive as separate posts sharing a grouped_id (the watcher merges them).
    """

    requests: RequestLog

    async def connect(self) -> None: ...

    async def disconnect(self) -> None: ...

    async def wait_disconnected(self) -> None:
        """Return when the connection is lost (the caller reconnects and catches up)."""
        ...

    async def resolve(self, reference: str) -> ResolvedChannel:
        """Resolve @name, t.me links, invite links or numeric ids. Raises ChannelUnavailable."""
        ...

    async def refresh(self, channel: ResolvedChannel) -> ResolvedChannel:
        """The channel's current name, title and membership, looked up by id (no username look-up)."""
        ...

    async def join(self, channel: ResolvedChannel) -> ResolvedChannel: ...

    async def join_invite(self, reference: str) -> ResolvedChannel:
        """Join through an invite link (t.me/+hash, joinchat/hash)."""
        ...

    async def latest_id(self, channel: ResolvedChannel) -> int:
        """The id of the channel's newest message (0 when empty)."""
        ...

    async def history(self, channel: ResolvedChannel, *, after_id: int, limit: int = 100) -> Sequence[Post]:
        """One page: up to `limit` posts with id > after_id, oldest first."""
        ...

    async def recent(
        self, channel: ResolvedChannel, *, before_id: int = 0, limit: int = 100
    ) -> Sequence[Post]:
        """One page: up to `limit` posts with id < before_id (0: the newest), newest first."""
        ...

    async def send(
        self, chat: str, html: str, *, random_id: int, buttons: Sequence[tuple[str, str]] = ()
    ) -> SentMessage: ...

    async def check_chat(self, chat: str) -> None:
        """Raise ChannelUnavailable when alerts cannot be sent to `chat` now; sends nothing visible."""
        ...

    async def forward(self, chat: str, source: str, message_id: int, *, random_id: int) -> SentMessage:
        """Forward post `message_id` of channel `source` (@name or numeric id) to `chat`, media included.
        Raises ForwardRestricted when the channel forbids it, ChannelUnavailable when it cannot be read."""
        ...

    def on_update(self, handler: UpdateHandler) -> None:
        """Register the coroutine that receives live PostUpdates."""
        ...


def channel_key(ref: ChannelRef) -> str:
    """The handle a rule's channel scope is compared against: the username, else the id."""
    return (ref.username or str(ref.tg_id)).lower()
