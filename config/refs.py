"""Channel references in the config: one parser (bot.domain.refs), exposed with ValueError for validation."""

from __future__ import annotations

from bot.domain.errors import ConfigError
from bot.domain.refs import EXPECTED, ParsedRef, parse_channel_ref

__all__ = ["EXPECTED", "ParsedRef", "normalize_ref", "parse_ref", "same_channel"]


def parse_ref(ref: str) -> ParsedRef:
    """Parse a channel reference; ValueError (saying what would be valid) if it is none of the known forms."""
    try:
        return parse_channel_ref(ref)
    except ConfigError as e:
        raise ValueError(f"{ref!r} is {e.problem}; use {EXPECTED}") from None


def normalize_ref(ref: str) -> str:
    """A comparison key: '@Name', 'name' and 'https://t.me/name' all give '@name'."""
    return parse_ref(ref).key


def same_channel(a: str, b: str) -> bool:
    """Whether two references name the same channel (unparseable ones compare as written)."""
    try:
        return normalize_ref(a) == normalize_ref(b)
    except ValueError:
        return a.strip() == b.strip()
