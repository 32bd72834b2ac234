"""Whether a route's file target can be written, tested without writing to it (`config check`)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from bot.domain.errors import ConfigError
from config.positions import KeyLines
from config.settings import Settings


def unwritable_reason(target: Path) -> str | None:
    """Why alerts could not be appended to `target`, or None when they can. Creates nothing that stays."""
    if target.exists():
        if not target.is_file():
            return "it is not a file"
        try:
            with target.open("a", encoding="utf-8"):
                pass  # opening for append changes nothing
        except OSError as e:
            return f"not writable ({e.strerror or e})"
        return None
    folder = target.parent
    while not folder.exists():  # the sink creates missing folders: the first existing one must take them
        if folder == folder.parent:
            return "no folder of it exists"
        folder = folder.parent
    if not folder.is_dir():
        return f"not writable: {folder} is not a folder"
    try:
        fd, probe = tempfile.mkstemp(prefix=".telewatch-probe-", dir=folder)
    except OSError as e:
        return f"not writable: cannot create files in {folder} ({e.strerror or e})"
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return None


def check_route_targets(settings: Settings, text: str | None = None) -> None:
    """Raise ConfigError (one line naming the route and the path) for a jsonl target that cannot be written."""
    lines = KeyLines(text) if text is not None else None
    for i, route in enumerate(settings.routes):
        if route.sink != "jsonl" or not route.target:
            continue
        reason = unwritable_reason(Path(route.target))
        if reason is not None:
            key = f"routes[{i}].target"
            raise ConfigError(
                f"route '{route.name}': cannot write alerts to {route.target}: {reason}",
                file=settings.path,
                key=key,
                line=lines.line_of(key) if lines is not None else None,
                hint="point the route at a file in a folder telewatch may write to",
            )
