"""Splitting long HTML replies into pages within Telegram's message limit, and remembering them for
the next / previous buttons."""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from bot.alerts.format import PAGE_LIMIT, pack_lines

TELEGRAM_LIMIT = 4096
NAV_PREFIX = "pg"
__all__ = ["NAV_PREFIX", "PAGE_LIMIT", "TELEGRAM_LIMIT", "PageStore", "Reply", "pack_lines"]


@dataclass(frozen=True, slots=True)
class Reply:
    """One message to send (or to edit in place): HTML plus inline buttons as (label, callback data)."""

    html: str
    buttons: tuple[tuple[str, str], ...] = ()


class PageStore:
    """Paged replies kept in memory for their navigation buttons (the newest `capacity` listings)."""

    def __init__(self, capacity: int = 200) -> None:
        self.capacity = capacity
        self._pages: OrderedDict[int, list[str]] = OrderedDict()
        self._ids = itertools.count(1)

    def paginate(self, header: str, lines: Sequence[str], limit: int = PAGE_LIMIT) -> Reply:
        """The first page of `header` + `lines`; later pages are reached with the buttons."""
        body = pack_lines(lines, limit - len(header) - 1)
        pages = [f"{header}\n{chunk}" if header else chunk for chunk in body]
        if len(pages) == 1:
            return Reply(pages[0])
        token = next(self._ids)
        self._pages[token] = pages
        while len(self._pages) > self.capacity:
            self._pages.popitem(last=False)
        return self.page(token, 0) or Reply(pages[0])

    def page(self, token: int, index: int) -> Reply | None:
        """Page `index` of listing `token` with its buttons; None when the listing was forgotten."""
        pages = self._pages.get(token)
        if pages is None:
            return None
        index = max(0, min(index, len(pages) - 1))
        buttons: list[tuple[str, str]] = []
        if index > 0:
            buttons.append(("‹ prev", f"{NAV_PREFIX}:{token}:{index - 1}"))
        if index < len(pages) - 1:
            buttons.append(("next ›", f"{NAV_PREFIX}:{token}:{index + 1}"))
        return Reply(f"{pages[index]}\n<i>page {index + 1}/{len(pages)}</i>", tuple(buttons))
