"""Rendering an alert for people: plain text, Telegram HTML, and a JSON-ready dict."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.models import Alert, AlertKind, Match, Severity, StoredPost
from bot.domain.ports import OutgoingAlert

PAGE_LIMIT = 3800  # leaves room for the "page 2/5" line; HTML tags only make the visible text shorter
MAX_TEXT = 3000  # Telegram allows 4096 characters a message; leave room for the header
SEVERITY_MARK = {Severity.INFO: "🔵", Severity.WARNING: "🟠", Severity.CRITICAL: "🔴"}
KIND_MARK = {
    AlertKind.NEW: "",
    AlertKind.LATE: "LATE",
    AlertKind.EDITED: "EDITED",
    AlertKind.DELETED: "DELETED",
}
REVIEW_BUTTONS = (
    ("✅ relevant", "rv:{id}:relevant"),
    ("❌ false positive", "rv:{id}:false_positive"),
    ("🔕 rule 1h", "mr:{id}:1h"),
    ("🔇 channel 1h", "mc:{id}:1h"),
)


@dataclass(frozen=True, slots=True)
class Copy:
    """Another channel that posted the same post (a forward or a near-identical repost)."""

    channel: str
    link: str | None = None


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int


def merged_spans(matches: Sequence[Match | None], text_length: int) -> list[Span]:
    """Matched spans of all matches, sorted and merged, clipped to the text (an edit may have shortened it)."""
    spans = sorted(
        (h.start, h.end)
        for m in matches
        if m is not None
        for h in m.hits
        if 0 <= h.start < h.end <= text_length
    )
    merged: list[Span] = []
    for start, end in spans:
        if merged and start <= merged[-1].end:
            merged[-1] = Span(merged[-1].start, max(end, merged[-1].end))
        else:
            merged.append(Span(start, end))
    return merged


def matched_words(matches: Sequence[Match | None]) -> list[str]:
    """Distinct matched words across matches, in order of appearance in the text."""
    hits = sorted((h.start, h.text) for m in matches if m is not None for h in m.hits)
    return list(dict.fromkeys(text for _, text in hits))


def excerpt(text: str, spans: Sequence[Span], limit: int = MAX_TEXT) -> tuple[str, list[Span], bool]:
    """Cut a long text around its first highlight; spans are shifted to the excerpt."""
    if len(text) <= limit:
        return text, list(spans), False
    first = spans[0].start if spans else 0
    start = max(0, min(first - limit // 4, len(text) - limit))
    end = start + limit
    kept = [Span(s.start - start, s.end - start) for s in spans if s.start >= start and s.end <= end]
    return text[start:end], kept, True


def highlight(text: str, spans: Sequence[Span], before: str, after: str, escape: bool) -> str:
    """Wrap each span in markers; escape everything else for HTML when asked."""
    out: list[str] = []
    pos = 0
    quote = html.escape if escape else (lambda s: s)
    for span in spans:
        out.append(quote(text[pos : span.start]))
        out.append(before + quote(text[span.start : span.end]) + after)
        pos = span.end
    out.append(quote(text[pos:]))
    return "".join(out)


def render(
    alerts: Sequence[Alert],
    stored: StoredPost,
    matches: Sequence[Match | None],
    target: str | None = None,
    *,
    copies: Sequence[Copy] = (),
    note: str = "",
) -> OutgoingAlert:
    """The alerts one post raised (one per rule) as one message: plain text, HTML and data.

    `copies` lists other channels that posted the same post; `note` (e.g. a review mark) ends the message.
    """
    first = alerts[0]
    severity = max(a.severity for a in alerts)
    rules = ", ".join(dict.fromkeys(a.rule for a in alerts))
    post = stored.post
    spans = merged_spans(matches, len(post.text))
    text, shown, cut = excerpt(post.text, spans)
    words = matched_words(matches)
    marker = KIND_MARK[first.kind]
    channel = stored.channel.display
    when = post.date.strftime("%Y-%m-%d %H:%M UTC")
    link = stored.link or ""
    head = f"{SEVERITY_MARK[severity]} {severity.label.upper()} · {rules}"
    if marker:
        head += f" · {marker}"
    origin = f"forwarded from {post.forward.name or post.forward.key}" if post.forward else ""
    plain_lines = [head, f"{channel} · {when}" + (f" · {link}" if link else "")]
    if origin:
        plain_lines.append(origin)
    if copies:
        plain_lines.append("also posted by: " + ", ".join(c.channel for c in copies))
    if words:
        plain_lines.append("matched: " + ", ".join(words))
    relevance = relevance_line(alerts)
    if relevance:
        plain_lines.append(relevance)
    plain_lines.append(highlight(text, shown, "[", "]", escape=False) + (" …" if cut else ""))

    html_lines = [f"<b>{html.escape(head)}</b>"]
    title = html.escape(channel)
    html_lines.append(
        (f'<a href="{html.escape(link)}">{title}</a>' if link else title) + f" · {html.escape(when)}"
    )
    if origin:
        html_lines.append(f"<i>{html.escape(origin)}</i>")
    if copies:
        html_lines.append(
            f"<i>also posted by ({len(copies)}):</i> " + ", ".join(_copy_html(c) for c in copies)
        )
    if words:
        html_lines.append("matched: " + ", ".join(f"<b>{html.escape(w)}</b>" for w in words))
    if relevance:
        html_lines.append(f"<i>{html.escape(relevance)}</i>")
    body = highlight(text, shown, "<b><u>", "</u></b>", escape=True) + (" …" if cut else "")
    if first.kind is AlertKind.DELETED:
        body = f"<s>{body}</s>"
    html_lines.append("")
    html_lines.append(body)
    if note:
        plain_lines.append(note)
        html_lines.append(f"\n<i>{html.escape(note)}</i>")

    keys = sorted(a.dedup_key for a in alerts)
    data: dict[str, object] = {
        "alert_ids": [a.id for a in alerts],
        "dedup_keys": keys,
        "kind": first.kind.value,
        "rule": rules,
        "rules": [a.rule for a in alerts],
        "severity": severity.label,
        "channel": stored.channel.username or stored.channel.tg_id,
        "channel_title": stored.channel.title,
        "message_id": post.message_id,
        "date": post.date.isoformat(),
        "link": stored.link,
        "words": words,
        "spans": [[s.start, s.end] for s in spans],
        "text": post.text,
        "forward_from": post.forward.key if post.forward else None,
        "deleted": stored.deleted_at is not None,
    }
    scores = {a.rule: round(a.score, 4) for a in alerts if a.score is not None}
    if scores:
        data["scores"] = scores
    if copies:
        data["copies"] = [{"channel": c.channel, "link": c.link} for c in copies]
    buttons = tuple((label, data_.format(id=first.id)) for label, data_ in REVIEW_BUTTONS)
    return OutgoingAlert(
        dedup_key=keys[0] if len(keys) == 1 else f"{keys[0]}+{len(keys) - 1}",
        plain="\n".join(plain_lines),
        html="\n".join(html_lines),
        data=data,
        target=target,
        buttons=buttons,
        original=_original(stored),
    )


def _original(stored: StoredPost) -> tuple[str, int] | None:
    """Where the post can be forwarded from: the channel's @name or numeric id, and the message id."""
    channel = stored.channel
    if channel.username:
        return f"@{channel.username}", stored.post.message_id
    if channel.tg_id is not None:
        return f"-100{channel.tg_id}", stored.post.message_id
    return None


def relevance_line(alerts: Sequence[Alert]) -> str:
    """The relevance scores of the alerts' rules ("relevance 0.83", or per rule when several), or ""."""
    scored = {a.rule: a.score for a in alerts if a.score is not None}
    if not scored:
        return ""
    if len(scored) == 1 and len({a.rule for a in alerts}) == 1:
        return f"relevance {next(iter(scored.values())):.2f}"
    return "relevance " + ", ".join(f"{rule} {score:.2f}" for rule, score in scored.items())


def _copy_html(copy: Copy) -> str:
    name = html.escape(copy.channel)
    return f'<a href="{html.escape(copy.link)}">{name}</a>' if copy.link else name


def render_batch(items: Sequence[OutgoingAlert], target: str | None) -> OutgoingAlert:
    """Several alerts for one chat coalesced into one message (a burst must not flood the chat)."""
    keys = sorted(a.dedup_key for a in items)
    first_lines = [a.html.split("\n", 2) for a in items]
    html_lines = [f"<b>{len(items)} alerts</b>"]
    plain_lines = [f"{len(items)} alerts"]
    for parts, item in zip(first_lines, items, strict=True):
        html_lines.append("• " + " — ".join(parts[:2]))
        plain_lines.append("• " + " — ".join(item.plain.split("\n")[:2]))
    return OutgoingAlert(
        dedup_key="batch:" + keys[0] + f"+{len(keys) - 1}",
        plain="\n".join(plain_lines),
        html="\n".join(html_lines),
        data={"batch": [a.data for a in items]},
        target=target,
    )


def pack_lines(lines: Sequence[str], limit: int = PAGE_LIMIT) -> list[str]:
    """Join lines into chunks no longer than `limit`; a single over-long line is cut (tags stripped)."""
    pages: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        if len(line) > limit:
            line = html.escape(_strip_tags(line))[: limit - 1] + "…"
        extra = len(line) + (1 if current else 0)
        if current and size + extra > limit:
            pages.append("\n".join(current))
            current, size = [], 0
            extra = len(line)
        current.append(line)
        size += extra
    if current or not pages:
        pages.append("\n".join(current))
    return pages


def _strip_tags(text: str) -> str:
    out: list[str] = []
    inside = False
    for ch in text:
        if ch == "<":
            inside = True
        elif ch == ">" and inside:
            inside = False
        elif not inside:
            out.append(ch)
    return html.unescape("".join(out))
