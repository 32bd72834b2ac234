"""Shared output helpers for commands: JSON for scripts, time parsing, text shortening."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import click

RELATIVE = re.compile(r"^(\d+)\s*([mhdw])$")
UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_when(value: str, *, now: datetime | None = None) -> datetime:
    """A point in time from '2024-08-06', '2024-08-06T10:00', '3d', '12h', '30m', 'today' or 'yesterday'."""
    now = now or datetime.now(UTC)
    text = value.strip().lower()
    if text in ("today", "yesterday"):
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return midnight - timedelta(days=1 if text == "yesterday" else 0)
    rel = RELATIVE.match(text)
    if rel:
        return now - timedelta(**{UNITS[rel.group(2)]: int(rel.group(1))})
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date; use 2024-08-06, 2024-08-06T10:00, 3d, 12h, 30m, today or yesterday"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


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
