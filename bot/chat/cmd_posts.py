"""Commands that read the archive: /search /recent /post /stats."""

from __future__ import annotations

from bot.chat.context import ChatContext, esc
from bot.chat.models import Command, Reply, Usage
from bot.chat.parsing import parse_search, parse_since
from bot.chat.router import Router
from bot.domain.lookup import NotAPostReference, find_post
from bot.domain.media import describe
from bot.domain.models import StoredPost
from bot.domain.records import SearchFilter

router = Router()
SEARCH_LIMIT = 50
RECENT_LIMIT = 20
EXCERPT = 240


def post_line(ctx: ChatContext, stored: StoredPost) -> str:
    """One post in a listing: channel, time, link, id and an excerpt."""
    text = " ".join(stored.post.text.split()) or "(no text)"
    if len(text) > EXCERPT:
        text = text[: EXCERPT - 1] + "…"
    link = f' · <a href="{esc(stored.link)}">open</a>' if stored.link else ""
    deleted = " · 🗑 deleted" if stored.deleted_at else ""
    edited = f" · ✏️ {stored.version_count - 1} edit(s)" if stored.version_count > 1 else ""
    head = f"<b>{esc(stored.channel.display)}</b> · {ctx.fmt_time(stored.post.date)}{link} · #{stored.id}"
    return f"{head}{deleted}{edited}\n{esc(text)}\n"


@router.command(
    "search",
    summary="full-text search of stored posts",
    usage="/search <query> [in <channel|label>] [since <date>]",
)
async def search(ctx: ChatContext, cmd: Command, args: str) -> list[Reply]:
    """Full-text search of stored posts, optionally in a channel or label and since a date."""
    if not args.strip():
        raise Usage("give something to search for")
    parsed = parse_search(args)
    where = SearchFilter()
    scope_text = ""
    if parsed.scope:
        scope_text, chans = await ctx.scope(parsed.scope)
        where = SearchFilter(channel_ids=tuple(c.id for c in chans))
    if parsed.since:
        since = parse_since(parsed.since, ctx.now(), ctx.zone)
        where = SearchFilter(channel_ids=where.channel_ids, since=since)
        scope_text += f" since {ctx.fmt_time(since)}"
    found = await ctx.store.posts.search(parsed.query, where, SEARCH_LIMIT)
    title = f"🔎 <b>{len(found)}{'+' if len(found) == SEARCH_LIMIT else ''} result(s)</b> for «{esc(parsed.query)}»"
    if scope_text:
        title += f" in {esc(scope_text.strip())}"
    if not found:
        return [Reply(title + "\nNo stored post matches.")]
    return [ctx.pages.paginate(title, [post_line(ctx, p) for p in found])]


@router.command("recent", summary="newest stored posts", usage="/recent [channel|label]")
async def recent(ctx: ChatContext, cmd: Command, args: str) -> list[Reply]:
    """The newest stored posts, of every channel or of one channel or label."""
    parts = args.split()
    if len(parts) > 1:
        raise Usage("give at most one channel or label")
    where = SearchFilter()
    title = "🕑 <b>Recent posts</b>"
    if parts:
        scope_text, chans = await ctx.scope(parts[0])
        where = SearchFilter(channel_ids=tuple(c.id for c in chans))
        title += f" in {esc(scope_text)}"
    found = await ctx.store.posts.recent(where, RECENT_LIMIT)
    if not found:
        return [Reply(title + "\nNothing stored yet.")]
    return [ctx.pages.paginate(title, [post_line(ctx, p) for p in found])]


async def _find_post(ctx: ChatContext, text: str) -> StoredPost | None:
    try:
        return await find_post(ctx.store, text)
    except NotAPostReference:
        raise Usage(f"{text!r} is not a post link or id") from None


@router.command("post", summary="one post with its edits and deletion", usage="/post <t.me link | post id>")
async def post(ctx: ChatContext, cmd: Command, args: str) -> list[Reply]:
    """One stored post with its edit history, deletion mark, matches and alerts."""
    parts = args.split()
    if len(parts) != 1:
        raise Usage("give one post link or id")
    stored = await _find_post(ctx, parts[0])
    if stored is None:
        return [Reply(f"No stored post for {esc(parts[0])}.")]
    p = stored.post
    header = [f"📄 <b>{esc(stored.channel.display)}</b> · {ctx.fmt_time(p.date)} · post #{stored.id}"]
    if stored.link:
        header.append(f'<a href="{esc(stored.link)}">{esc(stored.link)}</a>')
    if p.forward:
        header.append(f"<i>forwarded from {esc(p.forward.name or p.forward.key)}</i>")
    if stored.deleted_at:
        header.append(f"🗑 <b>deleted</b> (noticed {ctx.fmt_time(stored.deleted_at)})")
    stats = [f"views {p.views}" if p.views is not None else "", f"media {len(p.media)}" if p.media else ""]
    if any(stats):
        header.append(" · ".join(s for s in stats if s))
    lines = [esc(p.text) or "<i>(no text)</i>"]
    versions = await ctx.store.posts.versions(stored.id)
    if len(versions) > 1:
        lines.append(f"\n<b>Edit history ({len(versions) - 1} edit(s))</b>")
        for v in versions[:-1]:
            when = ctx.fmt_time(v.edit_date or v.captured_at)
            lines.append(f"<b>v{v.version}</b> · {when}\n<s>{esc(v.text) or '(no text)'}</s>")
    for record in await ctx.store.media.for_post(stored.id):
        lines.append(f"📎 {esc(describe(record))}")
        if record.ocr_text:
            lines.append(f"<i>OCR text:</i> {esc(record.ocr_text[:300])}")
    matches = await ctx.store.matches.for_post(stored.id)
    if matches:
        lines.append("\n<b>Matched</b>: " + ", ".join(f"{esc(m.rule)} ({m.severity.label})" for m in matches))
    for alert in await ctx.store.alerts.for_post(stored.id):
        info = await ctx.repo.alert_info(alert.id)
        review = f" · {info.review} by {esc(info.reviewed_by)}" if info and info.review else ""
        lines.append(f"alert #{alert.id} {esc(alert.rule)} {alert.kind.value}: {alert.status.value}{review}")
    return [ctx.pages.paginate("\n".join(header), lines)]


@router.command("stats", summary="counts and precision per rule")
async def stats(ctx: ChatContext, cmd: Command, args: str) -> list[Reply]:
    """Archive and alert counts, precision per rule from review marks, mutes and pause state."""
    if args:
        raise Usage("/stats takes no arguments")
    now = ctx.now()
    midnight = now.astimezone(ctx.zone).replace(hour=0, minute=0, second=0, microsecond=0)
    total = await ctx.store.posts.count()
    today = await ctx.repo.count_posts_since(midnight)
    counts = await ctx.store.alerts.counts()
    alerts_today = await ctx.repo.count_alerts_since(midnight)
    lines = [
        f"Posts stored: <b>{total}</b> ({today} today)",
        f"Matches: {await ctx.store.matches.count()}",
        f"Alerts: {sum(counts.values())} ({alerts_today} today) — "
        + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"),
    ]
    paused = await ctx.repo.paused()
    if paused:
        lines.append(f"⏸ <b>Paused</b> by {esc(paused.by)} since {ctx.fmt_time(paused.at)}")
    mutes = await ctx.mutes.active(now)
    for m in mutes:
        lines.append(f"🔕 {m.kind} {esc(m.label)} muted until {ctx.fmt_time(m.until)}")
    precision = await ctx.store.alerts.precision_by_rule()
    scored = await ctx.store.relevance.precision()
    if precision:
        lines.append("\n<b>Precision by rule</b> (from review marks; after scoring: alerts sent at once)")
        for p in precision:
            reviewed = p.relevant + p.false_positive
            value = f"{p.precision:.0%}" if p.precision is not None else "—"
            s = scored.get(p.rule)
            after = ""
            if s is not None and s.demoted:
                kept = f"{s.after:.0%}" if s.after is not None else "—"
                after = f" → {kept} after scoring ({s.demoted} to digest)"
            lines.append(
                f"• <b>{esc(p.rule)}</b>: {value}{after} · {p.relevant} relevant, {p.false_positive} false "
                f"positive, {p.alerts - reviewed} unreviewed"
            )
    return [ctx.pages.paginate("📊 <b>Stats</b>", lines)]
