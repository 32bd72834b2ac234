"""tomlkit helpers that keep comments where a reader expects them when [[tables]] are added or removed.

tomlkit attaches the comment lines *before* a table header to the end of the previous table, so a naive
append lands new tables after the next section's heading comments, and a naive delete takes the next
table's comments away. These helpers move that trailing trivia to where it belongs.
"""

from __future__ import annotations

from typing import Any

import tomlkit
from tomlkit.items import AoT, Array, Comment, InlineTable, Item, Null, Table, Whitespace


def trailing_trivia(table: Table) -> list[Item]:
    """The comment and blank-line items after the table's last key."""
    body = table.value.body
    start = len(body)
    while start > 0 and body[start - 1][0] is None and _is_trivia(body[start - 1][1]):
        start -= 1
    return [item for _, item in body[start:]]


def _cut_trailing(table: Table, keep: int) -> list[Item]:
    """Remove the table's trailing trivia except its first `keep` items; return what was removed."""
    body = table.value.body
    start = len(body) - len(trailing_trivia(table)) + keep
    removed = [item for _, item in body[start:]]
    # Trivia carries no key, so nothing in the container's key map points at these positions.
    del body[start:]
    return removed


def _is_trivia(item: Item) -> bool:
    return isinstance(item, Whitespace | Comment | Null)


def _first_blank(items: list[Item]) -> int:
    """How many leading items to keep at the end of a table: up to its first blank line."""
    for i, item in enumerate(items):
        if isinstance(item, Whitespace):
            return i + 1
    return len(items)


def append_table(doc: Any, key: str, values: dict[str, Any]) -> None:
    """Append a [[key]] table (or an inline table if the file writes `key = [{...}]`)."""
    existing = doc.get(key)
    if isinstance(existing, Array):
        inline = tomlkit.inline_table()
        inline.update(values)
        existing.append(inline)
        return
    table = tomlkit.table()
    for k, v in values.items():
        table[k] = v
    if isinstance(existing, AoT) and len(existing.body) > 0:
        last = existing.body[-1]
        # The last table's trailing comments introduce whatever follows the list: they move below the new one.
        moved = _cut_trailing(last, _first_blank(trailing_trivia(last)))
        if not trailing_trivia(last):
            last.value.body.append((None, Whitespace("\n")))
        if not moved or isinstance(moved[0], Comment):
            moved.insert(0, Whitespace("\n"))  # a blank line between the new table and what follows
        for item in moved:
            table.value.body.append((None, item))
        existing.append(table)
        return
    table.value.body.append((None, Whitespace("\n")))
    aot = tomlkit.aot()
    aot.append(table)
    doc.append(key, aot)


def remove_table(container: AoT | Array, index: int) -> None:
    """Delete item `index`; comments written before the next table stay with it."""
    if isinstance(container, Array):
        del container[index]
        return
    tables = container.body
    removed = tables[index]
    tail = trailing_trivia(removed)
    if index > 0:
        previous = tables[index - 1]
        # The comment block right above the removed table's header was about it: it goes too.
        items = trailing_trivia(previous)
        keep = len(items)
        while keep > 0 and isinstance(items[keep - 1], Comment):
            keep -= 1
        _cut_trailing(previous, keep)
    if index + 1 < len(tables):
        following = tables[index + 1]
        while tail and isinstance(tail[0], Whitespace):
            tail = tail[1:]  # what precedes the removed table already ends with a blank line
        text = "".join(item.as_string() for item in tail)
        following.trivia.indent = text + following.trivia.indent
    elif index > 0:
        previous = tables[index - 1]
        kept = trailing_trivia(previous)
        if kept and isinstance(kept[-1], Whitespace):
            while tail and isinstance(tail[0], Whitespace):
                tail = tail[1:]
        elif not tail:
            previous.value.body.append((None, Whitespace("\n")))
        for item in tail:
            previous.value.body.append((None, item))
    del container[index]


def set_values(table: Table | InlineTable, changes: dict[str, Any]) -> None:
    """Set keys in place (keeping their comments); a None value removes the key."""
    for k, v in changes.items():
        if v is None:
            if k in table:
                del table[k]
        else:
            table[k] = v
