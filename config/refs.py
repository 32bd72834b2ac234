"""Channel references as users write them: @name, name, t.me links, invite links, numeric ids."""

from __future__ import annotations

import re
from dataclasses import dataclass

_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")
_LINK = re.compile(
    r"(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me|telegram\.dog)/(?P<rest>[^?#]+)(?:[?#].*)?",
    re.IGNORECASE,
)
_INVITE_HASH = re.compile(r"[A-Za-z0-9_-]{8,}")
_NUMERIC = re.compile(r"-?\d+")

EXPECTED = "@username, username, https://t.me/username, an invite link (t.me/+HASH) or a numeric channel id"


@dataclass(frozen=True, slots=True)
class ParsedRef:
    """What a reference points at. `key` is the normalised form used to compare references."""

    kind: str  # "username" | "invite" | "id"
    value: str  # lower-case username, invite hash (case kept) or bare positive id as text

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.value}"

    @property
    def canonical(self) -> str:
        """The neat way to write this reference (what `channels list` shows)."""
        if self.kind == "username":
            return f"@{self.value}"
        if self.kind == "invite":
            return f"https://t.me/+{self.value}"
        return self.value


def parse_ref(ref: str) -> ParsedRef:
    """Parse a channel reference; ValueError (with what would be valid) if it is none of the known forms."""
    text = ref.strip()
    if not text:
        raise ValueError(f"empty channel reference; use {EXPECTED}")
    if _NUMERIC.fullmatch(text):
        return ParsedRef("id", _bare_id(text))
    link = _LINK.fullmatch(text)
    if link:
        return _parse_link(ref, link.group("rest").strip("/"))
    name = text[1:] if text.startswith("@") else text
    if _USERNAME.fullmatch(name):
        return ParsedRef("username", name.lower())
    raise ValueError(f"{ref!r} is not a channel reference; use {EXPECTED}")


def normalize_ref(ref: str) -> str:
    """A comparison key: '@Name', 'name' and 'https://t.me/name' all give 'username:name'."""
    return parse_ref(ref).key


def same_channel(a: str, b: str) -> bool:
    """Whether two references name the same channel (unparseable ones compare as written)."""
    try:
        return normalize_ref(a) == normalize_ref(b)
    except ValueError:
        return a.strip() == b.strip()


def _bare_id(text: str) -> str:
    # Bot API style ids (-1001234) and bare MTProto ids (1234) name the same channel.
    if text.startswith("-100") and len(text) > 4:
        return str(int(text[4:]))
    return str(abs(int(text)))


def _parse_link(ref: str, rest: str) -> ParsedRef:
    parts = [p for p in rest.split("/") if p]
    if not parts:
        raise ValueError(f"{ref!r} is a link to no channel; use {EXPECTED}")
    head = parts[0]
    if head.startswith("+") and _INVITE_HASH.fullmatch(head[1:]):
        return ParsedRef("invite", head[1:])
    if head.lower() == "joinchat" and len(parts) > 1 and _INVITE_HASH.fullmatch(parts[1]):
        return ParsedRef("invite", parts[1])
    if head.lower() == "c" and len(parts) > 1 and parts[1].isdigit():
        return ParsedRef("id", str(int(parts[1])))  # t.me/c/<id>/<msg>: a private channel's post link
    if head.lower() == "s" and len(parts) > 1:
        head = parts[1]  # t.me/s/<name>: the public web preview
    if _USERNAME.fullmatch(head):
        # t.me/<name>/<msg> (a post link) names the channel too.
        return ParsedRef("username", head.lower())
    raise ValueError(f"{ref!r} is not a channel link; use {EXPECTED}")
