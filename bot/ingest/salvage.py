"""Storing a batch no matter what is in it: a post the store rejects is kept in a plainer form."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

from bot.domain.models import AlertKind, Post
from bot.ingest.pipeline import IngestResult, Pipeline

log = logging.getLogger(__name__)


def _clean(text: str) -> str:
    return text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates become '?'


def salvaged(post: Post) -> Post:
    """The post reduced to what any store can keep: id, date, album and cleaned text and author."""
    return replace(
        post,
        text=_clean(post.text),
        entities=(),
        media=(),
        forward=None,
        reply_to=None,
        views=None,
        forwards=None,
        author=_clean(post.author) if post.author else None,
    )


async def ingest_salvaging(
    pipeline: Pipeline, posts: Sequence[Post], kind: AlertKind, alert: bool = True
) -> IngestResult:
    """`pipeline.ingest`, but a batch the store rejects is retried post by post, and a post rejected
    alone is stored salvaged. If even that fails the error is raised: the cause is not the post (disk
    full, a broken database) and skipping would lose data."""
    try:
        return await pipeline.ingest(posts, kind=kind, alert=alert)
    except Exception:
        if len(posts) == 1:
            return await _salvage_one(pipeline, posts[0], kind, alert)
        log.warning("a batch of %d posts was rejected; storing them one by one", len(posts))
    result = IngestResult()
    for post in posts:
        try:
            result.add(await pipeline.ingest([post], kind=kind, alert=alert))
        except Exception:
            result.add(await _salvage_one(pipeline, post, kind, alert))
    return result


async def _salvage_one(pipeline: Pipeline, post: Post, kind: AlertKind, alert: bool) -> IngestResult:
    log.exception("post %s/%s was rejected; storing its text only", post.channel.display, post.message_id)
    return await pipeline.ingest([salvaged(post)], kind=kind, alert=alert)
