"""Health checks of a running telewatch, and the scheduled job that alerts on them.

Each check judges one condition: the session, the connection, each channel's silence and state, the
outbox, each route's target, the disk. A failing check raises a `health` notice once, through the outbox
and the routes that take health notices; when it passes again a "recovered" notice follows, once.
`telewatch status` and the chat's /status show the same checks.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bot.alerts.notices import ConditionLedger, Raised
from bot.alerts.watchers import cluster
from bot.domain.models import Channel
from bot.domain.records import ChannelActivity
from bot.domain.refs import parse_channel_ref
from bot.domain.storage import Storage
from config.settings import Settings

log = logging.getLogger(__name__)

BAD_STATES = {
    "not found": "was deleted or its name no longer exists",
    "private": "became private (or the account was removed from it)",
    "banned": "banned the account",
    "renamed": "was renamed",
}
LIVE_CHECKS = ("session", "connection")  # judged only inside `telewatch run`
NOT_CHECKED_SESSION = "the Telegram session is not checked yet: telewatch run has not reached Telegram"
LIVE_KEY = "health.live"  # meta key: the live checks' last results, for `telewatch status`
MIN_GAPS = 20  # posts needed before a channel's own rhythm counts; fewer: silent_after_hours alone
GAP_QUANTILE = 0.95
GAP_FACTOR = 2.0


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One health check: `ok` is None when it cannot be judged here (a check that needs `run`)."""

    key: str
    check: str  # session | connection | silent | channel | lease | outbox | route | disk
    ok: bool | None
    title: str  # what is wrong (or right), one line
    detail: str = ""


@dataclass(slots=True)
class LiveState:
    """What only the running process knows, read by the session and connection checks."""

    auth_problem: Callable[[], str | None]  # why Telegram rejected the session, or None
    disconnected_since: Callable[[], datetime | None]  # when the connection was lost, None when up
    # Whether Telegram ever accepted a connection in this run: until then nothing is known of the session.
    ever_connected: Callable[[], bool] = lambda: True


def silent_threshold_hours(gaps: Sequence[float], floor_hours: float) -> float:
    """How long a channel may post nothing before it counts as silent: twice the 95th percentile of its
    gaps between posts (when it has at least MIN_GAPS of them), never less than `floor_hours`."""
    if len(gaps) < MIN_GAPS:
        return floor_hours
    ordered = sorted(gaps)
    usual = ordered[min(len(ordered) - 1, math.ceil(GAP_QUANTILE * len(ordered)) - 1)]
    return max(floor_hours, GAP_FACTOR * usual)


def _hours(h: float) -> str:
    return f"{h:.0f} h" if h >= 10 else f"{h:.1f} h"


class HealthMonitor:
    """Runs the checks; `run_once` turns failures into notices (raised once, recovered once)."""

    def __init__(
        self,
        store: Storage,
        settings: Callable[[], Settings],
        clock_now: Callable[[], datetime],
        *,
        live: LiveState | None = None,
        db_path: Path | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.now = clock_now
        self.live = live
        self.db_path = db_path
        self.ledger = ConditionLedger(store, settings)

    async def checks(self) -> list[CheckResult]:
        """Every check, in a stable order."""
        settings = self.settings()
        now = self.now()
        results = [self._session(), self._connection(now, settings)]
        results += await self._channels(now, settings)
        results += await self._leases(now, settings)
        results.append(await self._outbox(now, settings))
        results += await self._routes(settings)
        results.append(self._disk(settings))
        return results

    async def run_once(self) -> tuple[int, int]:
        """Raise the failing checks not raised yet and clear the passing ones; returns (raised, cleared)."""
        results = await self.checks()
        await self._store_live([r for r in results if r.check in LIVE_CHECKS])
        failing = [Raised(r.key, "health", r.title, r.detail) for r in results if r.ok is False]
        unknown = {r.key for r in results if r.ok is None}
        changes = await self.ledger.update(
            "health", failing, self.now(), known=lambda key: key not in unknown
        )
        for r in changes.raised:
            log.warning("health: %s", r.title)
        for c in changes.cleared:
            log.info("health: recovered: %s", c.detail)
        return len(changes.raised), len(changes.cleared)

    # -- the checks ---------------------------------------------------------------------------------------

    def _session(self) -> CheckResult:
        if self.live is None:
            return CheckResult("session", "session", None, "the session is checked by `telewatch run`")
        problem = self.live.auth_problem()
        if problem:
            return CheckResult(
                "session",
                "session",
                False,
                "the Telegram session was revoked or the account restricted",
                f"{problem}; run `telewatch login` again",
            )
        if not self.live.ever_connected():
            return CheckResult(
                "session",
                "session",
                None,
                NOT_CHECKED_SESSION,
            )
        return CheckResult("session", "session", True, "the Telegram session is accepted")

    def _connection(self, now: datetime, settings: Settings) -> CheckResult:
        if self.live is None:
            return CheckResult(
                "connection", "connection", None, "the connection is checked by `telewatch run`"
            )
        since = self.live.disconnected_since()
        if since is None:
            return CheckResult("connection", "connection", True, "connected to Telegram")
        limit = settings.health.disconnected_minutes
        minutes = max(0.0, (now - since).total_seconds() / 60)
        never = not self.live.ever_connected()
        if now - since > timedelta(minutes=limit):
            return CheckResult(
                "connection",
                "connection",
                False,
                f"{'never connected to' if never else 'disconnected from'} Telegram for {minutes:.0f} min",
                f"since {since:%Y-%m-%d %H:%M} UTC; posts are fetched when it reconnects",
            )
        # Not failing yet (the alert waits `disconnected_minutes`), but not connected either: not a ✓.
        return CheckResult(
            "connection",
            "connection",
            None,
            f"{'not connected to Telegram yet' if never else 'reconnecting to Telegram'} "
            f"({minutes:.0f} min; a health alert after {limit:g} min)",
        )

    async def _channels(self, now: datetime, settings: Settings) -> list[CheckResult]:
        results: list[CheckResult] = []
        since = now - timedelta(days=settings.health.history_days)
        activity = await self.store.notices.activity(since)
        states = await self.store.watch.states()
        floor = settings.schedule.silent_after_hours
        for setting in settings.channels:
            if not setting.enabled:
                continue
            channel_id = await self.store.overview.channel_by_reference(parse_channel_ref(setting.ref).key)
            if channel_id is None:
                continue  # never resolved by a live run: nothing to judge yet
            channel = await self.store.channels.get(channel_id)
            name = _name(channel, setting.ref)
            state = states.get(channel_id, "unknown")
            if state in BAD_STATES:
                results.append(
                    CheckResult(
                        f"channel:{channel_id}", "channel", False, f"{name} {BAD_STATES[state]}", state
                    )
                )
            else:
                results.append(CheckResult(f"channel:{channel_id}", "channel", True, f"{name}: {state}"))
            results.append(self._silence(channel_id, name, activity.get(channel_id), now, floor))
        return results

    def _silence(
        self, channel_id: int, name: str, act: ChannelActivity | None, now: datetime, floor: float
    ) -> CheckResult:
        key = f"silent:{channel_id}"
        if act is None or act.last_post_at is None:
            return CheckResult(key, "silent", None, f"{name}: no post stored yet")
        threshold = silent_threshold_hours(act.gaps_hours, floor)
        quiet = (now - act.last_post_at).total_seconds() / 3600
        rhythm = (
            f"usually posts at least every {_hours(threshold / GAP_FACTOR)}"
            if threshold > floor
            else f"silent_after_hours = {floor:g}"
        )
        if quiet > threshold:
            return CheckResult(
                key,
                "silent",
                False,
                f"{name} has posted nothing for {_hours(quiet)}",
                f"last post {act.last_post_at:%Y-%m-%d %H:%M} UTC; it {rhythm}"
                if threshold > floor
                else f"last post {act.last_post_at:%Y-%m-%d %H:%M} UTC ({rhythm})",
            )
        return CheckResult(
            key, "silent", True, f"{name}: last post {_hours(quiet)} ago (limit {_hours(threshold)})"
        )

    async def _leases(self, now: datetime, settings: Settings) -> list[CheckResult]:
        """Each channel some watcher can see is held by one; unowned beyond [health] unowned_minutes fails."""
        limit = timedelta(minutes=settings.health.unowned_minutes)
        found = await cluster(self.store, settings, now)
        results: list[CheckResult] = []
        if found.held:
            owners = len(set(found.held.values()))
            results.append(
                CheckResult(
                    "leases", "lease", True, f"{len(found.held)} channel(s) held by {owners} watcher(s)"
                )
            )
        for u in found.unowned:
            spell = now - u.since
            minutes = spell.total_seconds() / 60
            if spell > limit:
                results.append(
                    CheckResult(
                        f"unowned:{u.channel_id}",
                        "lease",
                        False,
                        f"{u.name} has been watched by no watcher for {minutes:.0f} min",
                        f"since {u.since:%Y-%m-%d %H:%M} UTC (last held by {u.last_owner or 'nobody'}); "
                        "start a watcher that can see it, or raise [watcher] max_channels",
                    )
                )
            else:
                results.append(
                    CheckResult(
                        f"unowned:{u.channel_id}", "lease", True, f"{u.name}: unowned for {minutes:.0f} min"
                    )
                )
        return results

    async def _outbox(self, now: datetime, settings: Settings) -> CheckResult:
        minutes = settings.health.outbox_minutes
        count, oldest = await self.store.notices.stale_pending(now - timedelta(minutes=minutes))
        if count:
            age = (now - oldest).total_seconds() / 60 if oldest else minutes
            return CheckResult(
                "outbox",
                "outbox",
                False,
                f"{count} alert(s) undelivered for more than {minutes:g} min",
                f"the oldest waits since {age:.0f} min; `telewatch status` and `alerts list` say why",
            )
        return CheckResult("outbox", "outbox", True, "no alert waits longer than " + f"{minutes:g} min")

    async def _routes(self, settings: Settings) -> list[CheckResult]:
        groups = await self.store.alerts.undelivered(await self.store.alerts.max_id(), all_pending=True)
        waiting: dict[str, str] = {}
        for g in groups:
            reason = g.waiting_for or (
                g.last_error if g.last_error and "kept pending" in g.last_error else None
            )
            if reason:
                waiting.setdefault(g.route, reason)
        results = []
        for route in settings.routes:
            key = f"route:{route.name}"
            if route.name in waiting:
                results.append(
                    CheckResult(
                        key, "route", False, f"route '{route.name}' cannot deliver", waiting[route.name]
                    )
                )
            else:
                results.append(CheckResult(key, "route", True, f"route '{route.name}' delivers"))
        return results

    async def record_live(self) -> None:
        """Store the session and connection checks for `telewatch status`, raising nothing: run does it at
        start and every heartbeat, so status tells "not connected to Telegram yet" before the first full
        health pass (a minute after start) and keeps its minutes current between passes."""
        if self.live is not None:
            await self._store_live([self._session(), self._connection(self.now(), self.settings())])

    async def _store_live(self, results: Sequence[CheckResult]) -> None:
        # Unknown results too: `telewatch status` must show "not connected yet", not an older ✓.
        live = [asdict(r) for r in results]
        await self.store.set_meta(LIVE_KEY, json.dumps({"at": self.now().isoformat(), "results": live}))

    def _disk(self, settings: Settings) -> CheckResult:
        path = self.db_path or settings.storage.path
        folder = Path(path).resolve().parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        try:
            usage = shutil.disk_usage(folder)
        except OSError as e:
            return CheckResult("disk", "disk", None, f"cannot read the disk usage of {folder}: {e.strerror}")
        free = 100.0 * usage.free / usage.total if usage.total else 100.0
        limit = settings.health.disk_free_percent
        text = f"{free:.1f}% free ({usage.free / 2**30:.1f} GiB) on the database's disk"
        if free < limit:
            return CheckResult(
                "disk", "disk", False, f"the disk is nearly full: {text}", f"{folder}; limit {limit:g}%"
            )
        return CheckResult("disk", "disk", True, text)


async def last_live_results(store: Storage, now: datetime, max_age: timedelta) -> list[CheckResult]:
    """The session and connection checks as `telewatch run` last judged them, if recently enough."""
    raw = await store.meta(LIVE_KEY)
    if not raw:
        return []
    try:
        data = json.loads(raw)
        at = datetime.fromisoformat(data["at"])
        results = [CheckResult(**r) for r in data["results"]]
    except (ValueError, KeyError, TypeError):
        return []
    return results if now - at <= max_age else []


async def all_checks(
    monitor: HealthMonitor, max_age: timedelta, *, run_started: datetime | None = None
) -> list[CheckResult]:
    """The checks as `telewatch status` shows them: the stored ones, the live ones from `run` when it ran
    its health job within `max_age`. `run_started` (a run holds the session's lock): without live results
    from it, it has not reached Telegram (it is still connecting), which is said rather than nothing."""
    results = await monitor.checks()
    now = monitor.now()
    live = {r.key: r for r in await last_live_results(monitor.store, now, max_age)}
    if not live and run_started is not None:
        minutes = max(0.0, (now - run_started).total_seconds() / 60)
        limit = monitor.settings().health.disconnected_minutes
        live["connection"] = CheckResult(
            "connection",
            "connection",
            None,
            f"not connected to Telegram yet ({minutes:.0f} min; a health alert after {limit:g} min)",
        )
        live["session"] = CheckResult("session", "session", None, NOT_CHECKED_SESSION)
    return [live.get(r.key, r) if r.ok is None else r for r in results]


def _name(channel: Channel | None, ref: str) -> str:
    if channel is not None and channel.username:
        return f"@{channel.username}"
    return channel.display if channel is not None else ref


def status_lines(results: Sequence[CheckResult], *, failing_only: bool = False) -> list[tuple[str, str]]:
    """(mark, text) per check for `telewatch status` and /status: ✗ failing, ✓ passing, · not judged."""
    out = []
    for r in results:
        if failing_only and r.ok is not False:
            continue
        mark = "✗" if r.ok is False else "✓" if r.ok else "·"
        out.append((mark, r.title + (f" — {r.detail}" if r.detail and r.ok is False else "")))
    return out
