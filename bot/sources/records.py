"""What a source yields besides posts: deletions, replay pauses and bad records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.models import ChannelRef, Post


@dataclass(frozen=True, slots=True)
class BadRecord:
    """A record that could not be read; the stream goes on after it.

    `position` says where it is ("line 17", "messages[42]"), `reason` what is wrong with it.
    """

    position: str
    reason: str

    def __str__(self) -> str:
        return f"{self.position}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Deletion:
    """Posts deleted from a channel (replayed from a telewatch JSONL `"event": "delete"` line)."""

    channel: ChannelRef
    message_ids: tuple[int, ...]
    position: str
    date: datetime | None = None


@dataclass(frozen=True, slots=True)
class Pause:
    """Wait this many seconds before the next record (a JSONL line's `"delay"`, for demo replays)."""

    seconds: float
    position: str


SourceItem = Post | Deletion | Pause | BadRecord
"""Everything a Source yields, in file order."""
