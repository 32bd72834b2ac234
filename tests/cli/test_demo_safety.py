"""`telewatch demo` only ever replaces a database it created itself; any other file is left untouched."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from bot.cli import main

SCENARIO = Path(__file__).resolve().parents[2] / "config" / "demo" / "scenario.jsonl"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A real archive: one imported post in a database the demo did not create."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TELEWATCH_DB", raising=False)
    monkeypatch.setenv("TELEWATCH_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("", encoding="utf-8")
    posts = tmp_path / "posts.jsonl"
    record = {"channel": "@archive", "id": 1, "date": "2024-08-06T08:00:00Z", "text": "kept forever"}
    posts.write_text(json.dumps(record) + "\n", encoding="utf-8")
    assert main(["--db", str(tmp_path / "a.db"), "import", str(posts)]) == 0
    return tmp_path / "a.db"


def test_demo_refuses_a_database_it_did_not_create_via_the_environment(
    archive: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prod = archive.parent / "prod.db"
    shutil.copy(archive, prod)
    before = digest(prod)
    capsys.readouterr()
    monkeypatch.setenv("TELEWATCH_DB", str(prod))
    assert main(["demo", "--speed", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: refusing to use")
    assert "was not created by `telewatch demo`" in err
    assert "Traceback" not in err
    assert digest(prod) == before


@pytest.mark.parametrize("content", [b"not a database at all\n" * 10, b"SQLite format 3\x00" + b"\x00" * 200])
def test_demo_refuses_any_file_that_is_not_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    monkeypatch.chdir(tmp_path)
    other = tmp_path / "notes.db"
    other.write_bytes(content)
    assert main(["--db", str(other), "demo", "--speed", "0"]) == 2
    assert other.read_bytes() == content
    assert "refusing" in capsys.readouterr().err


def test_demo_replaces_its_own_database_but_not_once_something_else_wrote_to_it(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo_db = archive.parent / "demo.db"
    assert main(["--db", str(demo_db), "demo", "--speed", "0", "--scenario", str(SCENARIO)]) == 0
    assert main(["--db", str(demo_db), "demo", "--speed", "0"]) == 0  # its own: replaced, no error
    capsys.readouterr()
    posts = archive.parent / "posts.jsonl"
    assert main(["--db", str(demo_db), "import", str(posts)]) == 0  # real work lands in the demo file
    before = digest(demo_db)
    assert main(["--db", str(demo_db), "demo", "--speed", "0"]) == 2
    assert "something else wrote to it" in capsys.readouterr().err
    assert digest(demo_db) == before


def test_init_force_keeps_the_replaced_config_beside_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A sibling of the demo's fault: `init --force` replaces a config, and must not lose the old one."""
    cfg = tmp_path / "telewatch.toml"
    cfg.write_text("# my channels and rules\n", encoding="utf-8")
    for _ in range(2):  # twice in the same second: two distinct copies, neither overwritten
        assert main(["--config", str(cfg), "init", "--force"]) == 0
    kept = sorted(tmp_path.glob("telewatch.toml.bak-*"))
    assert len(kept) == 2
    assert kept[0].read_text(encoding="utf-8") == "# my channels and rules\n"
    assert "kept as" in capsys.readouterr().out


def test_no_command_adds_its_tables_to_another_applications_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A sibling: any command opening `--db` used to write telewatch's schema into a foreign SQLite file."""
    import sqlite3

    other = tmp_path / "notes.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.execute("INSERT INTO notes VALUES ('precious')")
    conn.close()
    posts = tmp_path / "posts.jsonl"
    posts.write_text('{"channel": "@archive", "id": 1, "date": "2024-08-06T08:00:00Z"}\n', encoding="utf-8")
    capsys.readouterr()
    assert main(["--db", str(other), "import", str(posts)]) == 4
    err = capsys.readouterr().err
    assert "another application, not telewatch's (tables: notes)" in err
    with sqlite3.connect(other) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        assert (tables, conn.execute("PRAGMA user_version").fetchone()[0]) == (["notes"], 0)
    conn.close()


@pytest.mark.parametrize("change", ["edit", "delete", "review"])
def test_demo_refuses_its_database_after_any_change_that_keeps_the_post_count(
    archive: Path, capsys: pytest.CaptureFixture[str], change: str
) -> None:
    """An edit, a deletion or a review mark leaves the post count alone; the demo used to wipe them."""
    demo_db = archive.parent / "demo.db"
    assert main(["--db", str(demo_db), "demo", "--speed", "0"]) == 0
    if change == "review":
        assert main(["--db", str(demo_db), "alerts", "review", "1", "fp"]) == 0
    else:
        event = (
            {
                "event": "edit",
                "channel": "@kursk_governor_demo",
                "id": 507,
                "date": "2024-08-06T11:45:00+00:00",
                "edit_date": "2024-08-07T09:00:00+00:00",
                "text": "MY EDIT",
            }
            if change == "edit"
            else {"event": "delete", "channel": "@kursk_governor_demo", "ids": [510]}
        )
        changes = archive.parent / "changes.jsonl"
        changes.write_text(json.dumps(event) + "\n", encoding="utf-8")
        assert main(["--db", str(demo_db), "import", str(changes)]) == 0
    capsys.readouterr()
    before = digest(demo_db)
    assert main(["--db", str(demo_db), "demo", "--speed", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"error: refusing to empty {demo_db}: it was created by `telewatch demo` but changed"
    )
    assert digest(demo_db) == before


def test_a_refused_foreign_database_is_not_modified_and_named_as_foreign(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Opening it used to switch it to WAL before the refusal; reading said "schema version 0, older"."""
    import sqlite3

    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    before = digest(other)
    assert main(["--db", str(other), "import", str(SCENARIO)]) == 4
    assert main(["--db", str(other), "posts", "recent"]) == 4
    err = capsys.readouterr().err
    assert err.count("is an SQLite database of another application, not telewatch's (tables: t)") == 2
    assert "schema version" not in err
    assert digest(other) == before
    with sqlite3.connect(other) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]


def test_demo_with_a_postgresql_config_says_first_it_uses_its_own_sqlite_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TELEWATCH_DB", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    cfg = tmp_path / "pg.toml"
    cfg.write_text('[storage]\nurl = "postgresql://telewatch@127.0.0.1:1/telewatch"\n', encoding="utf-8")
    assert main(["--config", str(cfg), "demo", "--speed", "0"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("demo: uses its own SQLite file data/demo.db and the bundled config")
    assert f"not [storage] url of {cfg}" in first
    assert (tmp_path / "data" / "demo.db").is_file()
