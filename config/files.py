"""Atomic file replacement: a reader sees the old file or the new one, never half of either."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from pathlib import Path

from bot.domain.errors import ConfigError


def atomic_write(path: Path, text: str, *, expect_old: str | None = None) -> None:
    """Write `text` to `path` via a temp file in the same folder and os.replace, keeping the file's mode.

    With `expect_old`, refuse (ConfigError) if the file no longer holds that text: someone else edited it
    since we read it, and replacing it would silently drop their change.
    """
    folder = path.parent if str(path.parent) else Path(".")
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        if expect_old is not None and _current(path) != expect_old:
            raise ConfigError(
                "the file changed while it was being edited; nothing was written",
                file=path,
                hint="run the command again",
            )
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(folder)


def keep_copy(path: Path) -> Path:
    """Copy `path` to a new `path.bak-YYYYmmdd-HHMMSS[-N]` beside it (never over another file); returns it."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    n = 0
    while True:
        copy = path.with_name(f"{path.name}.bak-{stamp}" + (f"-{n}" if n else ""))
        try:
            with copy.open("xb") as out, path.open("rb") as src:
                shutil.copyfileobj(src, out)
        except FileExistsError:
            n += 1
            continue
        shutil.copystat(path, copy)
        return copy


def _current(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return None


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable; not every platform lets a directory be opened, hence best effort.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
