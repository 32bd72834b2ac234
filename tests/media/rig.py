"""A store fed by a fake Telegram and a media archiver over both, for the media tests."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from bot.domain.ports import ResolvedChannel
from bot.media.archiver import MediaArchiver
from config.settings import MediaSettings
from storage.store import Store
from tests.fakes import FakeTelegram


def jpeg(seed: int, size: tuple[int, int] = (64, 48)) -> bytes:
    image = Image.new("RGB", size, ((seed * 40) % 256, (seed * 90) % 256, 30))
    out = io.BytesIO()
    image.save(out, "JPEG")
    return out.getvalue()


class Rig:
    """A store fed by a fake Telegram's posts, and an archiver over both."""

    def __init__(self, store: Store, fake: FakeTelegram, media: MediaSettings) -> None:
        self.store = store
        self.fake = fake
        self.media = media
        self.archiver = MediaArchiver(
            store.media,
            lambda: self.media,
            downloader=fake,
            channels=lambda: {c.tg_id: resolved(c.tg_id) for c in fake.channels.values()},
        )

    async def post(self, channel: str, text: str, data: bytes, **kw: object) -> int:
        """Publish on the fake and store the post as the watcher would; returns its message id."""
        post = await self.fake.publish_file(channel, text, data, **kw)  # type: ignore[arg-type]
        async with self.store.db.transaction() as tx:
            await self.store.posts.save(tx, [post], post.date)
        return post.message_id

    async def rows(self) -> list[tuple[str, str, str | None]]:
        rows = await self.store.db.fetchall("SELECT kind, state, reason FROM media ORDER BY id")
        return [(r[0], r[1], r[2]) for r in rows]


def resolved(tg_id: int) -> ResolvedChannel:
    return ResolvedChannel(tg_id=tg_id, username=None, title="", access_hash=tg_id * 7 + 3, joined=True)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    store = await Store.open(tmp_path / "t.db")
    fake = FakeTelegram()
    fake.add_channel("alpha", tg_id=11)
    fake.add_channel("beta", tg_id=12)
    await fake.connect()
    yield Rig(store, fake, MediaSettings(path=tmp_path / "media", requests_per_second=1000))  # type: ignore[misc]
    await store.close()
