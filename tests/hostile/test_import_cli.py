"""`telewatch import FILE` on hostile files: one line on stderr, exit 3, no traceback, bounded memory and time."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

MEMORY_LIMIT = 1 << 30  # address space of the import process: the 24 GB case must fail fast or fit
TIME_LIMIT = 60  # seconds; a hang guard, not a benchmark

POST = {"channel": "@alpha", "id": 1, "date": "2024-08-07T06:30:00+00:00", "text": "x"}


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(tmp_path), "NO_COLOR": "1", "COLUMNS": "200"}
    config = tmp_path / "telewatch.toml"
    config.write_text("", encoding="utf-8")  # defaults: no warning about a missing config file
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from bot.cli import main; sys.exit(main())",
            "--config",
            str(config),
            "--db",
            str(tmp_path / "t.db"),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=TIME_LIMIT,
        preexec_fn=_limits,
        env=env,
        cwd=tmp_path,
        check=False,
    )


CASES: dict[str, tuple[Callable[[], bytes], str]] = {
    "deep-brackets": (lambda: b"[" * 100_000 + b"]" * 100_000 + b"\n", "nested deeper than 256 levels"),
    "deep-object": (
        lambda: b'{"a":' * 100_000 + b"1" + b"}" * 100_000 + b"\n",
        "nested deeper than 256 levels (in bytes",
    ),
    "deep-one-line-export": (  # a Telegram Desktop export on one line, 5,000 deep: the file's byte range
        lambda: (
            b'{"name":"A","type":"public_channel","id":1,"messages":[{"id":1,"text":'
            + b"[" * 5_000
            + b"]" * 5_000
            + b"}]}"
        ),
        "nested deeper than 256 levels (in bytes",
    ),
    "deep-export": (
        lambda: b'{"name":"A",\n"type":"public_channel",\n"id":1,\n"messages":[' + b"[" * 100_000,
        "nested deeper than 256 levels",
    ),
    "huge-string-in-export": (
        lambda: (
            b'{"name":"A","type":"public_channel","id":1,"messages":[{"id":1,"text":"'
            + b"a" * (20 << 20)
            + b'"}]}'
        ),
        "a JSON string longer than 8 MiB",
    ),
    "empty": (lambda: b"", "the file is empty"),
    "binary": (lambda: b"\x00\xff\xfe" * 100, "not a telewatch JSONL"),
    "truncated-export": (lambda: b'{"name":"A","type":"public_channel","id":1,"messa', "result.json"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_hostile_file_ends_in_one_line_and_exit_3(tmp_path: Path, case: str) -> None:
    make, expected = CASES[case]
    path = tmp_path / "input.json"
    path.write_bytes(make())
    done = _run(tmp_path, "import", str(path))
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if not line.startswith("hint:")]
    assert len(lines) == 1, done.stderr
    assert str(path) in lines[0]
    assert expected in lines[0] or case == "truncated-export"


@pytest.mark.parametrize("depth", [257, 300, 1_000, 100_000])
def test_a_jsonl_line_nested_too_deep_is_a_bad_record_and_the_rest_imported(
    tmp_path: Path, depth: int
) -> None:
    deep = json.dumps({**POST, "id": 9}).encode()[:-1] + b', "x": ' + b"[" * depth + b"]" * depth + b"}"
    path = tmp_path / "posts.jsonl"
    path.write_bytes(deep + b"\n" + json.dumps({**POST, "id": 2}).encode() + b"\n")
    done = _run(tmp_path, "import", "--json", str(path))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["new"], report["bad"]) == (1, 1)
    assert "JSON nested too deeply to read (more than 256 levels)" in done.stdout


def test_a_50m_character_post_is_reported_and_the_rest_imported(tmp_path: Path) -> None:
    path = tmp_path / "posts.jsonl"
    with path.open("w", encoding="utf-8") as f:
        f.write(json.dumps({**POST, "text": "эвакуация " * 5_000_000}, ensure_ascii=False) + "\n")
        f.write(json.dumps({**POST, "id": 2}) + "\n")
    done = _run(tmp_path, "import", "--json", str(path))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["new"] == 1
    assert report["bad"] == 1
    assert "Traceback" not in done.stderr


HUGE = 99999999999999999999999  # over the signed 64-bit range SQLite stores


@pytest.mark.parametrize(
    ("bad", "reported"),
    [
        ({**POST, "id": HUGE}, "line 2: 'id' is out of range"),
        ({**POST, "id": 2, "views": HUGE}, "line 2: 'views' is out of range"),
        ({"event": "delete", "channel": "@alpha", "ids": [HUGE]}, "line 2: 'ids' is out of range"),
    ],
)
def test_an_out_of_range_integer_is_one_bad_record_and_the_import_goes_on(
    tmp_path: Path, bad: dict[str, object], reported: str
) -> None:
    path = tmp_path / "posts.jsonl"
    lines = [{**POST, "id": 1}, bad, {**POST, "id": 3, "text": "after"}]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    done = _run(tmp_path, "import", "--json", str(path))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "unexpected" not in done.stderr
    report = json.loads(done.stdout)
    assert (report["new"], report["bad"]) == (2, 1)
    [record] = report["bad_records"]
    assert f"{record['position']}: {record['reason']}".startswith(reported)


def test_a_lone_surrogate_in_a_text_is_replaced_and_the_post_kept(tmp_path: Path) -> None:
    path = tmp_path / "posts.jsonl"
    path.write_text(
        '{"channel":"@alpha","id":2,"date":1,"text":"lone \\ud800 eh","author":"\\udfff"}\n', encoding="utf-8"
    )
    done = _run(tmp_path, "import", "--json", str(path))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["new"] == 1
    shown = _run(tmp_path, "posts", "search", "lone")
    assert shown.returncode == 0, shown.stderr
    assert "lone \ufffd eh" in shown.stdout
