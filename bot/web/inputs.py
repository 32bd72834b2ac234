"""What the pages accept from a request before any page code sees it: row ids in paths that fit SQLite's
signed 64-bit integers, and query strings and form fields without control characters or absurd sizes."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.domain.numbers import INT64_MAX

MAX_ROW_ID = INT64_MAX  # SQLite's INTEGER PRIMARY KEY
MAX_QUERY_BYTES = 16_384  # a search address is a few hundred bytes; pasted novels are refused in words
MAX_FIELD_CHARS = 100_000  # one form field (the rule test box takes 20,000 characters of it)
ALLOWED_CONTROLS = frozenset("\t\n\r")


class BadParam(ValueError):
    """A query parameter or form field the page cannot use; shown to the person, status 400."""


def at_most(limit: int) -> str:
    """A regular expression matching exactly the decimal numbers 1..limit (no sign, no leading zeros)."""
    digits = str(limit)
    width = len(digits)
    shorter = f"[1-9][0-9]{{0,{width - 2}}}" if width > 1 else ""
    same: list[str] = []
    for i, d in enumerate(digits):
        low = 1 if i == 0 else 0
        if int(d) - 1 >= low:
            same.append(f"{digits[:i]}[{low}-{int(d) - 1}][0-9]{{{width - i - 1}}}")
    same.append(digits)
    return "|".join(p for p in (shorter, *same) if p)


class RowIdConvertor(Convertor[int]):
    """`{name:rowid}`: a row id from 1 to 2^63-1. Anything else (0, signs, leading zeros, 20 digits) matches
    no route, so the answer is the ordinary 404 page instead of an overflow deep in the store."""

    regex = f"(?:{at_most(MAX_ROW_ID)})"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        if not 1 <= value <= MAX_ROW_ID:
            raise ValueError(f"row id out of range: {value}")
        return str(value)


register_url_convertor("rowid", RowIdConvertor())


def control_character(values: Iterable[str]) -> str | None:
    """The first control character (other than tab and line breaks) in `values`, named, or None."""
    for value in values:
        for ch in value:
            if ch not in ALLOWED_CONTROLS and unicodedata.category(ch) == "Cc":
                return f"U+{ord(ch):04X}"
    return None


def field_problem(name: str, value: str) -> str | None:
    """Why one query parameter or form field cannot be used, or None."""
    bad = control_character((name, value))
    if bad is not None:
        return f"{_shown(name)} holds a control character ({bad}); remove it and try again"
    if len(value) > MAX_FIELD_CHARS:
        return f"{_shown(name)} is too long ({len(value):,} characters; at most {MAX_FIELD_CHARS:,})"
    return None


def _shown(name: str) -> str:
    cleaned = re.sub(r"[\x00-\x1f\x7f-\x9f]", "?", name)[:40]
    return f"the field {cleaned!r}"


class InputGuardMiddleware:
    """Answers 400 (the error page, in words) for a path or query string the pages must never see: control
    characters, or a query string over MAX_QUERY_BYTES. Form fields are checked by `checked_form`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        problem = self._problem(request, scope)
        if problem is None:
            await self.app(scope, receive, send)
            return
        from bot.web.pages import render  # pages import this module's neighbours; render needs the app

        response = render(request, "error.html", {"title": "Bad request", "message": problem}, 400)
        await response(scope, receive, send)

    @staticmethod
    def _problem(request: Request, scope: Scope) -> str | None:
        raw: bytes = scope.get("query_string", b"")
        if len(raw) > MAX_QUERY_BYTES:
            return f"the address is too long ({len(raw):,} bytes of parameters; at most {MAX_QUERY_BYTES:,})"
        bad = control_character([scope["path"]])
        if bad is not None:
            return f"the address holds a control character ({bad})"
        for name, value in request.query_params.multi_items():
            problem = field_problem(name, value)
            if problem is not None:
                return problem
        return None
