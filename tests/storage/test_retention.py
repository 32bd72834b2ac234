"""Retention: old posts go with everything hanging off them; relevant and waiting ones stay; space comes back."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app.maintenance import prune_store
from bot.cli import main
from bot.domain.models import ChannelRef, Post
from config.loader import load_text
from storage.retention import policies
from storage.store import Store

NOW = datetime(2025, 1, 1, tzinfo=UTC)
GOV = ChannelRef(tg_id=1001, username="gov_test", title="Губернатор")
BLOG = ChannelRef(tg_id=1002, username="milblog_test", title="Блог")


def posts_of(ref: ChannelRef, ages_days: list[int], start: int = 1) -> list[Post]:
    return [
        Post(
            channel=ref,
            message_id=start + i,
            date=NOW - timedelta(days=age),
            text=f"эвакуация {ref.username} {age} " + "слово " * 200,
        )
        for i, age in enumerate(ages_days)
    ]


async def seed(path: Path) -> None:
    """gov_test (label official) and milblog_test (label milblogger): posts 10, 100 and 400 days old."""
    async with await Store.open(path) as store, store.db.transaction() as tx:
        await store.posts.save(tx, posts_of(GOV, [10, 100, 400, 400]) + posts_of(BLOG, [10, 100, 400]), NOW)
        await tx.execute("UPDATE channels SET label = 'official' WHERE username = 'gov_test'")
        await tx.execute(
            "UPDATE channels SET label = 'milblogger', tags = '[\"ru\"]' WHERE username = 'milblog_test'"
        )
        ids = {
            (r[0], r[1]): r[2]
            async for r in await tx.execute(
                "SELECT c.username, p.message_id, p.id FROM posts p JOIN channels c ON c.id = p.channel_id"
            )
        }
        alert = (
            "INSERT INTO alerts (dedup_key, post_id, rule, severity, kind, route, sink, status, review, "
            "created_at) VALUES (?, ?, 'evacuation', 2, 'new', 'console', 'console', ?, ?, '2024')"
        )
        await tx.execute(alert, ("a1", ids[("gov_test", 3)], "sent", "relevant"))  # old, relevant
        await tx.execute(alert, ("a2", ids[("gov_test", 4)], "pending", None))  # old, waiting
        await tx.execute(alert, ("a3", ids[("milblog_test", 3)], "sent", "false_positive"))
        await tx.execute(
            "INSERT INTO post_versions (post_id, version, text, captured_at) VALUES (?, 1, 'old', '2024')",
            (ids[("milblog_test", 3)],),
        )
        await tx.execute(
            "INSERT INTO matches (post_id, rule, severity, hits, matched_at) VALUES (?, 'evacuation', 2, '[]', '2024')",
            (ids[("milblog_test", 3)],),
        )


def settings(text: str, tmp_path: Path) -> object:
    return load_text(text, tmp_path / "telewatch.toml", {}, base_dir=tmp_path)


def messages(path: Path) -> set[tuple[str, int]]:
    with sqlite3.connect(path) as conn:
        return set(
            conn.execute(
                "SELECT c.username, p.message_id FROM posts p JOIN channels c ON c.id = p.channel_id"
            )
        )


def test_a_label_override_beats_keep_days_and_the_longest_override_wins() -> None:
    plans = policies(
        [
            (1, "@a", "official", []),
            (2, "@b", "milblogger", ["ru"]),
            (3, "@c", None, ["ru"]),
            (4, "@d", None, []),
        ],
        365,
        {"official": 0, "milblogger": 30, "ru": 90},
    )
    assert [(p.days, p.reason) for p in plans] == [
        (0, "label official"),
        (90, "label ru"),
        (90, "label ru"),
        (365, "keep_days"),
    ]


async def test_prune_removes_old_posts_with_their_rows_and_keeps_relevant_and_waiting_ones(
    tmp_path: Path,
) -> None:
    db = tmp_path / "tw.db"
    await seed(db)
    cfg = settings("[storage]\nkeep_days = 365\n[storage.keep_days_by_label]\nmilblogger = 50\n", tmp_path)
    async with await Store.open(db) as store:
        dry, _ = await prune_store(store, cfg, clock=FixedClock(), dry_run=True)  # type: ignore[arg-type]
    assert messages(db) == {("gov_test", i) for i in (1, 2, 3, 4)} | {("milblog_test", i) for i in (1, 2, 3)}
    async with await Store.open(db) as store:
        report, _ = await prune_store(store, cfg, clock=FixedClock())  # type: ignore[arg-type]
        assert await store.posts.search("эвакуация milblog_test") != []
        found = await store.posts.search("milblog_test 100")
        assert found == []
    # gov (365 d): both 400-day posts stay (one relevant, one waiting); milblog (50 d): 100 and 400 go
    assert messages(db) == {("gov_test", i) for i in (1, 2, 3, 4)} | {("milblog_test", 1)}
    assert (report.posts, report.alerts, report.versions) == (2, 1, 1)
    assert (report.kept_relevant, report.kept_pending) == (1, 1)
    assert (dry.posts, dry.alerts, dry.versions) == (report.posts, report.alerts, report.versions)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("SELECT count(*) FROM matches").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM posts_fts").fetchone()[0] == 5


async def test_include_relevant_prunes_relevant_posts_but_never_waiting_ones(tmp_path: Path) -> None:
    db = tmp_path / "tw.db"
    await seed(db)
    cfg = settings("[storage]\nkeep_days = 365\n", tmp_path)
    async with await Store.open(db) as store:
        report, _ = await prune_store(store, cfg, clock=FixedClock(), include_relevant=True)  # type: ignore[arg-type]
    assert ("gov_test", 3) not in messages(db)
    assert ("gov_test", 4) in messages(db)
    assert report.kept_relevant == 0


async def test_pruning_gives_the_space_back_to_the_disk(tmp_path: Path) -> None:
    db = tmp_path / "tw.db"
    async with await Store.open(db) as store:
        async with store.db.transaction() as tx:
            await store.posts.save(tx, posts_of(GOV, [400] * 3000), NOW)
        row = await store.db.fetchone("PRAGMA auto_vacuum")
        assert row is not None
        assert row[0] == 2  # new databases are created with incremental auto-vacuum
        cfg = settings("[storage]\nkeep_days = 30\n", tmp_path)
        before = db.stat().st_size
        report, _ = await prune_store(store, cfg, clock=FixedClock())  # type: ignore[arg-type]
    assert report.posts == 3000
    assert report.freed_bytes > before // 2
    assert db.stat().st_size < before // 2


async def test_vacuum_converts_an_old_database_and_returns_its_space(tmp_path: Path) -> None:
    db = tmp_path / "tw.db"
    await (await Store.open(db)).close()
    conn = sqlite3.connect(db, isolation_level=None)  # as databases created before incremental auto-vacuum
    conn.execute("PRAGMA auto_vacuum=NONE")
    conn.execute("VACUUM")
    conn.close()
    async with await Store.open(db) as store:
        async with store.db.transaction() as tx:
            await store.posts.save(tx, posts_of(GOV, [400] * 2000), NOW)
        row = await store.db.fetchone("PRAGMA auto_vacuum")
        assert row is not None
        assert row[0] == 0
        cfg = settings("[storage]\nkeep_days = 30\n", tmp_path)
        report, _ = await prune_store(store, cfg, clock=FixedClock(), vacuum=True)  # type: ignore[arg-type]
        row = await store.db.fetchone("PRAGMA auto_vacuum")
        assert row is not None
        assert row[0] == 2
    assert report.freed_bytes > 0
    assert report.free_bytes_left == 0


class FixedClock:
    def now(self) -> datetime:
        return NOW

    async def sleep(self, seconds: float) -> None:
        return None


def test_cli_prune_dry_run_then_prune_and_bad_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "tw.db"
    asyncio.run(seed(db))  # posts are dated around 2025-01-01; today is later, so 400-day-old ones are old
    config = tmp_path / "telewatch.toml"
    monkeypatch.setenv("TELEWATCH_CONFIG", str(config))
    monkeypatch.setenv("TELEWATCH_DB", str(db))
    monkeypatch.chdir(tmp_path)
    config.write_text("", encoding="utf-8")
    assert main(["db", "prune"]) == 0
    assert "kept forever" in capsys.readouterr().out
    config.write_text("[storage]\nkeep_days = 365\n", encoding="utf-8")
    assert main(["db", "prune", "--dry-run", "--json"]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert dry["dry_run"] is True
    assert dry["posts"] >= 1
    assert len(messages(db)) == 7
    assert main(["db", "prune", "--json"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert done["posts"] == dry["posts"]
    assert len(messages(db)) == 7 - dry["posts"]
    config.write_text("[storage]\nkeep_days = -1\n", encoding="utf-8")
    assert main(["db", "prune"]) == 2
    err = capsys.readouterr().err
    assert "storage.keep_days" in err
    assert "Traceback" not in err
    config.write_text('[storage]\nkeep_days_by_label = "x"\n', encoding="utf-8")
    assert main(["db", "prune"]) == 2
    assert "storage.keep_days_by_label" in capsys.readouterr().err


async def test_pruning_removes_media_files_no_kept_post_shares(tmp_path: Path) -> None:
    db = tmp_path / "tw.db"
    root = tmp_path / "media"
    async with await Store.open(db) as store:
        async with store.db.transaction() as tx:
            await store.posts.save(tx, posts_of(GOV, [400, 400, 10]), NOW)
        for post_id, sha in ((1, "aa" * 32), (2, "bb" * 32), (3, "bb" * 32)):  # post 3 (kept) shares bb
            rel = f"{sha[:2]}/{sha[2:4]}/{sha}.jpg"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(b"x" * 100)
            await store.db.execute(
                "INSERT INTO media (post_id, idx, kind, message_id, state, sha256, path, size, updated_at) "
                "VALUES (?, 0, 'photo', ?, 'stored', ?, ?, 100, '2024')",
                (post_id, post_id, sha, rel),
            )
        cfg = settings(f'[storage]\nkeep_days = 30\n[media]\npath = "{root}"\n', tmp_path)
        dry, _ = await prune_store(store, cfg, clock=FixedClock(), dry_run=True)  # type: ignore[arg-type]
        report, _ = await prune_store(store, cfg, clock=FixedClock())  # type: ignore[arg-type]
        rows = await store.db.fetchall("SELECT post_id FROM media ORDER BY post_id")
    assert (dry.media_files, dry.media_bytes) == (1, 100)
    assert (report.posts, report.media_files, report.media_bytes) == (2, 1, 100)
    assert [r[0] for r in rows] == [3]
    assert not (root / "aa" / "aa" / f"{'aa' * 32}.jpg").exists()
    assert (root / "bb" / "bb" / f"{'bb' * 32}.jpg").exists()
