"""The apprise sink: alerts to Slack, Discord, Matrix, e-mail, ntfy, webhooks and the rest, by apprise URL.

Delivery goes through the same outbox as every sink: an alert is marked sent only after apprise reports
that the destination accepted it; a destination that is down (an error status, a refused connection, a
hung server cut off by the timeout) is retried with backoff and then every few minutes, never dropped.
Webhook payloads (json://, form://, xml://) carry the alert's idempotency key as a field and an
`X-Idempotency-Key` header, so a receiver can drop the one duplicate a crash between its answer and our
bookkeeping can cause.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import warnings
from typing import Any
from urllib.parse import urlencode, urlsplit

from bot.alerts.sinks.registry import SinkEnv, SinkKind
from bot.domain.errors import DeliveryFailed
from bot.domain.ports import OutgoingAlert, SinkCapabilities
from config.settings import RouteSettings

log = logging.getLogger(__name__)

WEBHOOK_SCHEMES = frozenset({"json", "jsons", "form", "forms", "xml", "xmls"})
IDEMPOTENCY_FIELD = "idempotency_key"
IDEMPOTENCY_HEADER = "X-Idempotency-Key"
# apprise's own connect / read timeouts (URL arguments cto= / rto=) bound each request; this bounds the
# whole call (a plugin may make several requests) so a hung destination never stalls the dispatcher.
CALL_TIMEOUT = 60.0
# Fields of the alert copied into webhook payloads beside apprise's title and message.
PAYLOAD_FIELDS = ("severity", "rule", "kind", "channel", "link", "date", "notice")


_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]*")


_REQUEST_LINE = re.compile(r'"([A-Z]+) /[^\s"]*')  # urllib3's debug line: "POST /path?query HTTP/1.1"


def mask_urls(text: str) -> str:
    """`text` with every URL in it cut to scheme and host (path, query and user:password may be secrets)."""
    return _REQUEST_LINE.sub(r'"\1 /…', _URL.sub(lambda m: _shown(m.group(0)), text))


class _MaskedRelay(logging.Handler):
    """apprise's own log lines (they quote whole URLs) and those of the HTTP library under it (request
    paths), re-logged under our logger with URLs masked;
    a warning at most: a failed delivery is reported by the outbox, an invalid URL by `config check`."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string in a plugin: the bare template, still masked
            message = str(record.msg)
        source = record.name.split(".", 1)[0]
        log.log(min(record.levelno, logging.WARNING), "%s: %s", source, mask_urls(message))


def _silence_apprise_logger() -> None:
    """Route the "apprise" and "urllib3" loggers (and their children) through `_MaskedRelay` only, once."""
    for name in ("apprise", "urllib3"):
        logger = logging.getLogger(name)
        if not any(isinstance(h, _MaskedRelay) for h in logger.handlers):
            logger.addHandler(_MaskedRelay())
        logger.propagate = False


_silence_apprise_logger()  # at import: before apprise itself can log anything


def _apprise() -> Any:
    # Imported late: loading its plugins takes a while and only apprise routes need it. Some of its
    # plugins import modules Python deprecates (imghdr): not ours to fix, so not shown to users.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import apprise

        _silence_apprise_logger()
        plugins: Any = apprise.manager_plugins
        manager: Any = plugins.NotificationManager()  # a singleton
        manager.load_modules()  # every plugin now, not on first use (where the warnings would show)

    return apprise


def invalid_reason(url: str) -> str | None:
    """Why apprise cannot use `url`, or None when it can."""
    if not url.strip():
        return "the apprise URL is empty"
    scheme = urlsplit(url).scheme
    if not scheme:
        return f"'{_shown(url)}' is not an apprise URL (it has no scheme such as json:// or slack://)"
    apprise = _apprise()
    if apprise.Apprise.instantiate(url, suppress_exceptions=True) is None:
        return f"apprise cannot use the URL '{_shown(url)}' (unknown scheme '{scheme}' or a malformed URL)"
    return None


def probe(url: str, timeout: float = 3.0) -> str | None:
    """Why the host of a webhook URL cannot be reached now (a TCP connect, no request sent), or None."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in WEBHOOK_SCHEMES or not parts.hostname:
        return None  # a service URL (slack://, ntfy://...): its host is the service's, not checked here
    port = parts.port or (443 if scheme.endswith("s") else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            return None
    except OSError as e:
        reason = e.strerror or type(e).__name__
        return f"cannot connect to {parts.hostname}:{port} ({reason.lower()})"


def _shown(url: str) -> str:
    """The URL as printed in messages: only the scheme and host (the rest may hold tokens)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:  # a malformed host ([::1 without its bracket): nothing of it is shown
        return url.split("://", 1)[0] + "://…" if "://" in url else "…"
    if not parts.scheme:
        return url[:40]
    return f"{parts.scheme}://{host}/…" if parts.path or parts.query else f"{parts.scheme}://{host}"


def with_idempotency(url: str, alert: OutgoingAlert) -> str:
    """A webhook URL extended with the alert's key (payload field and header) and its main fields."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in WEBHOOK_SCHEMES:
        return url
    extra: dict[str, str] = {
        f":{IDEMPOTENCY_FIELD}": alert.dedup_key,
        f"+{IDEMPOTENCY_HEADER}": alert.dedup_key,
    }
    for name in PAYLOAD_FIELDS:
        value = alert.data.get(name)
        if value not in (None, ""):
            extra[f":{name}"] = str(value)
    joiner = "&" if parts.query else "?"
    base = url.split("#", 1)[0]
    return base + joiner + urlencode(extra)


def title_of(alert: OutgoingAlert) -> str:
    data = alert.data
    if "notice" in data:
        return str(data.get("title") or "telewatch")
    channel = data.get("channel_title") or data.get("channel") or ""
    severity = str(data.get("severity", "info")).upper()
    if "batch" in data:
        return f"telewatch: {data.get('count', '')} alerts"
    return f"{severity} · {data.get('rule', '')} · {channel}".strip(" ·")


class AppriseSink:
    """Delivers each alert as one apprise notification to one URL."""

    name = "apprise"
    # Destinations that are down are retried without end: after the backoff the alerts wait for it.
    capabilities = SinkCapabilities(min_interval=0.5, patient=True)

    def __init__(self, url: str, *, shown: str | None = None, timeout: float = CALL_TIMEOUT) -> None:
        problem = invalid_reason(url)
        if problem is not None:
            raise DeliveryFailed(problem, permanent=True)
        self.url = url
        self.shown = shown or _shown(url)
        self.timeout = timeout
        self.delivered = 0

    def _notify(self, alert: OutgoingAlert) -> bool:
        apprise = _apprise()
        plugin = apprise.Apprise.instantiate(with_idempotency(self.url, alert), suppress_exceptions=True)
        if plugin is None:
            return False
        severity = str(alert.data.get("severity", "info"))
        notify_type = {
            "critical": apprise.NotifyType.FAILURE,
            "warning": apprise.NotifyType.WARNING,
            "health": apprise.NotifyType.WARNING,
        }.get(severity, apprise.NotifyType.INFO)
        if alert.data.get("state") == "recovered":
            notify_type = apprise.NotifyType.SUCCESS
        return bool(
            plugin.notify(
                body=alert.plain,
                title=title_of(alert),
                notify_type=notify_type,
                body_format=apprise.NotifyFormat.TEXT,
            )
        )

    async def deliver(self, alert: OutgoingAlert) -> None:
        """Send one notification; DeliveryFailed (retried) when the destination did not take it."""
        try:
            ok = await asyncio.wait_for(asyncio.to_thread(self._notify, alert), timeout=self.timeout)
        except TimeoutError:
            raise DeliveryFailed(f"{self.shown} did not answer within {self.timeout:.0f}s") from None
        except Exception as e:  # apprise plugins are third-party code: any error is a failed try
            raise DeliveryFailed(f"{self.shown}: {type(e).__name__}: {mask_urls(str(e))}") from e
        if not ok:
            raise DeliveryFailed(f"{self.shown} did not accept the notification (see the log for its answer)")
        self.delivered += 1
        return None


def target_url(route: RouteSettings) -> str:
    """The URL a route sends to: its target with ${NAME} filled in from the environment / .env."""
    return route.resolved_target if route.resolved_target is not None else (route.target or "")


def validate(route: RouteSettings) -> str | None:
    return invalid_reason(target_url(route))


def build(route: RouteSettings, env: SinkEnv) -> AppriseSink:
    return AppriseSink(target_url(route), shown=route.target if "${" in (route.target or "") else None)


KIND = SinkKind(
    name="apprise",
    build=build,
    target="an apprise URL (json://host/path, ntfy://topic, slack://…; ${NAME} reads it from .env)",
    per_target=True,
    validate=validate,
)


__all__ = ["KIND", "AppriseSink", "invalid_reason", "with_idempotency"]
