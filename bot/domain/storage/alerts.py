"""The alert outbox: enqueue, claim, deliver, retry, review."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, Protocol

from bot.domain.models import (
    Alert,
    AlertStatus,
    Severity,
)
from bot.domain.records import (
    AlertFilter,
    NewAlert,
    RulePrecision,
    UndeliveredGroup,
)
from bot.domain.storage.base import Transaction


class AlertStore(Protocol):
    """The alert outbox: enqueue once, deliver, retry, review."""

    async def enqueue(self, tx: Transaction, alerts: Sequence[NewAlert], at: datetime) -> int:
        """Insert alerts, ignoring any whose dedup key exists already; returns how many were new."""
        ...

    async def alerted_rules(self, tx: Transaction, post_id: int) -> list[tuple[str, Severity]]:
        """The rules that raised a (non-deletion) alert for a post."""
        ...

    async def due(
        self,
        now: datetime,
        limit: int = 100,
        *,
        sinks: Collection[str] | None = None,
        claimer: str | None = None,
    ) -> list[Alert]:
        """Pending alerts whose next try has come and that nobody but `claimer` holds a live claim on,
        oldest first; only for `sinks` when given (the others"""
        ...

    async def drop_orphan_followups(self) -> int:
        """Deletion reports whose original alert will never be delivered (failed, muted, merged, or sent"""
        ...

    async def mark_waiting(
        self, alert_ids: Sequence[int], reason: str, next_try: datetime | None = None
    ) -> None:
        """Keep alerts pending, saying what they wait for (a chat to become reachable, a mode with their"""
        ...

    async def note_waiting_for_sink(self, sink: str, reason: str) -> int:
        """Say why pending alerts of a sink that this mode does not have were not tried; returns how many."""
        ...

    async def wake(self, targets: Collection[str], now: datetime) -> int:
        """Alerts waiting for one of these chats are due now (the chat just showed it is reachable)."""
        ...

    async def pending_sinks(self) -> list[str]: ...

    async def max_id(self) -> int: ...

    async def undelivered(self, after_id: int = 0, *, all_pending: bool = False) -> list[UndeliveredGroup]:
        """Alerts not delivered, grouped by route, state and reason: those created after `after_id`"""
        ...

    async def target(self, alert_id: int) -> str | None: ...

    async def targets(self, alert_ids: Sequence[int]) -> dict[int, str | None]:
        """The chat target of each alert, by id."""
        ...

    async def mark_sent(
        self, alert_ids: Sequence[int], at: datetime, message_id: int | None = None
    ) -> None: ...

    async def mark_sent_many(self, sent: Sequence[tuple[Sequence[int], datetime, int | None]]) -> None:
        """`mark_sent` for several messages (alert ids, when sent, message id), in one unit of work."""
        ...

    async def mark_retry(
        self, alert_ids: Sequence[int], next_try: datetime, error: str, *, count: bool = True
    ) -> None:
        """Schedule another try; a flood wait (`count=False`) does not use up an attempt."""
        ...

    async def mark_failed(self, alert_ids: Sequence[int], error: str) -> None: ...

    async def set_status(self, alert_ids: Sequence[int], status: AlertStatus) -> None: ...

    async def review(self, alert_id: int, mark: str, by: str, at: datetime) -> bool:
        """Store a reviewer's mark (relevant / false_positive); False when the alert does not exist."""
        ...

    async def get(self, alert_id: int) -> Alert | None: ...

    async def for_post(self, post_id: int) -> list[Alert]: ...

    async def listing(self, where: AlertFilter = AlertFilter(), limit: int = 50) -> list[dict[str, Any]]:
        """Alerts newest first, joined with their post and channel, as plain rows for listings."""
        ...

    async def counts(self) -> dict[str, int]: ...

    async def precision_by_rule(self) -> list[RulePrecision]: ...

    async def claim(
        self, alert_ids: Sequence[int], claimer: str, now: datetime, until: datetime
    ) -> list[int]:
        """Claim pending alerts for delivery by `claimer` until `until`, atomically across processes;
        returns the ids claimed (those nobody else holds a live claim on). Marking an alert sent,
        retried, waiting or failed ends its claim; `due` leaves out alerts under a live claim."""
        ...

    async def release_claims(self, claimer: str) -> int:
        """End every claim of `claimer` (a clean stop): its alerts and notices are due for the others."""
        ...

    async def reserve_send(self, sink: str, target: str | None, interval: float, now: datetime) -> datetime:
        """Book the next message to a chat `interval` seconds after the one before, across processes;
        returns when this one may be sent (now, or later)."""
        ...
