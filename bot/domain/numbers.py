"""Whole numbers typed by people: ASCII decimal only, within what an SQLite INTEGER column holds."""

from __future__ import annotations

import re

INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1  # what SQLite stores in an INTEGER column
_DECIMAL = re.compile(r"-?[0-9]+")


def parse_int(text: str, low: int = INT64_MIN, high: int = INT64_MAX) -> int | None:
    """`text` as an integer when it is plain ASCII decimal ('-' allowed) within [low, high]; else None.

    str.isdigit() also accepts '²' or '١', which int() then refuses or reads unexpectedly, and an
    unbounded int() overflows the database driver: every number a person types goes through here."""
    value = text.strip()
    if not _DECIMAL.fullmatch(value) or len(value.lstrip("-").lstrip("0")) > 19:
        return None
    number = int(value)
    return number if low <= number <= high else None


def parse_id(text: str) -> int | None:
    """A positive row or message id (1 … 2**63-1) written in ASCII digits; None otherwise."""
    return parse_int(text, 1, INT64_MAX)
