"""FakeTelegram: an in-memory bot.domain.ports.TelegramGateway with channels, posts, edits, deletions,
flood waits and disconnections on demand, and a record of every request.

Scenario methods (`add_channel`, `publish`, `edit`, `delete`, `flood`, `drop_connection`, ...) play the
world; the gateway methods are what the app under test calls.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from bot.domain.errors import ChannelUnavailable, Disconnected, ForwardRestricted, RateLimited, Unreachable
from bot.domain.media import ChunkWriter
from bot.domain.models import ChannelRef, Media, Post
from bot.domain.ports import PostUpdate, RequestLog, ResolvedChannel, SentMessage, UpdateHandler
from bot.domain.refs import RefKind, parse_channel_ref

START = datetime(2024, 8, 7, 6, 0, tzinfo=UTC)


@dataclass
class FakeChannel:
    """One channel of the fake world."""

    tg_id: int
    username: str | None
    title: str
    access_hash: int
    joined: bool = True
    private: bool = False
    banned: bool = False
    invite_hash: str | None = None
    messages: dict[int, Post] = field(default_factory=dict)
    deleted: set[int] = field(default_factory=set)
    last_id: int = 0

    @property
    def ref(self) -> ChannelRef:
        return ChannelRef(tg_id=self.tg_id, username=self.username, title=self.title)

    def resolved(self) -> ResolvedChannel:
        return ResolvedChannel(
            tg_id=self.tg_id,
            username=self.username,
            title=self.title,
            access_hash=self.access_hash,
            joined=self.joined,
        )

    def visible(self) -> list[Post]:
        return [p for i, p in sorted(self.messages.items()) if i not in self.deleted]


@dataclass(frozen=True)
class Call:
    """One request the app made: its kind and what it was about."""

    kind: str
    target: str


@dataclass(frozen=True)
class Sent:
    """A message the app sent."""

    chat: str
    html: str
    random_id: int
    buttons: tuple[tuple[str, str], ...]
    message_id: int


@dataclass
class _Fault:
    error: BaseException
    after: int  # calls of this kind to let through first


class FakeTelegram:
    """An in-memory Telegram implementing bot.domain.ports.TelegramGateway."""

    def __init__(self, *, start: datetime = START, sequential_updates: bool = True) -> None:
        self.requests = RequestLog()
        # Telethon's default (sequential_updates=False) hands each update to a task of its own and
        # does not wait for it; True waits for each handler before the next update.
        self.sequential_updates = sequential_updates
        self.handling: set[asyncio.Task[None]] = set()
        self.calls: list[Call] = []
        self.sent: list[Sent] = []
        self.channels: dict[int, FakeChannel] = {}
        self.unreachable_chats: set[str] = set()
        self.no_forwards: set[str] = set()  # channels (as forward sources) that restrict forwarding
        self.connected = False
        self.connects = 0
        self.refuse_connects = 0
        self.latency = 0.0  # seconds each request takes
        self._clock = itertools.count()
        self._start = start
        self._faults: dict[str, list[_Fault]] = {}
        self._during: dict[str, list[Callable[[], Awaitable[object]]]] = {}
        self._handlers: list[UpdateHandler] = []
        self._lost: asyncio.Future[None] | None = None
        self._ids = itertools.count(1000)
        self._sent_ids: dict[tuple[str, int], Sent] = {}
        self._by_name: dict[str, FakeChannel] = {}
        # Files of messages, by (channel tg id, message id), and their previews; bytes per second
        # a download streams at (0: at once).
        self.files: dict[tuple[int, int], bytes] = {}
        self.previews: dict[tuple[int, int], bytes] = {}
        self.bandwidth = 0.0
        self.download_chunk = 512 * 1024

    # -- the world ------------------------------------------------------------------------------------

    def add_channel(
        self,
        username: str | None,
        *,
        tg_id: int | None = None,
        title: str | None = None,
        joined: bool = True,
        private: bool = False,
        invite_hash: str | None = None,
    ) -> FakeChannel:
        tg_id = tg_id if tg_id is not None else 1_000_000 + len(self.channels)
        channel = FakeChannel(
            tg_id=tg_id,
            username=username,
            title=title or (username or f"channel {tg_id}"),
            access_hash=tg_id * 7 + 3,
            joined=joined,
            private=private,
            invite_hash=invite_hash,
        )
        self.channels[tg_id] = channel
        return channel

    def channel(self, key: str | int) -> FakeChannel:
        if isinstance(key, int):
            return self.channels[key]
        name = key.lstrip("@").lower()
        hit = self._by_name.get(name)  # a cache: checked, since a channel may have been renamed
        if (
            hit is not None
            and hit.username
            and hit.username.lower() == name
            and self.channels.get(hit.tg_id) is hit
        ):
            return hit
        for c in self.channels.values():
            if c.username and c.username.lower() == name:
                self._by_name[name] = c
                return c
        raise KeyError(key)

    def next_date(self) -> datetime:
        return self._start + timedelta(seconds=next(self._clock))

    def add_post(
        self,
        channel: str | int,
        text: str = "",
        *,
        media: Sequence[Media] = (),
        grouped_id: int | None = None,
        date: datetime | None = None,
        is_service: bool = False,
    ) -> Post:
        """Add a post to a channel's history without pushing a live update (it happened while away)."""
        c = self.channel(channel)
        c.last_id += 1
        post = Post(
            channel=c.ref,
            message_id=c.last_id,
            date=date or self.next_date(),
            text=text,
            media=tuple(media),
            grouped_id=grouped_id,
            is_service=is_service,
        )
        c.messages[post.message_id] = post
        return post

    def add_posts(self, channel: str | int, count: int, text: str = "post {n}") -> list[Post]:
        return [self.add_post(channel, text.format(n=i)) for i in range(count)]

    def add_album(self, channel: str | int, caption: str, parts: int, *, grouped_id: int) -> list[Post]:
        posts = [
            self.add_post(
                channel, caption if i == 0 else "", media=(Media(kind="photo"),), grouped_id=grouped_id
            )
            for i in range(parts)
        ]
        return posts

    async def publish_file(
        self,
        channel: str | int,
        text: str,
        data: bytes,
        *,
        kind: str = "photo",
        mime_type: str | None = "image/jpeg",
        file_ref: str | None = None,
        size: int | None = None,
        preview: bytes | None = None,
    ) -> Post:
        """A post with one attachment whose file (and preview) a download returns; `size` is what
        Telegram announces (by default the file's real size)."""
        media = Media(
            kind=kind, mime_type=mime_type, size=len(data) if size is None else size, file_ref=file_ref
        )
        c = self.channel(channel)
        self.files[(c.tg_id, c.last_id + 1)] = data
        if preview is not None:
            self.previews[(c.tg_id, c.last_id + 1)] = preview
        return await self.publish(channel, text, media=(media,))

    def _pushes_to(self, c: FakeChannel) -> bool:
        return self.connected and c.joined and not c.banned

    async def push(self, update: PostUpdate) -> None:
        """Deliver a live update to the registered handlers: waiting for each (sequential_updates), or
        like Telethon by default, in a task of its own started in arrival order (see `settle`)."""
        if not self.sequential_updates:
            task = asyncio.create_task(self._dispatch(update))
            self.handling.add(task)
            task.add_done_callback(self.handling.discard)
            await asyncio.sleep(0)  # the task starts now, before the next update
            return
        await self._dispatch(update)

    async def _dispatch(self, update: PostUpdate) -> None:
        for handler in self._handlers:
            await handler(update)

    async def settle(self) -> None:
        """Wait until every update pushed so far was handled (raises what a handler raised)."""
        while self.handling:
            await asyncio.gather(*self.handling)

    async def publish(self, channel: str | int, text: str = "", **kwargs: object) -> Post:
        """A new post: stored in history, pushed live when connected and joined."""
        post = self.add_post(channel, text, **kwargs)  # type: ignore[arg-type]
        c = self.channel(channel)
        if self._pushes_to(c):
            await self.push(PostUpdate(kind="new", posts=(post,), channel_tg_id=c.tg_id))
        return post

    async def publish_album(
        self, channel: str | int, caption: str, parts: int, *, grouped_id: int
    ) -> list[Post]:
        posts = self.add_album(channel, caption, parts, grouped_id=grouped_id)
        c = self.channel(channel)
        if self._pushes_to(c):
            for post in posts:
                await self.push(PostUpdate(kind="new", posts=(post,), channel_tg_id=c.tg_id))
        return posts

    async def edit(self, channel: str | int, message_id: int, text: str, *, push: bool = True) -> Post:
        """Edit a post (a new edit_date). With push=False no update is ever delivered for it: the edit
        happened while the watcher was stopped, or its update was lost (Telegram never resends it)."""
        c = self.channel(channel)
        post = replace(c.messages[message_id], text=text, edit_date=self.next_date())
        c.messages[message_id] = post
        if push and self._pushes_to(c):
            await self.push(PostUpdate(kind="edited", posts=(post,), channel_tg_id=c.tg_id))
        return post

    async def delete(self, channel: str | int, *message_ids: int, push: bool = True) -> None:
        """Delete posts: they vanish from history. push=False: no update is ever delivered for it."""
        c = self.channel(channel)
        c.deleted.update(message_ids)
        if push and self._pushes_to(c):
            await self.push(PostUpdate(kind="deleted", channel_tg_id=c.tg_id, deleted_ids=tuple(message_ids)))

    def rename(self, channel: str | int, username: str | None) -> None:
        c = self.channel(channel)
        c.username = username
        c.messages = {i: replace(p, channel=c.ref) for i, p in c.messages.items()}

    # -- faults ---------------------------------------------------------------------------------------

    def fail(self, kind: str, error: BaseException, *, after: int = 0, times: int = 1) -> None:
        """Make calls of `kind` raise `error` `times` times, after letting `after` calls through."""
        queue = self._faults.setdefault(kind, [])
        queue.extend(_Fault(error, after) for _ in range(times))

    def flood(self, kind: str, seconds: float, *, after: int = 0, times: int = 1) -> None:
        """A FloodWait on the next calls of `kind` (history, recent, latest, resolve, join, send, ...)."""
        self.fail(kind, RateLimited(seconds, request=kind), after=after, times=times)

    def during(self, kind: str, action: Callable[[], Awaitable[object]]) -> None:
        """Run `action` (once) inside the next call of `kind`, after its answer is computed: a race
        where the world changes (a live post, an edit, a deletion) while the answer is in flight."""
        self._during.setdefault(kind, []).append(action)

    async def _in_flight(self, kind: str) -> None:
        actions = self._during.pop(kind, [])
        for action in actions:
            await action()

    def drop_connection(self) -> None:
        """The network goes away: live updates are lost and calls raise Disconnected until connect()."""
        self.connected = False
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(None)

    def count(self, kind: str) -> int:
        return self.requests.counts.get(kind, 0)

    async def _request(self, kind: str, target: str) -> None:
        self.calls.append(Call(kind, target))
        self.requests.record(kind)
        if self.latency:
            await asyncio.sleep(self.latency)
        else:
            await asyncio.sleep(0)  # a request always yields to the loop, like real I/O
        if not self.connected:
            raise Disconnected(f"not connected ({kind})")
        queue = self._faults.get(kind)
        if queue:
            fault = queue[0]
            if fault.after > 0:
                fault.after -= 1
            else:
                queue.pop(0)
                raise fault.error

    # -- the gateway ----------------------------------------------------------------------------------

    async def connect(self) -> None:
        self.calls.append(Call("connect", ""))
        await asyncio.sleep(0)
        if self.refuse_connects > 0:
            self.refuse_connects -= 1
            raise Unreachable("127.0.0.1", 443, "connection refused (during connect)")
        self.connected = True
        self.connects += 1
        self._lost = asyncio.get_running_loop().create_future()

    async def disconnect(self) -> None:
        self.connected = False

    async def wait_disconnected(self) -> None:
        if self._lost is None:
            return
        await asyncio.shield(self._lost)

    def _find(self, reference: str) -> FakeChannel:
        parsed = parse_channel_ref(reference)
        for c in self.channels.values():
            if (
                parsed.kind is RefKind.USERNAME
                and c.username
                and c.username.lower() == (parsed.username or "").lower()
            ):
                return c
            if parsed.kind is RefKind.ID and c.tg_id == parsed.tg_id:
                return c
            if parsed.kind is RefKind.INVITE and c.invite_hash == parsed.invite_hash:
                return c
        raise ChannelUnavailable(reference, "not found")

    def _check_readable(self, c: FakeChannel, target: str) -> None:
        if c.banned:
            raise ChannelUnavailable(target, "banned")
        if c.private and not c.joined:
            raise ChannelUnavailable(target, "private")

    async def resolve(self, reference: str) -> ResolvedChannel:
        await self._request("resolve", reference)
        c = self._find(reference)
        if c.invite_hash and parse_channel_ref(reference).kind is RefKind.INVITE and not c.joined:
            raise ChannelUnavailable(reference, "not joined")
        self._check_readable(c, reference)
        return c.resolved()

    async def refresh(self, channel: ResolvedChannel) -> ResolvedChannel:
        await self._request("refresh", str(channel.tg_id))
        c = self.channels.get(channel.tg_id)
        if c is None:
            raise ChannelUnavailable(str(channel.tg_id), "not found")
        self._check_readable(c, str(channel.tg_id))
        return c.resolved()

    async def join(self, channel: ResolvedChannel) -> ResolvedChannel:
        await self._request("join", str(channel.tg_id))
        c = self.channels[channel.tg_id]
        if c.banned:
            raise ChannelUnavailable(str(channel.tg_id), "banned")
        c.joined = True
        return c.resolved()

    async def join_invite(self, reference: str) -> ResolvedChannel:
        await self._request("join", reference)
        c = self._find(reference)
        c.joined = True
        return c.resolved()

    def _readable(self, channel: ResolvedChannel, kind: str) -> FakeChannel:
        c = self.channels.get(channel.tg_id)
        if c is None:
            raise ChannelUnavailable(str(channel.tg_id), "not found")
        self._check_readable(c, kind)
        return c

    async def latest_id(self, channel: ResolvedChannel) -> int:
        await self._request("latest", str(channel.tg_id))
        visible = self._readable(channel, "latest").visible()
        return visible[-1].message_id if visible else 0

    async def download_media(
        self, channel: ResolvedChannel, message_id: int, out: ChunkWriter, *, thumbnail: bool = False
    ) -> None:
        """Stream a message's file in chunks, at `bandwidth` bytes per second (MediaDownloader)."""
        await self._request("download", f"{channel.tg_id}/{message_id}")
        c = self._readable(channel, "download")
        key = (c.tg_id, message_id)
        data = (self.previews if thumbnail else self.files).get(key)
        if message_id in c.deleted or message_id not in c.messages or data is None:
            if thumbnail:
                return
            raise ChannelUnavailable(f"{channel.tg_id}/{message_id}", "the message or its file is gone")
        for start in range(0, len(data), self.download_chunk):
            chunk = data[start : start + self.download_chunk]
            if self.bandwidth:
                await asyncio.sleep(len(chunk) / self.bandwidth)
            else:
                await asyncio.sleep(0)
            await out.write(chunk)

    async def history(self, channel: ResolvedChannel, *, after_id: int, limit: int = 100) -> Sequence[Post]:
        await self._request("history", str(channel.tg_id))
        posts = [p for p in self._readable(channel, "history").visible() if p.message_id > after_id]
        await self._in_flight("history")
        return posts[:limit]

    async def recent(
        self, channel: ResolvedChannel, *, before_id: int = 0, limit: int = 100
    ) -> Sequence[Post]:
        await self._request("recent", str(channel.tg_id))
        posts = [
            p
            for p in self._readable(channel, "recent").visible()
            if not before_id or p.message_id < before_id
        ]
        await self._in_flight("recent")
        return list(reversed(posts))[:limit]

    async def send(
        self, chat: str, html: str, *, random_id: int, buttons: Sequence[tuple[str, str]] = ()
    ) -> SentMessage:
        await self._request("send", chat)
        if chat in self.unreachable_chats:
            raise ChannelUnavailable(chat, "not found")
        earlier = self._sent_ids.get((chat, random_id))
        if earlier is not None:  # Telegram drops a message whose random_id it has seen (RANDOM_ID_DUPLICATE)
            return SentMessage(chat=chat, message_id=earlier.message_id)
        sent = Sent(chat, html, random_id, tuple(buttons), next(self._ids))
        self._sent_ids[(chat, random_id)] = sent
        self.sent.append(sent)
        return SentMessage(chat=chat, message_id=sent.message_id)

    async def forward(self, chat: str, source: str, message_id: int, *, random_id: int) -> SentMessage:
        await self._request("forward", chat)
        if chat in self.unreachable_chats:
            raise ChannelUnavailable(chat, "not found")
        if source in self.no_forwards:
            raise ForwardRestricted(source)
        earlier = self._sent_ids.get((chat, random_id))
        if earlier is not None:
            return SentMessage(chat=chat, message_id=earlier.message_id)
        sent = Sent(chat, f"[forwarded {source}/{message_id}]", random_id, (), next(self._ids))
        self._sent_ids[(chat, random_id)] = sent
        self.sent.append(sent)
        return SentMessage(chat=chat, message_id=sent.message_id)

    async def check_chat(self, chat: str) -> None:
        await self._request("check chat", chat)
        if chat in self.unreachable_chats:
            raise ChannelUnavailable(chat, "not found")

    def on_update(self, handler: UpdateHandler) -> None:
        self._handlers.append(handler)
