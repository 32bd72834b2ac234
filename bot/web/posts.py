"""The search page and the post page."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from bot.domain.archive import SORTS, PostQuery, QueueFilter
from bot.domain.media import describe
from bot.domain.models import Severity, StoredPost
from bot.domain.text import search_terms_problem
from bot.web.pages import BadParam, day, is_htmx, one, page_number, render, state, tri
from bot.web.text import diff_html, marked, post_links, short, spans_marked

PAGE_SIZE = 20


async def channel_scope(request: Request) -> tuple[tuple[int, ...], list[str]]:
    """Channel row ids named by the channel and label parameters, with the problems found."""
    store = state(request).store
    ids: list[int] = []
    problems: list[str] = []
    for handle in request.query_params.getlist("channel"):
        if not handle.strip():
            continue
        found = await store.channels.find(handle)
        if found is None:
            problems.append(f"no stored channel {handle!r}")
        else:
            ids.append(found.id)
    label = one(request, "label")
    if label:
        labelled = await store.channels.with_label(label)
        if not labelled:
            problems.append(f"no channel has the label {label!r}")
        ids.extend(c.id for c in labelled)
    return tuple(dict.fromkeys(ids)), problems


async def post_query(request: Request) -> tuple[PostQuery | None, list[str]]:
    """The search page's parameters as a PostQuery (None when a filter names nothing stored)."""
    web = state(request)
    sort = one(request, "sort") or "date"
    if sort not in SORTS:
        raise BadParam(f"sort={sort!r}: use one of {', '.join(SORTS)}")
    severity = one(request, "severity")
    try:
        min_severity = int(Severity.parse(severity)) if severity else None
    except ValueError as e:
        raise BadParam(f"severity={severity!r}: {e}") from None
    text = one(request, "q")
    too_many = search_terms_problem(text)
    if too_many is not None:
        raise BadParam(too_many)
    text = text[:500]
    channel_ids, problems = await channel_scope(request)
    query = PostQuery(
        text=text,
        channel_ids=channel_ids,
        rule=one(request, "rule") or None,
        min_severity=min_severity,
        since=day(request, "since", web.zone),
        until=day(request, "until", web.zone, end=True),
        has_media=tri(request, "media"),
        edited=tri(request, "edited"),
        deleted=tri(request, "deleted"),
        sort=sort,
        offset=(page_number(request) - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    return (None if problems else query), problems


async def search(request: Request) -> Response:
    """Full-text search with filters; the results part alone for htmx requests."""
    web = state(request)
    store = web.store
    status = 200
    try:
        query, problems = await post_query(request)
        page = page_number(request)
    except BadParam as e:
        # Shown above the results with the form as it was sent, so the value can be corrected there.
        query, problems, page, status = None, [str(e)], 1, 400
    result = await store.archive.search_page(query) if query is not None else None
    context: dict[str, Any] = {
        "query": query,
        "q": one(request, "q"),
        "problems": problems,
        "result": result,
        "page": page,
        "marked": marked,
        "short": short,
        "filters": {
            k: one(request, k)
            for k in ("label", "rule", "severity", "since", "until", "media", "edited", "deleted", "sort")
        },
        "channel_filter": [c for c in request.query_params.getlist("channel") if c.strip()],
    }
    if is_htmx(request) and request.headers.get("hx-target") == "results":
        return render(request, "_results.html", context)  # 200: htmx swaps no error answers in
    context.update(
        channels=await store.channels.all(),
        labels=await store.archive.labels(),
        rules=sorted({*await store.archive.rule_names(), *(r.name for r in web.settings().rules)}),
    )
    return render(request, "search.html", context, status=status)


async def post_page(request: Request) -> Response:
    """One post: text with highlights, links, media, forward, replies, every version, alerts, copies."""
    web = state(request)
    store = web.store
    raw_id = request.path_params["post_id"]
    stored = await store.posts.get(raw_id)
    if stored is None:
        return render(
            request, "error.html", {"title": "Not found", "message": f"There is no post #{raw_id}."}, 404
        )
    q = one(request, "q")[:500]
    versions = await store.posts.versions(stored.id)
    matches = await store.matches.for_post(stored.id)
    superseded = await store.matches.superseded(stored.id)
    alerts, _ = await store.archive.review_queue(QueueFilter(post_id=stored.id, limit=100))
    text = stored.post.text
    if q:
        body = marked(await store.archive.highlighted(stored.id, q) or text)
    else:
        hits = [h for m in matches for h in m.hits if text[h.start : h.end] == h.text]
        body = spans_marked(text, hits)
    parent: StoredPost | None = None
    if stored.post.reply_to:
        parent = await store.posts.get_by_message(stored.channel.id, stored.post.reply_to)
    history = [
        {"v": v, "diff": diff_html(versions[i - 1].text, v.text) if i else None}
        for i, v in enumerate(versions)
    ]
    return render(
        request,
        "post.html",
        {
            "stored": stored,
            "post": stored.post,
            "body": body,
            "q": q,
            "links": post_links(stored.post),
            "history": history,
            "matches": matches,
            "superseded": superseded,
            "alerts": alerts,
            "copies": await store.archive.copies(stored.id),
            "media_files": [
                {"line": describe(m), "ocr": m.ocr_text} for m in await store.media.for_post(stored.id)
            ],
            "parent": parent,
            "replies": await store.archive.replies(stored.channel.id, stored.post.message_id),
            "short": short,
        },
    )
