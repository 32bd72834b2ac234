"""Bounds on hostile input: JSON nesting depth (checked on the byte stream at C speed) and post size.

ijson keeps one prefix string per open level, so 100,000 nested brackets cost it O(depth²) memory
(24 GB for a 200 KB file); json.loads raises RecursionError. Real exports nest fewer than 20 levels.
"""

from __future__ import annotations

import re
from typing import BinaryIO

MAX_DEPTH = 256  # JSON nesting levels a source may use
MAX_TEXT_CHARS = 65_536  # post text kept per record; longer texts are cut and reported (Telegram: 4,096)
MAX_LINE_BYTES = 8 << 20  # a JSONL line longer than this is skipped unread (a capped post fits in ~1 MiB)

_QUOTED = re.compile(rb'"[^"]*"')  # a string, once everything but quotes and brackets is gone
_FOLD = bytes.maketrans(b"{}", b"[]")
_NOT_MARKS = bytes(b for b in range(256) if b not in b'[]{}"')


class NestingError(ValueError):
    """JSON nested deeper than MAX_DEPTH, or one string longer than MAX_LINE_BYTES; says where (bytes)."""


class DepthGuard:
    """Follows the bracket depth of a JSON byte stream fed in chunks; raises NestingError past the limit.

    Only bytes methods run over the whole chunk (escaped quotes dropped, everything but quotes and
    brackets deleted); the one regex then sees a few bytes per string. The bound checked is an upper
    bound of the true depth.
    """

    __slots__ = ("_carry", "_in_string", "_string_bytes", "_string_start", "depth", "limit", "offset")

    def __init__(self, limit: int = MAX_DEPTH) -> None:
        self.limit = limit
        self.depth = 0
        self.offset = 0
        self._in_string = False
        self._carry = b""  # a backslash at the end of a chunk escapes the first byte of the next
        self._string_bytes = 0  # of the string still open at the end of the last chunk
        self._string_start = 0

    def feed(self, chunk: bytes) -> None:
        """Account for the next chunk of the stream."""
        start = self.offset
        self.offset += len(chunk)
        data = self._carry + chunk
        odd = (len(data) - len(data.rstrip(b"\\"))) % 2
        self._carry, data = (b"\\", data[:-1]) if odd else (b"", data)
        # backslashes appear only inside strings; after these two, every quote left is a real one
        marks = data.replace(b"\\\\", b"").replace(b'\\"', b"").translate(_FOLD, _NOT_MARKS)
        was_open = self._in_string
        if was_open:
            marks = b'"' + marks
        bare = _QUOTED.sub(b"", marks)
        quote = bare.find(b'"')
        self._in_string = quote >= 0
        if self._in_string:
            bare = bare[:quote]
            if was_open and quote == 0 and marks.count(b'"') == 1:
                self._string_bytes += len(chunk)  # the whole chunk is inside one long string
                if self._string_bytes > MAX_LINE_BYTES:
                    # ijson's cost grows with the square of a string's length (508 s for 95 MB)
                    raise NestingError(
                        f"a JSON string longer than {MAX_LINE_BYTES >> 20} MiB"
                        f" (opened in bytes {self._string_start:,}-{self._string_start + 65_536:,})"
                    )
            else:
                self._string_bytes, self._string_start = 0, start
        if not bare:
            return
        # innermost pairs go first; the number of passes is the depth of the balanced parts
        brackets = bare
        passes = 0
        while True:
            reduced = brackets.replace(b"[]", b"")
            if len(reduced) == len(brackets):
                break
            brackets = reduced
            passes += 1
            if passes > self.limit:
                break
        closes = len(brackets) - len(brackets.lstrip(b"]"))
        opens = len(brackets) - closes
        if self.depth + opens + passes > self.limit:
            raise NestingError(
                f"JSON nested deeper than {self.limit} levels (in bytes {start:,}-{self.offset:,})"
            )
        self.depth = max(0, self.depth - closes) + opens


class GuardedReader:
    """A binary file wrapper that feeds every block read to a DepthGuard (for ijson)."""

    __slots__ = ("_guard", "_raw")

    def __init__(self, raw: BinaryIO, limit: int = MAX_DEPTH) -> None:
        self._raw = raw
        self._guard = DepthGuard(limit)

    def read(self, size: int = -1) -> bytes:
        """Read like the wrapped file; NestingError when the JSON so far nests too deep."""
        data = self._raw.read(size)
        self._guard.feed(data)
        return data


def too_deep(line: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether one JSON text (a JSONL line) nests deeper than `limit` levels (checked before json.loads,
    which would take up to ~1,000 levels and then fail in its own way)."""
    try:
        DepthGuard(limit).feed(line)
    except NestingError:
        return True
    return False


def nesting_reason() -> str:
    """The reason given for a record nested deeper than MAX_DEPTH levels."""
    return f"JSON nested too deeply to read (more than {MAX_DEPTH} levels)"


def cap_text(text: str) -> tuple[str, int]:
    """The text cut to MAX_TEXT_CHARS, and how many characters were cut (0 when it fits)."""
    if len(text) <= MAX_TEXT_CHARS:
        return text, 0
    return text[:MAX_TEXT_CHARS], len(text) - MAX_TEXT_CHARS
