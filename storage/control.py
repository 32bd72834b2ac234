"""Chat-control state, one repository per concern; ControlRepository is all of them on one database."""

from __future__ import annotations

from bot.domain.records import (
    AlertInfo,
    ChannelOverview,
    Digest,
    HeldRoute,
    Mute,
    Pause,
    RecentText,
    RememberedText,
)
from storage.db import Database
from storage.dedup_index import DedupRepository
from storage.digests import DigestRepository
from storage.mutes import PAUSE_KEY, MuteRepository
from storage.overview import OverviewRepository
from storage.reviews import INFO_COLUMNS, ReviewRepository

__all__ = [
    "INFO_COLUMNS",
    "PAUSE_KEY",
    "AlertInfo",
    "ChannelOverview",
    "ControlRepository",
    "DedupRepository",
    "Digest",
    "DigestRepository",
    "HeldRoute",
    "Mute",
    "MuteRepository",
    "OverviewRepository",
    "Pause",
    "RecentText",
    "RememberedText",
    "ReviewRepository",
]


class ControlRepository(
    MuteRepository, DedupRepository, ReviewRepository, DigestRepository, OverviewRepository
):
    """Every chat-control repository on one database (for callers that need several at once)."""

    def __init__(self, db: Database) -> None:
        self.db = db
