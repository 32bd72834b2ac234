"""The Telegram sink: HTML alerts with review buttons sent to a chat through the gateway, exactly once."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable

from bot.alerts.sinks.registry import SinkEnv, SinkKind
from bot.domain.errors import (
    AuthError,
    ChannelUnavailable,
    DeliveryFailed,
    ForwardRestricted,
    RateLimited,
    TargetUnreachable,
    TelegramError,
)
from bot.domain.ports import MessageEditor, OutgoingAlert, SentMessage, SinkCapabilities, TelegramGateway
from config.settings import RouteSettings, Settings

# Telegram allows about one message a second per chat; a burst for one chat goes out as one message.
BASE = SinkCapabilities(coalesces=True, min_interval=1.0)


def random_id_for(dedup_key: str) -> int:
    """A signed 64-bit random_id fixed by the alert's dedup key: a resend after a crash is a duplicate
    Telegram drops, so the chat never shows one alert twice."""
    digest = hashlib.sha256(dedup_key.encode("utf-8")).digest()
    value = int.from_bytes(digest[:8], "big", signed=True)
    return value or 1  # Telegram treats 0 as "no random_id"


class TelegramSink:
    """bot.domain.ports.AlertSink sending HTML alerts; with an `editor` it also edits them in place."""

    name = "telegram"

    def __init__(
        self,
        gateway: TelegramGateway,
        *,
        editor: MessageEditor | None = None,
        default_target: str | None = None,
        forward_to: Callable[[str], bool] = lambda target: False,
        pause: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.gateway = gateway
        self.editor = editor
        self.default_target = default_target
        self.forward_to = forward_to  # does the route of this chat say forward_original = true?
        self.pause = pause
        self.capabilities = SinkCapabilities(
            coalesces=BASE.coalesces, min_interval=BASE.min_interval, edit=editor is not None
        )
        self.delivered = 0

    def _target(self, alert: OutgoingAlert) -> str:
        target = alert.target or self.default_target
        if not target:
            raise DeliveryFailed("a telegram route needs a target chat", permanent=True)
        return target

    async def deliver(self, alert: OutgoingAlert) -> SentMessage:
        """Send one alert; RateLimited on flood waits, TargetUnreachable when the chat cannot be written to
        (yet): a user who never wrote to the bot, a group the bot is not in, a bot that was blocked."""
        target = self._target(alert)
        html = alert.html
        if alert.original is not None and self.forward_to(target):
            html = await self._forward(target, alert, html)
        try:
            sent = await self.gateway.send(
                target, html, random_id=random_id_for(alert.dedup_key), buttons=alert.buttons
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
        return sent

    async def _forward(self, target: str, alert: OutgoingAlert, html: str) -> str:
        """Forward the original post just before its alert (media included), once: its random_id is fixed
        by the alert, so a retry after a failed alert message is dropped by Telegram. A channel that
        restricts forwarding, or that the sender cannot read, gets a note instead (the alert has the link)."""
        assert alert.original is not None
        source, message_id = alert.original
        try:
            await self.gateway.forward(
                target, source, message_id, random_id=random_id_for(alert.dedup_key + "/forward")
            )
        except RateLimited:
            raise
        except ChannelUnavailable as e:
            if e.channel == target:
                raise TargetUnreachable(target, e.state) from e
            return html + f"\n<i>(not forwarded: the sender cannot read {source}: {e.state})</i>"
        except ForwardRestricted:
            return (
                html
                + f"\n<i>(not forwarded: {source} does not allow forwarding; the link above opens it)</i>"
            )
        except TelegramError as e:
            raise DeliveryFailed(f"cannot forward to {target}: {e.message}") from e
        await self.pause(self.capabilities.min_interval)  # two messages: the chat's pacing holds between them
        return html

    async def edit(self, alert: OutgoingAlert, message_id: int) -> None:
        """Re-render a sent alert in place (copies merged in, a review mark)."""
        if self.editor is None:
            raise DeliveryFailed("this telegram sink cannot edit messages", permanent=True)
        target = self._target(alert)
        try:
            await self.editor.edit_message(target, message_id, alert.html, alert.buttons)
        except RateLimited:
            raise
        except ChannelUnavailable as e:
            raise DeliveryFailed(f"cannot edit in {target}: {e.state}", permanent=True) from e
        except TelegramError as e:
            raise DeliveryFailed(f"cannot edit alert in {target}: {e.message}") from e


def build(route: RouteSettings, env: SinkEnv) -> TelegramSink | None:
    # Without a running Telegram connection (replay, import, demo) alerts wait for `telewatch run`.
    if env.sender is None:
        return None
    settings = env.settings
    if settings is None:
        return TelegramSink(env.sender, editor=env.editor)
    return TelegramSink(env.sender, editor=env.editor, forward_to=lambda chat: forwards(settings(), chat))


def forwards(settings: Settings, chat: str) -> bool:
    """Whether a telegram route to `chat` asks for the original post to be forwarded with its alerts."""
    return any(r.sink == "telegram" and r.forward_original and r.target == chat for r in settings.routes)


UNREACHABLE_HINT = (
    "a user must write to the bot first (e.g. send /start); a group or channel must have the bot (or the "
    "sending account) as a member allowed to post. Alerts for it wait until then."
)


async def probe(route: RouteSettings, sender: TelegramGateway | None) -> tuple[str, str] | None:
    """Can `sender` write to the chat now? Sends nothing visible."""
    if not route.target:
        return ("no target", "set target = a chat")
    if sender is None:
        return None
    try:
        await sender.check_chat(route.target)
    except ChannelUnavailable as e:
        return (e.state, UNREACHABLE_HINT)
    except TelegramError as e:
        return ("error", e.message)
    return ("ok", "")


KIND = SinkKind(
    name="telegram",
    build=build,
    probe=probe,
    target='a chat: "me", "@group" or a numeric chat id',
)


__all__ = ["KIND", "TelegramSink", "random_id_for"]
