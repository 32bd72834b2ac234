"""Which routes (sink + target) an alert for a match goes to, and its dedup key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.alerts.sinks import sink_key
from bot.domain.models import AlertKind, Channel, Match
from config.settings import RouteSettings


@dataclass(frozen=True, slots=True)
class Route:
    """A configured route, ready to test alerts against."""

    name: str
    sink: str
    target: str | None
    rules: frozenset[str]
    labels: frozenset[str]
    settings: RouteSettings

    @classmethod
    def from_settings(cls, route: RouteSettings) -> Route:
        return cls(
            name=route.name,
            sink=sink_key(route),
            target=route.target,
            rules=frozenset(route.rules),
            labels=frozenset(label.lower() for label in route.labels),
            settings=route,
        )

    def accepts(self, match: Match, channel: Channel) -> bool:
        if match.severity < self.settings.min_severity:
            return False
        if self.rules and match.rule not in self.rules:
            return False
        if self.labels:
            channel_labels = {t.lower() for t in (*channel.tags, channel.label or "") if t}
            if not channel_labels & self.labels:
                return False
        return True


class Router:
    """Chooses routes for matches."""

    def __init__(self, routes: Sequence[RouteSettings]) -> None:
        self.routes = [Route.from_settings(r) for r in routes]

    def routes_for(self, match: Match, channel: Channel) -> list[Route]:
        return [r for r in self.routes if r.accepts(match, channel)]


def dedup_key(channel: Channel, message_id: int, rule: str, kind: AlertKind, route: str) -> str:
    """The identity of an alert: the same post, rule, kind and route never alert twice."""
    return f"{channel.id}/{message_id}/{rule}/{kind.value}/{route}"
