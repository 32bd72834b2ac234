"""Commands that only read, and `telewatch web`, never create, fill or alter a database file: a missing,
empty, non-SQLite or table-less file is refused in one line with exit code 4, the file left as it was."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from bot.cli import main

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
