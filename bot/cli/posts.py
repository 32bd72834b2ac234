"""`telewatch posts`: search, recent, show — review what was captured."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from bot.app.backend import open_store
from bot.cli.output import When, fmt_time, print_json, shorten
from bot.cli.params import BoundedInt
from bot.cli.root import CliContext, cli, pass_ctx, run_async
from bot.cli.tables import Col, fitted_table
from bot.domain.errors import NotFound
from bot.domain.media import describe, media_dict
from bot.domain.models import StoredPost
from bot.domain.records import SearchFilter
from storage.store import Store


@cli.group()
def posts() -> None:
    """Review captured posts: full-text search, the latest posts, one post with its edit history."""


def filter_options(fn: Any) -> Any:
    for option in reversed(
        [
            click.option(
                "--channel", "-c", "channels", multiple=True, help="Only this channel (repeatable)."
            ),
            click.option("--label", "-l", "labels", multiple=True, help="Only channels with this label/tag."),
            click.option("--since", type=When(), help="From this time: 2024-08-06, 3d, 12h, today..."),
            click.option("--until", type=When(), help="Before this time."),
            click.option(
                "--limit",
                "-n",
                default=20,
                show_default=True,
                type=BoundedInt(1),
                help="How many posts at most.",
            ),
            click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts."),
        ]
    ):
        fn = option(fn)
    return fn


async def build_filter(
    store: Store,
    channels: tuple[str, ...],
    labels: tuple[str, ...],
    since: datetime | None,
    until: datetime | None,
) -> SearchFilter:
    ids: list[int] = []
    for handle in channels:
        channel = await store.channels.find(handle)
        if channel is None:
            raise NotFound(
                f"no stored channel {handle!r}", hint="telewatch posts recent lists captured channels"
            )
        ids.append(channel.id)
    for label in labels:
        found = await store.channels.with_label(label)
        if not found:
            raise NotFound(f"no channel has the label {label!r}")
        ids.extend(c.id for c in found)
    return SearchFilter(channel_ids=tuple(ids), since=since, until=until)


def post_dict(stored: StoredPost) -> dict[str, Any]:
    post = stored.post
    return {
        "id": stored.id,
        "channel": stored.channel.username or stored.channel.tg_id,
        "channel_title": stored.channel.title,
        "message_id": post.message_id,
        "date": post.date.isoformat(),
        "link": stored.link,
        "text": post.text,
        "media": [m.kind for m in post.media],
        "forward_from": post.forward.key if post.forward else None,
        "reply_to": post.reply_to,
        "views": post.views,
        "edited": post.edit_date.isoformat() if post.edit_date else None,
        "versions": stored.version_count,
        "deleted_at": stored.deleted_at.isoformat() if stored.deleted_at else None,
    }


def posts_table(ctx: CliContext, found: list[StoredPost], title: str) -> None:
    if not found:
        ctx.console.print(f"[dim]{escape(title)}: no posts[/dim]")
        return
    rows = []
    for stored in found:
        marks = []
        if stored.version_count > 1:
            marks.append(f"✎{stored.version_count - 1}")
        if stored.deleted_at:
            marks.append("[red]deleted[/red]")
        rows.append(
            [
                str(stored.id),
                fmt_time(stored.post.date),
                escape(shorten(stored.channel.display, 22)),
                escape(shorten(stored.post.text or f"[{', '.join(m.kind for m in stored.post.media)}]", 200)),
                " ".join(marks),
            ]
        )
    ctx.console.print(fitted_table(ctx.console, POST_COLUMNS, rows, title=title))


POST_COLUMNS = (
    Col("id", "key", "right", "cyan"),
    Col("date (UTC)", "key", drop=1),
    Col("channel", drop=2),
    Col("text", "text"),
    Col("", "key"),
)


@posts.command()
@click.argument("query")
@filter_options
@pass_ctx
@run_async
async def search(
    ctx: CliContext,
    query: str,
    channels: tuple[str, ...],
    labels: tuple[str, ...],
    since: datetime | None,
    until: datetime | None,
    limit: int,
    as_json: bool,
) -> None:
    """Full-text search of stored posts, newest first.

    QUERY uses SQLite FTS5 syntax: words (all must occur), "exact phrase", prefix*, OR, NOT.
    Case and diacritics are ignored. At most 32 terms (each word, prefix* and "phrase" counts once).

    \b
    Examples:
      telewatch posts search Суджа
      telewatch posts search 'эвакуац* OR евакуац*' --since 3d --label official
    """
    ctx.delivers = False  # sends nothing: a route's unset ${SECRET} is no reason to refuse
    from bot.domain.text import search_terms_problem

    too_many = search_terms_problem(query)
    if too_many is not None:
        raise click.BadParameter(too_many, param_hint="QUERY")
    async with await open_store(ctx.database, read_only=True) as store:
        where = await build_filter(store, channels, labels, since, until)
        found = await store.posts.search(query, where, limit)
        in_images = await _ocr_hits(store, query, where, {p.id for p in found}, limit - len(found))
    if as_json:
        print_json(
            [post_dict(p) | {"matched_in": "text"} for p in found]
            + [post_dict(p) | {"matched_in": "ocr"} for p in in_images]
        )
    else:
        posts_table(ctx, found, f"search: {query}")
        if in_images:
            posts_table(ctx, in_images, f"in text read from images (OCR): {query}")


async def _ocr_hits(
    store: Store, query: str, where: SearchFilter, seen: set[int], room: int
) -> list[StoredPost]:
    """Posts whose images' OCR text holds every word of the query (FTS syntax aside)."""
    words = [w.strip('"*()').lower() for w in query.split() if w not in ("OR", "NOT", "AND")]
    words = [w for w in words if w]
    if room <= 0 or not words:
        return []
    out = []
    for post_id in await store.media.ocr_search(words, limit=room * 4):
        if post_id in seen:
            continue
        stored = await store.posts.get(post_id)
        if stored is None:
            continue
        if where.channel_ids and stored.channel.id not in where.channel_ids:
            continue
        if (where.since and stored.post.date < where.since) or (
            where.until and stored.post.date >= where.until
        ):
            continue
        out.append(stored)
        if len(out) >= room:
            break
    return out


@posts.command()
@filter_options
@pass_ctx
@run_async
async def recent(
    ctx: CliContext,
    channels: tuple[str, ...],
    labels: tuple[str, ...],
    since: datetime | None,
    until: datetime | None,
    limit: int,
    as_json: bool,
) -> None:
    """The newest stored posts (optionally of some channels or labels)."""
    ctx.delivers = False  # sends nothing: a route's unset ${SECRET} is no reason to refuse
    async with await open_store(ctx.database, read_only=True) as store:
        where = await build_filter(store, channels, labels, since, until)
        found = await store.posts.recent(where, limit)
    if as_json:
        print_json([post_dict(p) for p in found])
    else:
        posts_table(ctx, found, "recent posts")


async def find_post(store: Store, ref: str) -> StoredPost:
    """A post by row id, by channel/message ('@name/123', 't.me/name/123', 't.me/c/123/45')."""
    from bot.domain.lookup import NotAPostReference
    from bot.domain.lookup import find_post as lookup

    try:
        found = await lookup(store, ref)
    except NotAPostReference:
        raise click.BadParameter(
            f"{shorten(ref, 40)!r} is not a post id or link; use 42, @channel/123 or https://t.me/channel/123",
            param_hint="POST",
        ) from None
    if found is None:
        what = f"with id {ref.strip()}" if ref.strip().isdigit() else f"{ref!r} stored"
        raise NotFound(f"no post {what}", hint="ids are shown by `telewatch posts recent`")
    return found


@posts.command()
@click.argument("post")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_ctx
@run_async
async def show(ctx: CliContext, post: str, as_json: bool) -> None:
    """One post with its edit history, deletion mark, matches and alerts.

    POST is a row id (from `posts recent`), @channel/123, or a t.me link.
    """
    ctx.delivers = False  # sends nothing: a route's unset ${SECRET} is no reason to refuse
    async with await open_store(ctx.database, read_only=True) as store:
        stored = await find_post(store, post)
        versions = await store.posts.versions(stored.id)
        matches = await store.matches.for_post(stored.id)
        superseded = await store.matches.superseded(stored.id)
        alerts = await store.alerts.for_post(stored.id)
        media = await store.media.for_post(stored.id)
    if as_json:
        data = post_dict(stored)
        data["history"] = [
            {
                "version": v.version,
                "text": v.text,
                "edit_date": v.edit_date.isoformat() if v.edit_date else None,
                "captured_at": v.captured_at.isoformat(),
            }
            for v in versions
        ]
        data["matches"] = [
            {"rule": m.rule, "severity": m.severity.label, "words": list(m.words)} for m in matches
        ]
        data["superseded_matches"] = [
            {
                "rule": m.rule,
                "severity": m.severity.label,
                "words": list(m.words),
                "superseded_at": at.isoformat(),
            }
            for m, at in superseded
        ]
        data["alerts"] = [
            {"id": a.id, "rule": a.rule, "kind": a.kind.value, "status": a.status.value} for a in alerts
        ]
        data["media_files"] = [media_dict(record) for record in media]
        print_json(data)
        return
    out = ctx.console
    p = stored.post
    out.print(f"[bold]{escape(stored.channel.display)}[/bold]  #{p.message_id}  {fmt_time(p.date)} UTC")
    if stored.link:
        out.print(f"[cyan]{stored.link}[/cyan]")
    details = []
    if p.forward:
        details.append(f"forwarded from {p.forward.name or p.forward.key}")
    if p.reply_to:
        details.append(f"reply to #{p.reply_to}")
    if p.media and not media:
        details.append("media: " + ", ".join(m.kind for m in p.media))
    if p.views is not None:
        details.append(f"views {p.views}")
    if details:
        out.print("[dim]" + escape(" · ".join(details)) + "[/dim]")
    if stored.deleted_at:
        out.print(f"[bold red]deleted at {fmt_time(stored.deleted_at)} UTC (kept as evidence)[/bold red]")
    out.print()
    out.print(escape(p.text) if p.text else "[dim](no text)[/dim]")
    for record in media:
        out.print(f"[dim]media:[/dim] {escape(describe(record))}")
        if record.ocr_text:
            out.print(f"[dim]  OCR text:[/dim] {escape(shorten(record.ocr_text, 300))}")
    if len(versions) > 1:
        out.print()
        table = Table(title=f"edit history ({len(versions)} versions)", expand=True)
        table.add_column("v", justify="right")
        table.add_column("edited (UTC)", no_wrap=True)
        table.add_column("text", ratio=1)
        for v in versions:
            table.add_row(str(v.version), fmt_time(v.edit_date) or "original", escape(v.text))
        out.print(table)
    if matches:
        out.print()
        for m in matches:
            out.print(
                f"matched [bold]{escape(m.rule)}[/bold] ({m.severity.label}): {escape(', '.join(m.words))}"
            )
    for m, at in superseded:
        out.print(
            f"[dim]matched {escape(m.rule)} before the rule changed (superseded {fmt_time(at)} UTC): "
            f"{escape(', '.join(m.words))}[/dim]"
        )
    if alerts:
        out.print("alerts: " + ", ".join(f"#{a.id} {a.kind.value} {a.status.value}" for a in alerts))
