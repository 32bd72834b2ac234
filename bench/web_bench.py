"""The web pages at archive scale: search page and post page latency over 1,000,000 posts (SQLite), the
app in process (ASGI calls, full rendering), with the bare store reads of `posts search` / `posts show`
measured in the same run as the baseline.

The archive is generated (200 channels, a year, ru/uk/en words with a Zipf-like frequency, matches,
alerts, edits, deletions, reposts) and cached in .bench-cache/ (git-ignored); it is rebuilt only when
GENERATOR_VERSION changes or the file is missing.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx

from bench.report import Report

SECTION = "web"
POSTS = 1_000_000
CHANNELS = 200
GENERATOR_VERSION = 1
CACHE = Path(__file__).resolve().parent.parent / ".bench-cache"
SEARCH_TARGET_MS = 100.0
POST_TARGET_MS = 50.0
ROUNDS = 5

WORDS = (  # noqa: SIM905 - running text reads better than a list of a hundred quoted words
    "эвакуация жителей Суджа обстрел границы Курской области губернатор сообщил ночью дроны атаковали "
    "подстанцию ВСУ продвинулись окраины населённого пункта министерство обороны заявило потерях колонна "
    "техники уничтожена мост разрушен беженцы автобусы пункт временного размещения гуманитарная помощь "
    "евакуація населення обстріл Сумщини прикордонних громад ворог атакував дронами енергетику "
    "evacuation residents shelling border region governor drones attacked substation troops advanced "
    "outskirts ministry defence claimed losses column bridge destroyed refugees buses humanitarian aid "
    "сегодня вчера утром вечером около более менее несколько тысяч человек район город село деревня "
    "погода дождь солнечно новости видео фото подробности источник канал подписаться"
).split()
RARE = ["Теткино", "Глушково", "Коренево", "Любимовка", "Мартыновка", "Snagost", "Zhuravka"]


def _vocabulary(rng: random.Random) -> tuple[list[str], list[float]]:
    """Real words first (frequent), then invented filler words (a long tail); cumulative weights."""
    syllables = ["ка", "ро", "ли", "на", "те", "во", "ст", "ме", "па", "ду", "ри", "зо", "ну", "ве", "да"]
    filler = {"".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(20_000)}
    words = [*WORDS, *sorted(filler)]
    total = 0.0
    cumulative = []
    for rank in range(len(words)):
        total += 1.0 / (rank + 8)
        cumulative.append(total)
    return words, cumulative


def _texts(rng: random.Random, n: int, vocabulary: tuple[list[str], list[float]]) -> list[str]:
    words, cumulative = vocabulary
    out = []
    for _ in range(n):
        body = rng.choices(words, cum_weights=cumulative, k=rng.randint(8, 45))
        if rng.random() < 0.002:
            body.insert(rng.randrange(len(body)), rng.choice(RARE))
        out.append(" ".join(body).capitalize() + ".")
    return out


def archive_path() -> Path:
    return CACHE / f"web-{POSTS // 1000}k-v{GENERATOR_VERSION}.db"


def build_archive(report: Report) -> Path:
    """Create the cached archive if missing: schema by the real migrations, rows in bulk."""
    path = archive_path()
    if path.exists():
        return path
    from storage.store import Store

    CACHE.mkdir(exist_ok=True)
    tmp = path.with_suffix(".building")
    for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        leftover.unlink(missing_ok=True)

    async def schema() -> None:
        await (await Store.open(tmp)).close()

    asyncio.run(schema())
    started = time.perf_counter()
    rng = random.Random(13)
    vocabulary = _vocabulary(rng)
    conn = sqlite3.connect(tmp)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-262144")
    labels = ["official", "milblogger", "media"]
    now = "2025-01-01T00:00:00+00:00"
    conn.executemany(
        "INSERT INTO channels (id, tg_id, username, title, label, tags, state, created_at) VALUES (?, ?, ?, ?, ?, '[]', 'ok', ?)",
        [(i, 10_000 + i, f"bench_ch{i}", f"Channel {i}", labels[i % 3], now) for i in range(1, CHANNELS + 1)],
    )
    start = datetime(2024, 1, 1, tzinfo=UTC)
    span = 365 * 86400
    batch = 50_000
    message_ids = dict.fromkeys(range(1, CHANNELS + 1), 0)
    for first in range(0, POSTS, batch):
        rows = []
        texts = _texts(rng, batch, vocabulary)
        # Posts arrive roughly in time order, as a watcher stores them.
        base = [
            sorted(
                rng.randrange(span // POSTS * first, span // POSTS * (first + batch) + 1)
                for _ in range(batch)
            )
        ][0]
        for j in range(batch):
            pid = first + j + 1
            channel = rng.randint(1, CHANNELS)
            message_ids[channel] += 1
            date = (start + timedelta(seconds=base[j])).isoformat()
            media = '[{"kind": "photo"}]' if rng.random() < 0.2 else None
            reply = message_ids[channel] - 1 if rng.random() < 0.05 and message_ids[channel] > 1 else None
            rows.append((pid, channel, message_ids[channel], date, texts[j], media, reply, date))
        conn.executemany(
            "INSERT INTO posts (id, channel_id, message_id, date, text, media, reply_to, captured_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        conn.commit()
        report.console.print(f"[dim]web: generated {first + batch:,} of {POSTS:,} posts[/dim]")
    # Matches for posts with the rule words, alerts for a share of them, edits and deletions.
    rule_words = {
        "evacuation": "эвакуация",
        "shelling": "обстрел",
        "drones": "дроны",
        "evacuation-uk": "евакуація",
    }
    for rule, word in rule_words.items():
        conn.execute(
            "INSERT INTO matches (post_id, rule, severity, hits, matched_at) SELECT rowid, ?, 20, "
            "json_array(json_object('term', ?, 'text', ?, 'start', 0, 'end', 0)), ? FROM posts_fts WHERE posts_fts MATCH ?",
            (rule, word, word, now, f'"{word}"'),
        )
    conn.execute(
        "INSERT INTO alerts (dedup_key, post_id, rule, severity, kind, route, sink, status, created_at, sent_at, review) "
        "SELECT 'k' || id, post_id, rule, severity, 'new', 'desk', 'jsonl', 'sent', ?, ?, "
        "CASE WHEN id % 7 = 0 THEN 'relevant' WHEN id % 11 = 0 THEN 'false_positive' END "
        "FROM matches WHERE id % 10 = 0",
        (now, now),
    )
    conn.execute(
        "INSERT INTO post_versions (post_id, version, text, captured_at) "
        "SELECT id, 1, substr(text, 1, length(text) / 2), captured_at FROM posts WHERE id % 50 = 0"
    )
    conn.execute("UPDATE posts SET version_count = 2, edit_date = date WHERE id % 50 = 0")
    conn.execute("UPDATE posts SET deleted_at = date WHERE id % 97 = 0")
    conn.execute("ANALYZE")
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    tmp.rename(path)
    report.add(
        SECTION, "archive generated", f"{POSTS:,} posts in {time.perf_counter() - started:.0f} s", "(cached)"
    )
    return path


SEARCHES: list[dict[str, str]] = [
    {"q": "Суджа"},
    {"q": "эвакуация"},
    {"q": "обстрел"},
    {"q": "эвакуация Суджа"},
    {"q": '"мост разрушен"'},
    {"q": "эвакуац*"},
    {"q": "эвакуация OR евакуація OR evacuation"},
    {"q": "Теткино"},
    {"q": "Glushkovo"},
    {"q": "дроны", "label": "official"},
    {"q": "обстрел", "since": "2024-06-01", "until": "2024-06-30"},
    {"q": "Суджа", "channel": "@bench_ch7"},
    {"q": "эвакуация", "page": "5"},
    {"q": "эвакуация", "sort": "relevance"},
    {"q": "губернатор", "media": "yes"},
    {"q": "обстрел", "edited": "yes"},
    {"rule": "shelling"},
    {"rule": "evacuation", "severity": "warning"},
    {},
    {"label": "media", "deleted": "yes"},
]


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _timed(call: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await call()
    return (time.perf_counter() - started) * 1000


async def measure(path: Path, report: Report) -> None:
    from bot.domain.archive import PostQuery
    from bot.web import WebOptions, create_app
    from storage.store import Store

    options = WebOptions(db_path=path, read_only=True)
    app = create_app(options, lambda: Store.open(path, read_only=True))
    rng = random.Random(5)
    async with app.router.lifespan_context(app):
        store = app.state.web.store
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
        ) as client:
            for params in SEARCHES:  # warm the page cache and the templates once
                await client.get("/search?" + urlencode(params))
            page_ms: list[float] = []
            base_ms: list[float] = []
            slowest: tuple[float, str] = (0.0, "")
            for _ in range(ROUNDS):
                for params in SEARCHES:
                    url = "/search?" + urlencode(params)
                    ms = await _timed(lambda url=url: _ok(client.get(url)))
                    page_ms.append(ms)
                    slowest = max(slowest, (ms, url))
                    if params.get("q") and len(params) == 1:
                        base_ms.append(await _timed(lambda p=params: store.posts.search(p["q"], limit=20)))
            ids = [rng.randint(1, POSTS) for _ in range(150)] + [
                50 * rng.randint(1, POSTS // 50) for _ in range(50)
            ]
            matched = await store.archive.search_page(PostQuery(rule="shelling", limit=50))
            ids += [h.stored.id for h in matched.hits]
            post_ms: list[float] = []
            show_ms: list[float] = []
            for pid in ids:
                post_ms.append(await _timed(lambda pid=pid: _ok(client.get(f"/posts/{pid}"))))
                show_ms.append(await _timed(lambda pid=pid: _show(store, pid)))
    report.add(
        SECTION,
        f"search page p95 ({len(page_ms)} requests, {len(SEARCHES)} queries and filters)",
        f"{_p(page_ms, 0.95):.1f} ms (p50 {statistics.median(page_ms):.1f}, max {max(page_ms):.1f})",
        f"< {SEARCH_TARGET_MS:.0f} ms",
        _p(page_ms, 0.95) < SEARCH_TARGET_MS,
    )
    report.add(SECTION, "  slowest search", f"{slowest[0]:.1f} ms: {slowest[1]}")
    report.add(
        SECTION,
        "  baseline: `posts search` store query p95",
        f"{_p(base_ms, 0.95):.1f} ms (p50 {statistics.median(base_ms):.1f})",
    )
    report.add(
        SECTION,
        f"post page p95 ({len(post_ms)} posts: random, edited, matched)",
        f"{_p(post_ms, 0.95):.1f} ms (p50 {statistics.median(post_ms):.1f}, max {max(post_ms):.1f})",
        f"< {POST_TARGET_MS:.0f} ms",
        _p(post_ms, 0.95) < POST_TARGET_MS,
    )
    report.add(
        SECTION,
        "  baseline: `posts show` store reads p95",
        f"{_p(show_ms, 0.95):.1f} ms (p50 {statistics.median(show_ms):.1f})",
    )


async def _ok(response: Awaitable[httpx.Response]) -> None:
    answer = await response
    if answer.status_code != 200:
        raise RuntimeError(f"{answer.request.url} answered {answer.status_code}")


async def _show(store: object, pid: int) -> None:
    posts = store.posts  # type: ignore[attr-defined]
    await posts.get(pid)
    await posts.versions(pid)
    await store.matches.for_post(pid)  # type: ignore[attr-defined]
    await store.alerts.for_post(pid)  # type: ignore[attr-defined]


def run(report: Report) -> None:
    path = build_archive(report)
    asyncio.run(measure(path, report))
