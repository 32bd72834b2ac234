"""Inline keyboards for alerts and replies, built the way the installed Telethon's TL layer wants."""

from __future__ import annotations

from collections.abc import Sequence

from telethon import Button
from telethon.tl import types

BUTTONS_PER_ROW = 2


def inline_markup(buttons: Sequence[tuple[str, str]]) -> types.ReplyInlineMarkup | None:
    """(label, callback data) pairs as inline keyboard rows of two.

    Button.inline builds the callback button of whatever TL layer the installed Telethon speaks
    (KeyboardButtonCallback before layer 2xx, KeyboardInlineButton since).
    """
    if not buttons:
        return None
    cells = [Button.inline(label, data.encode("utf-8")) for label, data in buttons]
    rows = [cells[i : i + BUTTONS_PER_ROW] for i in range(0, len(cells), BUTTONS_PER_ROW)]
    return types.ReplyInlineMarkup([types.KeyboardButtonRow(row) for row in rows])
