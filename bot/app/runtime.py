"""Wiring shared by every way of running telewatch: store, matcher, router, pipeline, sinks, dispatcher."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from bot.alerts.dedup import CopiesLookup
from bot.alerts.dispatcher import Dispatcher
from bot.alerts.gate import AlertGate
from bot.alerts.routing import Router, sink_key
from bot.alerts.sinks import ConsoleSink, JsonlSink
from bot.domain.errors import ConfigError
from bot.domain.models import ChannelRef
from bot.domain.ports import AlertSink, Clock, Matcher, SystemClock
from bot.ingest.pipeline import AlertPolicy, Pipeline, send_now
from config.settings import ChannelSettings, Settings
from storage.control import ControlRepository
from storage.store import Store


def build_matcher(settings: Settings) -> Matcher:
    """Compile the configured rules into one matcher."""
    from bot.rules import compile_rules  # the morphology dictionaries load on first use, not at import

    return compile_rules([r for r in settings.rules if r.enabled])


def build_local_sinks(settings: Settings, console: Console | None = None) -> dict[str, AlertSink]:
    """Sinks that need no network: console and JSONL files, keyed by route name."""
    sinks: dict[str, AlertSink] = {}
    for route in settings.routes:
        if route.sink == "console":
            sinks[route.sink] = ConsoleSink(console)
        elif route.sink == "jsonl":
            if not route.target:
                raise ConfigError(
                    "a jsonl route needs a target file", file=settings.path, key=f"routes.{route.name}.target"
                )
            sinks[sink_key(route.sink, route.target)] = JsonlSink(Path(route.target))
    return sinks


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
    async with store.db.transaction() as tx:
        for setting in settings.channels:
            ref = channel_ref_of(setting)
            if ref is None:
                continue
            channel = await store.channels.ensure(tx, ref)
            await store.channels.set_label(tx, channel.id, setting.label, setting.tags)


@dataclass
class Runtime:
    """A running telewatch's parts."""

    settings: Settings
    store: Store
    pipeline: Pipeline
    dispatcher: Dispatcher
    sinks: Mapping[str, AlertSink]


@asynccontextmanager
async def open_runtime(
    settings: Settings,
    db_path: Path | str,
    *,
    sinks: Mapping[str, AlertSink] | None = None,
    matcher: Matcher | None = None,
    clock: Clock | None = None,
    policy: AlertPolicy = send_now,
    console: Console | None = None,
) -> AsyncIterator[Runtime]:
    """Open the store, compile rules and wire the pipeline; closes the store on exit."""
    clock = clock or SystemClock()
    matcher = matcher or build_matcher(settings)
    sinks = sinks if sinks is not None else build_local_sinks(settings, console)
    store = await Store.open(db_path)
    try:
        await sync_channel_labels(store, settings)
        # Mutes, pause, quiet hours, digests and cross-channel dedup apply to replays as to live runs.
        control = ControlRepository(store.db)
        gate = AlertGate(control, lambda: settings)
        pipeline = Pipeline(store, matcher, Router(settings.routes), clock=clock, policy=policy, gate=gate)
        dispatcher = Dispatcher(store, sinks, clock=clock, copies=CopiesLookup(store, control))
        yield Runtime(settings, store, pipeline, dispatcher, sinks)
    finally:
        await store.close()
