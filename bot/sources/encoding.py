"""Which text encoding a source file is in: byte-order marks (UTF-8/16/32), BOM-less UTF-16/32 told by
their zero bytes (JSON starts with ASCII), and a guess at the legacy code page of a file that is not
UTF-8. Every reader opens its file through `open_utf8`, so each sees UTF-8 bytes without a BOM."""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

_BOMS = (  # longest first: the UTF-32-LE mark begins with the UTF-16-LE one
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_CYRILLIC_LOWER = {"cp1251": range(0xE0, 0x100), "koi8-r": range(0xC0, 0xE0)}


def sniff(head: bytes) -> tuple[str, int]:
    """(codec, length of its byte-order mark) for the first bytes of a file; ("utf-8", 0) by default."""
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return codec, len(bom)
    if len(head) >= 4:  # no mark: the zero bytes around the first (ASCII) character tell (RFC 4627)
        zeros = tuple(b == 0 for b in head[:4])
        if zeros == (True, True, True, False):
            return "utf-32-be", 0
        if zeros == (False, True, True, True):
            return "utf-32-le", 0
        if zeros[:2] == (True, False):
            return "utf-16-be", 0
        if zeros[:2] == (False, True):
            return "utf-16-le", 0
    return "utf-8", 0


def legacy_codec(head: bytes, *, complete: bool) -> str | None:
    """When `head` (the start of a file: maybe cut mid-character unless `complete`) is not UTF-8: the
    code page it most likely is in ("cp1251", "koi8-r"), or "" when it is not UTF-8 but no guess fits;
    None when it is UTF-8."""
    try:
        head.decode("utf-8")
        return None
    except UnicodeDecodeError as e:
        if not complete and e.start >= len(head) - 3:
            return None  # only the last character was cut by the head limit
    high = [b for b in head if b >= 0x80]
    cyrillic = [b for b in high if b >= 0xC0]
    if len(cyrillic) < 0.7 * len(high):
        return ""
    return max(_CYRILLIC_LOWER, key=lambda codec: sum(b in _CYRILLIC_LOWER[codec] for b in cyrillic))


class _Recoded(io.RawIOBase):
    """A binary stream of the UTF-8 encoding of a text stream (read and readline, as the readers use)."""

    def __init__(self, text: io.TextIOBase) -> None:
        self._text = text
        self._pending = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            data, self._pending = self._pending + self._text.read().encode("utf-8"), b""
            return data
        while len(self._pending) < size:
            chunk = self._text.read(max(size // 2, 1))
            if not chunk:
                break
            self._pending += chunk.encode("utf-8")
        data, self._pending = self._pending[:size], self._pending[size:]
        return data

    def readline(self, size: int | None = -1) -> bytes:
        if self._pending:
            newline = self._pending.find(b"\n")
            if newline >= 0:
                data, self._pending = self._pending[: newline + 1], self._pending[newline + 1 :]
                return data
        line = self._pending + self._text.readline(-1 if size is None or size < 0 else size).encode("utf-8")
        self._pending = b""
        return line

    def close(self) -> None:
        self._text.close()
        super().close()


@contextmanager
def open_utf8(path: Path) -> Iterator[BinaryIO]:
    """The file's content as UTF-8 bytes: a byte-order mark skipped, UTF-16/32 re-encoded on the fly.
    Bytes that are not valid in a UTF-16/32 file become U+FFFD (the records around them still read)."""
    raw = path.open("rb")
    try:
        codec, bom = sniff(raw.read(4))
        raw.seek(bom)
        if codec == "utf-8":
            yield raw
        else:
            text = io.TextIOWrapper(raw, encoding=codec, errors="replace", newline="")
            yield _Recoded(text)  # type: ignore[misc]  # a binary stream with read/readline
    finally:
        raw.close()
