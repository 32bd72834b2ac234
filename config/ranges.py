"""The valid range of every numeric config key, in one table: the loader checks it, `channels add` uses
it for its options, and docs/configuration.md lists it (a test keeps the three in step)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

INT32_MAX = 2**31 - 1
MAX_DAYS = 100 * 366  # a century: beyond it a day count is a typo


@dataclass(frozen=True)
class Range:
    """low..high (low excluded when `above`), in `unit`; `note` says what a special value means."""

    low: float
    high: float
    unit: str = ""
    above: bool = False  # low itself is not allowed: "more than 0"
    note: str = ""

    def holds(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        return (self.low < value if self.above else self.low <= value) and value <= self.high

    def describe(self) -> str:
        low = f"more than {_num(self.low)}" if self.above else f"{_num(self.low)}"
        text = f"{low} to {_num(self.high)}" if self.above else f"{low}..{_num(self.high)}"
        if self.unit:
            text += f" {self.unit}"
        return f"{text} ({self.note})" if self.note else text


def _num(value: float) -> str:
    return f"{int(value):,}".replace(",", "_") if float(value).is_integer() else str(value)


_MINUTES_A_WEEK = 7 * 24 * 60
RANGES: dict[str, Range] = {
    "telegram.api_id": Range(1, INT32_MAX, note="the number from my.telegram.org"),
    "telegram.requests_per_second": Range(0, 1000, "requests a second", above=True),
    "telegram.server.port": Range(1, 65535),
    "telegram.server.dc_id": Range(1, 10_000),
    "channels.backfill_days": Range(0, MAX_DAYS, "days"),
    "channels.backfill_count": Range(0, 10_000_000, "posts"),
    "channels.poll_minutes": Range(0, _MINUTES_A_WEEK, "minutes", above=True),
    "channels.recheck_hours": Range(0, 24 * 366, "hours", above=True),
    "channels.recheck_posts": Range(0, 5000, "posts", note="0 turns the re-check off; 100 posts a request"),
    "rules.near.max_words": Range(1, 1000, "words", note='or "sentence" or "text"'),
    "routes.min_score": Range(0, 1, note="0: off"),
    "storage.keep_days": Range(0, MAX_DAYS, "days", note="0 keeps posts forever"),
    "storage.keep_days_by_label.*": Range(0, MAX_DAYS, "days", note="0 keeps posts forever"),
    "schedule.gap_check_minutes": Range(0, 1440, "minutes", above=True),
    "schedule.poll_minutes": Range(0, _MINUTES_A_WEEK, "minutes", above=True),
    "schedule.outbox_seconds": Range(0, 3600, "seconds", above=True),
    "schedule.health_check_minutes": Range(0, 1440, "minutes", above=True),
    "schedule.silent_after_hours": Range(0, 24 * 366, "hours", above=True),
    "schedule.digest_hour": Range(0, 23, note="local hour of the day"),
    "schedule.dedup_window_minutes": Range(0, _MINUTES_A_WEEK, "minutes", above=True),
    "schedule.recheck_minutes": Range(0, _MINUTES_A_WEEK, "minutes", above=True),
    "schedule.recheck_hours": Range(0, 24 * 366, "hours", above=True),
    "schedule.recheck_posts": Range(0, 5000, "posts", note="0 turns the re-check off; 100 posts a request"),
    "schedule.learn_minutes": Range(0, _MINUTES_A_WEEK, "minutes", above=True),
    "schedule.learn_after_marks": Range(1, 1_000_000, "marks"),
    "health.disconnected_minutes": Range(0, _MINUTES_A_WEEK, "minutes", above=True),
    "health.outbox_minutes": Range(0, _MINUTES_A_WEEK, "minutes", above=True),
    "health.disk_free_percent": Range(0, 99, "percent"),
    "health.history_days": Range(0, 366, "days", above=True),
    "health.unowned_minutes": Range(0, _MINUTES_A_WEEK, "minutes", above=True),
    "watcher.max_channels": Range(1, 100_000, "channels"),
    "watcher.lease_seconds": Range(2, 3600, "seconds"),
    "watcher.renew_every_seconds": Range(
        0, 1800, "seconds", note="0: lease_seconds / 3; otherwise 0.5 to half of lease_seconds"
    ),
    "trends.check_minutes": Range(0, 1440, "minutes", above=True),
    "trends.spike_sensitivity": Range(0, 100, note="robust z-score", above=True),
    "trends.spike_min_count": Range(1, 1_000_000, "matches"),
    "trends.spike_min_channels": Range(1, 100_000, "channels"),
    "trends.baseline_weeks": Range(1, 52, "weeks"),
    "trends.surge_channels": Range(1, 100_000, "channels"),
    "trends.surge_minutes": Range(0, 1440, "minutes", above=True),
    "trends.surge_rare_max": Range(0, 1_000_000, "posts"),
    "trends.cooldown_hours": Range(0, 24 * 366, "hours", above=True),
    "metrics.port": Range(0, 65535, note="0: no endpoint"),
    "media.photo_mb": Range(0, 4096, "MB", note="0 turns the kind off"),
    "media.video_mb": Range(0, 4096, "MB", note="0 turns the kind off"),
    "media.animation_mb": Range(0, 4096, "MB", note="0 turns the kind off"),
    "media.voice_mb": Range(0, 4096, "MB", note="0 turns the kind off"),
    "media.audio_mb": Range(0, 4096, "MB", note="0 turns the kind off"),
    "media.document_mb": Range(0, 4096, "MB", note="0 turns the kind off"),
    "media.sticker_mb": Range(0, 4096, "MB", note="0 turns the kind off"),
    "media.quota_gb": Range(0, 1_000_000, "GB", note="0: no limit"),
    "media.requests_per_second": Range(0, 1000, "requests a second", above=True),
    "admin.users": Range(1, 2**53, note="numeric Telegram user ids"),
}

_INDEX = re.compile(r"\[\d+\]")


def range_of(key: str) -> Range | None:
    """The range of a dotted key as the loader names it (channels[2].poll_minutes, admin.users[0],
    storage.keep_days_by_label.milblogger)."""
    plain = _INDEX.sub("", key)
    if plain in RANGES:
        return RANGES[plain]
    parent = plain.rpartition(".")[0]
    return RANGES.get(parent + ".*")


def markdown_table() -> str:
    """The ranges as the table docs/configuration.md shows (a test compares the two)."""
    rows = ["| key | valid values |", "| --- | --- |"]
    rows += [f"| `{key}` | {valid.describe()} |" for key, valid in RANGES.items()]
    return "\n".join(rows) + "\n"
