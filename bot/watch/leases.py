"""Channel leases: several `telewatch run` processes share one database, each channel watched by one.

The keeper renews this watcher's leases on a schedule (`renew_job`). A renewal also claims channels
that are unowned or whose owner stopped renewing (up to a fair share and `max_channels`), and names
channels to hand over to a watcher with room. A gained channel is caught up from the safe mark in the
database (where the previous owner left it: fetched again rather than skipped, and storing is
idempotent), then re-checked for edits and deletions made meanwhile. A lost or handed-over channel is
dropped from the watcher first, so it stores nothing new for it, and its mark is flushed before release.
Jobs only one watcher should run (health, trends, digests, pruning) run on the holder of the leader role.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.domain.errors import Disconnected
from bot.domain.records import LeaseGrant, WatcherBeat
from bot.domain.storage import LeaseStore
from bot.watch.resolve import Watched
from bot.watch.watcher import Watcher
from config.settings import Settings

log = logging.getLogger(__name__)

LEADER_ROLE = "jobs"

ChannelsChanged = Callable[[Sequence[Watched]], None]


def watcher_name(settings: Settings) -> str:
    """[watcher] name, or <hostname>:<session name> (stable across restarts of the same account here)."""
    return settings.watcher.name or f"{socket.gethostname()}:{settings.telegram.session_name}"


class LeaseKeeper:
    """This watcher's side of the leases: what it holds, renewing, gaining, handing over, releasing."""

    def __init__(
        self,
        watcher: Watcher,
        store: LeaseStore,
        settings: Callable[[], Settings],
        *,
        name: str | None = None,
        on_gained: ChannelsChanged | None = None,
        on_lost: ChannelsChanged | None = None,
    ) -> None:
        self.watcher = watcher
        self.store = store
        self.settings = settings
        self.name = name or watcher_name(settings())
        watcher.account_key = self.name  # access hashes are per account: cached under this watcher
        self.on_gained = on_gained
        self.on_lost = on_lost
        self.pool: dict[int, Watched] = {}  # every channel this account resolved, by channel row id
        self.leader = False
        self.adopted = False
        self.catching_up: dict[int, datetime] = {}  # channels gained and not caught up yet: since when
        self._renewing = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake: asyncio.Task[None] | None = None
        self.last_grant: LeaseGrant | None = None

    @property
    def held(self) -> set[int]:
        return {w.channel_id for w in self.watcher.watched.values()}

    def _beat(self) -> WatcherBeat:
        s = self.settings()
        now = self.watcher.clock.now()
        lag = max(((now - t).total_seconds() for t in self.catching_up.values()), default=0.0)
        return WatcherBeat(
            name=self.name,
            account=s.telegram.session_name,
            host=socket.gethostname(),
            pid=os.getpid(),
            max_channels=s.watcher.max_channels,
            lag_seconds=lag,
        )

    async def adopt(self) -> LeaseGrant:
        """After resolving (at the start, after a reload): every resolved channel joins the pool; the
        watcher keeps only those leased (the others' updates are ignored, their jobs never added)."""
        async with self._renewing:
            first = not self.adopted
            self.pool = {w.channel_id: w for w in self.watcher.watched.values()}
            self.adopted = True
            grant = await self._sync()
            keep = set(grant.held) - set(grant.surplus)
            for tg_id, w in list(self.watcher.watched.items()):
                if w.channel_id not in keep:
                    del self.watcher.watched[tg_id]
            now = self.watcher.clock.now()
            if first:  # the start's catch-up follows; a reload catches up without on_live
                for w in self.watcher.watched.values():
                    self.catching_up.setdefault(w.channel_id, now)
            if grant.surplus:
                await self.store.release(self.name, grant.surplus, now)
        log.info("watcher %s holds %d of %d channel(s) it can see", self.name, len(keep), len(self.pool))
        return grant

    def caught_up(self, channel_ids: Sequence[int] | None = None) -> None:
        """Catching up finished (for these channels, or all): the watcher's lag drops."""
        if channel_ids is None:
            self.catching_up.clear()
        for c in channel_ids or ():
            self.catching_up.pop(c, None)

    async def _sync(self) -> LeaseGrant:
        s = self.settings().watcher
        now = self.watcher.clock.now()
        grant = await self.store.sync(self._beat(), sorted(self.pool), now, s.lease_seconds)
        self.leader = await self.store.lead(LEADER_ROLE, self.name, now, s.lease_seconds)
        self.last_grant = grant
        return grant

    async def renew(self) -> LeaseGrant | None:
        """One renewal: keep what is held, start what was gained, drop what was lost or is handed over."""
        if not self.adopted:
            # Not resolved yet (Telegram unreachable, say): no channel to lease, nothing to give up by
            # accident; but the jobs that need no Telegram (health, trends) must still run on one watcher.
            s = self.settings().watcher
            now = self.watcher.clock.now()
            self.leader = await self.store.lead(LEADER_ROLE, self.name, now, s.lease_seconds)
            return None
        async with self._renewing:
            grant = await self._sync()
            held = set(grant.held)
            current = {w.channel_id: w for w in self.watcher.watched.values()}
            lost = [w for c, w in current.items() if c not in held]
            if lost:
                log.warning("watcher %s lost %d channel(s) to others (lease expired)", self.name, len(lost))
                self._drop(lost)
            handed = [current[c] for c in grant.surplus if c in current]
            if handed:
                await self._hand_over(handed)
            gained = [self.pool[c] for c in grant.held if c not in current and c not in grant.surplus]
            if gained:
                await self._gain(gained)
            self._wake_at(grant.next_free_at)
            return grant

    def _wake_at(self, at: datetime | None) -> None:
        """Renew again the moment another watcher's lease can run out, if that comes before the next
        scheduled renewal: a lapsed watcher's channels are then taken over within lease_seconds."""
        if self._wake is not None and not self._wake.done():
            self._wake.cancel()
        self._wake = None
        if at is None:
            return
        delay = (at - self.watcher.clock.now()).total_seconds() + 0.05
        if delay >= self.settings().watcher.renew_seconds:
            return  # the scheduled renewal comes first
        self._wake = asyncio.create_task(self._renew_after(max(0.0, delay)), name="lease-wake")

    async def _renew_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self._wake = None  # this task must not cancel itself from inside renew()
        try:
            await self.renew()
        except Exception:  # the scheduled renewal retries
            log.exception("renewing the channel leases failed")

    def _drop(self, channels: Sequence[Watched]) -> None:
        for w in channels:
            w.dropped = True  # a catch-up running for it stops after the page it is storing
            self.watcher.watched.pop(w.resolved.tg_id, None)
            self.catching_up.pop(w.channel_id, None)
        if self.on_lost is not None:
            self.on_lost(channels)

    async def _hand_over(self, channels: Sequence[Watched]) -> None:
        """Stop watching these, store what is in flight, persist their marks, then release them."""
        self._drop(channels)
        for w in channels:
            async with w.lock:  # the page being stored is stored
                pass
        await self.watcher.flush_marks()
        await self.store.release(self.name, [w.channel_id for w in channels], self.watcher.clock.now())
        log.info("watcher %s handed over %d channel(s)", self.name, len(channels))

    async def _gain(self, channels: Sequence[Watched]) -> None:
        """Watch these from where the database says their history is complete (the previous owner's mark)."""
        marks = await self.watcher.state.safe_marks()
        now = self.watcher.clock.now()
        fresh = []
        for old in channels:
            w = Watched(
                old.setting,
                old.parsed,
                old.resolved,
                old.channel_id,
                safe=marks.get(old.channel_id, 0),
                started=old.channel_id in marks,
            )
            self.pool[w.channel_id] = w
            self.watcher.watched[w.resolved.tg_id] = w
            self.catching_up[w.channel_id] = now
            fresh.append(w)
        log.info("watcher %s took over %d channel(s)", self.name, len(fresh))
        if self.on_gained is not None:
            self.on_gained(fresh)
        for w in fresh:
            task = asyncio.create_task(self._start(w, marks.get(w.channel_id, 0)), name=f"take-{w.name}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _start(self, w: Watched, mark: int) -> None:
        """Catch a gained channel up (once connected), then re-check the window below the old mark."""
        watcher = self.watcher
        try:
            await watcher.connected.wait()
            if w.dropped:
                return
            await watcher.start_channel(w)
            if mark and not w.dropped:
                await watcher.recheck(w, below=mark + 1)
        except Disconnected:
            return  # the reconnect's catch-up covers every held channel
        except Exception as e:  # recorded on the channel; its gap check retries
            await watcher.channel_error(w, e)
            return
        self.catching_up.pop(w.channel_id, None)

    async def stop(self) -> None:
        """A clean stop: pending take-overs cancelled, marks flushed, every lease released at once."""
        self._wake_at(None)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.store.stop(self.name, self.watcher.clock.now())


async def renew_job(keeper: LeaseKeeper) -> None:
    """Renew this watcher's leases; claim free channels; hand over its surplus."""
    await keeper.renew()


async def leader_job(keeper: LeaseKeeper, func: Callable[..., Awaitable[Any]], *args: Any) -> None:
    """Run a job only one watcher should run (health, trends, digests, pruning) on the leader only."""
    if keeper.leader:
        await func(*args)


def register_lease_jobs(scheduler: Any, keeper: LeaseKeeper) -> None:
    """Renew the leases every [watcher] renew_every_seconds, the first time at once (the leader role
    is taken then, so health and trend jobs run even before Telegram is reached)."""
    scheduler.add_job(
        renew_job,
        "interval",
        seconds=keeper.settings().watcher.renew_seconds,
        args=(keeper,),
        id="lease-renew",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        next_run_time=datetime.now(UTC),
    )


def lead_jobs(scheduler: Any, keeper: LeaseKeeper, job_ids: Sequence[str]) -> None:
    """Turn the jobs named (those already added) into jobs only the leader runs."""
    for job_id in job_ids:
        job = scheduler.get_job(job_id)
        if job is not None and job.func is not leader_job:
            scheduler.modify_job(job_id, func=leader_job, args=(keeper, job.func, *job.args))
