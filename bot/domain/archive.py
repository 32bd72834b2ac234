"""The review pages' port: what they ask of the archive (filtered search pages with snippets, counts per
hour and day, copies of a post, reply threads, the review queue), as records and one Protocol.

storage/archive.py implements it for SQLite; bot.web depends on this module only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot.domain.models import StoredPost
from bot.domain.storage import ReviewStore, Storage

# Private-use characters mark where FTS5 put a highlight; the web layer turns them into <mark> after
# escaping the text, so a highlight can never carry markup of its own.
MARK_OPEN = "\ue000"
MARK_CLOSE = "\ue001"
SORTS = ("date", "oldest", "relevance")
REVIEWS = ("unreviewed", "relevant", "false_positive")


@dataclass(frozen=True, slots=True)
class PostQuery:
    """What the search page asks for. An empty `text` lists posts by the filters alone."""

    text: str = ""
    channel_ids: tuple[int, ...] = ()
    rule: str | None = None
    min_severity: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    has_media: bool | None = None
    edited: bool | None = None
    deleted: bool | None = None
    sort: str = "date"  # date (newest first) | oldest | relevance (FTS5 bm25; date without text)
    offset: int = 0
    limit: int = 20


@dataclass(frozen=True, slots=True)
class PostHit:
    """One search result: the post and a snippet of its text with MARK_OPEN/MARK_CLOSE around hits."""

    stored: StoredPost
    snippet: str | None


@dataclass(frozen=True, slots=True)
class PostPage:
    hits: tuple[PostHit, ...]
    has_more: bool
    literal: bool  # the query was not valid FTS5 syntax and was searched as plain words


@dataclass(frozen=True, slots=True)
class Bucket:
    """A count in one time bucket (an ISO hour 'YYYY-MM-DDTHH' or day 'YYYY-MM-DD') for one series."""

    bucket: str
    series: str
    count: int


@dataclass(frozen=True, slots=True)
class ChannelActivity:
    """Per stored channel: watch state, newest post, posts in the window, total posts."""

    channel_id: int
    state: str
    last_post_at: datetime | None
    posts_in_window: int
    total_posts: int


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """Narrowing of the alert review queue."""

    rule: str | None = None
    route: str | None = None
    statuses: tuple[str, ...] = ()
    review: str | None = None  # unreviewed | relevant | false_positive
    post_id: int | None = None
    offset: int = 0
    limit: int = 50


class ArchiveStore(Protocol):
    """Read-side queries of the review pages; they work on a database opened read-only."""

    async def search_page(self, q: PostQuery) -> PostPage:
        """One page of posts matching `q` (full-text syntax with the fallbacks of `posts search`)."""
        ...

    async def highlighted(self, post_id: int, text_query: str) -> str | None:
        """The post's current text with MARK_OPEN/MARK_CLOSE around the words `text_query` finds."""
        ...

    async def copies(self, post_id: int, limit: int = 50) -> list[StoredPost]:
        """The same post elsewhere: near-identical copies (one dedup group) and forwards of one original."""
        ...

    async def replies(self, channel_id: int, message_id: int, limit: int = 50) -> list[StoredPost]: ...

    async def rule_names(self) -> list[str]: ...

    async def labels(self) -> list[str]: ...

    async def matches_per_hour(self, since: datetime, until: datetime | None = None) -> list[Bucket]: ...

    async def matches_per_day(self, since: datetime) -> list[Bucket]: ...

    async def posts_per_day(self, since: datetime, until: datetime | None = None) -> list[Bucket]: ...

    async def newest_post_date(self) -> datetime | None: ...

    async def channel_activity(self, since: datetime) -> dict[int, ChannelActivity]: ...

    async def review_queue(self, f: QueueFilter) -> tuple[list[dict[str, Any]], bool]:
        """Alerts newest first with their post and channel, one page; (rows, whether more follow)."""
        ...

    async def routes(self) -> list[str]: ...


class MarkingReviewStore(ReviewStore, Protocol):
    """Review marks made outside the chat, which ask for the alert message to be re-rendered."""

    async def review_and_refresh(
        self, alert_ids: Sequence[int], mark: str, by: str, at: datetime, refresh_keys: Sequence[str]
    ) -> None:
        """Mark alerts (as review_many) and ask for the sent messages of `refresh_keys` to be edited in place."""
        ...


class ArchiveStorage(Storage, Protocol):
    """A store the review pages can use: the storage port plus the archive queries."""

    @property
    def archive(self) -> ArchiveStore: ...
    @property
    def reviews(self) -> MarkingReviewStore: ...
