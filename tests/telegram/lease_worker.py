"""One `telewatch run` process of the multi-watcher fault test and bench (python -m tests.telegram.lease_worker).

Every worker simulates the same Telegram from one JSON spec: `channels` channels, each with `history`
posts that existed before the start and `live` posts published one every `interval` seconds from `t0`
(a Unix time), with message ids and dates fixed by their position, so every worker's simulated Telegram
holds the same posts. Every `alert_every`-th post mentions an evacuation (the rule `evac`). Requests take
`latency` seconds. Alerts go to a jsonl route (`out`); every delivery is also appended to `raw` (one
file per process), so repeats the jsonl sink would drop can still be counted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.alerts.sinks import JsonlSink, sink_key
from bot.app.backend import Location, PgLocation
from bot.app.run import install_signal_handlers, run_live
from bot.domain.ports import OutgoingAlert
from config.settings import (
    ChannelSettings,
    RouteSettings,
    Settings,
    TelegramSettings,
    WatcherSettings,
)
from tests.fakes import FakeTelegram
from tests.ports_fakes import WordMatcher

T0 = datetime(2024, 8, 7, 6, 0, tzinfo=UTC)


def text_of(spec: dict[str, Any], channel: int, message_id: int) -> str:
    """Texts differ between channels (alike, cross-channel deduplication would merge their alerts)."""
    words = "residents evacuated" if message_id % spec["alert_every"] == 0 else "quiet day"
    return f"{words} near town {channel}, report {message_id}"


def world(spec: dict[str, Any], live_published: int = 0) -> FakeTelegram:
    """The simulated Telegram: every channel with its history (and the first live posts, unpushed)."""
    fake = FakeTelegram()
    fake.latency = spec["latency"]
    for i in range(spec["channels"]):
        fake.add_channel(f"feed{i:03d}", tg_id=5000 + i)
        for m in range(1, spec["history"] + live_published + 1):
            fake.add_post(f"feed{i:03d}", text_of(spec, i, m), date=T0 + timedelta(seconds=m))
    return fake


def settings_of(spec: dict[str, Any], name: str, out: Path) -> Settings:
    return Settings(
        channels=tuple(ChannelSettings(ref=f"@feed{i:03d}") for i in range(spec["channels"])),
        routes=(RouteSettings(name="out", sink="jsonl", target=str(out), notices=()),),
        telegram=TelegramSettings(requests_per_second=10_000, session_name=name),
        watcher=WatcherSettings(
            name=name,
            max_channels=spec.get("max_channels", 500),
            lease_seconds=spec["lease"],
            renew_every_seconds=spec["renew"],
        ),
    )


class CountingSink(JsonlSink):
    """The jsonl sink, also logging every delivery it is asked for (before dropping repeats)."""

    def __init__(self, path: Path, raw: Path) -> None:
        super().__init__(path)
        self.raw = raw

    async def deliver_many(self, alerts: Any) -> None:
        alerts = list(alerts)
        with self.raw.open("a", encoding="utf-8") as f:
            f.write("".join(a.dedup_key + "\n" for a in alerts))
        await super().deliver_many(alerts)

    async def deliver(self, alert: OutgoingAlert) -> None:
        await self.deliver_many([alert])


async def publish_live(fake: FakeTelegram, spec: dict[str, Any], stop: asyncio.Event, done: int) -> None:
    """Publish each channel's live posts after the first `done` as their time comes (every worker
    agrees on their ids and texts)."""
    while done < spec["live"] and not stop.is_set():
        due = min(spec["live"], int((time.time() - spec["t0"]) / spec["interval"]) + 1)
        for k in range(done + 1, due + 1):
            m = spec["history"] + k
            for i in range(spec["channels"]):
                await fake.publish(f"feed{i:03d}", text_of(spec, i, m), date=T0 + timedelta(seconds=m))
        done = max(done, due)
        await asyncio.sleep(0.05)


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spec", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--raw", required=True)
    args = parser.parse_args(argv)
    spec = json.loads(Path(args.spec).read_text())  # noqa: ASYNC240 - once, before anything runs
    location: Location = (
        PgLocation(args.db, os.environ.get("TELEWATCH_DB_PASSWORD"))
        if args.db.startswith("postgresql")
        else Path(args.db)
    )
    out = Path(args.out)
    stop = asyncio.Event()
    install_signal_handlers(stop)
    already = max(0, min(spec["live"], int((time.time() - spec["t0"]) / spec["interval"])))
    fake = world(spec, already)  # posts published before this process started are history to it
    await fake.connect()
    publisher = asyncio.create_task(publish_live(fake, spec, stop, already))
    settings = settings_of(spec, args.name, out)
    try:
        await run_live(
            settings,
            location,
            gateway=fake,
            sinks={sink_key(settings.routes[0]): CountingSink(out, Path(args.raw))},
            stop=stop,
            matcher=WordMatcher({"evac": ["evacuated"]}),
        )
    finally:
        publisher.cancel()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
