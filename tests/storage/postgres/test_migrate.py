"""`telewatch migrate`: an SQLite archive copied into PostgreSQL whole, resumably, with a count check."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app.backend import PgLocation
from bot.app.migrate import migrate_archive
from bot.cli import main
from bot.domain.errors import StorageError
from bot.domain.models import AlertKind, ChannelRef, Match, MatchedTerm, Post, Severity
from bot.domain.records import NewAlert, NewNotice
from storage.postgres.store import PgStore
from storage.store import Store
from tests.pgserver import LocalPostgres

T0 = datetime(2024, 8, 7, 6, 0, tzinfo=UTC)
ALPHA = ChannelRef(tg_id=1001, username="alpha", title="Alpha")
BETA = ChannelRef(tg_id=1002, username="beta", title="Beta")


async def build_archive(path: Path, posts: int = 30) -> None:
    """An archive with a bit of everything: edits, deletions, matches, alerts in every state, marks."""
    store = await Store.open(path)
    async with store.transaction() as tx:
        for ref in (ALPHA, BETA):
            await store.channels.ensure(tx, ref)
        batch = [
            Post(
                channel=ALPHA if i % 2 else BETA,
                message_id=i,
                date=T0 + timedelta(minutes=i),
                text=f"Жители эвакуированы, сообщение {i}" if i % 3 == 0 else f"Погода, сообщение {i}",
            )
            for i in range(1, posts + 1)
        ]
        outcomes = await store.posts.save(tx, batch, T0)
        ids = [o.post_id for o in outcomes]
        edited = Post(channel=BETA, message_id=6, date=T0, text="Жители эвакуированы из Суджи", edit_date=T0)
        await store.posts.save(tx, [edited], T0 + timedelta(hours=1))
        alpha = await store.channels.find("@alpha")
        assert alpha is not None
        await store.posts.mark_deleted(tx, alpha.id, [1, 3], T0 + timedelta(hours=2))
        hit = Match("evacuation", Severity.WARNING, (MatchedTerm("эвакуац*", "эвакуированы", 7, 19),))
        await store.matches.insert_new(tx, [(i, hit) for i in ids[2::3]], T0)
        alerts = [
            NewAlert(f"k{i}", i, "evacuation", Severity.WARNING, AlertKind.NEW, "screen", "console")
            for i in ids[2::3]
        ]
        await store.alerts.enqueue(tx, alerts, T0)
        await store.cursors.advance(tx, alpha.id, posts, T0)
        await store.notices.enqueue(
            tx, [NewNotice("n1", "health", "disk", "raised", "Disk", "nearly full", "ops", "console")], T0
        )
    await store.alerts.mark_sent([1, 2], T0 + timedelta(minutes=5), message_id=77)
    await store.alerts.mark_failed([3], "chat gone")
    assert await store.alerts.review(1, "relevant", "editor", T0 + timedelta(hours=3))
    assert await store.alerts.review(2, "false_positive", "editor", T0 + timedelta(hours=3))
    await store.set_meta("watch.safe.1", "30")
    await store.close()


@pytest.fixture
async def archive(tmp_path: Path) -> Path:
    path = tmp_path / "archive.db"
    await build_archive(path)
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


async def test_migrate_copies_everything_and_the_copy_reads_like_the_original(
    archive: Path,
    postgres: LocalPostgres,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TELEWATCH_DB_PASSWORD", postgres.password)
    monkeypatch.chdir(archive.parent)
    url = postgres.url(postgres.create_database())
    code, out, err = await _main(capsys, "migrate", "--from", str(archive), "--to", url, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["ok"] is True
    by_table = {t["table"]: t for t in report["tables"]}
    assert by_table["posts"]["postgresql"] == 30
    assert by_table["post_versions"]["postgresql"] == 1
    assert by_table["alerts"]["postgresql"] == 10
    assert all(t["ok"] for t in report["tables"])

    sqlite, pg = await Store.open(archive, read_only=True), await PgStore.open_url(url, postgres.password)
    try:
        found = [
            [p.post.message_id for p in await r.posts.search("эвакуированы", limit=50)] for r in (sqlite, pg)
        ]
        assert found[0] == found[1] == list(range(30, 0, -3))  # deleted posts stay searchable
        assert await sqlite.posts.versions(6) == await pg.posts.versions(6)
        assert (await sqlite.posts.get(1)) == (await pg.posts.get(1))  # deleted_at kept
        assert [a.status for a in await sqlite.alerts.for_post(3)] == [
            a.status for a in await pg.alerts.for_post(3)
        ]
        assert (await sqlite.alerts.get(1)) == (await pg.alerts.get(1))  # sent, message id, review
        assert await sqlite.relevance.mark_counts() == await pg.relevance.mark_counts()
        assert await sqlite.cursors.all() == await pg.cursors.all()
        assert [n.title for n in await pg.notices.recent()] == ["Disk"]
        assert await pg.watch.safe_marks() == {1: 30}
        # new rows continue after the copied ids
        async with pg.transaction() as tx:
            [new] = await pg.posts.save(tx, [Post(channel=ALPHA, message_id=99, date=T0, text="новый")], T0)
        assert new.post_id == 31
    finally:
        await sqlite.close()
        await pg.close()


async def test_running_migrate_again_copies_nothing_twice(
    archive: Path,
    postgres: LocalPostgres,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TELEWATCH_DB_PASSWORD", postgres.password)
    url = postgres.url(postgres.create_database())
    assert (await _main(capsys, "migrate", "--from", str(archive), "--to", url, "--json"))[0] == 0
    code, out, _ = await _main(capsys, "migrate", "--from", str(archive), "--to", url, "--json")
    assert code == 0
    report = json.loads(out)
    assert report["rows_copied_now"] == 0
    assert report["ok"] is True


async def test_an_interrupted_migrate_continues_after_the_last_committed_batch(
    tmp_path: Path, postgres: LocalPostgres
) -> None:
    path = tmp_path / "big.db"
    await build_archive(path, posts=1000)
    target = PgLocation(postgres.url(postgres.create_database()), postgres.password)
    seen: list[tuple[str, int]] = []

    def crash_after_three_batches(table: str, rows: int) -> None:
        seen.append((table, rows))
        if table == "posts" and len([s for s in seen if s[0] == "posts"]) == 3:
            raise KeyboardInterrupt  # Ctrl-C between two batches

    with pytest.raises(KeyboardInterrupt):
        await migrate_archive(path, target, batch=100, progress=crash_after_three_batches)
    assert postgres.admin("SELECT count(*) FROM posts", target.url.rsplit("/", 1)[1]) == "300"
    copied: list[tuple[str, int]] = []
    counts = await migrate_archive(path, target, batch=100, progress=lambda t, n: copied.append((t, n)))
    assert all(c.ok for c in counts)
    assert sum(n for t, n in copied if t == "posts") == 700  # only what was missing
    assert sum(n for t, n in copied if t == "channels") == 0


async def test_a_lost_connection_mid_copy_is_retried_with_backoff_and_loses_nothing(
    tmp_path: Path, postgres: LocalPostgres
) -> None:
    path = tmp_path / "big.db"
    await build_archive(path, posts=600)
    name = postgres.create_database()
    target = PgLocation(postgres.url(name), postgres.password)
    killed: list[str] = []

    def kill_connections(table: str, rows: int) -> None:
        if table == "posts" and not killed:
            killed.append(
                postgres.admin(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
                )
            )

    counts = await migrate_archive(path, target, batch=100, progress=kill_connections)
    assert killed
    assert int(killed[0]) >= 1  # the pool's connection really was cut
    assert all(c.ok for c in counts), counts
    assert postgres.admin("SELECT count(*) FROM posts", name) == "600"
    assert postgres.admin("SELECT count(DISTINCT (channel_id, message_id)) FROM posts", name) == "600"


async def test_migrating_into_a_database_with_other_posts_is_refused(
    archive: Path, postgres: LocalPostgres
) -> None:
    url = postgres.url(postgres.create_database())
    store = await PgStore.open_url(url, postgres.password)
    async with store.transaction() as tx:
        await store.posts.save(tx, [Post(channel=ALPHA, message_id=1, date=T0, text="live")], T0)
    await store.close()
    with pytest.raises(StorageError, match="already holds posts or channels that were not copied"):
        await migrate_archive(archive, PgLocation(url, postgres.password))


async def test_a_password_in_the_target_url_is_a_usage_error(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = await _main(
        capsys, "migrate", "--from", str(archive), "--to", "postgresql://u:pw1234@h/db"
    )
    assert code == 2
    assert "TELEWATCH_DB_PASSWORD" in err
    assert "pw1234" not in err


async def _main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    import asyncio

    return await asyncio.to_thread(run, capsys, *args)
