"""The JSONL sink: appends one JSON object per alert to a file, for scripts; never the same alert twice."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.alerts.sinks.registry import SinkEnv, SinkKind
from bot.domain.errors import DeliveryFailed
from bot.domain.ports import OutgoingAlert, SinkCapabilities
from config.settings import RouteSettings
from config.targets import unwritable_reason


class JsonlSink:
    """Appends one JSON object per alert; an alert already in the file is not written again."""

    name = "jsonl"
    capabilities = SinkCapabilities(batch=True)

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: set[str] | None = None

    def _load_seen(self) -> set[str]:
        seen: set[str] = set()
        if self.path.exists():
            with self.path.open(encoding="utf-8") as f:
                for line in f:
                    try:
                        record: dict[str, Any] = json.loads(line)
                    except json.JSONDecodeError:
                        continue  # a torn last line from a crash: the alert is written again
                    seen.add(str(record.get("dedup_key")))
        return seen

    async def deliver(self, alert: OutgoingAlert) -> None:
        await self.deliver_many([alert])

    async def deliver_many(self, alerts: Sequence[OutgoingAlert]) -> None:
        """Append the alerts not in the file yet, then flush them to disk once: all are on disk, or it raises."""
        if self._seen is None:
            self._seen = self._load_seen()
        seen = self._seen
        fresh = [a for a in dict((a.dedup_key, a) for a in alerts).values() if a.dedup_key not in seen]
        if not fresh:
            return
        lines = "".join(
            json.dumps({"dedup_key": a.dedup_key, **a.data}, ensure_ascii=False) + "\n" for a in fresh
        )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(lines)
                f.flush()
                os.fsync(f.fileno())
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
