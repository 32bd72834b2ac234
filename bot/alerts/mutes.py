"""Mutes: parsing durations, muting rules and channels, and checking what an alert is muted by."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.domain import timeparse
from bot.domain.models import Channel
from bot.domain.records import Mute
from bot.domain.storage import ControlStore

MAX_MUTE = timedelta(days=90)


def parse_duration(text: str) -> timedelta:
    """How long a mute lasts: a duration (bot.domain.timeparse) of at most 90 days; ValueError otherwise."""
    value = timeparse.parse_duration(text)
    if value > MAX_MUTE:
        raise ValueError(f"{text!r} is longer than the 90 days a mute may last")
    return value


def format_duration(delta: timedelta) -> str:
    """A short human duration: 45m, 1h 30m, 2d 3h."""
    minutes = max(0, round(delta.total_seconds() / 60))
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{mins}m" if mins else ""]
    return " ".join(p for p in parts if p) or "0m"


def muted_by(mutes: Sequence[Mute], rule: str, channel: Channel) -> Mute | None:
    """The mute that silences `rule` on `channel`, if any."""
    for mute in mutes:
        if mute.kind == "rule" and mute.value == rule:
            return mute
        if mute.kind == "channel" and mute.value == str(channel.id):
            return mute
    return None


class Mutes:
    """Muting and unmuting, on top of the control repository."""

    def __init__(self, repo: ControlStore) -> None:
        self.repo = repo

    async def mute_rule(self, rule: str, duration: timedelta, by: str, now: datetime) -> datetime:
        until = now + duration
        await self.repo.add_mute("rule", rule, rule, until, by, now)
        return until

    async def mute_channel(self, channel: Channel, duration: timedelta, by: str, now: datetime) -> datetime:
        until = now + duration
        label = f"@{channel.username}" if channel.username else channel.display
        await self.repo.add_mute("channel", str(channel.id), label, until, by, now)
        return until

    async def unmute_rule(self, rule: str) -> bool:
        return await self.repo.remove_mute("rule", rule)

    async def unmute_channel(self, channel: Channel) -> bool:
        return await self.repo.remove_mute("channel", str(channel.id))

    async def active(self, now: datetime) -> list[Mute]:
        return await self.repo.active_mutes(now)

    async def expire(self, now: datetime) -> list[Mute]:
        """Forget mutes that have ended (they stop applying at `until` even before this runs)."""
        return await self.repo.expire_mutes(now)
