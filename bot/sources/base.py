"""The Source base class, byte counting for progress bars, and streaming of JSON arrays with ijson."""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

# ijson picks its fastest backend (yajl2_c, ~10x the pure-Python one); it ships no type information
import ijson  # type: ignore[import-untyped]

from bot.domain.errors import SourceError
from bot.domain.models import ChannelRef, Post
from bot.sources.encoding import open_utf8
from bot.sources.fields import FieldError, storable
from bot.sources.limits import MAX_LINE_BYTES, MAX_TEXT_CHARS, DepthGuard, NestingError
from bot.sources.records import BadRecord, SourceItem

Converter = Callable[[Any], SourceItem]

# What CountingReader.lines() yields for a line over MAX_LINE_BYTES: it is skipped unread, never held whole.
OVERLONG = b"<overlong line>"


class CountingReader:
    """A binary file wrapper counting the bytes handed to the parser (and bounding their JSON depth)."""

    __slots__ = ("_guard", "_raw", "count")

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._guard = DepthGuard()
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        """Read like the wrapped file and count the bytes; NestingError when the JSON nests too deep."""
        data = self._raw.read(size)
        self.count += len(data)
        self._guard.feed(data)
        return data

    def lines(self) -> Iterator[bytes]:
        """The file's lines (with their newline), counted; OVERLONG (identical object) for a too-long one."""
        readline = self._raw.readline
        while True:
            line = readline(MAX_LINE_BYTES + 1)
            if not line:
                return
            self.count += len(line)
            if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
                while line and not line.endswith(b"\n"):  # skip the rest in bounded blocks
                    line = readline(1 << 20)
                    self.count += len(line)
                yield OVERLONG
            else:
                yield line


class Source(abc.ABC):
    """A file of posts in one format, iterated (again and again) in file order.

    Yields Post, Deletion, Pause or BadRecord. `channel` is the file's channel when the format has one
    per file (a Telegram Desktop export), None when each record names its own.
    """

    format: ClassVar[str]
    description: ClassVar[str]

    def __init__(self, path: Path, *, channel: ChannelRef | None = None, name: str | None = None) -> None:
        self.path = path
        self.name = name or str(path)  # what messages call it: "standard input" for a spooled copy
        self.channel = channel
        self._reader: CountingReader | None = None

    def size_hint(self) -> int:
        """Total bytes of the file: the 100% of a progress bar."""
        return self.path.stat().st_size

    @property
    def bytes_read(self) -> int:
        """Bytes consumed so far by the running iteration (parsers read ahead in blocks of 64 KiB)."""
        return self._reader.count if self._reader is not None else 0

    def __iter__(self) -> Iterator[SourceItem]:
        with open_utf8(self.path) as raw:
            reader = CountingReader(raw)
            self._reader = reader
            try:
                yield from self._read(reader)
            except NestingError as exc:
                raise SourceError(f"{self.name}: {exc}") from None

    @abc.abstractmethod
    def _read(self, reader: CountingReader) -> Iterator[SourceItem]:
        """Yield the records of the open file."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.format} {str(self.path)!r}>"


def convert_or_reason(convert: Converter, item: object) -> SourceItem | str:
    """Run a converter; a malformed record gives the reason (a str) instead of an exception."""
    if not isinstance(item, dict):
        return f"expected a JSON object, got {type(item).__name__}"
    try:
        result: SourceItem = storable(convert(item))
    except FieldError as exc:
        return str(exc)
    except (TypeError, AttributeError, ValueError, KeyError) as exc:
        # a nested value of the wrong JSON type (a string where a list belongs, ...)
        return f"unexpected shape: {exc!r}"
    if isinstance(result, Post) and len(result.text) > MAX_TEXT_CHARS:
        return (
            f"text of {len(result.text):,} characters is over the {MAX_TEXT_CHARS:,}-character limit"
            " (Telegram allows 4,096); record skipped"
        )
    return result


def overlong_reason() -> str:
    """The reason given for a line skipped for its length."""
    return f"line longer than {MAX_LINE_BYTES >> 20} MiB; skipped unread"


def json_error_reason(exc: Exception) -> str:
    """A one-line reason for an ijson syntax error."""
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "premature EOF" in first or "Incomplete JSON" in first:
        return "the JSON ends early (is the file truncated?)"
    return f"invalid JSON: {first}"


def stream_array(reader: CountingReader, prefix: str, label: str, convert: Converter) -> Iterator[SourceItem]:
    """Convert each element of the JSON array at `prefix` ('item', 'messages.item'), streaming.

    A syntax error ends the stream with one BadRecord at the element where it happened.
    """
    items = ijson.items(reader, prefix, use_float=True)
    index = 0
    while True:
        try:
            item = next(items)
        except StopIteration:
            return
        except (ijson.JSONError, UnicodeDecodeError) as exc:
            yield BadRecord(f"{label}[{index}]", json_error_reason(exc))
            return
        result = convert_or_reason(convert, item)
        yield BadRecord(f"{label}[{index}]", result) if isinstance(result, str) else result
        index += 1
