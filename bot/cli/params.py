"""Number types for every integer and float option or argument: bounded, so no value a person types can
overflow the database driver or a computation (`--limit 99999999999999999999` was an OverflowError)."""

from __future__ import annotations

import math
from typing import Any

import click

from bot.domain.numbers import INT64_MAX
from config.ranges import RANGES

COUNT_MAX = 2**31 - 1  # limits and counts: far beyond any archive, small enough to multiply safely


class BoundedInt(click.IntRange):
    """A whole number in [min, max]; max defaults to COUNT_MAX (a finite bound is what makes it safe)."""

    name = "integer"

    def __init__(self, min: int | None = None, max: int = COUNT_MAX) -> None:
        super().__init__(min=min, max=max)


class BoundedFloat(click.FloatRange):
    """A finite number in [min, max] ('inf' and 'nan' are refused); `min_open` excludes min itself."""

    name = "number"

    def __init__(self, min: float | None = None, max: float = 1e6, *, min_open: bool = False) -> None:
        super().__init__(min=min, max=max, min_open=min_open)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


def row_id() -> BoundedInt:
    """A stored row id (post, alert): 1 to 2**63-1, what an SQLite INTEGER key holds."""
    return BoundedInt(1, INT64_MAX)


def config_int(key: str) -> BoundedInt:
    """An option that sets config key `key`: the range the config file allows (config.ranges)."""
    valid = RANGES[key]
    return BoundedInt(int(valid.low) + int(valid.above), int(valid.high))


def config_float(key: str) -> BoundedFloat:
    """A number option that sets config key `key`: the range the config file allows."""
    valid = RANGES[key]
    return BoundedFloat(valid.low, valid.high, min_open=valid.above)
