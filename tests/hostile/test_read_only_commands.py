"""Commands that only read, and `telewatch web`, never create, fill or alter a database file: a missing,
empty, non-SQLite or table-less file is refused in one line with exit code 4, the file left as it was."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from pathlib import Path

import pytest

from bot.cli import main
from storage.store import Store

STORAGE_EXIT = 4
READERS = [
    ["posts", "search", "x"],
    ["posts", "recent"],
    ["posts", "show", "1"],
    ["alerts", "list"],
    ["alerts", "list", "--json"],
    ["status"],
    ["db", "stats"],
    ["health"],
    ["trends"],
    ["backup", "BACKUP"],
    ["web", "--port", "1"],  # refused before it would listen (port 1 would be refused later)
    ["web", "--read-only", "--port", "1"],
]


def make(kind: str, path: Path) -> Path:
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("these are notes, not a database\n", encoding="utf-8")
    elif kind == "sqlite-without-tables":
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE t (x)")
        conn.execute("DROP TABLE t")
        conn.commit()
        conn.close()
    return path


def fingerprint(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("kind", ["missing", "empty", "text", "sqlite-without-tables"])
@pytest.mark.parametrize("command", READERS, ids=lambda c: " ".join(c))
def test_a_reader_refuses_what_is_not_an_archive_and_changes_nothing(
    tmp_path: Path,
    kind: str,
    command: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "data"
    folder.mkdir()
    db = make(kind, folder / "archive.db")
    before = fingerprint(folder)
    args = [str(tmp_path / "backup.db") if a == "BACKUP" else a for a in command]
    config = tmp_path / "telewatch.toml"
    config.write_text('timezone = "UTC"\n', encoding="utf-8")
    code = main(["--config", str(config), "--db", str(db), *args])
    out, err = capsys.readouterr()
    assert code == STORAGE_EXIT, err
    assert fingerprint(folder) == before  # nothing created, filled, switched to WAL or migrated
    assert not (tmp_path / "backup.db").exists()
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err
    if kind == "text":
        assert f"{db} is not a telewatch database (not an SQLite file)" in errors[0]
    elif kind == "sqlite-without-tables":
        assert f"no database at {db}" in errors[0] or f"{db} is not a telewatch database" in errors[0]
    else:
        assert f"no database at {db}" in errors[0]
    if kind == "empty":
        assert "(the file is empty)" in errors[0]
    assert "http://" not in out  # web: no address printed for a server that will not start


def _foreign_with_version(path: Path, version: int) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        conn.execute("INSERT INTO notes (body) VALUES ('theirs')")
        conn.execute(f"PRAGMA user_version={version}")


@pytest.mark.parametrize("command", [["health"], ["status"], ["health", "--json"]])
def test_health_and_status_refuse_another_applications_database_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    """#60: a foreign database (its own user_version set) is named as such, exit 4, left unchanged."""
    foreign = tmp_path / "foreign.db"
    _foreign_with_version(foreign, 5)
    before = foreign.read_bytes()
    (tmp_path / "none.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("TELEWATCH_CONFIG", str(tmp_path / "none.toml"))
    assert main(["--db", str(foreign), *command]) == 4
    err = capsys.readouterr().err
    assert "another application" in err
    assert "no such table" not in err
    assert "Traceback" not in err
    assert foreign.read_bytes() == before


@pytest.mark.parametrize("command", [["health"], ["status"]])
async def test_health_and_status_refuse_a_newer_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    """#61: schema version 99 -> "newer than this telewatch", exit 4 (not "never written a heartbeat")."""
    db = tmp_path / "tw.db"
    async with await Store.open(db):
        pass
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version=99")
    (tmp_path / "none.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("TELEWATCH_CONFIG", str(tmp_path / "none.toml"))
    assert await asyncio.to_thread(main, ["--db", str(db), *command]) == 4
    err = capsys.readouterr().err
    assert "newer than this telewatch" in err
    assert "heartbeat" not in err
