"""PostgreSQL at archive scale: `telewatch migrate` of the 1,000,000-post archive of the web section into
a PostgreSQL server started on the loopback (Debian's package, fsync on), then `posts search` latency on
PostgreSQL with the same queries on the SQLite archive measured in the same run as the baseline.

BENCH_PG_POSTS=200000 uses a smaller generated archive (the web section's generator, same shape).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import web_bench
from bench.report import Report
from bot.domain.records import SearchFilter

SECTION = "postgres"
SEARCH_TARGET_MS = 100.0
ROUNDS = 5

QUERIES: list[tuple[str, SearchFilter]] = [
    ("Суджа", SearchFilter()),
    ("эвакуация", SearchFilter()),
    ("обстрел", SearchFilter()),
    ("эвакуация Суджа", SearchFilter()),
    ('"мост разрушен"', SearchFilter()),
    ("эвакуац*", SearchFilter()),
    ("эвакуация OR евакуація OR evacuation", SearchFilter()),
    ("обстрел NOT дроны", SearchFilter()),
    ("евакуація", SearchFilter()),
    ("evacuation", SearchFilter()),
    ("Теткино", SearchFilter()),
    ("Glushkovo", SearchFilter()),
    ("(мост OR колонна) уничтожена", SearchFilter()),
    ('"незакрытая кавычка', SearchFilter()),
    (
        "обстрел",
        SearchFilter(since=datetime(2024, 6, 1, tzinfo=UTC), until=datetime(2024, 6, 30, tzinfo=UTC)),
    ),
    ("Суджа", SearchFilter(channel_ids=(7,))),
    ("губернатор", SearchFilter(include_deleted=False)),
]


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _search_times(store: object, rounds: int) -> tuple[list[float], tuple[float, str]]:
    times: list[float] = []
    slowest = (0.0, "")
    for query, where in QUERIES:  # warm caches once
        await store.posts.search(query, where, limit=20)  # type: ignore[attr-defined]
    for _ in range(rounds):
        for query, where in QUERIES:
            started = time.perf_counter()
            await store.posts.search(query, where, limit=20)  # type: ignore[attr-defined]
            ms = (time.perf_counter() - started) * 1000
            times.append(ms)
            slowest = max(slowest, (ms, query))
    return times, slowest


async def _measure(archive: Path, archive_bytes: int, report: Report) -> None:
    from bot.app.backend import PgLocation
    from bot.app.migrate import migrate_archive
    from storage.postgres.store import PgStore
    from storage.store import Store
    from tests.pgserver import LocalPostgres

    server = LocalPostgres(fsync=True).start()
    try:
        name = server.create_database("bench")
        target = PgLocation(server.url(name), server.password)
        rows = [0]
        last_line = [time.perf_counter()]

        def progress(table: str, n: int) -> None:
            rows[0] += n
            if time.perf_counter() - last_line[0] > 30:
                last_line[0] = time.perf_counter()
                report.console.print(f"[dim]{SECTION}: migrate copied {rows[0]:,} rows (now {table})[/dim]")

        started = time.perf_counter()
        counts = await migrate_archive(archive, target, progress=progress)
        seconds = time.perf_counter() - started
        posts = next(c.source for c in counts if c.table == "posts")
        report.add(
            SECTION,
            f"migrate of a {posts:,}-post SQLite archive ({rows[0]:,} rows in {len(counts)} tables)",
            f"{seconds:.0f} s ({posts / seconds:,.0f} posts/s, {rows[0] / seconds:,.0f} rows/s)",
            "count check",
            all(c.ok for c in counts),
        )
        server.admin("VACUUM ANALYZE", name)
        size = server.admin(f"SELECT pg_size_pretty(pg_database_size('{name}'))", name)
        report.add(
            SECTION,
            "  database size after migrate",
            f"{size} (SQLite file {archive_bytes / 1e6:,.0f} MB)",
        )
        pg = await PgStore.open_url(target.url, target.password)
        try:
            pg_ms, slowest = await _search_times(pg, ROUNDS)
        finally:
            await pg.close()
        page_ms, page_slowest = await _search_pages(target.url, target.password)
        sqlite = await Store.open(archive, read_only=True)
        try:
            base_ms, base_slowest = await _search_times(sqlite, ROUNDS)
        finally:
            await sqlite.close()
        p95 = _p(pg_ms, 0.95)
        report.add(
            SECTION,
            f"`posts search` p95 on PostgreSQL ({len(pg_ms)} searches, {len(QUERIES)} queries)",
            f"{p95:.1f} ms (p50 {statistics.median(pg_ms):.1f}, max {max(pg_ms):.1f})",
            f"< {SEARCH_TARGET_MS:.0f} ms",
            p95 < SEARCH_TARGET_MS,
        )
        report.add(SECTION, "  slowest PostgreSQL search", f"{slowest[0]:.1f} ms: {slowest[1]}")
        report.add(
            SECTION,
            f"web search page p95 on PostgreSQL ({len(page_ms)} requests, the web section's queries)",
            f"{_p(page_ms, 0.95):.1f} ms (p50 {statistics.median(page_ms):.1f}, max {max(page_ms):.1f})",
            f"< {SEARCH_TARGET_MS:.0f} ms",
            _p(page_ms, 0.95) < SEARCH_TARGET_MS,
        )
        report.add(SECTION, "  slowest page", f"{page_slowest[0]:.1f} ms: {page_slowest[1]}")
        report.add(
            SECTION,
            "  baseline: the same searches on SQLite FTS5",
            f"p95 {_p(base_ms, 0.95):.1f} ms (p50 {statistics.median(base_ms):.1f}, slowest "
            f"{base_slowest[0]:.1f} ms: {base_slowest[1]})",
        )
    finally:
        server.stop()


async def _search_pages(url: str, password: str) -> tuple[list[float], tuple[float, str]]:
    """The review pages' search (bench/web_bench.py SEARCHES) over the PostgreSQL archive, in process."""
    from urllib.parse import urlencode

    import httpx

    from bot.web import WebOptions, create_app
    from storage.postgres.store import PgStore

    app = create_app(
        WebOptions(db_path=url, read_only=True), lambda: PgStore.open_url(url, password, migrate=False)
    )
    times: list[float] = []
    slowest = (0.0, "")
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client,
    ):
        for params in web_bench.SEARCHES:  # warm up once
            await client.get("/search?" + urlencode(params))
        for _ in range(ROUNDS):
            for params in web_bench.SEARCHES:
                page = "/search?" + urlencode(params)
                started = time.perf_counter()
                answer = await client.get(page)
                ms = (time.perf_counter() - started) * 1000
                if answer.status_code != 200:
                    raise RuntimeError(f"{page} answered {answer.status_code}")
                times.append(ms)
                slowest = max(slowest, (ms, page))
    return times, slowest


def run(report: Report) -> None:
    posts = int(os.environ.get("BENCH_PG_POSTS", web_bench.POSTS))
    web_bench.POSTS = posts  # the generator's size; its cache file is named after it
    archive = web_bench.build_archive(report)
    asyncio.run(_measure(archive, archive.stat().st_size, report))
