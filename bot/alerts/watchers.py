"""Several watchers on one database, as `telewatch status`, /status and the health job see them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.domain.records import LeaseInfo
from bot.domain.refs import parse_channel_ref
from bot.domain.storage import Storage
from config.settings import Settings


@dataclass(frozen=True, slots=True)
class WatcherRow:
    """One watcher: live (renewing), lapsed (stopped renewing: crashed, frozen, cut off) or stopped."""

    name: str
    account: str
    host: str
    pid: int
    state: str  # live | lapsed | stopped
    channels: int
    max_channels: int
    last_renewal: datetime
    lag_seconds: float


@dataclass(frozen=True, slots=True)
class UnownedChannel:
    channel_id: int
    name: str
    since: datetime  # unowned since (released, or its owner's lease ran out)
    last_owner: str | None


@dataclass(frozen=True, slots=True)
class Cluster:
    watchers: list[WatcherRow]
    unowned: list[UnownedChannel]
    held: dict[int, str]  # channel row id -> watcher holding it

    def as_json(self, now: datetime) -> dict[str, Any]:
        return {
            "watchers": [
                {
                    "name": w.name,
                    "account": w.account,
                    "host": w.host,
                    "pid": w.pid,
                    "state": w.state,
                    "channels": w.channels,
                    "max_channels": w.max_channels,
                    "last_renewal": w.last_renewal.isoformat(timespec="seconds"),
                    "renewed_s_ago": round((now - w.last_renewal).total_seconds(), 1),
                    "lag_s": round(w.lag_seconds, 1),
                }
                for w in self.watchers
            ],
            "unowned": [
                {
                    "channel": u.name,
                    "since": u.since.isoformat(timespec="seconds"),
                    "for_s": round((now - u.since).total_seconds(), 1),
                    "last_owner": u.last_owner,
                }
                for u in self.unowned
            ],
        }


def unowned_since(lease: LeaseInfo) -> datetime:
    """When a lease that nobody holds now stopped being held."""
    return lease.since if lease.owner is None else lease.expires_at


async def configured_channel_ids(store: Storage, settings: Settings) -> set[int]:
    """Row ids of the enabled configured channels a live run has resolved."""
    ids = set()
    for setting in settings.channels:
        if setting.enabled:
            found = await store.overview.channel_by_reference(parse_channel_ref(setting.ref).key)
            if found is not None:
                ids.add(found)
    return ids


async def cluster(store: Storage, settings: Settings, now: datetime) -> Cluster:
    """Every watcher with its state, and the configured channels nobody holds."""
    lease_seconds = settings.watcher.lease_seconds
    rows = []
    for w in await store.leases.watchers():
        if w.stopped_at is not None:
            state = "stopped"
        elif now - w.last_renewal > timedelta(seconds=lease_seconds):
            state = "lapsed"
        else:
            state = "live"
        rows.append(
            WatcherRow(
                w.name,
                w.account,
                w.host,
                w.pid,
                state,
                w.channels_held if state == "live" else 0,
                w.max_channels,
                w.last_renewal,
                w.lag_seconds if state == "live" else 0.0,
            )
        )
    configured = await configured_channel_ids(store, settings)
    unowned, held = [], {}
    for lease in await store.leases.leases():
        if lease.held(now):
            assert lease.owner is not None
            held[lease.channel_id] = lease.owner
        elif lease.channel_id in configured:
            channel = await store.channels.get(lease.channel_id)
            name = (
                f"@{channel.username}"
                if channel and channel.username
                else (channel.display if channel else str(lease.channel_id))
            )
            unowned.append(UnownedChannel(lease.channel_id, name, unowned_since(lease), lease.owner))
    return Cluster(rows, unowned, held)


def cluster_lines(c: Cluster, now: datetime) -> list[str]:
    """Plain lines for /status: one per watcher, then the unowned channels."""
    lines = []
    for w in c.watchers:
        ago = (now - w.last_renewal).total_seconds()
        lag = f", lag {w.lag_seconds:.0f}s" if w.lag_seconds >= 1 else ""
        lines.append(
            f"watcher {w.name} ({w.account}): {w.state}, {w.channels}/{w.max_channels} channels, "
            f"renewed {ago:.0f}s ago{lag}"
        )
    for u in c.unowned:
        lines.append(f"unowned: {u.name} for {(now - u.since).total_seconds():.0f}s")
    return lines
