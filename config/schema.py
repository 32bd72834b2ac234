"""Build and check each section of the settings from the parsed TOML (no file or environment I/O)."""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import math
import re
import socket
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.models import ANY_TERM, RuleSpec
from config import convert as cv
from config.convert import Source
from config.env import DB_PASSWORD
from config.refs import EXPECTED as REF_EXPECTED
from config.refs import parse_ref
from config.settings import (
    AdminSettings,
    ChannelSettings,
    HealthSettings,
    MediaSettings,
    MetricsSettings,
    RouteSettings,
    ScheduleSettings,
    ServerSettings,
    Settings,
    StorageSettings,
    TelegramSettings,
    TrendSettings,
    WatcherSettings,
)

DIGESTS = ("hourly", "daily")
SEND_AS = ("bot", "user")
MAX_RECHECK_POSTS = 5000  # 50 history requests per channel per re-check
MAX_RECHECK_HOURS = 24 * 365  # a year: older posts are rarely edited, and the window is capped by posts

# Settings keys read from the file; `path` is where the file is, never a key in it.
TOP_EXCLUDE = frozenset({"path"})
TELEGRAM_EXCLUDE = frozenset({"api_hash", "bot_token"})  # only from the environment
ROUTE_EXCLUDE = frozenset({"resolved_target"})  # filled in by the loader from ${NAME} references


def telegram(data: Any, src: Source) -> TelegramSettings:
    """[telegram]: api_id, session, optional [telegram.server]."""
    special = {"server": lambda raw, key, s: cv.build(ServerSettings, raw, key, s)}
    tg = cv.build(TelegramSettings, data, "telegram", src, special=special, exclude=TELEGRAM_EXCLUDE)
    if tg.api_id is not None and tg.api_id <= 0:
        raise src.error("must be positive", "telegram.api_id", tg.api_id, expected="your api_id")
    _choice(tg.send_alerts_as, SEND_AS, "telegram.send_alerts_as", src)
    _positive(tg.requests_per_second, "telegram.requests_per_second", src)
    if not tg.session_name.strip() or any(c in tg.session_name for c in "/\\"):
        raise src.error("must be a plain file name", "telegram.session_name", tg.session_name)
    if tg.server is not None:
        if not 1 <= tg.server.port <= 65535:
            raise src.error("is not a port", "telegram.server.port", tg.server.port, expected="1..65535")
        if tg.server.dc_id < 1:
            raise src.error("must be positive", "telegram.server.dc_id", tg.server.dc_id)
    return tg


def channels(data: Any, src: Source) -> tuple[ChannelSettings, ...]:
    """[[channels]]: each with a valid, unique ref."""
    items = _array_of_tables(data, "channels", src)
    out: list[ChannelSettings] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(items):
        key = f"channels[{i}]"
        ch = cv.build(ChannelSettings, raw, key, src)
        try:
            norm = parse_ref(ch.ref).key
        except ValueError:
            raise src.error(
                "is not a channel reference", f"{key}.ref", ch.ref, expected=REF_EXPECTED
            ) from None
        if norm in seen:
            raise src.error(
                f"names the same channel as channels[{seen[norm]}]",
                f"{key}.ref",
                ch.ref,
                hint="remove one of the two entries",
            )
        seen[norm] = i
        for field in ("backfill_days", "backfill_count"):
            value = getattr(ch, field)
            if value is not None and value < 0:
                raise src.error("must not be negative", f"{key}.{field}", value)
        if ch.poll_minutes is not None:
            _positive(ch.poll_minutes, f"{key}.poll_minutes", src)
        if ch.recheck_hours is not None:
            _recheck_hours(ch.recheck_hours, f"{key}.recheck_hours", src)
        if ch.recheck_posts is not None:
            _recheck_posts(ch.recheck_posts, f"{key}.recheck_posts", src)
        if ch.label is not None and not ch.label.strip():
            raise src.error("must not be empty (omit it instead)", f"{key}.label", ch.label)
        _nonempty_items(ch.tags, f"{key}.tags", src)
        out.append(ch)
    return tuple(out)


def rules(data: Any, src: Source, prefix: str = "rules") -> tuple[RuleSpec, ...]:
    """[[rules]]: each named uniquely, with something that can match."""
    items = _array_of_tables(data, prefix, src)
    out: list[RuleSpec] = []
    seen: dict[str, int] = {}
    special = {"severity": cv.severity, "near": cv.near, "unless_near": cv.gates, "only_near": cv.gates}
    for i, raw in enumerate(items):
        key = f"{prefix}[{i}]"
        spec = cv.build(RuleSpec, raw, key, src, special=special)
        if not spec.name.strip():
            raise src.error("must not be empty", f"{key}.name", spec.name)
        if spec.name in seen:
            raise src.error(
                f"is a duplicate rule name (also {prefix}[{seen[spec.name]}])", f"{key}.name", spec.name
            )
        seen[spec.name] = i
        if not (spec.any_ or spec.all_ or spec.near):
            raise src.error(
                "has nothing to match",
                key,
                expected="at least one of any = [...], all = [...] or near = [[...]] (none only excludes)",
            )
        for field, toml in (("any_", "any"), ("all_", "all"), ("none_", "none")):
            _nonempty_items(getattr(spec, field), f"{key}.{toml}", src)
        _gate_targets(spec, key, src)
        out.append(spec)
    return tuple(out)


def _gate_targets(spec: RuleSpec, key: str, src: Source) -> None:
    """The term an unless_near / only_near condition judges must be one the rule matches on (or "*")."""
    positive = {t.strip() for t in (*spec.any_, *spec.all_, *(x for a, b, _ in spec.near for x in (a, b)))}
    for field in ("unless_near", "only_near"):
        for i, (terms, _, _) in enumerate(getattr(spec, field)):
            for term in terms:
                if term.strip() != ANY_TERM and term.strip() not in positive:
                    raise src.error(
                        "names a term the rule does not match on, so the condition would never apply",
                        f"{key}.{field}[{i}][0]",
                        term,
                        expected='a term written in any / all / near, or "*" for every one of them',
                    )


def routes(data: Any, src: Source) -> tuple[RouteSettings, ...]:
    """[[routes]]: sink, target and filters of each alert route."""
    items = _array_of_tables(data, "routes", src)
    out: list[RouteSettings] = []
    seen: dict[str, int] = {}
    special = {"min_severity": cv.severity, "quiet_hours": cv.quiet_hours}
    for i, raw in enumerate(items):
        key = f"routes[{i}]"
        route = cv.build(RouteSettings, raw, key, src, special=special, exclude=ROUTE_EXCLUDE)
        if route.name in seen:
            raise src.error(
                f"is a duplicate route name (also routes[{seen[route.name]}])", f"{key}.name", route.name
            )
        seen[route.name] = i
        if not route.sink.strip():  # which sinks exist is the sink registry's to say (bot.alerts.sinks)
            raise src.error("names no sink", f"{key}.sink", route.sink, expected='e.g. "console"')
        if route.digest is not None:
            _choice(route.digest, DIGESTS, f"{key}.digest", src)
        for j, kind in enumerate(route.notices):
            _choice(kind, NOTICE_KINDS, f"{key}.notices[{j}]", src)
        if not 0.0 <= route.min_score <= 1.0:
            raise src.error("is not a score", f"{key}.min_score", route.min_score, expected="0..1 (0: off)")
        if route.sink == "jsonl" and route.target:
            route = dataclasses.replace(route, target=str(src.path(route.target)))
        out.append(route)
    return tuple(out)


def schedule(data: Any, src: Source) -> ScheduleSettings:
    """[schedule]: every interval positive, digest_hour a clock hour."""
    sched = cv.build(ScheduleSettings, data, "schedule", src)
    for name in (
        "gap_check_minutes",
        "poll_minutes",
        "outbox_seconds",
        "health_check_minutes",
        "silent_after_hours",
        "dedup_window_minutes",
        "recheck_minutes",
    ):
        _positive(getattr(sched, name), f"schedule.{name}", src)
    _recheck_hours(sched.recheck_hours, "schedule.recheck_hours", src)
    _recheck_posts(sched.recheck_posts, "schedule.recheck_posts", src)
    if not 0 <= sched.digest_hour <= 23:
        raise src.error(
            "is not an hour of the day", "schedule.digest_hour", sched.digest_hour, expected="0..23"
        )
    return sched


def metrics(data: Any, src: Source) -> MetricsSettings:
    """[metrics]: port (0 turns the endpoint off) and address to listen on."""
    m = cv.build(MetricsSettings, data, "metrics", src)
    if not 0 <= m.port <= 65535:
        raise src.error("is not a port", "metrics.port", m.port, expected="1..65535, or 0 for no endpoint")
    if not m.address.strip():
        raise src.error("must not be empty", "metrics.address", m.address, expected='e.g. "127.0.0.1"')
    if m.port != 0 and (problem := _address_problem(m.address)) is not None:
        raise src.error(
            problem,
            "metrics.address",
            m.address,
            expected='an IP address ("127.0.0.1", "0.0.0.0", "::") or a host name of this machine',
        )
    return m


HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def _address_problem(address: str) -> str | None:
    """Why `address` cannot be listened on (not an IP, not a host name, a name that does not resolve)."""
    try:
        ipaddress.ip_address(address)
        return None
    except ValueError:
        pass
    name = address.rstrip(".")
    if len(name) > 253 or not all(HOST_LABEL.match(label) for label in name.split(".")):
        return "is not an IP address or a host name"
    try:
        socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return "is a host name that does not resolve to an address"
    return None


OCR_LANGUAGE = re.compile(r"^[a-z_]{3,16}(\+[a-z_]{3,16})*$")


def media(data: Any, src: Source) -> MediaSettings:
    """[media]: caps in MB (0 turns a kind off), quota in GB (0: none), OCR languages like rus+ukr+eng."""
    m = cv.build(MediaSettings, data, "media", src)
    for f in dataclasses.fields(MediaSettings):
        if f.name.endswith("_mb") or f.name == "quota_gb":
            value = getattr(m, f.name)
            if not 0 <= value < math.inf:
                raise src.error(
                    "must be 0 or more", f"media.{f.name}", value, expected="a size; 0 turns it off"
                )
    _positive(m.requests_per_second, "media.requests_per_second", src)
    if not OCR_LANGUAGE.match(m.ocr_languages):
        raise src.error(
            "is not a list of tesseract languages",
            "media.ocr_languages",
            m.ocr_languages,
            expected='e.g. "rus+ukr+eng"',
        )
    if "path" not in data:
        m = dataclasses.replace(m, path=src.path(str(MediaSettings().path)))
    return m


MAX_KEEP_DAYS = 100 * 366


def storage(data: Any, src: Source) -> StorageSettings:
    """[storage]: path, keep_days and [storage.keep_days_by_label] (days >= 0; 0 keeps forever)."""
    special = {"keep_days_by_label": _keep_days_by_label}
    st = cv.build(StorageSettings, data, "storage", src, special=special)
    _keep_days(st.keep_days, "storage.keep_days", src)
    if st.url is not None:
        _database_url(st.url, src)
    return st


def _database_url(url: str, src: Source) -> None:
    """A postgresql:// URL naming at least a database, without a password (that belongs in .env)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError as e:
        raise src.error(f"is not a valid URL ({e})", "storage.url", expected=URL_EXPECTED) from None
    secret = [k for k, _ in parse_qsl(parts.query, keep_blank_values=True) if k.lower() in URL_SECRET_PARAMS]
    if parts.password is not None or secret:
        where = f"?{secret[0]}=" if secret and parts.password is None else "the password"
        raise src.error(
            f"secrets must not be in the config file; move {where} to .env as {DB_PASSWORD}=...",
            "storage.url",
            expected=URL_EXPECTED,
            hint="write the URL without the password; .env beside the config (or in the working directory) "
            "and the environment are read, and .env is git-ignored",
        )
    if parts.scheme not in ("postgresql", "postgres"):
        raise src.error("is not a PostgreSQL URL", "storage.url", display_url(url), expected=URL_EXPECTED)
    if not parts.path.strip("/"):
        raise src.error("names no database", "storage.url", display_url(url), expected=URL_EXPECTED)


# libpq connection parameters that carry a secret (a passfile names a file, which is fine)
URL_SECRET_PARAMS = frozenset({"password", "sslpassword"})


def display_url(url: str) -> str:
    """A database URL as messages may show it: scheme, user, host, port and database; never a password
    or the query string (which may carry one)."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(not a valid URL)"
    host = parts.hostname or "localhost"
    user = f"{parts.username}@" if parts.username else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"


URL_EXPECTED = "postgresql://user@host[:port]/database (the password in TELEWATCH_DB_PASSWORD)"


def _keep_days(value: int, key: str, src: Source) -> None:
    if not 0 <= value <= MAX_KEEP_DAYS:
        raise src.error(
            "is out of range", key, value, expected=f"days, 0..{MAX_KEEP_DAYS} (0 keeps posts forever)"
        )


def _keep_days_by_label(raw: Any, key: str, src: Source) -> tuple[tuple[str, int], ...]:
    if not isinstance(raw, dict):
        raise src.error("must be a table", key, expected="label = days, e.g. milblogger = 90")
    out = []
    for label, days in raw.items():
        sub = f"{key}.{label}"
        days = cv.convert(int, days, sub, src)
        if not str(label).strip():
            raise src.error("must name a label", sub)
        _keep_days(days, sub, src)
        out.append((str(label), days))
    return tuple(out)


NOTICE_KINDS = ("health", "spike", "surge")


def health(data: Any, src: Source) -> HealthSettings:
    """[health]: thresholds of the health conditions."""
    h = cv.build(HealthSettings, data, "health", src)
    for name in ("disconnected_minutes", "outbox_minutes", "history_days", "unowned_minutes"):
        _positive(getattr(h, name), f"health.{name}", src)
    if not 0 <= h.disk_free_percent < 100:
        raise src.error(
            "is not a percentage", "health.disk_free_percent", h.disk_free_percent, expected="0..99"
        )
    return h


def trends(data: Any, src: Source) -> TrendSettings:
    """[trends]: sensitivity and minimum counts of spike and surge alerts."""
    t = cv.build(TrendSettings, data, "trends", src)
    for name in ("check_minutes", "spike_sensitivity", "surge_minutes", "cooldown_hours"):
        _positive(getattr(t, name), f"trends.{name}", src)
    for name in ("spike_min_count", "spike_min_channels", "surge_channels", "baseline_weeks"):
        if getattr(t, name) < 1:
            raise src.error("must be at least 1", f"trends.{name}", getattr(t, name))
    if t.surge_rare_max < 0:
        raise src.error("must not be negative", "trends.surge_rare_max", t.surge_rare_max)
    _nonempty_items(t.stop_names, "trends.stop_names", src)
    return t


def watcher(data: Any, src: Source) -> WatcherSettings:
    """[watcher]: name, capacity and lease times of this watcher (several may share one database)."""
    w = cv.build(WatcherSettings, data, "watcher", src)
    named = isinstance(data, Mapping) and "name" in data  # absent: the default <hostname>:<session>
    if named and (not w.name or w.name != w.name.strip() or len(w.name) > 100 or not w.name.isprintable()):
        raise src.error(
            "is not a usable watcher name", "watcher.name", w.name, expected="1..100 printable characters"
        )
    renew = w.renew_every_seconds
    if renew != 0 and not 0.5 <= renew <= w.lease_seconds / 2:
        raise src.error(
            "is out of range",
            "watcher.renew_every_seconds",
            renew,
            expected=f"0.5..{w.lease_seconds / 2:g} (at most half of lease_seconds), or 0 for lease_seconds / 3",
        )
    return w


def admin(data: Any, src: Source) -> AdminSettings:
    """[admin]: chats and user ids allowed to run chat commands."""
    adm = cv.build(AdminSettings, data, "admin", src)
    for i, user in enumerate(adm.users):
        if user <= 0:
            raise src.error(
                "is not a user id", f"admin.users[{i}]", user, expected="a positive numeric user id"
            )
    _nonempty_items(adm.chats, "admin.chats", src)
    return adm


def timezone(data: Any, src: Source) -> str:
    """timezone = "Europe/Kyiv": an IANA zone name."""
    name = cv.convert(str, data, "timezone", src)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise src.error(
            "is not a known time zone", "timezone", name, expected='an IANA name like "UTC" or "Europe/Kyiv"'
        ) from None
    return str(name)


def settings(data: Mapping[str, Any], src: Source) -> Settings:
    """The whole file -> Settings (rule packs not yet merged; the loader does that)."""
    builders: dict[str, Any] = {
        "telegram": telegram,
        "channels": channels,
        "rules": rules,
        "rule_packs": lambda raw, s: cv.convert(tuple[str, ...], raw, "rule_packs", s),
        "routes": routes,
        "storage": storage,
        "schedule": schedule,
        "admin": admin,
        "health": health,
        "trends": trends,
        "watcher": watcher,
        "timezone": timezone,
        "metrics": metrics,
        "media": media,
    }
    valid = sorted(k for k in cv.toml_keys(Settings) if k not in TOP_EXCLUDE)
    kwargs: dict[str, Any] = {}
    for key, raw in data.items():
        if key not in builders:
            close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
            problem = "unknown key" + (f"; did you mean '{close[0]}'?" if close else "")
            raise src.error(problem, key, expected="one of: " + ", ".join(valid))
        kwargs[key] = builders[key](raw, src)
    if "media" not in kwargs:
        kwargs["media"] = MediaSettings(path=src.path(str(MediaSettings().path)))
    if "storage" not in kwargs:
        kwargs["storage"] = StorageSettings(path=src.path(str(StorageSettings().path)))
    return Settings(**kwargs)


def _array_of_tables(data: Any, key: str, src: Source) -> Sequence[Any]:
    if not isinstance(data, list):
        raise src.error("must be a list of tables", key, expected=f"[[{key}]] sections")
    return data


def _choice(value: str, valid: Iterable[str], key: str, src: Source) -> None:
    options = tuple(valid)
    if value not in options:
        close = difflib.get_close_matches(value, options, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else None
        raise src.error("is not allowed", key, value, expected=" | ".join(options), hint=hint)


def _positive(value: float, key: str, src: Source) -> None:
    if not 0 < value < math.inf:  # also refuses nan and inf, which TOML allows
        raise src.error("must be a finite number greater than 0", key, value)


def _recheck_hours(value: float, key: str, src: Source) -> None:
    if not 0 < value <= MAX_RECHECK_HOURS:
        raise src.error(
            "is out of range", key, value, expected=f"hours, more than 0 and at most {MAX_RECHECK_HOURS}"
        )


def _recheck_posts(value: int, key: str, src: Source) -> None:
    if not 0 <= value <= MAX_RECHECK_POSTS:
        raise src.error(
            "is out of range",
            key,
            value,
            expected=f"0..{MAX_RECHECK_POSTS} (0 turns the re-check off; each 100 posts cost one request)",
        )


def _nonempty_items(items: Sequence[str], key: str, src: Source) -> None:
    for i, item in enumerate(items):
        if not item.strip():
            raise src.error("must not be an empty string", f"{key}[{i}]", item)
