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


def names_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


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


def _foreign_wal(folder: Path) -> tuple[bytes, bytes]:
    """The -wal and -shm of another WAL database whose last writes are still only in its WAL."""
    other = folder / "foreign.db"
    conn = sqlite3.connect(other, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("CREATE TABLE foreign_stuff (x)")
    conn.execute("INSERT INTO foreign_stuff VALUES ('not ours')")
    wal = (folder / "foreign.db-wal").read_bytes()
    shm = (folder / "foreign.db-shm").read_bytes()
    conn.close()
    return wal, shm


async def test_restore_moves_a_stale_wal_aside_and_never_merges_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """#46: a -wal/-shm left from another database at the destination never touches the restored data."""
    db = tmp_path / "src.db"
    await make_db(db, 30)
    copy = backups.backup(db, tmp_path / "b.db").path
    dest_dir = tmp_path / "dest"
    dest_dir.mkdir()
    wal, shm = _foreign_wal(tmp_path)
    (dest_dir / "tw.db-wal").write_bytes(wal)
    (dest_dir / "tw.db-shm").write_bytes(shm)
    (tmp_path / "none.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("TELEWATCH_CONFIG", str(tmp_path / "none.toml"))
    assert main(["--db", str(dest_dir / "tw.db"), "restore", str(copy)]) == 0
    err = capsys.readouterr().err
    assert "tw.db-wal was left from another database; moved it to" in err
    assert count(dest_dir / "tw.db") == 30
    with sqlite3.connect(dest_dir / "tw.db") as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "foreign_stuff" not in tables
    stale = sorted(p.name for p in dest_dir.iterdir() if ".stale-" in p.name)
    assert len(stale) == 2
    assert stale[0].startswith("tw.db-shm.stale-")
    assert (dest_dir / next(n for n in stale if n.startswith("tw.db-wal"))).read_bytes() == wal


async def test_restore_with_a_count_mismatch_leaves_nothing_at_the_destination(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """#46: a copy that does not match the backup never takes the destination's name."""
    db = tmp_path / "src.db"
    await make_db(db, 30)
    copy = backups.backup(db, tmp_path / "b.db").path
    real_verify = backups._verify

    def short_count(path: Path) -> tuple[str, float, dict[str, int]]:
        integrity, seconds, counts = real_verify(path)
        return integrity, seconds, {**counts, "posts": counts["posts"] - 1}

    monkeypatch.setattr(backups, "_verify", short_count)
    target = tmp_path / "tw.db"
    with pytest.raises(StorageError, match="does not match"):
        backups.restore(copy, target)
    assert not target.exists()
    assert names_in(tmp_path) == ["b.db", "src.db"]


async def test_backup_and_restore_never_remove_a_partial_file_they_did_not_create(tmp_path: Path) -> None:
    """#50: X.partial / X.restore-partial that were there before are left exactly as they were."""
    db = tmp_path / "tw.db"
    await make_db(db, 10)
    theirs = tmp_path / "b.db.partial"
    theirs.write_bytes(b"someone else's")
    theirs2 = tmp_path / "r.db.restore-partial"
    theirs2.write_bytes(b"also theirs")
    copy = backups.backup(db, tmp_path / "b.db").path
    backups.restore(copy, tmp_path / "r.db")
    assert theirs.read_bytes() == b"someone else's"
    assert theirs2.read_bytes() == b"also theirs"
    names = [n for n in names_in(tmp_path) if not n.endswith(("-wal", "-shm"))]
    assert names == sorted(["tw.db", "b.db", "b.db.partial", "r.db", "r.db.restore-partial"])


async def test_two_folder_backups_in_the_same_second_get_different_names(tmp_path: Path) -> None:
    db = tmp_path / "tw.db"
    await make_db(db, 5)
    folder = tmp_path / "backups"
    folder.mkdir()
    first = backups.backup(db, folder).path
    second = backups.backup(db, folder).path
    third = backups.backup(db, folder).path
    assert len({first, second, third}) == 3
    assert all(count(p) == 5 for p in (first, second, third))
