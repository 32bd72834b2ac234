"""The content-addressed folder: files named by their sha256, written whole or not at all, thumbnails, OCR."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import io
import os
import shutil
import subprocess
from pathlib import Path

from bot.domain.errors import TelewatchError

THUMB_SIZE = (320, 320)
CHUNK = 1 << 20
# File name endings by MIME type (anything else is stored as .bin: names never come from senders).
EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
    "video/webm": ".webm",
    "audio/ogg": ".ogg",
    "audio/mpeg": ".mp3",
    "audio/mp4": ".m4a",
    "application/pdf": ".pdf",
    "application/zip": ".zip",
    "application/x-tgsticker": ".tgs",
}
IMAGE_KINDS = frozenset({"photo"})


class TooLarge(TelewatchError):
    """A download grew past its cap (the announced size was missing or wrong)."""


class DiskFull(TelewatchError):
    """The media folder's disk is full."""


def extension(mime_type: str | None, kind: str) -> str:
    if kind == "photo" and not mime_type:
        return ".jpg"
    return EXTENSIONS.get((mime_type or "").lower(), ".bin")


class PartialFile:
    """A download in progress: written to tmp/, hashed as it goes, capped; `commit` names it by content."""

    def __init__(self, root: Path, name: str, limit: int) -> None:
        self.root = root
        self.limit = limit
        self.size = 0
        self._hash = hashlib.sha256()
        tmp = root / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        self.path = tmp / f"{name}.part"
        self._file: io.BufferedWriter | None = self.path.open("wb")

    def reset(self) -> None:
        """Start over: empty file, fresh hash."""
        if self._file is None:
            raise ValueError("the partial file is closed")
        self._file.seek(0)
        self._file.truncate()
        self.size = 0
        self._hash = hashlib.sha256()

    def write_sync(self, chunk: bytes) -> None:
        if self._file is None:
            raise ValueError("the partial file is closed")
        self.size += len(chunk)
        if self.limit and self.size > self.limit:
            raise TooLarge(f"larger than the cap of {self.limit / 1048576:.0f} MB")
        try:
            self._file.write(chunk)
        except OSError as e:
            if e.errno in (errno.ENOSPC, errno.EDQUOT):
                raise DiskFull(f"the disk of {self.root} is full") from e
            raise
        self._hash.update(chunk)

    async def write(self, chunk: bytes) -> None:
        # Small chunks are written in the loop; big ones would stall it, so a thread takes them.
        if len(chunk) < 256 * 1024:
            self.write_sync(chunk)
        else:
            await asyncio.to_thread(self.write_sync, chunk)

    def discard(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def commit(self, ext: str) -> tuple[str, str, int, bool]:
        """Move the file to its content address; (sha256, relative path, size, already there)."""
        if self._file is None:
            raise ValueError("the partial file is closed")
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
        except OSError as e:
            self.discard()
            if e.errno in (errno.ENOSPC, errno.EDQUOT):
                raise DiskFull(f"the disk of {self.root} is full") from e
            raise
        self._file = None
        sha = self._hash.hexdigest()
        rel = address(sha, ext)
        target = self.root / rel
        if target.exists():
            self.path.unlink()
            return sha, rel, self.size, True
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.path, target)
        return sha, rel, self.size, False


def address(sha: str, ext: str) -> str:
    """ab/cd/abcd…ef.jpg: two folder levels keep any one folder small."""
    return f"{sha[:2]}/{sha[2:4]}/{sha}{ext}"


def import_file(root: Path, source: Path, ext: str, limit: int) -> tuple[str, str, int, bool]:
    """Copy (hard-link when possible) an export's file into the archive by content."""
    size = source.stat().st_size
    if limit and size > limit:
        raise TooLarge(f"{size / 1048576:.1f} MB, over the cap of {limit / 1048576:.0f} MB")
    digest = hashlib.sha256()
    with source.open("rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    sha = digest.hexdigest()
    rel = address(sha, ext)
    target = root / rel
    if target.exists():
        return sha, rel, size, True
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    try:
        try:
            os.link(source, partial)
        except OSError:
            shutil.copyfile(source, partial)
        os.replace(partial, target)
    except OSError as e:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFull(f"the disk of {root} is full") from e
        raise
    return sha, rel, size, False


def make_thumbnail(root: Path, rel: str, data: bytes | None = None) -> tuple[str | None, str | None]:
    """A 320-pixel JPEG beside the file (from the file, or from `data`: Telegram's preview of a video).

    Returns (thumbnail path, None), or (None, why) when the image cannot be read: the file is kept as
    it was downloaded and the reason is shown with it."""
    from PIL import Image, UnidentifiedImageError

    thumb_rel = rel.rsplit(".", 1)[0] + ".thumb.jpg"
    target = root / thumb_rel
    if target.exists():
        return thumb_rel, None
    try:
        with Image.open(io.BytesIO(data) if data is not None else root / rel) as image:
            image.thumbnail(THUMB_SIZE)
            rgb = image.convert("RGB")
            partial = target.with_name(target.name + ".part")
            rgb.save(partial, "JPEG", quality=80)
            os.replace(partial, target)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFull(f"the disk of {root} is full") from e
        return None, f"not a readable image ({type(e).__name__}: {str(e)[:80]}); kept as downloaded"
    return thumb_rel, None


def tesseract_available() -> bool:
    return shutil.which("tesseract") is not None


def ocr_image(path: Path, languages: str, timeout: float = 60.0) -> str:
    """The text tesseract reads in the image ('' when none); TelewatchError when it cannot run."""
    exe = shutil.which("tesseract")
    if exe is None:
        raise TelewatchError(
            "[media] ocr is on but tesseract is not installed",
            hint="apt install tesseract-ocr tesseract-ocr-rus tesseract-ocr-ukr tesseract-ocr-eng",
        )
    try:
        done = subprocess.run(
            [exe, str(path), "stdout", "-l", languages],
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        raise TelewatchError(f"tesseract took over {timeout:.0f} s on {path.name}") from e
    if done.returncode != 0:
        first = done.stderr.decode(errors="replace").strip().splitlines()
        raise TelewatchError(f"tesseract failed on {path.name}: {first[-1] if first else done.returncode}")
    return " ".join(done.stdout.decode(errors="replace").split())
