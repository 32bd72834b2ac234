"""The media archive's model and ports: a record per attachment, where records are kept, who downloads."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.domain.ports import ResolvedChannel


class MediaState(enum.StrEnum):
    """What became of an attachment's file."""

    PENDING = "pending"  # waiting for the download queue
    STORED = "stored"  # in the archive (path, sha256)
    SKIPPED = "skipped"  # not downloaded on purpose: its kind is off, over the cap, quota reached
    FAILED = "failed"  # tried and could not: disk full, a broken file, Telegram refused


# Kinds that have a file to download; the others (poll, geo, webpage, ...) are recorded only.
FILE_KINDS = frozenset({"photo", "video", "animation", "video_note", "document", "audio", "voice", "sticker"})


@dataclass(frozen=True, slots=True)
class MediaRecord:
    """One attachment of a stored post and its file."""

    id: int
    post_id: int
    index: int
    kind: str
    message_id: int
    channel_tg_id: int | None
    state: MediaState
    mime_type: str | None = None
    file_name: str | None = None
    size: int | None = None
    file_ref: str | None = None
    local_path: str | None = None
    sha256: str | None = None
    path: str | None = None  # relative to the media folder
    thumb_path: str | None = None
    reason: str | None = None
    ocr_text: str | None = None


@dataclass(frozen=True, slots=True)
class StoredFile:
    """Where a file landed in the archive."""

    sha256: str
    path: str
    size: int
    thumb_path: str | None = None
    note: str | None = None  # e.g. "not a readable image" for a file kept as downloaded


class MediaStore(Protocol):
    """Media rows. Implemented in storage/ (SQLite)."""

    async def scan(self, limit: int = 500) -> int:
        """Create pending rows for the attachments of posts stored since the last scan; returns rows added."""
        ...

    async def pending(self, limit: int, *, channels: Sequence[int] | None = None) -> list[MediaRecord]:
        """Rows waiting for a download, oldest first; only these channels' (by tg id) when given,
        plus every row an export ships a file for."""
        ...

    async def stored_like(self, record: MediaRecord) -> MediaRecord | None:
        """A stored row with the same Telegram file (file_ref), for reposts: no second download."""
        ...

    async def stored_bytes(self) -> int:
        """Bytes of the distinct files in the archive (each sha256 once)."""
        ...

    async def finish(self, record_id: int, stored: StoredFile) -> None: ...

    async def give_up(self, record_id: int, state: MediaState, reason: str) -> None:
        """Mark a row skipped or failed, with the reason shown to people."""
        ...

    async def set_ocr(self, record_id: int, text: str) -> None: ...

    async def for_post(self, post_id: int) -> list[MediaRecord]: ...

    async def counts(self) -> dict[str, int]: ...


class ChunkWriter(Protocol):
    """Receives a download chunk by chunk; raises to stop it (too large, disk full)."""

    async def write(self, chunk: bytes) -> None: ...


class MediaDownloader(Protocol):
    """Downloads attachments from Telegram. Raises RateLimited on a flood wait, ChannelUnavailable
    when the message or its file is gone."""

    async def download_media(
        self,
        channel: ResolvedChannel,
        message_id: int,
        out: ChunkWriter,
        *,
        thumbnail: bool = False,
    ) -> None:
        """Stream message `message_id`'s file (or, with `thumbnail`, Telegram's preview of it) into `out`."""
        ...


def human_size(n: int) -> str:
    """2048 -> "2 KB", 9437184 -> "9.0 MB"."""
    return f"{n / 1024:.0f} KB" if n < 1024 * 1024 else f"{n / 1048576:.1f} MB"


def describe(record: MediaRecord) -> str:
    """One line for people: "photo 1.2 MB stored at ab/cd/….jpg" / "video skipped: over the cap …"."""
    size = f" {human_size(record.size)}" if record.size else ""
    what = f"{record.kind}{size}"
    if record.state is MediaState.STORED:
        line = f"{what} stored at {record.path}"
        if record.thumb_path:
            line += " (thumbnail)"
        if record.reason:
            line += f"; {record.reason}"
        return line
    if record.state is MediaState.PENDING:
        return f"{what} waiting for download"
    return f"{what} {record.state.value}: {record.reason or 'no reason recorded'}"


def media_dict(record: MediaRecord) -> dict[str, object]:
    """A record for --json output and the web pages."""
    return {
        "kind": record.kind,
        "state": record.state.value,
        "reason": record.reason,
        "size": record.size,
        "sha256": record.sha256,
        "path": record.path,
        "thumbnail": record.thumb_path,
        "mime_type": record.mime_type,
        "file_name": record.file_name,
        "ocr_text": record.ocr_text,
    }
