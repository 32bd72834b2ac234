"""The sink registry: each kind of sink names itself, says what target it needs and how it is built.

A route's `sink` names a kind; bot/app builds one sink per key (per kind, or per kind and target)
from the routes, once, and again on a live reload for the keys that are new.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from bot.domain.errors import ConfigError
from bot.domain.ports import AlertSink, MessageEditor, TelegramGateway
from config.convert import Source
from config.positions import KeyLines
from config.settings import RouteSettings, Settings


@dataclass(frozen=True, slots=True)
class SinkEnv:
    """What sink factories may use; built once per mode by bot/app."""

    console: Console | None = None
    sender: TelegramGateway | None = None  # the sending account or bot; None outside `telewatch run`
    editor: MessageEditor | None = None  # edits sent alerts in place (the alert bot's chat adapter)
    settings: Callable[[], Settings] | None = None  # the settings in force (they change on a reload)


# Builds the sink of a route; None when this mode cannot (its alerts wait in the outbox for one that can).
SinkFactory = Callable[[RouteSettings, SinkEnv], AlertSink | None]
# Can the route's target take alerts now (`telewatch check`)? (state, detail), "ok" when it can; None when
# there is nothing to check (no sender to probe a chat with). The sender is the gateway alerts go through.
Probe = Callable[[RouteSettings, TelegramGateway | None], Awaitable[tuple[str, str] | None]]


@dataclass(frozen=True, slots=True)
class SinkKind:
    """One kind of sink, as routes name it in `sink = "..."`."""

    name: str
    build: SinkFactory
    target: str | None = None  # what `target` must be (None: not needed), for the error message
    per_target: bool = False  # one sink per target (files) rather than one for every target (chats)
    # Why a route's target cannot work (a malformed URL), or None; checked at load and `config check`.
    validate: Callable[[RouteSettings], str | None] | None = None
    probe: Probe | None = None

    def key(self, route: RouteSettings) -> str:
        """How this route's sink is named in the outbox and the sinks mapping."""
        return f"{self.name}:{route.target}" if self.per_target else self.name


KINDS: dict[str, SinkKind] = {}


def register(kind: SinkKind) -> SinkKind:
    """Make a sink kind available to routes (a second kind with the same name replaces the first)."""
    KINDS[kind.name] = kind
    return kind


def kind_of(route: RouteSettings) -> SinkKind:
    """The registered kind a route names; KeyError when none (check_routes reports it first)."""
    return KINDS[route.sink]


def sink_key(route: RouteSettings) -> str:
    """The outbox name of a route's sink; an unknown kind is keyed by its name (it never delivers)."""
    kind = KINDS.get(route.sink)
    return kind.key(route) if kind is not None else route.sink


def check_routes(settings: Settings) -> None:
    """Raise ConfigError (file, line, key, what is valid) for a route naming no registered sink or
    lacking the target its sink needs."""
    for i, route in enumerate(settings.routes):
        kind = KINDS.get(route.sink)
        if kind is None:
            close = difflib.get_close_matches(route.sink, list(KINDS), n=1, cutoff=0.6)
            raise _route_error(
                settings,
                f"routes[{i}].sink",
                "is not allowed",
                route.sink,
                expected=" | ".join(KINDS),
                hint=f"did you mean '{close[0]}'?" if close else None,
            )
        if kind.target is not None and not (route.target or "").strip():
            raise _route_error(
                settings, f"routes[{i}].target", f"a {route.sink} route needs a target", None, kind.target
            )
        problem = kind.validate(route) if kind.validate is not None else None
        if problem is not None:
            raise _route_error(
                settings, f"routes[{i}].target", f"route '{route.name}': {problem}", None, kind.target or ""
            )


def _route_error(
    settings: Settings, key: str, problem: str, value: object, expected: str, hint: str | None = None
) -> ConfigError:
    lines = None
    if settings.path is not None:
        with contextlib.suppress(OSError, UnicodeDecodeError):
            lines = KeyLines(Path(settings.path).read_text(encoding="utf-8"))
    source = Source(settings.path or "config", lines)
    return source.error(problem, key, value, expected=expected, hint=hint)


class SinkSet(Mapping[str, AlertSink]):
    """The sinks of the routes in force, by key: shared by the dispatcher, digests and in-place edits.

    `given` sinks (tests, benchmarks, a CLI that brings its own) take their keys; with `build`, the
    others are built from the routes by their kind. `update` builds the sinks of routes added later.
    """

    def __init__(
        self, env: SinkEnv, given: Mapping[str, AlertSink] | None = None, *, build: bool = True
    ) -> None:
        self.env = env
        self.build = build
        self._sinks: dict[str, AlertSink] = dict(given or {})

    def update(self, settings: Settings) -> list[str]:
        """Build the sinks of routes that have none yet; returns their keys. Existing sinks are kept."""
        if not self.build:
            return []
        check_routes(settings)
        added: list[str] = []
        for route in settings.routes:
            kind = kind_of(route)
            key = kind.key(route)
            if key in self._sinks:
                continue
            sink = kind.build(route, self.env)
            if sink is not None:
                self._sinks[key] = sink
                added.append(key)
        return added

    def __getitem__(self, key: str) -> AlertSink:
        return self._sinks[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._sinks)

    def __len__(self) -> int:
        return len(self._sinks)
