"""Parsing channel references (@name, t.me links, invite links, numeric ids) into one canonical form."""

from __future__ import annotations

import enum
import functools
import re
from dataclasses import dataclass, replace
from urllib.parse import parse_qs, urlsplit

from bot.domain.errors import ConfigError
from bot.domain.numbers import INT64_MAX, parse_id

# Telegram usernames: a letter, then letters, digits or underscores; 5-32 long (4 for auctioned names).
USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{2,30}[A-Za-z0-9]$")
INVITE_HASH = re.compile(r"^[A-Za-z0-9_-]{6,64}$")
TELEGRAM_HOSTS = {"t.me", "telegram.me", "telegram.dog", "www.t.me", "www.telegram.me"}
# First path segments of t.me links that are never channel usernames.
RESERVED_PATHS = {
    "addstickers",
    "addemoji",
    "addlist",
    "share",
    "proxy",
    "socks",
    "setlanguage",
    "login",
    "bg",
    "iv",
    "addtheme",
    "confirmphone",
    "invoice",
    "boost",
}
EXPECTED = (
    "@name, name, https://t.me/name, t.me/s/name, t.me/name/123, t.me/c/<id>/<msg>, "
    "t.me/+hash, t.me/joinchat/hash or a numeric id (-100…)"
)


class RefKind(enum.StrEnum):
    """How a reference identifies its channel."""

    USERNAME = "username"
    ID = "id"
    INVITE = "invite"


@dataclass(frozen=True, slots=True)
class ParsedRef:
    """A channel reference taken apart; `message_id` is kept when a link pointed at one post."""

    kind: RefKind
    username: str | None = None
    tg_id: int | None = None  # bare positive channel id
    invite_hash: str | None = None
    message_id: int | None = None

    @property
    def key(self) -> str:
        """A canonical, case-folded form: two references to one channel written differently agree."""
        if self.kind is RefKind.USERNAME:
            assert self.username is not None
            return f"@{self.username.lower()}"
        if self.kind is RefKind.ID:
            return f"id:{self.tg_id}"
        return f"+{self.invite_hash}"

    @property
    def display(self) -> str:
        if self.kind is RefKind.USERNAME:
            return f"@{self.username}"
        if self.kind is RefKind.ID:
            return f"-100{self.tg_id}"
        return f"https://t.me/+{self.invite_hash}"


def parse_channel_ref(reference: str) -> ParsedRef:
    """Parse any supported channel reference; ConfigError (naming the value) when it is none."""
    text = reference.strip()
    if not text:
        raise _bad(reference, "an empty channel reference")
    if _is_integer(text):
        number = _number(reference, text.removeprefix("-"))
        return _from_number(reference, -number if text.startswith("-") else number)
    if text.startswith("@"):
        return _username(reference, text[1:])
    if text.lower().startswith("tg://"):
        return _from_tg_scheme(reference, text)
    if "/" in text or "." in text:
        return _from_link(reference, text)
    return _username(reference, text)


def parse_post_ref(reference: str) -> ParsedRef | None:
    """A reference to one post: a t.me post link (t.me/name/123, t.me/s/name/123, t.me/c/<id>/123) or
    @name/123, name/123, <channel id>/123; None when it names no post."""
    text = reference.strip()
    try:
        head, _, tail = text.partition("/")
        if _digits(tail) and "." not in head and ":" not in head:  # @name/123 or -100123/45
            found = replace(parse_channel_ref(head), message_id=_number(reference, tail))
        else:
            found = parse_channel_ref(text)
    except ConfigError:
        return None
    return found if found.message_id is not None and found.kind is not RefKind.INVITE else None


@functools.lru_cache(maxsize=4096)  # matching compares a post's channel for every scoped rule
def channel_handle(reference: str) -> str:
    """The handle a channel is compared by: its lower-case username, else its bare id (as text).
    A reference that is none of the known forms is compared as written (lower-cased)."""
    try:
        parsed = parse_channel_ref(reference)
    except ConfigError:
        return reference.strip().lower()
    if parsed.kind is RefKind.USERNAME and parsed.username:
        return parsed.username.lower()
    if parsed.kind is RefKind.ID:
        return str(parsed.tg_id)
    return parsed.key


def _digits(text: str) -> bool:
    """ASCII digits only (str.isdigit() also takes '²', which int() refuses)."""
    return text.isascii() and text.isdigit()


def _is_integer(text: str) -> bool:
    return _digits(text.removeprefix("-"))


def _number(reference: str, digits: str) -> int:
    """A channel or message id from its digits; ConfigError when no stored id can be that large."""
    number = parse_id(digits)
    if number is None:
        raise _bad(reference, f"an id out of range (1 to {INT64_MAX})")
    return number


def _from_number(reference: str, number: int) -> ParsedRef:
    if number > 0:
        return ParsedRef(RefKind.ID, tg_id=number)
    digits = str(-number)
    # Bot API style channel ids are -100 followed by the bare id; plain negative ids are basic groups.
    if digits.startswith("100") and len(digits) > 3:
        return ParsedRef(RefKind.ID, tg_id=_number(reference, digits[3:]))
    raise _bad(reference, "a basic group id, not a channel (channel ids look like -100…)")


def _username(reference: str, name: str) -> ParsedRef:
    if not USERNAME.match(name) or "__" in name:
        raise _bad(reference, "not a valid Telegram username")
    return ParsedRef(RefKind.USERNAME, username=name)


def _invite(reference: str, invite_hash: str) -> ParsedRef:
    if not INVITE_HASH.match(invite_hash):
        raise _bad(reference, "not a valid invite link hash")
    return ParsedRef(RefKind.INVITE, invite_hash=invite_hash)


def _from_tg_scheme(reference: str, text: str) -> ParsedRef:
    parts = urlsplit(text)
    query = {k: v[0] for k, v in parse_qs(parts.query).items() if v}
    action = parts.netloc.lower()
    if action == "resolve" and "domain" in query:
        ref = _username(reference, query["domain"])
        post = query.get("post", "")
        return ParsedRef(
            ref.kind, username=ref.username, message_id=_number(reference, post) if _digits(post) else None
        )
    if action == "join" and "invite" in query:
        return _invite(reference, query["invite"])
    raise _bad(reference, "an unsupported tg:// link")


def _from_link(reference: str, text: str) -> ParsedRef:
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    host = (parts.hostname or "").lower()
    segments = [s for s in parts.path.split("/") if s]
    if host not in TELEGRAM_HOSTS and host.endswith(".t.me") and host.count(".") == 2:
        # name.t.me is the newer subdomain form of t.me/name.
        segments = [host.split(".")[0], *segments]
        host = "t.me"
    if host not in TELEGRAM_HOSTS:
        raise _bad(reference, f"a link to {host or 'nowhere'}, not to t.me")
    if not segments:
        raise _bad(reference, "a t.me link without a channel")
    head, rest = segments[0], segments[1:]
    if head.startswith("+"):
        return _invite(reference, head[1:])
    lowered = head.lower()
    if lowered == "joinchat" and rest:
        return _invite(reference, rest[0])
    if lowered == "c" and rest and _digits(rest[0]):
        return ParsedRef(
            RefKind.ID, tg_id=_number(reference, rest[0]), message_id=_message_id(reference, rest[1:])
        )
    if lowered == "s" and rest:
        head, rest = rest[0], rest[1:]
    elif lowered in RESERVED_PATHS or lowered in {"c", "s", "joinchat"}:
        raise _bad(reference, f"a t.me/{head} link, which does not name a channel")
    ref = _username(reference, head)
    return ParsedRef(RefKind.USERNAME, username=ref.username, message_id=_message_id(reference, rest))


def _message_id(reference: str, rest: list[str]) -> int | None:
    return _number(reference, rest[0]) if rest and _digits(rest[0]) else None


def _bad(reference: str, problem: str) -> ConfigError:
    return ConfigError(problem, key="channels.ref", value=reference, expected=EXPECTED)
