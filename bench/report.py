"""A table of benchmark figures, printed at the end of `make bench`."""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table


@dataclass(frozen=True, slots=True)
class Row:
    section: str
    metric: str
    value: str
    target: str = ""
    ok: bool | None = None


@dataclass
class Report:
    """Collects rows from every benchmark module."""

    rows: list[Row] = field(default_factory=list)
    # A wide console even when piped to a file: the table is the part people read.
    console: Console = field(default_factory=lambda: Console(width=None if Console().is_terminal else 150))

    def add(self, section: str, metric: str, value: str, target: str = "", ok: bool | None = None) -> None:
        self.rows.append(Row(section, metric, value, target, ok))
        verdict = "" if ok is None else (" [green]ok[/green]" if ok else " [red]MISSED[/red]")
        self.console.print(f"[dim]{section}[/dim] {metric}: [bold]{value}[/bold] {target}{verdict}")

    def print(self) -> None:
        table = Table(title="telewatch benchmarks", show_lines=False)
        for column in ("section", "metric", "value", "target", ""):
            table.add_column(column)
        for row in self.rows:
            verdict = "" if row.ok is None else ("[green]ok[/green]" if row.ok else "[red]MISSED[/red]")
            table.add_row(row.section, row.metric, row.value, row.target, verdict)
        self.console.print(table)
