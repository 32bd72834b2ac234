"""Backup while writing, restore, and db stats: copies are consistent, nothing is overwritten or lost."""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.domain.errors import StorageError
from bot.domain.models import ChannelRef, Post
from storage import backup as backups
from storage.stats import collect
from storage.store import Store
from tests.mounts import small_disks

BASE = datetime(2024, 8, 6, 8, 0, tzinfo=UTC)


async def make_db(path: Path, posts: int) -> None:
    async with await Store.open(path) as store:
        ref = ChannelRef(tg_id=1001, username="gov_test", title="Губернатор")
        batch = [
            Post(channel=ref, message_id=i, date=BASE + timedelta(minutes=i), text=f"пост {i} эвакуация")
            for i in range(1, posts + 1)
        ]
        async with store.db.transaction() as tx:
            await store.posts.save(tx, batch, BASE)


def count(path: Path, table: str = "posts") -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def partial_files(folder: Path) -> list[Path]:
    return list(folder.glob("*.partial"))


async def test_backup_copies_a_consistent_snapshot_while_another_connection_writes(tmp_path: Path) -> None:
    db = tmp_path / "tw.db"
    await make_db(db, 3000)
    stop = threading.Event()
    written = []

    def writer() -> None:
        conn = sqlite3.connect(db, isolation_level=None, timeout=10)
        n = 0
        while not stop.is_set():
            conn.execute(
                "INSERT INTO posts (channel_id, message_id, date, captured_at) VALUES (1, ?, '2024', '2024')",
                (100_000 + n,),
            )
            n += 1
        written.append(n)
        conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        result = backups.backup(db, tmp_path / "copy.db")
    finally:
        stop.set()
        thread.join()
    assert written[0] > 0
    assert result.integrity == "ok"
    assert result.consistent
    assert count(result.path) == result.source_counts["posts"] >= 3000
    assert not (tmp_path / "copy.db-wal").exists()  # one self-contained file
    assert not partial_files(tmp_path)


async def test_backup_into_a_folder_writes_a_dated_file_and_never_overwrites(tmp_path: Path) -> None:
    db = tmp_path / "tw.db"
    await make_db(db, 10)
    folder = tmp_path / "backups"
    folder.mkdir()
    result = backups.backup(db, folder)
    assert result.path.parent == folder
    assert result.path.name.startswith("telewatch-")
    existing = tmp_path / "keep.db"
    existing.write_bytes(b"precious")
    with pytest.raises(StorageError, match="already exists"):
        backups.backup(db, existing)
    assert existing.read_bytes() == b"precious"


async def test_restore_replaces_the_database_and_keeps_the_old_one_aside(tmp_path: Path) -> None:
    db = tmp_path / "tw.db"
    await make_db(db, 50)
    copy = backups.backup(db, tmp_path / "b.db").path
    await make_db(tmp_path / "other.db", 7)
    target = tmp_path / "other.db"
    with pytest.raises(StorageError, match="already exists"):
        backups.restore(copy, target)
    result = backups.restore(copy, target, replace=True)
    assert result.consistent
    assert count(target) == 50
    assert result.set_aside is not None
    assert count(result.set_aside) == 7
    async with await Store.open(target) as store:  # telewatch opens and writes the restored file
        assert await store.posts.count() == 50


def test_restore_refuses_a_file_that_is_not_a_telewatch_database(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError, match="not a telewatch database"):
        backups.restore(junk, tmp_path / "tw.db")
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE x (y)")
    with pytest.raises(StorageError, match="not a telewatch database"):
        backups.restore(other, tmp_path / "tw.db")
    assert not (tmp_path / "tw.db").exists()


async def test_restore_refuses_a_damaged_backup_and_leaves_the_database_alone(tmp_path: Path) -> None:
    db = tmp_path / "tw.db"
    await make_db(db, 2000)
    copy = backups.backup(db, tmp_path / "b.db").path
    data = bytearray(copy.read_bytes())
    page = 4096
    for offset in range(page * 3, page * 6):  # clobber a few b-tree pages, keep the header
        data[offset] = 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(StorageError, match=r"damaged|not a telewatch|malformed"):
        backups.restore(copy, db, replace=True)
    assert count(db) == 2000


async def test_db_stats_reports_tables_sizes_and_dates(tmp_path: Path) -> None:
    db = tmp_path / "tw.db"
    await make_db(db, 100)
    s = collect(db)
    tables = {t.name: t for t in s.tables}
    assert tables["posts"].rows == 100
    assert tables["posts"].bytes > 0
    assert s.oldest_post is not None
    assert s.oldest_post.startswith("2024-08-06")
    assert s.schema_version >= 1
    assert s.page_size > 0


async def test_cli_backup_restore_and_stats_through_the_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "tw.db"
    await make_db(db, 20)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TELEWATCH_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("", encoding="utf-8")
    assert main(["--db", str(db), "backup", str(tmp_path / "b.db"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["consistent"]
    assert out["copy_counts"]["posts"] == 20
    assert out["seconds"] >= 0
    assert main(["--db", str(db), "backup", str(tmp_path / "b.db")]) == 4
    err = capsys.readouterr().err
    assert "already exists" in err
    assert "Traceback" not in err
    restored = tmp_path / "restored.db"
    assert main(["--db", str(restored), "restore", str(tmp_path / "b.db"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["copy_counts"]["posts"] == 20
    assert main(["--db", str(restored), "db", "stats", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert {t["name"]: t["rows"] for t in stats["tables"]}["posts"] == 20
    assert main(["--db", str(tmp_path / "missing.db"), "db", "stats"]) == 4
    assert "no database at" in capsys.readouterr().err
    assert not (tmp_path / "missing.db").exists()


async def test_backup_to_a_full_disk_fails_in_one_line_and_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "tw.db"
    await make_db(db, 6000)
    assert db.stat().st_size > 1024 * 1024
    (tmp_path / "none.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("TELEWATCH_CONFIG", str(tmp_path / "none.toml"))
    with small_disks(tmp_path) as mount:
        full = mount("full", "512k")
        assert main(["--db", str(db), "backup", str(full / "b.db")]) == 4
        err = capsys.readouterr().err
        assert "disk is full" in err
        assert "Traceback" not in err
        assert list(full.iterdir()) == []
    assert count(db) == 6000


def test_backup_of_a_file_that_is_not_a_database_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "tw.db"
    junk.write_bytes(b"garbage" * 1000)
    (tmp_path / "none.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("TELEWATCH_CONFIG", str(tmp_path / "none.toml"))
    assert main(["--db", str(junk), "backup", str(tmp_path / "b.db")]) == 4
    err = capsys.readouterr().err
    assert "not a telewatch database" in err or "damaged" in err
    assert "Traceback" not in err
    assert not (tmp_path / "b.db").exists()
    assert junk.read_bytes() == b"garbage" * 1000
