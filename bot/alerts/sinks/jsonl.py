"""The JSONL sink: appends one JSON object per alert to a file, for scripts; never the same alert twice."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from bot.alerts.sinks.registry import SinkEnv, SinkKind
from bot.domain.errors import DeliveryFailed
from bot.domain.ports import OutgoingAlert, SinkCapabilities
from config.settings import RouteSettings
from config.targets import unwritable_reason


class JsonlSink:
    """Appends one JSON object per alert; an alert already in the file is not written again, whichever
    process wrote it (several watchers may append to one file: each append holds an exclusive lock on
    it and first reads what the others appended)."""

    name = "jsonl"
    capabilities = SinkCapabilities(batch=True)

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: set[str] = set()
        self._read_to = 0  # bytes of the file already read into _seen

    def _read_new(self, f: IO[bytes]) -> None:
        """Remember the keys of complete lines appended since the last read (by anyone)."""
        f.seek(self._read_to)
        for line in f:
            if not line.endswith(b"\n"):
                break  # a torn last line from a crash: the alert is written again
            self._read_to += len(line)
            try:
                record: dict[str, Any] = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
            if isinstance(record, dict):
                self._seen.add(str(record.get("dedup_key")))

    async def deliver(self, alert: OutgoingAlert) -> None:
        await self.deliver_many([alert])

    async def deliver_many(self, alerts: Sequence[OutgoingAlert]) -> None:
        """Append the alerts not in the file yet, then flush them to disk once: all are on disk, or it raises."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a+b") as f:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX)  # released when the file closes
                self._read_new(f)
                seen = self._seen
                fresh = [
                    a for a in dict((a.dedup_key, a) for a in alerts).values() if a.dedup_key not in seen
                ]
                if not fresh:
                    return
                end = f.seek(0, os.SEEK_END)
                if end > self._read_to:
                    f.write(b"\n")  # after a torn line: start a line of our own
                lines = "".join(
                    json.dumps({"dedup_key": a.dedup_key, **a.data}, ensure_ascii=False) + "\n" for a in fresh
                ).encode("utf-8")
                f.write(lines)
                f.flush()
                os.fsync(f.fileno())
                self._read_to = f.tell()
        except OSError as e:
            raise DeliveryFailed(f"cannot write alerts to {self.path}: {e}") from e
        seen.update(a.dedup_key for a in fresh)


def build(route: RouteSettings, env: SinkEnv) -> JsonlSink:
    assert route.target  # the registry refuses a jsonl route without a target
    return JsonlSink(Path(route.target))


async def probe(route: RouteSettings, sender: object) -> tuple[str, str] | None:
    """A write test of the file that leaves nothing behind."""
    if not route.target:
        return None
    reason = unwritable_reason(Path(route.target))
    return ("ok", "") if reason is None else ("not writable", reason)


# One sink per file: two routes into one file share it (and its memory of what is in the file).
KIND = SinkKind(name="jsonl", build=build, target="a file path", per_target=True, probe=probe)
