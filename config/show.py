"""Settings written back as a config file: what `telewatch config show` prints. Loading its output gives
the same settings (a test round-trips the full example config): rule scopes as "sentence"/"text", quiet
hours as "HH:MM-HH:MM", no secrets (they only ever come from the environment or .env), no null values."""

from __future__ import annotations

import dataclasses
from datetime import time
from enum import Enum
from pathlib import Path
from typing import Any

from bot.domain.models import RuleSpec
from config.edit import rule_to_toml
from config.schema import ROUTE_EXCLUDE, TELEGRAM_EXCLUDE, TOP_EXCLUDE
from config.settings import RouteSettings, Settings


def settings_toml(settings: Settings) -> dict[str, Any]:
    """The settings as TOML tables (rule packs listed, and their rules written out: a rule in the file
    replaces the pack's rule of that name, so loading this gives the same rules in the same order)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(settings):
        if f.name in TOP_EXCLUDE:
            continue
        value = getattr(settings, f.name)
        if f.name == "rules":
            out["rules"] = [rule_to_toml(spec) for spec in value]
        elif f.name == "routes":
            out["routes"] = [_route(route) for route in value]
        elif f.name == "telegram":
            out["telegram"] = {k: v for k, v in _plain(value).items() if k not in TELEGRAM_EXCLUDE}
        elif f.name == "storage":
            out["storage"] = _plain(value) | {"keep_days_by_label": dict(value.keep_days_by_label)}
        elif f.name == "watcher":  # no name: the default <hostname>:<session> (name = "" is an error)
            out["watcher"] = {k: v for k, v in _plain(value).items() if not (k == "name" and v == "")}
        else:
            out[f.name] = _plain(value)
    shown: dict[str, Any] = _drop_none(out)
    return shown


def _route(route: RouteSettings) -> dict[str, Any]:
    data = {k: v for k, v in _plain(route).items() if k not in ROUTE_EXCLUDE}
    if route.quiet_hours is not None:
        start, end = route.quiet_hours
        data["quiet_hours"] = f"{start:%H:%M}-{end:%H:%M}"
    return data


def _plain(value: Any) -> Any:
    if isinstance(value, RuleSpec):
        return rule_to_toml(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Enum):
        return value.name.lower()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, time):
        return f"{value:%H:%M}"
    return value


def _drop_none(value: Any) -> Any:
    """TOML has no null: an unset option is left out (and so stays unset when loaded)."""
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value
