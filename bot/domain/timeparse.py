"""Times people type: durations (30m, 2h, 1w) and moments (2024-08-06, 3d ago, today), parsed once."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo

DURATION = re.compile(r"^([0-9]{1,9})\s*(m|min|h|d|w)$")  # ASCII digits ('٣' is \d); 9 fit any timedelta
UNIT_SECONDS = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}
DURATION_HELP = "a duration like 30m, 1h, 12h, 2d or 1w"
DATE_HELP = "2024-08-06, 2024-08-06T10:00, 3d, 12h, 30m, today or yesterday"


def parse_duration(text: str, *, allow_zero: bool = False) -> timedelta:
    """'30m', '1h', '2d', '1w' as a timedelta; ValueError naming the value otherwise."""
    m = DURATION.match(text.strip().lower())
    if not m or (int(m.group(1)) == 0 and not allow_zero):
        raise ValueError(f"{text!r} is not {DURATION_HELP}")
    try:
        return timedelta(seconds=int(m.group(1)) * UNIT_SECONDS[m.group(2)])
    except OverflowError:
        raise ValueError(f"{text!r} is longer than any duration telewatch can use") from None


def parse_moment(text: str, now: datetime, zone: tzinfo = UTC) -> datetime:
    """A point in time: a date or date-time (in `zone` when it has none), a duration ago ('3d', '12h'),
    'today' or 'yesterday' (midnight in `zone`). ValueError naming the value otherwise."""
    value = text.strip().lower()
    if value in ("today", "yesterday"):
        midnight = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
        return midnight - timedelta(days=1 if value == "yesterday" else 0)
    if DURATION.match(value):
        try:
            return now - parse_duration(value, allow_zero=True)
        except OverflowError:
            raise ValueError(f"{text!r} is further back than the calendar goes; use {DATE_HELP}") from None
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a date; use {DATE_HELP}") from None
    moment = parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)
    try:
        moment.astimezone(UTC)  # 0001-01-01T00:00+05:00 is before the calendar starts in UTC
    except OverflowError:
        raise ValueError(f"{text!r} is outside the calendar telewatch can use; use {DATE_HELP}") from None
    return moment
