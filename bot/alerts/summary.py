"""What a run leaves undelivered, and why: the summary every demo, replay, import and run ends with."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from bot.domain.models import AlertStatus
from bot.domain.records import UndeliveredGroup
from bot.domain.storage import Storage

RUN_ONLY = "`telewatch run`: the {sink} sink sends only while telewatch runs"


@dataclass(frozen=True, slots=True)
class UndeliveredLine:
    """One group of undelivered alerts, said in words; `error` when something is wrong (not just later)."""

    text: str
    count: int
    error: bool


def _where(g: UndeliveredGroup) -> str:
    sink = g.sink.split(":", 1)[0]
    return f"route '{g.route}' ({sink}{' → ' + g.target if g.target else ''})"


def describe(g: UndeliveredGroup, available: Collection[str]) -> UndeliveredLine:
    """Why a group of alerts was not delivered, in one line."""
    n = f"{g.count} alert(s) for {_where(g)}"
    if g.status is AlertStatus.FAILED:
        return UndeliveredLine(f"{n} failed: {g.last_error or 'unknown error'}", g.count, True)
    if g.status is AlertStatus.HELD:
        return UndeliveredLine(f"{n} held for a digest (quiet hours, pause or digest route)", g.count, False)
    if g.sink not in available:
        reason = g.waiting_for or RUN_ONLY.format(sink=g.sink.split(":", 1)[0])
        return UndeliveredLine(f"{n} kept pending for {reason}", g.count, False)
    if g.waiting_for:
        return UndeliveredLine(f"{n} kept pending: {g.waiting_for}", g.count, False)
    if g.last_error:
        return UndeliveredLine(f"{n} not delivered yet: {g.last_error} (tried again later)", g.count, True)
    return UndeliveredLine(f"{n} not delivered yet (pending)", g.count, False)


async def undelivered_lines(
    store: Storage, available: Collection[str], after_id: int = 0, *, all_pending: bool = False
) -> list[UndeliveredLine]:
    """Alerts created after `after_id` (and with `all_pending`, every pending one) that were not delivered.

    Pending alerts of a sink `available` lacks are noted in the outbox as waiting for `telewatch run`.
    """
    for sink in await store.alerts.pending_sinks():
        if sink not in available:
            await store.alerts.note_waiting_for_sink(sink, RUN_ONLY.format(sink=sink.split(":", 1)[0]))
    groups = await store.alerts.undelivered(after_id, all_pending=all_pending)
    return [describe(g, available) for g in groups]
