"""Tables that stay readable in a narrow terminal: ids and numbers keep their full width, short labels
shrink to an ellipsis, free text takes what is left and wraps, and optional columns go first.

rich's own last resort for a too-wide table shrinks every column evenly, ids included (at 80 columns
`alerts list` showed ids as "…" and its text column with zero width); widths are decided here instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich.console import Console
from rich.table import Table
from rich.text import Text

Role = Literal["key", "label", "text"]
LABEL_MIN = 8  # a shrunk label keeps this many cells ("@front_…")
TEXT_MIN = 16  # free text gets at least this much before optional columns are dropped


@dataclass(frozen=True)
class Col:
    """A column: `key` (ids, counts, dates: never shrunk), `label` (may end in "…"), `text` (wraps).
    `drop` > 0 marks a column that may be hidden when the terminal is too narrow (highest first)."""

    header: str
    role: Role = "label"
    justify: Literal["left", "right", "center"] = "left"
    style: str | None = None
    drop: int = 0


def _cells(value: str) -> int:
    text = Text.from_markup(value)
    return max((Text(line).cell_len for line in text.plain.split("\n")), default=0)


def fitted_table(
    console: Console, columns: Sequence[Col], rows: Sequence[Sequence[str]], *, title: str | None = None
) -> Table:
    """A rich Table of `rows` (markup strings, one per column) that fits `console.width`."""
    natural = [max([_cells(col.header), *(_cells(row[i]) for row in rows)]) for i, col in enumerate(columns)]
    shown = list(range(len(columns)))

    def minimum(i: int) -> int:
        role = columns[i].role
        if role == "key":
            return natural[i]
        return min(natural[i], TEXT_MIN if role == "text" else max(LABEL_MIN, _cells(columns[i].header)))

    def room() -> int:  # cell widths available: borders and one space of padding each side
        return console.width - (3 * len(shown) + 1)

    droppable = sorted((i for i, c in enumerate(columns) if c.drop), key=lambda i: -columns[i].drop)
    while sum(minimum(i) for i in shown) > room() and droppable:
        shown.remove(droppable.pop(0))
    widths = {i: minimum(i) for i in shown}
    # still too wide with nothing left to drop: text, then labels, give up cells (keys last of all)
    for role, floor in (("text", 4), ("label", 2), ("key", 1)):
        for i in shown:
            short = sum(widths.values()) - room()
            if short > 0 and columns[i].role == role and widths[i] > floor:
                widths[i] -= min(short, widths[i] - floor)
    extra = room() - sum(widths.values())
    for role in ("label", "text"):  # labels grow to their natural width first, then the text
        for i in shown:
            if extra <= 0:
                break
            if columns[i].role == role:
                grow = min(extra, natural[i] - widths[i])
                widths[i] += grow
                extra -= grow
    table = Table(title=title)
    for i in shown:
        col = columns[i]
        table.add_column(
            col.header,
            justify=col.justify,
            style=col.style,
            width=widths[i],
            no_wrap=col.role != "text",
            overflow="fold" if col.role == "text" else "ellipsis",
        )
    for row in rows:
        table.add_row(*(row[i] for i in shown))
    return table
