"""Parsing command text: the command name, search options, dates, channel/post links, rule specs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.chat.models import Usage
from bot.domain.models import Severity
from bot.domain.timeparse import parse_moment

COMMAND = re.compile(
    r"^/(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:@(?P<bot>[A-Za-z0-9_]+))?(?:\s+(?P<rest>.*))?$", re.S
)
TRAILING = re.compile(r"^(?P<head>.*?)(?:^|\s+)(?P<key>in|since)\s+(?P<value>\S+)\s*$", re.S | re.I)
SECTION = re.compile(r"^\s*(any|all|none|labels|channels)\s*:\s*(.*)$", re.S | re.I)


@dataclass(frozen=True, slots=True)
class ParsedCommand:
    name: str
    bot: str | None
    args: str


def parse_command(text: str) -> ParsedCommand | None:
    """'/cmd@bot args' taken apart (name lower-cased); None when the text is not a command."""
    m = COMMAND.match(text.strip())
    if not m:
        return None
    return ParsedCommand(m.group("name").lower(), m.group("bot"), (m.group("rest") or "").strip())


@dataclass(frozen=True, slots=True)
class SearchArgs:
    query: str
    scope: str | None = None  # channel or label after "in"
    since: str | None = None  # date text after "since"


def parse_search(args: str) -> SearchArgs:
    """'<query> [in <channel|label>] [since <date>]', the options in either order at the end."""
    query, options = args.strip(), {}
    while True:
        m = TRAILING.match(query)
        if not m or m.group("key").lower() in options or m.group("head").count('"') % 2:
            break  # no option, a repeated one, or "in"/"since" inside a quoted phrase
        options[m.group("key").lower()] = m.group("value")
        query = m.group("head").strip()
    if not query:
        raise Usage("give something to search for")
    return SearchArgs(query, options.get("in"), options.get("since"))


def parse_since(text: str, now: datetime, zone: ZoneInfo) -> datetime:
    """A point in time from a date, date-time (local time zone), '3d', '12h', 'today', 'yesterday'."""
    try:
        return parse_moment(text, now, zone)
    except ValueError as e:
        raise Usage(str(e)) from None


def split_terms(text: str) -> list[str]:
    """Comma-separated terms; commas inside "quoted phrases" or /regexes/ do not split."""
    terms: list[str] = []
    current: list[str] = []
    quote: str | None = None
    for ch in text:
        if quote:
            current.append(ch)
            if ch == quote:
                quote = None
        elif ch == '"' or (ch == "/" and not "".join(current).strip()):
            quote = ch
            current.append(ch)
        elif ch == ",":
            terms.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    terms.append("".join(current).strip())
    return [t for t in terms if t]


def parse_rule(args: str) -> dict[str, Any]:
    """'<name> [severity] term, term [; all: ...] [; none: ...] [; labels: ...] [; channels: ...]'
    as the TOML table of a [[rules]] entry."""
    head, _, rest = args.strip().partition(" ")
    if not head:
        raise Usage("give the rule a name and its terms")
    values: dict[str, Any] = {"name": head}
    rest = rest.strip()
    first, _, more = rest.partition(" ")
    try:
        values["severity"] = Severity.parse(first).label
        rest = more.strip()
    except ValueError:
        pass
    if not rest:
        raise Usage(f"rule '{head}' needs at least one term")
    for i, section in enumerate(_sections(rest)):
        m = SECTION.match(section)
        key, body = (m.group(1).lower(), m.group(2)) if m else ("any", section)
        if not m and i > 0:
            raise Usage(f"'{section.strip()}' needs a heading: any:, all:, none:, labels: or channels:")
        terms = split_terms(body)
        if not terms:
            raise Usage(f"the {key}: part is empty")
        if key in values:
            raise Usage(f"{key}: is given twice")
        values[key] = terms
    if not (values.get("any") or values.get("all")):
        raise Usage(f"rule '{head}' needs any: or all: terms, not only exclusions")
    return values


def _sections(text: str) -> list[str]:
    """Split on ';' outside quotes and regexes."""
    parts: list[str] = []
    current: list[str] = []
    quote: str | None = None
    for ch in text:
        if quote:
            if ch == quote:
                quote = None
        elif ch == '"':
            quote = ch
        elif ch == ";":
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return [p for p in parts if p.strip()]
