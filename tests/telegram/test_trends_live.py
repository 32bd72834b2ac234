"""Trend notices reach the routes from `run`, end to end through the fake Telegram."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.app.run import run_live
from bot.domain.models import ChannelRef, Post
from config.loader import load
from storage.store import Store
from tests.fakes import FakeTelegram
from tests.ports_fakes import RecordingSink
from tests.telegram.harness import wait_until

CHANNELS = 8
TEXT = "Жителей Суджи эвакуировали ночью, сообщают местные власти"


def config(out: Path) -> str:
    channels = "".join(f'[[channels]]\nref = "@news{i}"\n\n' for i in range(CHANNELS))
    return f"""
[telegram]
requests_per_second = 1000

{channels}
[[rules]]
name = "evacuation"
any = ["эвакуировали"]

[trends]
check_minutes = 0.01

[[routes]]
name = "log"
sink = "jsonl"
target = "{out}"
"""


def lines(out: Path) -> list[dict[str, object]]:
    if not out.exists():
        return []
    return [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines() if x.strip()]


async def test_run_delivers_a_surge_notice_for_a_name_many_channels_post_now(tmp_path: Path) -> None:
    """#29: 8 channels name Суджа within minutes; `run` raises the surge and the jsonl route gets it."""
    out = tmp_path / "alerts.jsonl"
    path = tmp_path / "telewatch.toml"
    path.write_text(config(out), encoding="utf-8")
    now = datetime.now(UTC)
    fake = FakeTelegram(start=now - timedelta(minutes=10))
    fake.refuse_connects = 10_000  # Telegram unreachable: trends need only the stored posts
    posts = []
    for i in range(CHANNELS):
        fake.add_channel(f"news{i}", tg_id=100 + i)
        ref = ChannelRef(tg_id=100 + i, username=f"news{i}", title=f"news {i}")
        posts.append(Post(channel=ref, message_id=1, date=now - timedelta(minutes=9 - i), text=TEXT))
    async with await Store.open(tmp_path / "t.db") as store, store.db.transaction() as tx:
        await store.posts.save(tx, posts, now)  # as `telewatch import` leaves them
    scheduler = AsyncIOScheduler(timezone="UTC")
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_live(
            load(path, {}),
            tmp_path / "t.db",
            gateway=fake,
            sinks={"console": RecordingSink("console")},
            stop=stop,
            scheduler=scheduler,
        )
    )
    try:
        await wait_until(lambda: any(x.get("notice") == "surge" for x in lines(out)), within=30)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    surge = next(x for x in lines(out) if x.get("notice") == "surge")
    assert "Суджа" in str(surge["title"])
    async with await Store.open(tmp_path / "t.db") as store:
        kinds = {c.kind for c in (await store.notices.conditions()).values()}
    assert "surge" in kinds
