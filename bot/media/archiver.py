"""The background download queue of the media archive.

It runs beside the watcher and never in its way: posts and alerts are stored and sent first; this queue
finds their attachments afterwards (a scan of newly stored posts), applies the per-kind caps and the
quota, downloads through its own request budget (a flood wait on downloads holds back downloads only),
and stores each file once by content. A full disk, a broken file or a refused download marks that one
attachment failed with the reason and the queue goes on; nothing else is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.domain.errors import Disconnected, TelegramError, TelewatchError
from bot.domain.media import MediaDownloader, MediaRecord, MediaState, MediaStore, StoredFile
from bot.domain.ports import Clock, ResolvedChannel, SystemClock
from bot.media import files
from bot.watch.pacing import Pacer
from config.settings import MediaSettings

log = logging.getLogger(__name__)

BATCH = 20
DISK_FULL_PAUSE = 300.0  # seconds without downloads after the disk filled up
VIDEO_KINDS = frozenset({"video", "animation", "video_note"})


@dataclass
class ArchiveReport:
    """What the queue did (since it started, or in one `drain`)."""

    stored: int = 0
    deduplicated: int = 0  # stored by pointing at a file already in the archive
    skipped: int = 0
    failed: int = 0
    bytes_downloaded: int = 0
    bytes_stored: int = 0
    ocr: int = 0
    problems: list[str] = field(default_factory=list)

    def problem(self, line: str) -> None:
        self.problems.append(line)
        del self.problems[:-50]


class _Bytes:
    """A ChunkWriter into memory (thumbnails: small)."""

    def __init__(self, limit: int = 2 * 1024 * 1024) -> None:
        self.data = bytearray()
        self.limit = limit

    async def write(self, chunk: bytes) -> None:
        self.data += chunk
        if len(self.data) > self.limit:
            raise files.TooLarge("thumbnail too large")


class MediaArchiver:
    """Scans for new attachments and archives them; `run` until stopped, or `drain` once (imports)."""

    def __init__(
        self,
        store: MediaStore,
        settings_of: Callable[[], MediaSettings],
        *,
        downloader: MediaDownloader | None = None,
        channels: Callable[[], Mapping[int, ResolvedChannel]] | None = None,
        clock: Clock | None = None,
        stop: asyncio.Event | None = None,
        on_ocr: Callable[[int, str], Awaitable[None]] | None = None,
        poll_seconds: float = 2.0,
    ) -> None:
        self.store = store
        self.settings_of = settings_of
        self.downloader = downloader
        self.channels = channels or (lambda: {})
        self.clock = clock or SystemClock()
        self.stop = stop or asyncio.Event()
        self.on_ocr = on_ocr
        self.poll_seconds = poll_seconds
        self.report = ArchiveReport()
        self.pacer = Pacer(settings_of().requests_per_second, clock=self.clock, stop=self.stop)
        self.wake = asyncio.Event()
        self._stored_bytes: int | None = None
        self._paused_until = 0.0
        self._warned_quota = False

    @property
    def settings(self) -> MediaSettings:
        return self.settings_of()

    async def run(self) -> None:
        """Work until `stop`: scan, download a batch, sleep when there is nothing to do."""
        while not self.stop.is_set():
            try:
                busy = await self.step()
            except Disconnected:
                busy = False  # the watcher reconnects; pending downloads wait for it
            except TelewatchError as e:
                log.warning("media archive: %s", e)
                busy = False
            if not busy:
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), timeout=self.poll_seconds)

    async def drain(self) -> ArchiveReport:
        """Process everything that can be processed now (imports, tests); returns what was done."""
        start = ArchiveReport()
        self.report, before = start, self.report
        try:
            while await self.step():
                pass
        finally:
            self.report = before
        return start

    async def step(self) -> bool:
        """One round: record new attachments, then archive one batch. True when there was work."""
        added = await self.store.scan()
        loop = asyncio.get_running_loop()
        if loop.time() < self._paused_until:
            return False
        known = self.channels()
        batch = await self.store.pending(BATCH, channels=list(known) if self.downloader else [])
        for record in batch:
            if self.stop.is_set():
                break
            await self.archive(record, known.get(record.channel_tg_id or 0))
            if loop.time() < self._paused_until:
                break
        return bool(added or batch)

    async def archive(self, record: MediaRecord, channel: ResolvedChannel | None) -> None:
        """Decide, fetch and store one attachment; its row ends stored, skipped or failed."""
        s = self.settings
        cap = s.cap_bytes(record.kind)
        if not s.download:
            return await self._give_up(record, MediaState.SKIPPED, "[media] download = false")
        if cap == 0:
            return await self._give_up(
                record,
                MediaState.SKIPPED,
                f"{record.kind} files are not archived ([media] {_cap_key(record.kind)} = 0)",
            )
        if record.size is not None and record.size > cap:
            return await self._give_up(
                record,
                MediaState.SKIPPED,
                f"{_mb(record.size)} is over the {record.kind} cap of {_mb(cap)} ([media] {_cap_key(record.kind)})",
            )
        twin = await self.store.stored_like(record)
        if twin is not None and twin.sha256 and twin.path:
            await self.store.finish(
                record.id,
                StoredFile(
                    twin.sha256,
                    twin.path,
                    twin.size or 0,
                    twin.thumb_path,
                    f"same file as post {twin.post_id}",
                ),
            )
            self.report.stored += 1
            self.report.deduplicated += 1
            return None
        if await self._over_quota(record.size or 0):
            quota = self.settings.quota_bytes
            if not self._warned_quota:
                self._warned_quota = True
                log.warning("media archive: the quota of %s is reached; new files are skipped", _mb(quota))
            return await self._give_up(
                record,
                MediaState.SKIPPED,
                f"quota reached: the archive holds {_mb(self._stored_bytes or 0)} of {_mb(quota)} "
                "([media] quota_gb)",
            )
        try:
            stored, fresh = await self._fetch(record, channel, cap)
        except files.TooLarge as e:
            return await self._give_up(record, MediaState.SKIPPED, f"{e} ([media] {_cap_key(record.kind)})")
        except files.DiskFull as e:
            self._paused_until = asyncio.get_running_loop().time() + DISK_FULL_PAUSE
            line = f"{e} while archiving a {record.kind} of post {record.post_id}; the post is stored, its file is not"
            log.warning("media archive: %s (downloads pause for %.0f s)", line, DISK_FULL_PAUSE)
            return await self._give_up(record, MediaState.FAILED, "disk full while downloading")
        except Disconnected:
            raise
        except TelegramError as e:
            return await self._give_up(record, MediaState.FAILED, f"Telegram refused the download: {e}")
        except _Missing as e:
            return await self._give_up(record, e.state, str(e))
        except OSError as e:
            return await self._give_up(record, MediaState.FAILED, f"cannot write the file: {e.strerror or e}")
        if fresh:
            self._stored_bytes = (self._stored_bytes or 0) + stored.size
            self.report.bytes_stored += stored.size
        else:
            self.report.deduplicated += 1
            stored = StoredFile(
                stored.sha256, stored.path, stored.size, stored.thumb_path, "same file as another post"
            )
        if record.size and stored.size != record.size and record.local_path is None:
            # Telegram announced another size: the download broke off or the file is not what it says.
            return await self._give_up(
                record, MediaState.FAILED, f"truncated download: {stored.size} of {record.size} bytes"
            )
        stored = await self._thumbnail(record, channel, stored)
        await self.store.finish(record.id, stored)
        self.report.stored += 1
        if s.ocr and record.kind == "photo":
            await self._ocr(record, stored)
        return None

    async def _fetch(
        self, record: MediaRecord, channel: ResolvedChannel | None, cap: int
    ) -> tuple[StoredFile, bool]:
        root = self.settings.path
        ext = files.extension(record.mime_type, record.kind)
        if record.local_path is not None:
            source = Path(record.local_path)
            try:
                sha, rel, size, existed = await asyncio.to_thread(files.import_file, root, source, ext, cap)
            except FileNotFoundError:
                raise _Missing(
                    MediaState.SKIPPED, f"the export does not ship this file ({source.name})"
                ) from None
            return StoredFile(sha, rel, size), not existed
        if self.downloader is None or channel is None:
            raise _Missing(MediaState.SKIPPED, "its channel is not watched by this telewatch")
        part = files.PartialFile(root, f"media-{record.id}", cap)
        downloader = self.downloader
        try:
            await self.pacer.call(
                "download",
                f"{record.kind} of post {record.post_id}",
                lambda: _download(downloader, channel, record.message_id, part),
            )
            sha, rel, size, existed = await asyncio.to_thread(part.commit, ext)
        except BaseException:
            part.discard()
            raise
        self.report.bytes_downloaded += size
        return StoredFile(sha, rel, size), not existed

    async def _thumbnail(
        self, record: MediaRecord, channel: ResolvedChannel | None, stored: StoredFile
    ) -> StoredFile:
        if not self.settings.thumbnails or stored.thumb_path:
            return stored
        root = self.settings.path
        data: bytes | None = None
        if record.kind in VIDEO_KINDS:
            if self.downloader is None or channel is None:
                return stored
            preview = _Bytes()
            downloader = self.downloader
            try:
                await self.pacer.call(
                    "download",
                    f"preview of post {record.post_id}",
                    lambda: downloader.download_media(channel, record.message_id, preview, thumbnail=True),
                )
            except (TelegramError, files.TooLarge) as e:
                note = f"no preview: {e}"
                return StoredFile(stored.sha256, stored.path, stored.size, None, _join(stored.note, note))
            if not preview.data:
                return stored
            data = bytes(preview.data)
        elif record.kind not in files.IMAGE_KINDS:
            return stored
        thumb, problem = await asyncio.to_thread(files.make_thumbnail, root, stored.path, data)
        if problem is not None:
            self.report.problem(f"post {record.post_id}: {record.kind} {problem}")
            log.warning("media archive: post %d: %s %s", record.post_id, record.kind, problem)
        return StoredFile(stored.sha256, stored.path, stored.size, thumb, _join(stored.note, problem))

    async def _ocr(self, record: MediaRecord, stored: StoredFile) -> None:
        try:
            text = await asyncio.to_thread(
                files.ocr_image, self.settings.path / stored.path, self.settings.ocr_languages
            )
        except TelewatchError as e:
            self.report.problem(f"post {record.post_id}: OCR: {e}")
            log.warning("media archive: OCR of post %d: %s", record.post_id, e)
            return
        await self.store.set_ocr(record.id, text)
        self.report.ocr += 1
        if text and self.on_ocr is not None:
            await self.on_ocr(record.post_id, text)

    async def _over_quota(self, size: int) -> bool:
        quota = self.settings.quota_bytes
        if not quota:
            return False
        if self._stored_bytes is None:
            self._stored_bytes = await self.store.stored_bytes()
        return self._stored_bytes + size > quota

    async def _give_up(self, record: MediaRecord, state: MediaState, reason: str) -> None:
        await self.store.give_up(record.id, state, reason)
        if state is MediaState.FAILED:
            self.report.failed += 1
            self.report.problem(f"post {record.post_id}: {record.kind} failed: {reason}")
        else:
            self.report.skipped += 1


class _Missing(Exception):
    def __init__(self, state: MediaState, reason: str) -> None:
        super().__init__(reason)
        self.state = state


async def _download(
    downloader: MediaDownloader, channel: ResolvedChannel, message_id: int, part: files.PartialFile
) -> None:
    part.reset()  # a retry after a flood wait starts the file again from its first byte
    await downloader.download_media(channel, message_id, part)


def _cap_key(kind: str) -> str:
    return {"video_note": "video_mb"}.get(kind, f"{kind}_mb" if kind in _CAP_KINDS else "document_mb")


_CAP_KINDS = frozenset({"photo", "video", "animation", "voice", "audio", "document", "sticker"})


def _mb(n: int) -> str:
    return f"{n / 1048576:.1f} MB"


def _join(a: str | None, b: str | None) -> str | None:
    return "; ".join(x for x in (a, b) if x) or None
