"""Alert sinks, one module per kind, and the registry routes choose them from.

Adding a sink: write bot/alerts/sinks/<name>.py with a class implementing bot.domain.ports.AlertSink
(declaring its `capabilities`) and a `KIND = SinkKind(name=..., build=...)`, then add one line below.
"""

from __future__ import annotations

from bot.alerts.sinks import apprise, console, jsonl, telegram
from bot.alerts.sinks.console import ConsoleSink
from bot.alerts.sinks.jsonl import JsonlSink
from bot.alerts.sinks.registry import (
    KINDS,
    SinkEnv,
    SinkKind,
    SinkSet,
    check_routes,
    register,
    sink_key,
)
from bot.alerts.sinks.telegram import TelegramSink

# The built-in sinks: one registration line each.
register(console.KIND)
register(jsonl.KIND)
register(telegram.KIND)
register(apprise.KIND)

__all__ = [
    "KINDS",
    "ConsoleSink",
    "JsonlSink",
    "SinkEnv",
    "SinkKind",
    "SinkSet",
    "TelegramSink",
    "check_routes",
    "register",
    "sink_key",
]
