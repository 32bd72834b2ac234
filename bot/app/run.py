"""`telewatch run`: wiring the watcher, the alert dispatcher and the scheduler, and their lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.alerts.dispatcher import Dispatcher
from bot.alerts.health import HealthMonitor, LiveState
from bot.alerts.relevance import register_relevance_job
from bot.alerts.sinks import check_routes
from bot.alerts.summary import UndeliveredLine, undelivered_lines
from bot.alerts.trend_watch import TrendWatch
from bot.app.backend import Location, sqlite_file
from bot.app.maintenance import build_archiver, register_prune_job
from bot.app.operations import (
    HEARTBEAT_SECONDS,
    ProcessState,
    heartbeat_job,
    record_stop,
    register_heartbeat,
    start_metrics,
)
from bot.app.runtime import Runtime, open_runtime
from bot.chat.control import ChatControl
from bot.chat.jobs import ChatServices, build_chat_services, register_chat_jobs
from bot.domain.errors import AuthError, Disconnected
from bot.domain.ports import AlertSink, Clock, Matcher, MessageEditor, SystemClock, TelegramGateway
from bot.domain.refs import parse_channel_ref
from bot.domain.retry import Backoff
from bot.rules import compile_rules
from bot.watch.jobs import (
    channel_job_ids,
    health_job,
    register_health_job,
    register_jobs,
    register_live_record_job,
    register_trend_job,
)
from bot.watch.leases import LeaseKeeper, lead_jobs, register_lease_jobs
from bot.watch.lock import InstanceLock
from bot.watch.resolve import Watched
from bot.watch.watcher import Watcher
from config.settings import Settings
from config.watch import ConfigWatcher

log = logging.getLogger(__name__)

# Jobs one watcher runs for all (the holder of the leader role): notices, digests, pruning, retraining.
LEADER_JOBS = (
    "health",
    "trends",
    "chat-digests",
    "chat-mute-expiry",
    "chat-dedup-edits",
    "retention-prune",
    "relevance-retrain",
)


class DispatchKicker:
    """Wakes the outbox dispatcher as soon as alerts are enqueued; runs coalesce into one pass."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self._task: asyncio.Task[None] | None = None
        self._again = False

    def __call__(self) -> None:
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.create_task(self._run(), name="dispatch-now")

    async def _run(self) -> None:
        while True:
            self._again = False
            try:
                await self.dispatcher.run_once()
            except Exception:  # the periodic dispatcher retries; a live kick must not crash the app
                log.exception("alert dispatch failed")
            if not self._again:
                return

    async def wait(self) -> None:
        if self._task is not None:
            await self._task


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def connect_or_stop(gateway: TelegramGateway, stop: asyncio.Event) -> bool:
    """Connect, unless `stop` is set first (Ctrl-C during a slow connect stops at once): False then."""
    connecting = asyncio.create_task(gateway.connect(), name="connect")
    stopped = asyncio.create_task(stop.wait(), name="connect-stop")
    await asyncio.wait({connecting, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if not connecting.done():
        connecting.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await connecting
        return False
    connecting.result()  # raises the connect error, if any
    return True


async def connect_with_retry(
    gateway: TelegramGateway, stop: asyncio.Event, *, what: str = "Telegram", max_backoff: float = 60.0
) -> bool:
    """Connect, retrying with backoff (logged) while Telegram is unreachable; False if stopped first."""
    backoff = Backoff(cap=max_backoff)
    while not stop.is_set():
        try:
            return await connect_or_stop(gateway, stop)
        except Disconnected as e:
            delay = backoff.next()
            log.warning("%s: %s; attempt %d failed, next in %.0fs", what, e, backoff.attempt, delay)
            await _sleep_or_stop(stop, delay)
    return False


async def keep_watching(
    watcher: Watcher,
    stop: asyncio.Event,
    *,
    max_backoff: float = 60.0,
    on_live: Callable[[], None] | None = None,
) -> None:
    """Connect, resolve, catch up, stay live; after a disconnect, reconnect (with backoff) and catch up."""
    gateway = watcher.gateway
    backoff = Backoff(cap=max_backoff)
    resolved = False
    # A stop during a catch-up (SIGTERM) ends it after the page being stored, not after every page.
    relay = asyncio.create_task(stop.wait(), name="relay-stop")
    relay.add_done_callback(lambda t: None if t.cancelled() else watcher.stop())
    while not stop.is_set():
        try:
            if not await connect_or_stop(gateway, stop):
                break
            if not resolved:
                await watcher.resolve_all()
                resolved = True
            await watcher.catch_up_all()
        except Disconnected as e:
            delay = backoff.next()
            log.warning(
                "Telegram unreachable (%s); attempt %d failed, next in %.0fs", e, backoff.attempt, delay
            )
            await _sleep_or_stop(stop, delay)
            continue
        backoff.reset()
        watcher.connected.set()
        watcher.ever_connected = True
        watcher.disconnected_since = None
        if on_live is not None:
            on_live()
        lost = asyncio.create_task(gateway.wait_disconnected())
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({lost, stopped}, return_when=asyncio.FIRST_COMPLETED)
        watcher.connected.clear()
        watcher.disconnected_since = watcher.clock.now()
        for task in (lost, stopped):
            task.cancel()
        if not stop.is_set():
            log.warning("disconnected from Telegram; reconnecting and catching up")
    relay.cancel()
    await watcher.drain()


class ChatAdapter(Protocol):
    """The alert chat's transport (bot.telegram.chat.TelegramChat): commands in, replies and notices out."""

    def attach(self, control: ChatControl) -> None: ...

    async def notify(self, chats: Sequence[str | int], html: str) -> None: ...


# Called with the names a chat is known by (its id, its @username) when a message arrives from it.
ChatSeen = Callable[[Sequence[str]], Awaitable[None]]


@runtime_checkable
class SeenChat(Protocol):
    """A chat adapter that reports chats writing to the bot (so alerts waiting for them are retried)."""

    def on_chat_seen(self, handler: ChatSeen) -> None: ...


class LiveSettings:
    """The settings in force while running; `apply` swaps in new ones without a restart.

    The runtime rebuilds rules, routes and sinks (Runtime.apply); this adds the watcher's part: new
    channels resolved and caught up, removed ones dropped with their jobs.
    """

    def __init__(self, runtime: Runtime, watcher: Watcher, scheduler: AsyncIOScheduler) -> None:
        self.runtime = runtime
        self.watcher = watcher
        self.scheduler = scheduler
        self._lock = asyncio.Lock()

    @property
    def current(self) -> Settings:
        return self.runtime.settings

    async def apply(self, new: Settings) -> None:
        """New rules, routes and labels at once; new channels resolved and caught up; removed ones dropped."""
        async with self._lock:
            await self.runtime.apply(new)  # a failure (bad rule, unknown sink) leaves the old settings
            self.watcher.settings = new
            configured = {parse_channel_ref(c.ref).key for c in new.channels if c.enabled}
            for tg_id, watched in list(self.watcher.watched.items()):
                if watched.parsed.key not in configured:
                    del self.watcher.watched[tg_id]
                    for job_id in channel_job_ids(watched):
                        with contextlib.suppress(JobLookupError):
                            self.scheduler.remove_job(job_id)
            if self.watcher.connected.is_set():
                await self.watcher.resolve_all()
                await self.watcher.catch_up_all()
                if self.scheduler.running:
                    register_jobs(self.scheduler, self.watcher)
        log.info("configuration applied: %d channels, %d rules", len(new.channels), len(new.rules))


def install_signal_handlers(stop: asyncio.Event) -> list[signal.Signals]:
    """SIGINT / SIGTERM set `stop`: in-flight writes finish, then everything closes in order. Returns
    the list the signals received are added to: Ctrl-C (SIGINT) ends with the interrupted exit code,
    SIGTERM (a service being stopped) is a normal end."""
    loop = asyncio.get_running_loop()
    received: list[signal.Signals] = []

    def on_signal(sig: signal.Signals) -> None:
        received.append(sig)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, on_signal, sig)
    return received


async def run_live(
    settings: Settings,
    db_path: Location,
    *,
    gateway: TelegramGateway,
    sender: TelegramGateway | None = None,
    editor: MessageEditor | None = None,
    sinks: Mapping[str, AlertSink] | None = None,
    stop: asyncio.Event | None = None,
    clock: Clock | None = None,
    lock_file: Path | None = None,
    scheduler: AsyncIOScheduler | None = None,
    matcher: Matcher | None = None,
    chat: ChatAdapter | None = None,
    config_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    reload_seconds: float = 2.0,
) -> list[UndeliveredLine]:
    """Run the watcher until `stop` (or a signal): the body of `telewatch run`, gateway injected.

    Alerts are sent through `sender` (the alert bot; default: the watching account's `gateway`), and
    edited in place through `editor`; `sinks` given replace the ones the routes would get.
    Returns what was left undelivered at shutdown (also logged), with why.

    With `chat`, the alert chat's commands and review buttons are served; with `config_path`, edits to
    the config file (by hand or by chat command) take effect while running, once each.
    """
    clock = clock or SystemClock()
    stop = stop or asyncio.Event()
    lock = InstanceLock(lock_file) if lock_file is not None else None
    if lock is not None:
        lock.acquire()
    try:
        async with open_runtime(
            settings,
            db_path,
            sinks=sinks,
            build_sinks=True,
            sender=sender or gateway,
            editor=editor,
            clock=clock,
            matcher=matcher,
        ) as runtime:
            summary = await _serve(
                runtime, gateway, stop, clock, scheduler, chat, config_path, environ, reload_seconds
            )
    finally:
        if lock is not None:
            lock.release()
    return summary


async def _serve(
    runtime: Runtime,
    gateway: TelegramGateway,
    stop: asyncio.Event,
    clock: Clock,
    scheduler: AsyncIOScheduler | None,
    chat: ChatAdapter | None,
    config_path: Path | None,
    environ: Mapping[str, str] | None,
    reload_seconds: float,
) -> list[UndeliveredLine]:
    """Watch, dispatch, serve the chat and reload the config until `stop`; then close in order."""
    live_run = LiveRun(runtime, gateway, stop, clock, scheduler or AsyncIOScheduler(timezone="UTC"))
    live_run.watch_config(config_path, environ, reload_seconds)
    live_run.serve_chat(chat, config_path, environ)
    return await live_run.run()


class LiveRun:
    """The parts only `telewatch run` has, around the runtime: watcher, dispatcher kicks, scheduler jobs,
    chat control, config reload, media archive and metrics; started together, closed in order."""

    def __init__(
        self,
        runtime: Runtime,
        gateway: TelegramGateway,
        stop: asyncio.Event,
        clock: Clock,
        scheduler: AsyncIOScheduler,
    ) -> None:
        self.runtime = runtime
        self.gateway = gateway
        self.stop = stop
        self.clock = clock
        self.scheduler = scheduler
        self.kicker = DispatchKicker(runtime.dispatcher)
        self.watcher = Watcher(
            gateway, runtime.pipeline, runtime.settings, clock=clock, on_alerts=self.kicker
        )
        self.live = LiveSettings(runtime, self.watcher, scheduler)
        self.keeper = LeaseKeeper(
            self.watcher,
            runtime.store.leases,
            lambda: self.live.current,
            on_gained=self._channels_gained,
            on_lost=self._channels_lost,
        )
        self.watcher.after_resolve = self.keeper.adopt
        runtime.dispatcher.claimer = self.keeper.name  # its claims left by a crash are its own again
        self.health = HealthMonitor(
            runtime.store,
            lambda: self.live.current,
            clock.now,
            live=LiveState(
                lambda: self.watcher.pacer.auth_problem,
                lambda: self.watcher.disconnected_since,
                lambda: self.watcher.ever_connected,
            ),
            db_path=sqlite_file(runtime.store),
        )
        self.trends = TrendWatch(runtime.store, lambda: self.live.current, clock.now)
        self.reloader: ConfigWatcher | None = None
        self.chat: ChatAdapter | None = None
        self.services: ChatServices | None = None
        self._jobs_added = False
        self._tasks: list[asyncio.Task[None]] = []  # cancelled at shutdown, newest first

    def watch_config(self, path: Path | None, environ: Mapping[str, str] | None, interval: float) -> None:
        """Apply edits of the config file (by hand or by chat command) while running."""
        if path is not None:
            self.reloader = ConfigWatcher(
                path,
                environ or {},
                self.live.apply,
                current=self.runtime.settings,
                interval=interval,
                validate=check_routes,
                check_rules=compile_rules,
            )

    async def reload_now(self, _edited: Settings) -> None:
        """A chat edit wrote the file: reload through the config watcher, so the edit applies once."""
        if self.reloader is not None:
            await self.reloader.check()

    def serve_chat(
        self, chat: ChatAdapter | None, path: Path | None, environ: Mapping[str, str] | None
    ) -> None:
        """Build chat control on the runtime's services and attach the chat adapter, if any."""
        runtime = self.runtime
        self.services = build_chat_services(
            runtime.store,
            runtime.current,
            runtime.sinks,
            config_path=path,
            clock=self.clock,
            environ=environ,
            on_config_change=self.reload_now,
            repo=runtime.control,
            gate=runtime.gate,
            copies=runtime.copies,
            relevance=runtime.relevance,
        )
        self.chat = chat
        if chat is None:
            return
        self.services.control.ctx.health = self.health  # /status shows the same checks
        self.services.control.ctx.trends = self.trends  # /trends: the current top
        chat.attach(self.services.control)
        if isinstance(chat, SeenChat):  # a chat that writes to the bot is reachable: retry what waits for it
            chat.on_chat_seen(self._chat_seen)

    async def _chat_seen(self, names: Sequence[str]) -> None:
        if await self.runtime.dispatcher.wake(*names):
            self.kicker()

    async def notify_admins(self, html: str) -> None:
        if self.chat is not None:
            await self.chat.notify(self.live.current.admin.chats, html)

    def _channels_gained(self, channels: Sequence[Watched]) -> None:
        """Channels taken over from another watcher get their jobs (once the first catch-up is done)."""
        if self._jobs_added:
            register_jobs(self.scheduler, self.watcher)

    def _channels_lost(self, channels: Sequence[Watched]) -> None:
        for w in channels:
            for job_id in channel_job_ids(w):
                with contextlib.suppress(JobLookupError):
                    self.scheduler.remove_job(job_id)

    def on_live(self) -> None:
        """Connected and caught up: add the scheduler jobs (once) and deliver what is pending."""
        self.keeper.caught_up()
        if not self._jobs_added:
            current = lambda: self.live.current  # noqa: E731 - read at each run of a job
            register_jobs(self.scheduler, self.watcher)
            if self.services is not None:
                register_chat_jobs(self.scheduler, self.services, self.clock, notify=self.notify_admins)
            register_prune_job(self.scheduler, self.runtime.store, current, self.clock)
            register_relevance_job(self.scheduler, self.runtime.relevance, current)
            lead_jobs(self.scheduler, self.keeper, LEADER_JOBS)
            self._jobs_added = True
        self.kicker()  # deliver alerts left pending by an earlier run or the catch-up

    def _start(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(asyncio.create_task(coro, name=name))

    async def run(self) -> list[UndeliveredLine]:
        """Start everything, watch until `stop`, then close in order; returns what is left undelivered."""
        runtime, settings = self.runtime, self.runtime.settings
        first_alert = await runtime.store.alerts.max_id()
        metrics = None
        dispatching: asyncio.Task[None] | None = None
        try:
            # Everything started from here on is stopped in `finally`, also when a later step fails
            # (a metrics port in use): a task left running would outlive the store it writes to.
            archiver = build_archiver(runtime, self.gateway, self.watcher, self.clock, self.stop)
            if archiver is not None:
                self._start(archiver.run(), "media-archive")  # a download cut short stays pending
            register_heartbeat(self.scheduler, runtime.store, self.clock)
            register_health_job(
                self.scheduler, self.health, settings.schedule.health_check_minutes, self.kicker
            )
            if settings.trends.enabled:
                register_trend_job(self.scheduler, self.trends, settings.trends.check_minutes, self.kicker)
            register_lease_jobs(self.scheduler, self.keeper)
            lead_jobs(self.scheduler, self.keeper, LEADER_JOBS)
            metrics = start_metrics(
                settings.metrics, sqlite_file(runtime.store), ProcessState(self.watcher), self.clock
            )
            register_live_record_job(self.scheduler, self.health, HEARTBEAT_SECONDS)
            self.scheduler.start()
            await heartbeat_job(runtime.store, self.clock)
            await self.health.record_live()  # status: "not connected to Telegram yet" from the start
            dispatching = asyncio.create_task(
                runtime.dispatcher.run_forever(self.stop, interval=settings.schedule.outbox_seconds)
            )
            if self.reloader is not None:
                self._start(self.reloader.run(), "config-watch")
            await keep_watching(self.watcher, self.stop, on_live=self.on_live)
        except AuthError as e:
            # The session was rejected: say so through the routes that need no Telegram session, then stop.
            self.watcher.pacer.auth_problem = e.message
            with contextlib.suppress(Exception):
                await health_job(self.health)
                await runtime.dispatcher.run_once()
            raise
        finally:
            self.stop.set()
            await self._cancel_tasks()
            if self.scheduler.running:
                self.scheduler.shutdown(wait=False)
            if metrics is not None:
                metrics.close()
            await self.kicker.wait()
            if dispatching is not None:
                await dispatching
            summary = await self._close(first_alert)
        return summary

    async def _cancel_tasks(self) -> None:
        for task in reversed(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _close(self, first_alert: int) -> list[UndeliveredLine]:
        await self.watcher.flush_marks()
        runtime = self.runtime
        try:  # the others take over at once instead of after lease_seconds
            await self.keeper.stop()
            await runtime.store.alerts.release_claims(self.keeper.name)
        except Exception:
            log.exception(
                "releasing the channel leases failed; they expire in %gs",
                self.live.current.watcher.lease_seconds,
            )
        summary = await undelivered_lines(runtime.store, runtime.sinks, first_alert, all_pending=True)
        for line in summary:
            (log.error if line.error else log.warning)("at shutdown: %s", line.text)
        with contextlib.suppress(Exception):  # a database gone bad is reported elsewhere
            await record_stop(runtime.store, self.clock)
        with contextlib.suppress(Exception):
            await self.gateway.disconnect()
        return summary
