"""Cross-channel deduplication: recognising reposts, and editing the one alert to list every copy."""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.alerts.fingerprint import MIN_WORDS, SHINGLE, SIMILAR, SIZE_RATIO
from bot.alerts.format import Copy, render
from bot.domain.errors import DeliveryFailed, RateLimited
from bot.domain.models import Alert, AlertStatus, Channel, Post
from bot.domain.ports import AlertSink, EditableSink, OutgoingAlert, as_editable
from bot.domain.records import AlertInfo
from bot.domain.storage import ControlStore, Storage

log = logging.getLogger(__name__)

URL = re.compile(r"(https?://|www\.|t\.me/)\S+", re.IGNORECASE)
NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
MAX_EDIT_ATTEMPTS = 5


def normalize(text: str) -> str:
    """Lower-case words only: no links, punctuation, emoji, invisible characters; ё folded to е."""
    text = unicodedata.normalize("NFKC", text).translate(INVISIBLE).lower().replace("ё", "е")
    text = URL.sub(" ", text)
    return " ".join(NON_WORD.sub(" ", text).split())


def shingles(norm: str) -> set[tuple[str, ...]]:
    words = norm.split()
    if len(words) < SHINGLE:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}


def near_identical(a: str, b: str) -> bool:
    """Whether two normalised texts are the same post (a repost may add a signature or drop a link).

    The reference definition; the gate applies it through stored fingerprints (bot.alerts.fingerprint)."""
    if not a or not b:
        return False
    if a == b:
        return True
    if min(len(a.split()), len(b.split())) < MIN_WORDS:
        return False
    sa, sb = shingles(a), shingles(b)
    small, large = sorted((len(sa), len(sb)))
    if small == 0 or small / large < SIZE_RATIO:
        return False
    return len(sa & sb) / small >= SIMILAR


def origin_key(post: Post, channel: Channel, post_id: int) -> str:
    """The identity of the original post: the forward origin, else this post itself (same format)."""
    if post.forward is not None:
        return post.forward.key
    if channel.tg_id is not None:
        return f"{channel.tg_id}/{post.message_id}"
    return f"post:{post_id}"


@dataclass(frozen=True, slots=True)
class EditReport:
    edited: int = 0
    waiting: int = 0
    dropped: int = 0


async def copies_of(store: Storage, repo: ControlStore, primary_key: str) -> list[Copy]:
    """Channels (with links) whose copies were merged into the alert with this dedup key."""
    found: list[Copy] = []
    for post_id in await repo.copies(primary_key):
        stored = await store.posts.get(post_id)
        if stored is not None:
            found.append(Copy(channel=stored.channel.display, link=stored.link))
    return found


class CopiesLookup:
    """The Dispatcher's `copies` hook: copies merged into the alerts of one message."""

    def __init__(self, store: Storage, repo: ControlStore) -> None:
        self.store = store
        self.repo = repo

    async def __call__(self, groups: Sequence[Sequence[Alert]]) -> list[list[Copy]]:
        """The copies of each group of alerts (one message each), looked up with a few queries in all."""
        merged = await self.repo.copies_many({a.dedup_key for group in groups for a in group})
        posts = await self.store.posts.get_many({p for ids in merged.values() for p in ids})
        found: list[list[Copy]] = []
        for group in groups:
            seen: dict[str, Copy] = {}
            for alert in group:
                for post_id in merged.get(alert.dedup_key, ()):
                    stored = posts.get(post_id)
                    if stored is not None:
                        seen.setdefault(
                            stored.channel.display, Copy(channel=stored.channel.display, link=stored.link)
                        )
            found.append(list(seen.values()))
        return found


def review_note(infos: Sequence[AlertInfo]) -> str:
    """The line a reviewed alert message ends with."""
    marked = [i for i in infos if i.review]
    if not marked:
        return ""
    mark = marked[0]
    label = "✅ relevant" if mark.review == "relevant" else "❌ false positive"
    return f"{label} — marked by {mark.reviewed_by or '?'}"


async def render_message(store: Storage, repo: ControlStore, primary: AlertInfo) -> OutgoingAlert | None:
    """The current rendering of the message `primary` was sent in (copies and review mark included)."""
    group = await repo.message_group(primary)
    stored = await store.posts.get(primary.alert.post_id)
    if stored is None:
        return None
    alerts = [i.alert for i in group]
    matches = [await store.matches.get(a.post_id, a.rule) for a in alerts]
    copies: dict[str, Copy] = {}
    for info in group:
        for copy in await copies_of(store, repo, info.alert.dedup_key):
            copies.setdefault(copy.channel, copy)
    return render(
        alerts, stored, matches, primary.target, copies=list(copies.values()), note=review_note(group)
    )


class DuplicateEditor:
    """Applies requested in-place edits: a sent alert re-rendered to list every channel that posted it."""

    def __init__(self, store: Storage, repo: ControlStore, sinks: Mapping[str, AlertSink]) -> None:
        self.store = store
        self.repo = repo
        self.sinks = sinks

    async def run_once(self) -> EditReport:
        """One pass over the edit requests; pending primaries wait (their first send lists the copies)."""
        edited = waiting = dropped = 0
        for key, attempts in await self.repo.edit_requests():
            primary = await self.repo.alert_info_by_key(key)
            if primary is None or primary.alert.status in (AlertStatus.HELD, AlertStatus.PENDING):
                # Not sent yet: the dispatcher or the digest renders the copies when it sends.
                if primary is None or primary.alert.status is AlertStatus.HELD:
                    await self.repo.drop_edit(key)
                    dropped += 1
                else:
                    waiting += 1
                continue
            sink = as_editable(self.sinks.get(primary.alert.sink))
            if primary.alert.status is not AlertStatus.SENT or not primary.sent_message_id or sink is None:
                await self.repo.drop_edit(key)  # nothing to edit in place (console, batch, failed)
                dropped += 1
                continue
            if await self._edit(sink, primary, attempts):
                edited += 1
        return EditReport(edited, waiting, dropped)

    async def _edit(self, sink: EditableSink, primary: AlertInfo, attempts: int) -> bool:
        key = primary.alert.dedup_key
        outgoing = await render_message(self.store, self.repo, primary)
        if outgoing is None:
            await self.repo.drop_edit(key)
            return False
        assert primary.sent_message_id is not None
        try:
            await sink.edit(outgoing, primary.sent_message_id)
        except RateLimited:
            return False  # the request stays; the next pass tries again
        except DeliveryFailed as e:
            if e.permanent or attempts + 1 >= MAX_EDIT_ATTEMPTS:
                log.warning("giving up editing alert %s in place: %s", key, e)
                await self.repo.drop_edit(key)
            else:
                await self.repo.bump_edit(key)
            return False
        await self.repo.drop_edit(key)
        return True
