"""The console sink: prints each alert as a readable panel with the matched words highlighted."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from bot.alerts.sinks.registry import SinkEnv, SinkKind
from bot.domain.ports import OutgoingAlert, SinkCapabilities
from config.settings import RouteSettings

SEVERITY_STYLE = {"info": "blue", "warning": "yellow", "critical": "bold red"}


class ConsoleSink:
    """Prints each alert as a panel with the matched words highlighted."""

    name = "console"
    capabilities = SinkCapabilities(batch=True)

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console()
        self.delivered = 0

    async def deliver(self, alert: OutgoingAlert) -> None:
        self.console.print(console_panel(alert))
        self.delivered += 1
        return None  # a terminal has no message to edit later

    async def deliver_many(self, alerts: Sequence[OutgoingAlert]) -> None:
        for alert in alerts:
            await self.deliver(alert)


def console_panel(alert: OutgoingAlert) -> Panel | Text:
    data = alert.data
    if "batch" in data or "notice" in data:
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


def build(route: RouteSettings, env: SinkEnv) -> ConsoleSink:
    return ConsoleSink(env.console)


KIND = SinkKind(name="console", build=build)
