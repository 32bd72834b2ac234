"""Storage faults through the real CLI: one line and a hint on stderr, exit 4, no traceback, data intact.

Each case builds a real database with `telewatch import`, breaks its storage (a full disk, a read-only
file system, garbage written into the middle of the file, a mistyped path), runs commands, and checks
the database afterwards with PRAGMA integrity_check and its counts.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.cli import main
from bot.ingest.importer import BATCH
from storage.db import LATEST_VERSION

STORAGE_EXIT = 4
TELEWATCH = [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())"]


def write_posts(path: Path, count: int, *, words: int = 3, first: int = 1) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for i in range(first, first + count):
            text = " ".join(f"эвакуация{i}x{w}" for w in range(words))
            line = {"channel": "@hostile_test", "id": i, "date": "2024-08-06T10:00:00+00:00", "text": text}
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
    return path


def counts(db: Path) -> tuple[str, int, int]:
    """integrity_check's answer, and the numbers of posts and of full-text rows (read-only)."""
    uri = db.resolve().as_uri()
    conn = sqlite3.connect(f"{uri}?mode=ro", uri=True)
    try:
        conn.execute("PRAGMA schema_version").fetchone()
    except sqlite3.OperationalError:  # on read-only media the WAL index cannot be made: nobody writes
        conn.close()
        conn = sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True)
    try:
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
        posts = conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0]
        fts = conn.execute("SELECT COUNT(*) FROM posts_fts").fetchone()[0]
    finally:
        conn.close()
    return str(check), int(posts), int(fts)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Outcome:
    code: int
    out: str
    err: str


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> Outcome:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return Outcome(code, captured.out, captured.err)


def assert_one_storage_error(result: Outcome, *fragments: str) -> None:
    assert "Traceback" not in result.err
    assert result.code == STORAGE_EXIT, result.err
    lines = [line for line in result.err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, result.err
    assert all(line.startswith(("error: ", "hint: ", "warning: ")) for line in lines), result.err
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with a config of its own (so no warning about a missing default one)."""
    (tmp_path / "telewatch.toml").write_text(
        '[[rules]]\nname = "evacuation"\nany = ["эвакуация"]\n\n[telegram]\nsession_dir = "sessions"\n',
        encoding="utf-8",
    )
    for key in [k for k in os.environ if k.startswith("TELEWATCH_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("TELEWATCH_CONFIG", str(tmp_path / "telewatch.toml"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """Mount small tmpfs file systems (root only); all are unmounted at the end."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    mounted: list[Path] = []

    def mount(name: str, size: str = "2m") -> Path:
        where = tmp_path / name
        where.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(where)
        return where

    yield mount
    for where in reversed(mounted):
        subprocess.run(["umount", "-l", str(where)], check=False)


def remount_read_only(where: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)


def test_a_full_disk_stops_the_import_in_one_line_and_keeps_what_was_committed(
    home: Path, tmpfs: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    disk = tmpfs("full", "1m")
    db = disk / "tw.db"
    assert run_cli(capsys, "--db", str(db), "import", str(write_posts(home / "few.jsonl", 20))).code == 0
    _, before, _ = counts(db)
    big = write_posts(home / "big.jsonl", 3 * BATCH, words=40, first=1000)
    result = run_cli(capsys, "--db", str(db), "import", str(big))
    assert_one_storage_error(result, "the disk is full", str(db))
    assert "hint: free space" in result.err
    check, posts, fts = counts(db)
    assert check == "ok"
    assert posts == fts
    assert (posts - before) % BATCH == 0, "a batch is stored whole or not at all"
    # Reading still works on the full disk.
    found = run_cli(capsys, "--db", str(db), "posts", "search", "эвакуация5x0", "--json")
    assert found.code == 0
    assert [p["message_id"] for p in json.loads(found.out)] == [5]


def test_a_read_only_archive_is_searchable_and_writes_are_refused_in_one_line(
    home: Path, tmpfs: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    disk = tmpfs("ro")
    db = disk / "tw.db"
    assert run_cli(capsys, "--db", str(db), "import", str(write_posts(home / "p.jsonl", 30))).code == 0
    remount_read_only(disk)
    before, listing = digest(db), sorted(os.listdir(disk))
    for reading in (
        ["posts", "search", "эвакуация7x1", "--json"],
        ["posts", "recent", "-n", "3", "--json"],
        ["posts", "show", "@hostile_test/7", "--json"],
        ["alerts", "list", "--json"],
        ["status", "--json"],
        ["db", "stats", "--json"],
    ):
        result = run_cli(capsys, "--db", str(db), *reading)
        assert result.code == 0, (reading, result.err)
        assert "Traceback" not in result.err
    found = run_cli(capsys, "--db", str(db), "posts", "search", "эвакуация7x1", "--json")
    assert [p["message_id"] for p in json.loads(found.out)] == [7]
    for writing in (
        ["import", str(write_posts(home / "more.jsonl", 5, first=100))],
        ["alerts", "review", "1", "relevant"],
    ):
        result = run_cli(capsys, "--db", str(db), *writing)
        assert_one_storage_error(result, "read-only")
    assert digest(db) == before
    assert sorted(os.listdir(disk)) == listing
    assert counts(db) == ("ok", 30, 30)


@dataclass(frozen=True)
class Case:
    """A way to break the database file, the commands to run on it, what the error must say."""

    name: str
    damage: Callable[[Path], None]
    commands: tuple[tuple[str, ...], ...]
    says: str


def garbage_in_the_middle(db: Path) -> None:
    size = db.stat().st_size
    pages = size // 4096
    with db.open("r+b") as f:  # every page past the first few: the posts, the FTS index, the alerts
        f.seek(4096 * 4)
        f.write(os.urandom(4096 * (pages - 4)))


def not_a_database(db: Path) -> None:
    db.write_bytes(b"these are meeting notes, not a database\n" * 500)


def from_a_newer_telewatch(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version={LATEST_VERSION + 1}")
    conn.close()


READ = (("posts", "search", "эвакуация"), ("posts", "recent"), ("status",), ("alerts", "list"))
CASES = [
    Case("garbage in the middle", garbage_in_the_middle, (*READ, ("import", "{more}")), "is damaged"),
    Case("not a database", not_a_database, (*READ, ("import", "{more}")), "not a telewatch database"),
    Case("newer schema", from_a_newer_telewatch, (*READ, ("import", "{more}")), "newer than this telewatch"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_broken_database_file_is_one_line_and_left_as_it_was(
    home: Path, capsys: pytest.CaptureFixture[str], case: Case
) -> None:
    db = home / "tw.db"
    assert (
        run_cli(capsys, "--db", str(db), "import", str(write_posts(home / "p.jsonl", 300, words=30))).code
        == 0
    )
    case.damage(db)
    before = digest(db)
    more = str(write_posts(home / "more.jsonl", 5, first=1000))
    for command in case.commands:
        args = [more if a == "{more}" else a for a in command]
        result = run_cli(capsys, "--db", str(db), *args)
        assert_one_storage_error(result, case.says)
        assert digest(db) == before, f"{command} changed a broken database"
    assert sorted(p.name for p in home.iterdir() if p.name.startswith("tw.db")) == ["tw.db"]


@pytest.mark.parametrize(
    "command",
    [("posts", "search", "x"), ("posts", "recent"), ("posts", "show", "1"), ("alerts", "list"), ("status",)],
)
def test_a_mistyped_db_for_a_reading_command_creates_nothing(
    home: Path, capsys: pytest.CaptureFixture[str], command: tuple[str, ...]
) -> None:
    typo = home / "dta" / "telewatch.db"
    result = run_cli(capsys, "--db", str(typo), *command)
    assert_one_storage_error(result, f"no database at {typo}")
    assert not (home / "dta").exists()
    assert not (home / "sessions").exists()


def test_a_db_whose_folder_cannot_be_created_is_one_line(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (home / "notes").write_text("a file, not a folder", encoding="utf-8")
    result = run_cli(
        capsys, "--db", str(home / "notes" / "tw.db"), "import", str(write_posts(home / "p.jsonl", 3))
    )
    assert_one_storage_error(result, "cannot create the folder")
    assert (home / "notes").read_text(encoding="utf-8") == "a file, not a folder"


def test_an_older_read_only_schema_is_named_in_one_line(
    home: Path, tmpfs: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    disk = tmpfs("old")
    db = disk / "tw.db"
    assert run_cli(capsys, "--db", str(db), "import", str(write_posts(home / "p.jsonl", 3))).code == 0
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version={LATEST_VERSION - 1}")
    conn.close()
    remount_read_only(disk)
    result = run_cli(capsys, "--db", str(db), "posts", "recent")
    assert_one_storage_error(result, "older than this telewatch", "read-only")


# Without root (no tmpfs): a file size limit makes every write past it fail, as a full disk does.
FSIZE = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
from bot.cli import main
sys.exit(main(sys.argv[2:]))
"""


def test_writes_past_a_file_size_limit_stop_the_import_in_one_line(home: Path) -> None:
    db = home / "tw.db"
    big = write_posts(home / "big.jsonl", 3 * BATCH, words=40)
    done = subprocess.run(
        [sys.executable, "-c", FSIZE, "600000", "--db", str(db), "import", str(big)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=home,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert_one_storage_error(Outcome(done.returncode, done.stdout, done.stderr), str(db))
    check, posts, fts = counts(db)
    assert check == "ok"
    assert posts == fts
    assert posts % BATCH == 0


@pytest.mark.parametrize("round_", range(3))
def test_two_first_imports_into_a_new_database_at_once_both_succeed(home: Path, round_: int) -> None:
    db = home / f"new{round_}" / "tw.db"
    files = [write_posts(home / f"p{i}.jsonl", 50, first=1 + 100 * i) for i in range(2)]
    procs = [
        subprocess.Popen(
            [*TELEWATCH, "--db", str(db), "import", str(file)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=home,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        )
        for file in files
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "already exists" not in err
    assert counts(db) == ("ok", 100, 100)
