"""Can every route's target take alerts now? For `telewatch check`: chats through the sending gateway,
files by a write test that leaves nothing behind."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.domain.errors import ChannelUnavailable, TelegramError
from bot.domain.ports import TelegramGateway
from config.settings import Settings
from config.targets import unwritable_reason

UNREACHABLE_HINT = (
    "a user must write to the bot first (e.g. send /start); a group or channel must have the bot (or the "
    "sending account) as a member allowed to post. Alerts for it wait until then."
)


@dataclass(frozen=True, slots=True)
class TargetReport:
    route: str
    sink: str
    target: str
    state: str  # ok | not found | private | banned | not joined | not writable | error
    detail: str = ""


async def check_route_targets(settings: Settings, sender: TelegramGateway | None) -> list[TargetReport]:
    """One report per route with a target: telegram chats probed with `sender`, jsonl files write-tested."""
    reports: list[TargetReport] = []
    for route in settings.routes:
        target = route.target or ""
        if route.sink == "telegram" and not target:
            reports.append(TargetReport(route.name, route.sink, "", "no target", "set target = a chat"))
        elif route.sink == "jsonl" and target:
            reason = unwritable_reason(Path(target))
            state = "ok" if reason is None else "not writable"
            reports.append(TargetReport(route.name, route.sink, target, state, reason or ""))
        elif route.sink == "telegram" and sender is not None:
            try:
                await sender.check_chat(target)
            except ChannelUnavailable as e:
                reports.append(TargetReport(route.name, route.sink, target, e.state, UNREACHABLE_HINT))
            except TelegramError as e:
                reports.append(TargetReport(route.name, route.sink, target, "error", e.message))
            else:
                reports.append(TargetReport(route.name, route.sink, target, "ok"))
    return reports
