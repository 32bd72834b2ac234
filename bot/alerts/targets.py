"""Can every route's target take alerts now? For `telewatch check`: each sink kind probes its own
targets (chats through the sending gateway, files by a write test that leaves nothing behind)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.alerts.sinks import KINDS
from bot.domain.ports import TelegramGateway
from config.settings import Settings


@dataclass(frozen=True, slots=True)
class TargetReport:
    route: str
    sink: str
    target: str
    state: str  # ok | not found | private | banned | not joined | not writable | error
    detail: str = ""


async def check_route_targets(settings: Settings, sender: TelegramGateway | None) -> list[TargetReport]:
    """One report per route whose sink can probe its target (each sink kind declares how)."""
    reports: list[TargetReport] = []
    for route in settings.routes:
        kind = KINDS.get(route.sink)
        found = await kind.probe(route, sender) if kind is not None and kind.probe is not None else None
        if found is not None:
            reports.append(TargetReport(route.name, route.sink, route.target or "", *found))
    return reports
