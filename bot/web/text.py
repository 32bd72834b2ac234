"""Post text as safe HTML: highlights, matched-term spans, edit diffs, links. Everything is escaped first;
the only markup added is our own balanced tags, so a hostile post shows as the text it is."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from bot.domain.archive import MARK_CLOSE, MARK_OPEN
from bot.domain.models import MatchedTerm, Post

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ue000\ue001]")


def plain(text: str) -> str:
    """Text without control characters (and without our highlight markers, should a post carry them)."""
    return _CONTROL.sub("", text)


def marked(text: str | None) -> Markup:
    """Text with MARK_OPEN/MARK_CLOSE markers (from FTS5) as escaped HTML with balanced <mark> tags."""
    if not text:
        return Markup("")
    out: list[str] = []
    depth = 0
    for piece in re.split(f"([{MARK_OPEN}{MARK_CLOSE}])", text):
        if piece == MARK_OPEN:
            if depth == 0:
                out.append("<mark>")
            depth += 1
        elif piece == MARK_CLOSE:
            if depth == 1:
                out.append("</mark>")
            depth = max(0, depth - 1)
        else:
            out.append(str(escape(_CONTROL.sub("", piece))))
    if depth:
        out.append("</mark>")
    return Markup("".join(out))


def spans_marked(text: str, hits: Iterable[MatchedTerm]) -> Markup:
    """Text with the matched words of rule hits (spans in the original text) wrapped in <mark>."""
    spans = sorted((h.start, h.end, h.term) for h in hits if 0 <= h.start < h.end <= len(text))
    out: list[str] = []
    pos = 0
    for start, end, term in spans:
        if start < pos:
            continue  # overlapping hits: the first one wins
        out.append(str(escape(plain(text[pos:start]))))
        out.append(f'<mark title="{escape(term)}">{escape(plain(text[start:end]))}</mark>')
        pos = end
    out.append(str(escape(plain(text[pos:]))))
    return Markup("".join(out))


_WORDS = re.compile(r"\s+|\w+|[^\w\s]+")


def diff_html(old: str, new: str) -> Markup:
    """A word-level diff of two versions: removed words in <del>, added ones in <ins>."""
    a, b = _WORDS.findall(old), _WORDS.findall(new)
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(str(escape(plain("".join(a[i1:i2])))))
            continue
        if op in ("delete", "replace"):
            out.append(f"<del>{escape(plain(''.join(a[i1:i2])))}</del>")
        if op in ("insert", "replace"):
            out.append(f"<ins>{escape(plain(''.join(b[j1:j2])))}</ins>")
    return Markup("".join(out))


@dataclass(frozen=True, slots=True)
class Link:
    kind: str
    text: str
    url: str | None  # only http(s) and t.me links are clickable


def utf16_slice(text: str, offset: int, length: int) -> str:
    """The part of `text` an entity names (Telegram counts UTF-16 code units)."""
    encoded = text.encode("utf-16-le")
    return encoded[offset * 2 : (offset + length) * 2].decode("utf-16-le", errors="replace")


def safe_url(url: str | None) -> str | None:
    """The URL when it is http(s) (never javascript: or data:), else None."""
    if not url:
        return None
    candidate = url.strip()
    if re.match(r"^https?://", candidate, re.IGNORECASE):
        return candidate
    if re.match(r"^(t\.me|telegram\.me)/", candidate, re.IGNORECASE):
        return "https://" + candidate
    return None


def post_links(post: Post) -> list[Link]:
    """Links, mentions and hashtags carried by a post's entities, in text order."""
    found: list[Link] = []
    for entity in sorted(post.entities, key=lambda e: e.offset):
        if entity.kind not in ("url", "text_link", "mention", "hashtag", "email", "cashtag"):
            continue
        shown = plain(utf16_slice(post.text, entity.offset, entity.length))
        if entity.kind == "url":
            url = safe_url(shown)
        elif entity.kind == "text_link":
            url = safe_url(entity.url)
        elif entity.kind == "mention" and shown.startswith("@"):
            url = f"https://t.me/{shown[1:]}"
        else:
            url = None
        found.append(Link(entity.kind, shown or (entity.url or ""), url))
    return found


def short(text: str, width: int = 160) -> str:
    flat = " ".join(plain(text).split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def media_kinds(post: Post) -> Sequence[str]:
    return [m.kind for m in post.media]
