"""`telewatch check`'s service: every configured channel resolved (nothing joined), with its state."""

from __future__ import annotations

from typing import Any

from bot.app.backend import Location
from bot.app.runtime import open_runtime
from bot.domain.ports import TelegramGateway
from bot.watch.watcher import Watcher
from config.settings import Settings


async def channel_states(
    settings: Settings, db_path: Location, gateway: TelegramGateway
) -> list[dict[str, Any]]:
    """One row per configured channel: reference, state (ok, not found, private, not joined, banned,
    renamed), id, username, title and detail; resolutions are remembered in the database."""
    async with open_runtime(settings, db_path, sinks={}) as runtime:
        watcher = Watcher(gateway, runtime.pipeline, settings)
        reports = await watcher.resolve_all(join=False)
        refreshed = {r.resolved.tg_id: r for r in await watcher.refresh_names() if r.resolved}
    rows = []
    for r in reports:
        if r.resolved and r.resolved.tg_id in refreshed:
            r = refreshed[r.resolved.tg_id]
        rows.append(
            {
                "reference": r.reference,
                "state": r.state,
                "id": r.resolved.tg_id if r.resolved else None,
                "username": r.resolved.username if r.resolved else None,
                "title": r.resolved.title if r.resolved else None,
                "detail": r.detail,
            }
        )
    return rows
