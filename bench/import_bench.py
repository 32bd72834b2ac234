"""Import throughput vs the raw SQLite+FTS5 insert rate, peak RSS on 1M posts, FTS search latency."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bench import corpus
from bench.report import Report
from bot.app.runtime import open_runtime
from bot.ingest.importer import import_items
from bot.sources import open_source
from config.settings import RouteSettings, Settings
from storage.db import migrations, split_sql

IMPORT_POSTS = int(os.environ.get("BENCH_IMPORT_POSTS", "200000"))
RSS_POSTS = int(os.environ.get("BENCH_RSS_POSTS", "1000000"))
QUERIES = [
    "Суджа",
    "эвакуация",
    "Курск* AND обстрел*",
    '"Белгородской области"',
    "беспилотник OR БПЛА",
    "Украина",
]
SECTION = "import & search"


def bench_settings() -> Settings:
    """Every shipped rule pack, alerts to a JSONL route: matching is part of what an import costs."""
    from bot.rules.packs import available_packs, pack_path
    from config.loader import load_rule_pack

    rules = tuple(rule for name in available_packs() for rule in load_rule_pack(pack_path(name)))
    return Settings(rules=rules, routes=(RouteSettings(name="console", sink="console"),))


def raw_insert_rate(jsonl: Path, db_path: Path) -> float:
    """The same rows, pre-parsed, inserted with plain sqlite3 into the same schema (the machine's limit)."""
    rows = []
    with jsonl.open(encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            rows.append((r["channel"], r["id"], r["date"], r["text"], "2024-01-01T00:00:00+00:00"))
    conn = sqlite3.connect(db_path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "cache_size=-65536"):
        conn.execute(f"PRAGMA {pragma}")
    for _, _, sql in migrations():
        for statement in split_sql(sql):
            conn.execute(statement)
    channels = sorted({r[0] for r in rows})
    conn.executemany(
        "INSERT INTO channels (id, tg_id, created_at) VALUES (?, ?, '2024-01-01')", [(c, c) for c in channels]
    )
    started = time.perf_counter()
    for i in range(0, len(rows), 2000):
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO posts (channel_id, message_id, date, text, captured_at) VALUES (?, ?, ?, ?, ?)",
            rows[i : i + 2000],
        )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return len(rows) / elapsed


async def telewatch_import(jsonl: Path, db_path: Path, settings: Settings) -> tuple[float, int]:
    async with open_runtime(settings, db_path, sinks={}) as rt:
        report = await import_items(open_source(jsonl), rt.pipeline)
    return report.rate, report.result.matches


async def alert_import(jsonl: Path, db_path: Path, settings: Settings) -> tuple[float, int]:
    """`import --alert` to a JSONL route: store, match, dedup and enqueue, then deliver every alert.
    Returns posts/s over the whole run and the alerts delivered."""
    routes = (RouteSettings(name="file", sink="jsonl", target=str(db_path.with_suffix(".alerts.jsonl"))),)
    settings = replace(settings, routes=routes)
    async with open_runtime(settings, db_path) as rt:
        started = time.perf_counter()
        report = await import_items(open_source(jsonl), rt.pipeline, alert=True)
        sent = (await rt.dispatcher.run_once()).sent
        elapsed = time.perf_counter() - started
    return report.result.stored / elapsed, sent


async def search_latency(db_path: Path, settings: Settings) -> list[float]:
    async with open_runtime(settings, db_path, sinks={}) as rt:
        timings: list[float] = []
        for _ in range(10):
            for query in QUERIES:
                started = time.perf_counter()
                await rt.store.posts.search(query, limit=20)
                timings.append((time.perf_counter() - started) * 1000)
    return timings


def peak_rss_import(jsonl: Path, db_path: Path) -> tuple[float, float]:
    """Peak RSS (MB) of a separate `telewatch import` process over the whole file, with every rule pack."""
    from bot.rules.packs import available_packs

    config = db_path.parent / "bench.toml"
    config.write_text(f"rule_packs = {json.dumps(available_packs())}\n", encoding="utf-8")
    env = {**os.environ, "TELEWATCH_DB": str(db_path), "TELEWATCH_CONFIG": str(config)}
    child = subprocess.run(
        [sys.executable, "-m", "bench.rss_child", str(jsonl)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    main, worker = child.stdout.strip().splitlines()[-1].split()
    return float(main), float(worker)


def run(report: Report) -> None:
    if not corpus.available():
        report.add(SECTION, "skipped", f"corpus not found at {corpus.NKTKLN}")
        return
    settings = bench_settings()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        jsonl = corpus.write_jsonl(folder / "posts.jsonl", IMPORT_POSTS)
        raw = raw_insert_rate(jsonl, folder / "raw.db")
        rate, matches = asyncio.run(telewatch_import(jsonl, folder / "tw.db", settings))
        report.add(SECTION, f"raw sqlite3+FTS5 insert, {IMPORT_POSTS:,} posts", f"{raw:,.0f} posts/s")
        report.add(
            SECTION,
            f"telewatch import (parse+store+FTS+match {len(settings.rules)} rules)",
            f"{rate:,.0f} posts/s ({rate / raw:.0%} of raw, {matches:,} matches)",
            "≥ 50% of raw",
            rate >= 0.5 * raw,
        )
        small = corpus.write_jsonl(folder / "small.jsonl", 22_099)
        small_rate, _ = asyncio.run(telewatch_import(small, folder / "small.db", settings))
        for size, path, plain in ((22_099, small, small_rate), (IMPORT_POSTS, jsonl, rate)):
            alert_rate, sent = asyncio.run(alert_import(path, folder / f"alert{size}.db", settings))
            report.add(
                SECTION,
                f"import --alert (jsonl route, delivery included), {size:,} posts",
                f"{alert_rate:,.0f} posts/s ({alert_rate / plain:.0%} of import's {plain:,.0f}; {sent:,} alerts)",
                "≥ 50% of import",
                alert_rate >= 0.5 * plain,
            )
        timings = asyncio.run(search_latency(folder / "tw.db", settings))
        p50 = statistics.median(timings)
        p95 = statistics.quantiles(timings, n=20)[18]
        report.add(
            SECTION,
            f"FTS search at {IMPORT_POSTS:,} posts ({len(QUERIES)} queries ×10)",
            f"p50 {p50:.1f} ms, p95 {p95:.1f} ms",
            "p95 < 50 ms",
            p95 < 50,
        )
        big = corpus.write_jsonl(folder / "big.jsonl", RSS_POSTS)
        (folder / "posts.jsonl").unlink()
        rss, worker = peak_rss_import(big, folder / "rss.db")
        report.add(
            SECTION,
            f"peak RSS importing {RSS_POSTS:,} posts (main process + matcher worker)",
            f"{rss + worker:.0f} MB ({rss:.0f} + {worker:.0f})",
            "< 300 MB",
            rss + worker < 300,
        )
