"""The composition root: every service of a mode (demo, replay, import, run) built once from the settings.

`open_runtime` builds the store, matcher, router, alert gate, pipeline, sinks and dispatcher; nothing is
patched after construction. `Runtime.apply` is the one place a live reload rebuilds what changed (rules,
routes, sinks, channel labels); `telewatch run` adds the watcher's part in bot/app/run.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from rich.console import Console

from bot.alerts.dedup import CopiesLookup
from bot.alerts.dispatcher import Dispatcher
from bot.alerts.gate import AlertGate
from bot.alerts.relevance import RelevanceService
from bot.alerts.routing import Router
from bot.alerts.sinks import SinkEnv, SinkSet
from bot.app.backend import Location, open_store
from bot.domain.models import ChannelRef
from bot.domain.ports import AlertSink, Clock, Matcher, MessageEditor, SystemClock, TelegramGateway
from bot.domain.storage import ControlStore
from bot.ingest.matching_pool import MatcherSlot
from bot.ingest.pipeline import AlertPolicy, Pipeline, send_now
from config.settings import ChannelSettings, Settings
from storage.store import Store

log = logging.getLogger(__name__)


def build_matcher(settings: Settings) -> Matcher:
    """Compile the configured rules into one matcher."""
    from bot.rules import compile_rules  # the morphology dictionaries load on first use, not at import

    return compile_rules([r for r in settings.rules if r.enabled])


def channel_ref_of(setting: ChannelSettings) -> ChannelRef | None:
    """A ChannelRef for a configured channel when its reference names it directly (username or id)."""
    from bot.domain.refs import RefKind, parse_channel_ref

    parsed = parse_channel_ref(setting.ref)
    if parsed.kind is RefKind.USERNAME and parsed.username:
        return ChannelRef(username=parsed.username)
    if parsed.kind is RefKind.ID and parsed.tg_id is not None:
        return ChannelRef(tg_id=parsed.tg_id)
    return None  # invite links are resolved by the watcher


async def sync_channel_labels(store: Store, settings: Settings) -> None:
    """Copy each configured channel's label and tags to its row, so rules and routes can scope on them."""
    async with store.transaction() as tx:
        for setting in settings.channels:
            ref = channel_ref_of(setting)
            if ref is None:
                continue
            channel = await store.channels.ensure(tx, ref)
            await store.channels.set_label(tx, channel.id, setting.label, setting.tags)


@dataclass
class Runtime:
    """The parts of a running telewatch, built once by open_runtime."""

    settings: Settings
    store: Store
    control: ControlStore
    gate: AlertGate
    copies: CopiesLookup
    pipeline: Pipeline
    dispatcher: Dispatcher
    sinks: SinkSet
    relevance: RelevanceService
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def current(self) -> Settings:
        """The settings in force (services that read settings per use are given this method)."""
        return self.settings

    async def apply(self, new: Settings, *, matcher: Matcher | None = None) -> list[str]:
        """Put new settings in force: rules, routes, their sinks and channel labels, all or nothing.

        Compiles and checks first, so a failure (ConfigError) leaves the old settings in force.
        Returns the keys of sinks built for routes that had none.
        """
        async with self._lock:
            matcher = matcher or build_matcher(new)
            added = self.sinks.update(new)
            for key in added:
                log.info("new alert sink %s for a route added while running", key)
            self.settings = new
            self.pipeline.matcher = matcher
            self.pipeline.router = Router(new.routes)
            await sync_channel_labels(self.store, new)
            return added


@asynccontextmanager
async def open_runtime(
    settings: Settings,
    db_path: Location,
    *,
    sinks: Mapping[str, AlertSink] | None = None,
    build_sinks: bool | None = None,
    sender: TelegramGateway | None = None,
    editor: MessageEditor | None = None,
    matcher: Matcher | None = None,
    clock: Clock | None = None,
    policy: AlertPolicy = send_now,
    console: Console | None = None,
) -> AsyncIterator[Runtime]:
    """Open the store and build every service on it; closes the store on exit.

    Sinks are built from the routes through the sink registry (a telegram route gets one only with a
    `sender`: outside `telewatch run` its alerts wait in the outbox). `sinks` given take their keys;
    given alone (without build_sinks=True) they are the only ones.
    """
    clock = clock or SystemClock()
    matcher = matcher or build_matcher(settings)
    build = build_sinks if build_sinks is not None else sinks is None
    runtime: Runtime | None = None

    def current() -> Settings:
        return runtime.settings if runtime is not None else settings

    env = SinkEnv(console=console, sender=sender, editor=editor, settings=current)
    sink_set = SinkSet(env, sinks, build=build)
    sink_set.update(settings)  # checks every route names a known sink before anything is opened
    store = await open_store(db_path)
    matcher_pool = MatcherSlot()  # idle unless a bulk import starts its worker
    try:
        await sync_channel_labels(store, settings)

        # Mutes, pause, quiet hours, digests and cross-channel dedup apply to replays as to live runs.
        control = store.control
        gate = AlertGate(control, current)
        copies = CopiesLookup(store, control)
        relevance = await RelevanceService(store, settings.rule_packs, clock=clock).load()
        pipeline = Pipeline(
            store,
            matcher,
            Router(settings.routes),
            clock=clock,
            policy=policy,
            gate=gate,
            relevance=relevance,
            matcher_pool=matcher_pool,
        )
        dispatcher = Dispatcher(store, sink_set, clock=clock, copies=copies)
        runtime = Runtime(settings, store, control, gate, copies, pipeline, dispatcher, sink_set, relevance)
        yield runtime
    finally:
        matcher_pool.close()
        await store.close()
