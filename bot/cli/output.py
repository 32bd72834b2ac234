"""Shared output helpers for commands: JSON for scripts, time parsing, text shortening."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click

from bot.domain.timeparse import parse_moment


def parse_when(value: str, *, now: datetime | None = None) -> datetime:
    """A point in time from '2024-08-06', '2024-08-06T10:00', '3d', '12h', '30m', 'today' or 'yesterday'."""
    try:
        return parse_moment(value, now or datetime.now(UTC))
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


class When(click.ParamType[datetime]):
    """A click parameter type for parse_when."""

    name = "when"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        return parse_when(str(value))


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def shorten(text: str, width: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def fmt_time(value: datetime | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
