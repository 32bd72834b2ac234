"""The frozen settings schema. Built once by config.loader.load(); nothing reads settings at import."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from pathlib import Path

from bot.domain.models import RuleSpec, Severity

# A scored alert below this goes to its route's digest as "probably not relevant" (0 turns it off).
# Chosen by cross-validation on the dev split of the real-text set (docs: README, Relevance learning).
DEFAULT_MIN_SCORE = 0.15


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """A non-default MTProto server (Telegram's test servers or a private one)."""

    address: str
    port: int = 443
    dc_id: int = 2
    rsa_key_file: Path | None = None


@dataclass(frozen=True, slots=True)
class TelegramSettings:
    """Credentials and client options. api_hash and bot_token come only from the environment/.env."""

    api_id: int | None = None
    api_hash: str | None = None
    bot_token: str | None = None
    session_dir: Path = Path("~/.local/share/telewatch")  # expanded by the loader
    session_name: str = "watcher"
    server: ServerSettings | None = None
    send_alerts_as: str = "bot"  # "bot" or "user"
    requests_per_second: float = 3.0  # global request budget of the watcher account


@dataclass(frozen=True, slots=True)
class ChannelSettings:
    """One watched channel as configured."""

    ref: str  # @name, t.me link, invite link or numeric id, as the user wrote it
    label: str | None = None
    tags: tuple[str, ...] = ()
    enabled: bool = True
    auto_join: bool = False
    backfill_days: int | None = None
    backfill_count: int | None = None
    alert_on_backfill: bool = False
    poll_minutes: float | None = None  # override of schedule.poll_minutes for channels not joined
    recheck_hours: float | None = None  # override of schedule.recheck_hours
    recheck_posts: int | None = None  # override of schedule.recheck_posts (0: no re-check)


@dataclass(frozen=True, slots=True)
class RouteSettings:
    """Where alerts go: a sink, a target, and which alerts qualify."""

    name: str
    sink: str  # a registered sink kind: "console" | "jsonl" | "telegram" | "apprise"
    target: str | None = None  # chat for telegram, file path for jsonl, URL for apprise (may say ${NAME})
    rules: tuple[str, ...] = ()  # empty = every rule
    labels: tuple[str, ...] = ()  # empty = every channel label
    min_severity: Severity = Severity.INFO
    digest: str | None = None  # None | "hourly" | "daily"
    quiet_hours: tuple[time, time] | None = None
    forward_original: bool = False
    min_score: float = DEFAULT_MIN_SCORE
    # `target` with each ${NAME} replaced from the environment or .env (set by the loader, never from TOML;
    # the outbox and listings keep `target` as written, so a secret URL is never stored).
    resolved_target: str | None = None
    # Which notices (alerts not about one post) the route takes: health, spike, surge. [] = none.
    notices: tuple[str, ...] = ("health", "spike", "surge")


@dataclass(frozen=True, slots=True)
class StorageSettings:
    """The database, and how long posts are kept (0 days: forever)."""

    path: Path = Path("data/telewatch.db")
    # postgresql://user@host[:port]/database selects PostgreSQL instead of the SQLite file at `path`;
    # its password comes from TELEWATCH_DB_PASSWORD (environment or .env), never from this file.
    url: str | None = None
    keep_days: int = 0  # prune posts (and their media) published longer ago; 0 keeps them forever
    keep_days_by_label: tuple[tuple[str, int], ...] = ()  # [storage.keep_days_by_label] label = days


@dataclass(frozen=True, slots=True)
class MediaSettings:
    """The media archive: which files `run` downloads, how big, and where they go."""

    download: bool = True  # false: media are recorded on posts, no file is downloaded
    path: Path = Path("data/media")
    # Per-kind caps in MB; 0 turns a kind off. Albums are their photos and videos.
    photo_mb: float = 20.0
    video_mb: float = 50.0
    animation_mb: float = 10.0
    voice_mb: float = 10.0
    audio_mb: float = 0.0
    document_mb: float = 0.0
    sticker_mb: float = 0.0
    quota_gb: float = 20.0  # the whole archive; 0: no limit
    thumbnails: bool = True
    ocr: bool = False  # read text in images with tesseract (Debian: tesseract-ocr-rus/-ukr/-eng)
    ocr_languages: str = "rus+ukr+eng"
    requests_per_second: float = 1.0  # download requests; flood waits on downloads hold back only downloads

    def cap_bytes(self, kind: str) -> int:
        """The largest file of `kind` kept (0: the kind is off)."""
        mb = {"video_note": self.video_mb}.get(kind, getattr(self, f"{kind}_mb", self.document_mb))
        return int(float(mb) * 1024 * 1024)

    @property
    def quota_bytes(self) -> int:
        return int(self.quota_gb * 1024**3)


@dataclass(frozen=True, slots=True)
class MetricsSettings:
    """The optional Prometheus endpoint of `run` (port 0: none)."""

    port: int = 0
    address: str = "127.0.0.1"  # "0.0.0.0" to let a scraper on another host (or container) in


@dataclass(frozen=True, slots=True)
class ScheduleSettings:
    """Intervals of the periodic jobs."""

    gap_check_minutes: float = 10.0
    poll_minutes: float = 5.0
    outbox_seconds: float = 2.0
    health_check_minutes: float = 30.0
    silent_after_hours: float = 24.0
    digest_hour: int = 8  # local hour of the daily digest
    dedup_window_minutes: float = 60.0
    # Re-checks of each channel's recent window for edits and deletions no update reported.
    recheck_minutes: float = 60.0
    recheck_hours: float = 48.0  # fetch older pages only while posts are this recent...
    recheck_posts: int = 200  # ...and at most this many posts (0: no re-check)
    learn_minutes: float = 30.0  # how often relevance models are checked for new review marks
    learn_after_marks: int = 20  # new marks of a rule since its model was trained that retrain it


@dataclass(frozen=True, slots=True)
class HealthSettings:
    """When the health job (every schedule.health_check_minutes) raises a condition."""

    disconnected_minutes: float = 10.0  # the watcher has been disconnected from Telegram this long
    outbox_minutes: float = 15.0  # an alert has waited undelivered this long
    disk_free_percent: float = 5.0  # the database's disk has less free space than this
    history_days: float = 14.0  # how far back a channel's usual gap between posts is learned
    unowned_minutes: float = 5.0  # a resolved channel has had no watcher holding its lease this long


@dataclass(frozen=True, slots=True)
class WatcherSettings:
    """This `telewatch run` among several sharing one database: its name, capacity and channel leases."""

    name: str = ""  # "" = <hostname>:<telegram.session_name>
    max_channels: int = 500  # channels this watcher holds at most (an account joins about 500)
    lease_seconds: float = 60.0  # a watcher that stops renewing loses its channels after this long
    renew_every_seconds: float = 0.0  # 0 = lease_seconds / 3

    @property
    def renew_seconds(self) -> float:
        """How often leases are renewed (and free channels claimed)."""
        return self.renew_every_seconds or self.lease_seconds / 3


@dataclass(frozen=True, slots=True)
class TrendSettings:
    """Rule spikes and place/name surges (bot.alerts.trends documents the statistic)."""

    enabled: bool = True
    check_minutes: float = 5.0  # how often `run` looks for spikes and surges
    spike_sensitivity: float = 4.0  # robust z-score a rule's last hour must reach
    spike_min_count: int = 5  # and at least this many matches in the hour...
    spike_min_channels: int = 3  # ...from at least this many channels (one channel's thread is no spike)
    baseline_weeks: int = 4  # the same hour of the week in this many earlier weeks is the baseline
    surge_channels: int = 5  # a name mentioned by at least this many channels...
    surge_minutes: float = 30.0  # ...within this many minutes...
    surge_rare_max: int = 2  # ...and in at most this many posts the week before
    cooldown_hours: float = 12.0  # the same rule or name alerts again only after this long
    stop_names: tuple[str, ...] = ()  # lemmas never counted, beyond the built-in list


@dataclass(frozen=True, slots=True)
class AdminSettings:
    """Who may control the bot from chat."""

    chats: tuple[str, ...] = ()
    users: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything telewatch is configured with."""

    path: Path | None = None
    telegram: TelegramSettings = field(default_factory=TelegramSettings)
    channels: tuple[ChannelSettings, ...] = ()
    rules: tuple[RuleSpec, ...] = ()
    rule_packs: tuple[str, ...] = ()
    routes: tuple[RouteSettings, ...] = (RouteSettings(name="console", sink="console"),)
    storage: StorageSettings = field(default_factory=StorageSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    admin: AdminSettings = field(default_factory=AdminSettings)
    health: HealthSettings = field(default_factory=HealthSettings)
    trends: TrendSettings = field(default_factory=TrendSettings)
    watcher: WatcherSettings = field(default_factory=WatcherSettings)
    timezone: str = "UTC"
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    media: MediaSettings = field(default_factory=MediaSettings)
