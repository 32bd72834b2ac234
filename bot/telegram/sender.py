"""TelegramSink: delivers rendered alerts to a Telegram chat through the gateway, exactly once."""

from __future__ import annotations

import hashlib

from bot.domain.errors import (
    AuthError,
    ChannelUnavailable,
    DeliveryFailed,
    RateLimited,
    TargetUnreachable,
    TelegramError,
)
from bot.domain.ports import OutgoingAlert, SentMessage, TelegramGateway


def random_id_for(dedup_key: str) -> int:
    """A signed 64-bit random_id fixed by the alert's dedup key: a resend after a crash is a duplicate
    Telegram drops, so the chat never shows one alert twice."""
    digest = hashlib.sha256(dedup_key.encode("utf-8")).digest()
    value = int.from_bytes(digest[:8], "big", signed=True)
    return value or 1  # Telegram treats 0 as "no random_id"


class TelegramSink:
    """bot.domain.ports.AlertSink sending HTML alerts (with review buttons when the sender is a bot)."""

    name = "telegram"
    min_interval = 1.0  # Telegram allows about one message a second per chat
    coalesces = True

    def __init__(self, gateway: TelegramGateway, *, default_target: str | None = None) -> None:
        self.gateway = gateway
        self.default_target = default_target
        self.delivered = 0
        self.last_sent: SentMessage | None = None

    async def deliver(self, alert: OutgoingAlert) -> None:
        """Send one alert; RateLimited on flood waits, TargetUnreachable when the chat cannot be written to
        (yet): a user who never wrote to the bot, a group the bot is not in, a bot that was blocked."""
        target = alert.target or self.default_target
        if not target:
            raise DeliveryFailed("a telegram route needs a target chat", permanent=True)
        try:
            sent = await self.gateway.send(
                target, alert.html, random_id=random_id_for(alert.dedup_key), buttons=alert.buttons
            )
        except RateLimited:
            raise
        except ChannelUnavailable as e:
            raise TargetUnreachable(target, e.state) from e
        except AuthError as e:
            # Not permanent: alerts wait in the outbox until the session is fixed with `telewatch login`.
            raise DeliveryFailed(f"cannot send to {target}: {e.message}") from e
        except TelegramError as e:
            raise DeliveryFailed(f"cannot send to {target}: {e.message}") from e
        self.delivered += 1
        self.last_sent = sent
