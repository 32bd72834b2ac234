"""Opening the database: read-only for readers, clear errors for faults, migrations safe across processes."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.domain.errors import StorageError
from storage.db import LATEST_VERSION, Database

# Two processes wait for a go file, then open the same new database at the same moment.
RACE = """
import asyncio, os, sys, time
from storage.db import Database
path, go = sys.argv[1], sys.argv[2]
while not os.path.exists(go):
    time.sleep(0.001)
async def main():
    db = await Database.open(path)
    print(await db.schema_version())
    await db.close()
asyncio.run(main())
"""


def test_two_processes_creating_the_same_new_database_migrate_it_once(tmp_path: Path) -> None:
    for round_ in range(6):
        path = tmp_path / f"new{round_}.db"
        go = tmp_path / f"go{round_}"
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", RACE, str(path), str(go)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=Path(__file__).resolve().parents[2],
            )
            for _ in range(2)
        ]
        go.touch()
        for proc in procs:
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            assert out.strip() == str(LATEST_VERSION)
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        conn.close()


async def test_reading_a_missing_database_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "typo" / "telewatch.db"
    with pytest.raises(StorageError, match="no database at"):
        await Database.open(path, read_only=True)
    assert not (tmp_path / "typo").exists()


async def test_reading_leaves_no_new_files_and_keeps_the_journal_mode(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    await (await Database.open(path)).close()
    before = sorted(os.listdir(tmp_path))
    db = await Database.open(path, read_only=True)
    assert await db.schema_version() == LATEST_VERSION
    with pytest.raises(sqlite3.OperationalError):  # query_only: a reader cannot write by mistake
        await db.conn.execute("INSERT INTO meta (key, value) VALUES ('x', 'y')")
    await db.close()
    assert sorted(os.listdir(tmp_path)) == before


async def test_reading_an_older_schema_upgrades_it_where_writable(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    await (await Database.open(path, migrate_to=1)).close()
    db = await Database.open(path, read_only=True)
    assert await db.schema_version() == LATEST_VERSION
    await db.close()


async def test_a_database_from_a_newer_telewatch_is_refused_by_readers_and_writers(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    await (await Database.open(path)).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version={LATEST_VERSION + 1}")
    conn.close()
    for read_only in (True, False):
        with pytest.raises(StorageError, match="newer than this telewatch"):
            await Database.open(path, read_only=read_only)


async def test_a_file_that_is_not_a_database_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database " * 200)
    for read_only in (True, False):
        with pytest.raises(
            StorageError, match=r"notes.db is not a telewatch database \(not an SQLite file\)"
        ):
            await Database.open(path, read_only=read_only)
    assert path.read_bytes().startswith(b"these are my notes")


async def test_a_folder_that_cannot_be_created_is_one_error(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    with pytest.raises(StorageError, match="cannot create the folder"):
        await Database.open(tmp_path / "afile" / "x.db")


async def test_opening_an_empty_file_without_create_leaves_it_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    for read_only in (True, False):
        with pytest.raises(StorageError, match="the file is empty"):
            await Database.open(path, read_only=read_only, create=False)
    assert path.read_bytes() == b""
    assert sorted(os.listdir(tmp_path)) == ["empty.db"]


async def test_opening_without_create_uses_an_existing_archive_for_writing(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    await (await Database.open(path)).close()
    db = await Database.open(path, create=False)
    await db.execute("INSERT INTO meta (key, value) VALUES ('x', 'y')")
    await db.close()
