"""Ctrl-C (SIGINT to the whole process group, as a terminal sends it) during an import or while
standard input is copied: one line saying what was kept, exit 130, no traceback from any process,
the database consistent, no temporary files left."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
TELEWATCH = [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())"]
CONFIG = '[[rules]]\nname = "evacuation"\nany = ["эвакуация", "Суджа"]\n'


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "telewatch.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "spool").mkdir()
    return tmp_path


def env(home: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TELEWATCH_")}
    return {
        **clean,
        "PYTHONPATH": str(ROOT),
        "TELEWATCH_CONFIG": str(home / "telewatch.toml"),
        "TELEWATCH_DB": str(home / "tw.db"),
        "TMPDIR": str(home / "spool"),
    }


def write_posts(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        for i in range(1, count + 1):
            record = {
                "channel": f"@chan_{100 + i % 40}",
                "id": i,
                "date": "2024-08-06T08:00:00Z",
                "text": f"Жителей эвакуировали из Суджи, сообщение {i}; погода солнечная, ветер слабый",
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def stored(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return int(conn.execute("SELECT count(*) FROM posts").fetchone()[0])
    except sqlite3.Error:
        return 0


def interrupt(proc: subprocess.Popen[str]) -> tuple[int, str]:
    family = [proc.pid, *(p.pid for p in psutil.Process(proc.pid).children(recursive=True))]
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole group
    _, err = proc.communicate(timeout=60)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(psutil.pid_exists(p) for p in family[1:]):
        time.sleep(0.05)
    alive = [p for p in family[1:] if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"]
    assert not alive, f"processes outlived the import: {alive}"
    return proc.returncode, err


def test_ctrl_c_during_a_big_import_is_one_line_and_keeps_every_counted_batch(home: Path) -> None:
    write_posts(home / "big.jsonl", 200_000)
    with subprocess.Popen(
        [*TELEWATCH, "import", str(home / "big.jsonl")],
        cwd=home,
        env=env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as proc:
        deadline = time.monotonic() + 120
        while stored(home / "tw.db") < 6000 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)  # past the first batches: the matcher worker is running
        assert proc.poll() is None, "the import ended before it could be interrupted"
        code, err = interrupt(proc)
    assert code == 130
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("interrupted; ")
    assert lines[0].endswith(" posts stored, run the same import again to resume")
    count = int(lines[0].split()[1].replace(",", ""))
    with sqlite3.connect(home / "tw.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM posts").fetchone()[0] == count
        matched = conn.execute("SELECT count(DISTINCT post_id) FROM matches").fetchone()[0]
    assert 0 < count < 200_000
    assert matched == count  # every stored post was matched in its own transaction


def test_ctrl_c_while_standard_input_is_copied_stops_it_and_removes_the_copy(home: Path) -> None:
    with subprocess.Popen(
        [*TELEWATCH, "import", "-"],
        cwd=home,
        env=env(home),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as proc:
        assert proc.stdin is not None
        proc.stdin.write('{"channel": "@gov_test", "id": 1, "date": "2024-08-06", "text": "x"}\n' * 5000)
        proc.stdin.flush()  # and never closed: telewatch waits for more
        deadline = time.monotonic() + 30
        while not list((home / "spool").glob("*/stdin")) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        code, err = interrupt(proc)
    assert code == 130
    assert err.strip() == "interrupted while reading standard input; nothing was imported"
    assert list((home / "spool").iterdir()) == []
    assert not (home / "tw.db").exists()


def test_an_empty_standard_input_is_named_as_such(home: Path) -> None:
    done = subprocess.run(
        [*TELEWATCH, "import", "-"], cwd=home, env=env(home), input="", capture_output=True, text=True
    )
    assert done.returncode == 3
    assert done.stderr.startswith("error: standard input: the file is empty"), done.stderr
    assert "spool" not in done.stderr
    assert "telewatch-import" not in done.stderr
    assert list((home / "spool").iterdir()) == []


def test_standard_input_stops_with_one_line_when_its_disk_runs_low(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    import bot.cli.importing
    from bot.cli import main

    for key, value in env(home).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(bot.cli.importing, "SPOOL_CHUNK", 64)
    line = '{"channel": "@gov_test", "id": 1, "date": "2024-08-06", "text": "x"}\n'
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(line.encode() * 100), encoding="utf-8"))
    low = shutil.disk_usage(home)._replace(total=100 << 30, free=(512 << 20) - 1)  # just under the reserve
    monkeypatch.setattr(bot.cli.importing.shutil, "disk_usage", lambda _: low)
    assert main(["import", "-"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith("error: standard input: stopped copying it after 0 MiB")
    assert "nothing was imported" in err
    assert list((home / "spool").iterdir()) == []
    assert not (home / "tw.db").exists()


def _matcher_worker_started(pid: int) -> bool:
    return any(
        "multiprocessing" in " ".join(p.cmdline()) for p in psutil.Process(pid).children(recursive=True)
    )


@pytest.mark.parametrize(
    ("moment", "sig"),
    [
        ("start-up", signal.SIGINT),
        ("worker spawn", signal.SIGINT),
        ("mid-batch", signal.SIGINT),
        ("mid-batch", signal.SIGTERM),
    ],
)
def test_a_stop_at_any_moment_of_an_import_is_exactly_one_line(
    home: Path, moment: str, sig: signal.Signals
) -> None:
    write_posts(home / "big.jsonl", 60_000)
    with subprocess.Popen(
        [*TELEWATCH, "import", str(home / "big.jsonl")],
        cwd=home,
        env=env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as proc:
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if moment == "start-up" and (home / "tw.db").exists():
                break
            if moment == "worker spawn" and _matcher_worker_started(proc.pid):
                break
            if moment == "mid-batch" and stored(home / "tw.db") >= 3000:
                break
            time.sleep(0.005)
        assert proc.poll() is None, "the import ended before it could be stopped"
        os.killpg(proc.pid, sig)  # the whole group, as Ctrl-C or `timeout -s TERM` does
        _, err = proc.communicate(timeout=60)
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    word = "interrupted" if sig == signal.SIGINT else "stopped (SIGTERM)"
    assert lines[0] in ("aborted", "stopped (SIGTERM)") or (
        lines[0].startswith(f"{word}; ")
        and lines[0].endswith(" posts stored, run the same import again to resume")
    ), err
    assert proc.returncode == 128 + sig
    assert "leaked" not in err
    with sqlite3.connect(home / "tw.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
