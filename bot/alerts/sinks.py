"""Local sinks: a console that prints readable alerts, and a JSONL file for scripts."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from bot.domain.errors import DeliveryFailed
from bot.domain.ports import OutgoingAlert

SEVERITY_STYLE = {"info": "blue", "warning": "yellow", "critical": "bold red"}


class ConsoleSink:
    """Prints each alert as a panel with the matched words highlighted."""

    name = "console"
    min_interval = 0.0

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console()
        self.delivered = 0

    async def deliver(self, alert: OutgoingAlert) -> None:
        self.console.print(console_panel(alert))
        self.delivered += 1

    async def deliver_many(self, alerts: Sequence[OutgoingAlert]) -> None:
        for alert in alerts:
            await self.deliver(alert)


def console_panel(alert: OutgoingAlert) -> Panel | Text:
    data = alert.data
    if "batch" in data:
        return Text(alert.plain)
    severity = str(data.get("severity", "info"))
    body = Text(str(data.get("text", "")))
    for start, end in data.get("spans", []):  # type: ignore[attr-defined]
        body.stylize("bold black on yellow", int(start), int(end))
    header = Text()
    header.append(f"{data['channel_title'] or data['channel']}", style="bold")
    header.append(f"  {str(data['date'])[:16].replace('T', ' ')} UTC")
    if data.get("link"):
        header.append(f"  {data['link']}", style="cyan")
    if data.get("forward_from"):
        header.append(f"\nforwarded from {data['forward_from']}", style="italic")
    words = data.get("words") or []
    if words:
        header.append("\nmatched: ")
        header.append(", ".join(str(w) for w in words), style="bold")  # type: ignore[attr-defined]
    kind = str(data.get("kind", "new"))
    title = f"{severity.upper()} · {data['rule']}" + ("" if kind == "new" else f" · {kind.upper()}")
    return Panel(
        Text.assemble(header, "\n\n", body),
        title=title,
        title_align="left",
        border_style=SEVERITY_STYLE.get(severity, "white"),
    )


class JsonlSink:
    """Appends one JSON object per alert; an alert already in the file is not written again."""

    name = "jsonl"
    min_interval = 0.0

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
