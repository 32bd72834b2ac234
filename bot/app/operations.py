"""What `run` does for the people operating it: a heartbeat in the database and the metrics endpoint."""

from __future__ import annotations

import errno
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.domain.errors import ConfigError, StorageError
from bot.domain.ports import Clock
from bot.watch.watcher import Watcher
from config.settings import MetricsSettings
from storage.snapshot import HEARTBEAT_KEY, STOPPED_KEY, Snapshot, take
from storage.store import Store

log = logging.getLogger(__name__)

HEARTBEAT_JOB_ID = "heartbeat"
HEARTBEAT_SECONDS = 30.0
OUTBOX_STUCK_SECONDS = 15 * 60  # the outbox health check fails when an alert waited longer
SNAPSHOT_TTL = 5.0  # seconds a database snapshot is reused between scrapes


async def heartbeat_job(store: Store, clock: Clock) -> None:
    """Record that `run` is alive (`telewatch health` and the container healthcheck read it)."""
    # Full precision: a restart within the second of a clean stop must still count as alive.
    await store.set_meta(HEARTBEAT_KEY, clock.now().isoformat())


async def record_stop(store: Store, clock: Clock) -> None:
    """Record a clean stop, so `telewatch health` says stopped instead of trusting the last heartbeat."""
    await store.set_meta(STOPPED_KEY, clock.now().isoformat())


def register_heartbeat(scheduler: AsyncIOScheduler, store: Store, clock: Clock) -> None:
    scheduler.add_job(
        heartbeat_job,
        "interval",
        seconds=HEARTBEAT_SECONDS,
        args=(store, clock),
        id=HEARTBEAT_JOB_ID,
        replace_existing=True,
        coalesce=True,
        max_instances=1,
    )


@dataclass
class ProcessState:
    """What only the running process knows: the Telegram connection and flood waits so far."""

    watcher: Watcher | None = None

    def connected(self) -> bool | None:
        return None if self.watcher is None else self.watcher.connected.is_set()

    def flood_seconds(self) -> dict[str, float]:
        return dict(self.watcher.pacer.flood_seconds) if self.watcher is not None else {}

    def flood_counts(self) -> dict[str, int]:
        return dict(self.watcher.pacer.flood_counts) if self.watcher is not None else {}


class TelewatchCollector:
    """A Prometheus collector: reads a database snapshot (cached briefly) and the process state."""

    def __init__(self, db_path: Path | None, state: ProcessState, now: Callable[[], Any]) -> None:
        self.db_path = db_path
        self.state = state
        self.now = now
        self._cached: tuple[float, Snapshot | None] = (0.0, None)
        self._lock = threading.Lock()

    def snapshot(self) -> Snapshot | None:
        if self.db_path is None:
            return None  # PostgreSQL: the database figures are read from SQLite files only (yet)
        with self._lock:
            at, snap = self._cached
            if snap is None or time.monotonic() - at > SNAPSHOT_TTL:
                try:
                    snap = take(self.db_path, self.now())
                except StorageError as e:
                    log.warning("metrics: %s", e.message)
                    snap = None
                self._cached = (time.monotonic(), snap)
            return snap

    def describe(self) -> list[Any]:
        return []  # collected on demand only: the registry must not scrape the database at registration

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        snap = self.snapshot()
        health = GaugeMetricFamily(
            "telewatch_health_ok", "1 when a health check passes, 0 when it fails", labels=["check"]
        )
        health.add_metric(["database"], 1.0 if snap is not None else 0.0)
        connected = self.state.connected()
        if connected is not None:
            health.add_metric(["telegram_connected"], 1.0 if connected else 0.0)
        flood_s = CounterMetricFamily(
            "telewatch_flood_wait_seconds", "Seconds Telegram asked telewatch to wait", labels=["request"]
        )
        flood_n = CounterMetricFamily("telewatch_flood_waits", "Flood waits received", labels=["request"])
        for kind, seconds in sorted(self.state.flood_seconds().items()):
            flood_s.add_metric([kind], seconds)
        for kind, count in sorted(self.state.flood_counts().items()):
            flood_n.add_metric([kind], count)
        yield flood_s
        yield flood_n
        if snap is None:
            yield health
            return
        stuck = snap.oldest_pending_age is not None and snap.oldest_pending_age > OUTBOX_STUCK_SECONDS
        health.add_metric(["outbox"], 0.0 if stuck else 1.0)
        health.add_metric(["conditions"], 0.0 if any(k == "health" for _, k in snap.conditions) else 1.0)
        yield health
        raised = GaugeMetricFamily(
            "telewatch_condition_raised",
            "1 for each raised health or trend condition (silent channel, session, disk, spike ...)",
            labels=["condition", "kind"],
        )
        for key, kind in snap.conditions:
            raised.add_metric([key, kind], 1.0)
        yield raised
        yield GaugeMetricFamily("telewatch_posts_stored", "Posts in the archive", value=snap.posts)
        yield GaugeMetricFamily(
            "telewatch_posts_deleted", "Stored posts deleted in Telegram", value=snap.deleted_posts
        )
        matches = GaugeMetricFamily("telewatch_matches", "Stored rule matches", labels=["rule"])
        for rule, n in sorted(snap.matches_by_rule.items()):
            matches.add_metric([rule], n)
        yield matches
        alerts = GaugeMetricFamily("telewatch_alerts", "Alerts in the outbox by state", labels=["state"])
        for state in ("pending", "sent", "failed", "held", "suppressed"):
            alerts.add_metric([state], snap.alerts_by_state.get(state, 0))
        yield alerts
        yield GaugeMetricFamily(
            "telewatch_outbox_oldest_pending_seconds",
            "Age of the oldest alert waiting to be sent (0 when none waits)",
            value=snap.oldest_pending_age or 0.0,
        )
        behind = GaugeMetricFamily(
            "telewatch_channel_behind_messages", "Messages not yet caught up", labels=["channel"]
        )
        post_age = GaugeMetricFamily(
            "telewatch_channel_last_post_age_seconds",
            "Seconds since the newest stored post",
            labels=["channel"],
        )
        check_age = GaugeMetricFamily(
            "telewatch_channel_last_check_age_seconds", "Seconds since the last check", labels=["channel"]
        )
        for ch in snap.channels:
            if ch.behind is not None:
                behind.add_metric([ch.name], ch.behind)
            if ch.last_post_age is not None:
                post_age.add_metric([ch.name], ch.last_post_age)
            if ch.last_check_age is not None:
                check_age.add_metric([ch.name], ch.last_check_age)
        yield behind
        yield post_age
        yield check_age
        # Always exported (0 before the first download), so dashboards and alerts find the series.
        media = GaugeMetricFamily("telewatch_media_files", "Media records by state", labels=["state"])
        for state, n in sorted({"stored": 0, **snap.media_by_state}.items()):
            media.add_metric([state], n)
        yield media
        yield GaugeMetricFamily(
            "telewatch_media_stored_bytes", "Bytes in the media archive", value=snap.media_bytes
        )
        yield GaugeMetricFamily("telewatch_database_bytes", "Size of the database file", value=snap.db_bytes)


def _bind_error(settings: MetricsSettings, e: OSError) -> ConfigError:
    """A failed listen, blamed on the key that caused it: a port in use or reserved, or an address."""
    where = f"{settings.address}:{settings.port}"
    reason = e.strerror or str(e)
    if e.errno == errno.EADDRINUSE:
        return ConfigError(
            f"cannot serve metrics on {where}: the port is in use",
            key="metrics.port",
            hint="choose a free port, or set port = 0 to turn the endpoint off",
        )
    if e.errno == errno.EACCES and settings.port < 1024:
        return ConfigError(
            f"cannot serve metrics on {where}: ports below 1024 need root",
            key="metrics.port",
            hint="choose a port from 1024 up (9464 is usual), or set port = 0",
        )
    return ConfigError(
        f"cannot serve metrics on {where}: {reason}",
        key="metrics.address",
        hint='listen on an address of this machine: "127.0.0.1", or "0.0.0.0" for every interface',
    )


class MetricsEndpoint:
    """The HTTP endpoint serving /metrics from a thread; `close()` stops it."""

    def __init__(self, settings: MetricsSettings, collector: TelewatchCollector) -> None:
        from prometheus_client import CollectorRegistry, start_http_server

        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(collector)
        try:
            self._server, self._thread = start_http_server(
                settings.port, addr=settings.address, registry=self.registry
            )
        except OSError as e:
            raise _bind_error(settings, e) from e
        self.port = int(self._server.server_address[1])

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def start_metrics(
    settings: MetricsSettings, db_path: Path | None, state: ProcessState, clock: Clock
) -> MetricsEndpoint | None:
    """Serve /metrics when [metrics] port is set."""
    if settings.port == 0:
        return None
    endpoint = MetricsEndpoint(settings, TelewatchCollector(db_path, state, clock.now))
    log.info("metrics on http://%s:%d/metrics", settings.address, endpoint.port)
    return endpoint
