"""Small promises of the CLI: counts validated, BOMs accepted, typos warned about, folders and stdin imported."""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import pytest

from bot.cli import main

POSTS = [
    {"channel": "@gov_test", "id": 1, "date": "2024-08-06T08:00:00Z", "text": "Жителей эвакуировали"},
    {"channel": "@gov_test", "id": 2, "date": "2024-08-06T09:00:00Z", "text": "Погода: солнечно"},
    {"channel": "@news_test", "id": 5, "date": "2024-08-06T10:00:00Z", "text": "Обстрел окраин"},
]
CONFIG = '[[rules]]\nname = "evacuation"\nany = ["эвакуация"]\n\n[telegram]\nsession_dir = "sessions"\n'


def jsonl(lines: list[dict[str, object]]) -> str:
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in [k for k in os.environ if k.startswith("TELEWATCH_")]:
        monkeypatch.delenv(key)
    (tmp_path / "telewatch.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "posts.jsonl").write_text(jsonl(POSTS), encoding="utf-8")
    monkeypatch.setenv("TELEWATCH_CONFIG", str(tmp_path / "telewatch.toml"))
    monkeypatch.setenv("TELEWATCH_DB", str(tmp_path / "tw.db"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def errors(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize(
    "args",
    [
        ["posts", "search", "x", "--limit", "-1"],
        ["posts", "recent", "-n", "-5"],
        ["posts", "recent", "-n", "0"],
        ["alerts", "list", "--limit", "-1"],
        ["import", "posts.jsonl", "--show-bad", "-1"],
        ["replay", "posts.jsonl", "--speed", "-2"],
        ["demo", "--speed", "-1"],
        ["rules", "test", "--post", "-3"],
    ],
)
def test_negative_counts_are_usage_errors(
    home: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    assert main(["import", "posts.jsonl"]) == 0
    capsys.readouterr()
    assert main(args) == 2
    assert "is not in the range" in errors(capsys)


def test_a_config_with_a_byte_order_mark_is_read(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (home / "telewatch.toml").write_bytes(b"\xef\xbb\xbf" + CONFIG.encode())
    (home / ".env").write_bytes(b"\xef\xbb\xbfTELEWATCH_API_HASH=0123456789abcdef0123456789abcdef\n")
    assert main(["config", "check"]) == 0
    out = capsys.readouterr()
    assert "1 rules" in out.out
    assert "api_hash set" in out.out
    assert "warning" not in out.err


@pytest.mark.parametrize("where", ["environment", ".env"])
def test_a_misspelled_telewatch_key_is_warned_about_with_a_suggestion(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    if where == "environment":
        monkeypatch.setenv("TELEWATCH_APIHASH", "0123456789abcdef0123456789abcdef")
    else:
        (home / ".env").write_text("TELEWATCH_APIHASH=0123456789abcdef0123456789abcdef\n", encoding="utf-8")
    assert main(["rules", "test", "эвакуация"]) == 0
    warnings = [line for line in errors(capsys).splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert "TELEWATCH_APIHASH" in warnings[0]
    assert "did you mean TELEWATCH_API_HASH?" in warnings[0]
    assert where in warnings[0]


def test_a_missing_default_config_is_one_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in [k for k in os.environ if k.startswith("TELEWATCH_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    assert main(["rules", "test", "--pack", "evacuation", "эвакуация"]) == 0
    warnings = [line for line in errors(capsys).splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert "no config file at config/telewatch.toml" in warnings[0]


def test_a_pack_rule_shadowed_by_a_config_rule_is_said(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rules", "test", "--pack", "evacuation", "эвакуация"]) == 0
    err = errors(capsys)
    assert "--pack evacuation: rule 'evacuation' is not used" in err


def test_a_folder_imports_every_recognised_file_sorted_with_a_report_each(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = home / "dump"
    folder.mkdir()
    (folder / "b.jsonl").write_text(jsonl(POSTS[1:]), encoding="utf-8")
    (folder / "a.jsonl").write_text(jsonl(POSTS[:1]), encoding="utf-8")
    (folder / "readme.html").write_text("<html>not posts</html>", encoding="utf-8")
    (folder / ".hidden.jsonl").write_text("garbage", encoding="utf-8")
    assert main(["import", str(folder), "--json"]) == 0
    captured = capsys.readouterr()
    rows = json.loads(captured.out)
    assert [(Path(r["file"]).name, r["new"]) for r in rows] == [("a.jsonl", 1), ("b.jsonl", 2)]
    assert "skipped" in captured.err
    assert "readme.html" in captured.err


def test_a_folder_with_nothing_importable_is_refused(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (home / "empty").mkdir()
    assert main(["import", str(home / "empty")]) == 3
    assert "no file in it" in errors(capsys)


def test_import_dash_reads_standard_input(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(("# piped\n" + jsonl(POSTS)).encode()), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stdin)
    assert main(["import", "-", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["file"], report["format"], report["new"]) == ("standard input", "jsonl", 3)


def test_bad_records_on_standard_input_name_it_standard_input(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = "{not json\n" + jsonl(POSTS)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data.encode()), encoding="utf-8"))
    assert main(["import", "-"]) == 0
    captured = capsys.readouterr()
    assert "bad record standard input line 1" in " ".join(captured.err.split())
    assert "bad record -" not in captured.err
    assert "standard input" in captured.out  # the report table's file column


@pytest.mark.parametrize(
    ("path", "message"),
    [("/dev/null", "/dev/null: not a regular file"), ("missing.jsonl", "missing.jsonl: no such file")],
)
def test_an_input_that_is_no_file_is_one_line_and_exit_3(
    home: Path, capsys: pytest.CaptureFixture[str], path: str, message: str
) -> None:
    assert main(["import", path]) == 3
    err = capsys.readouterr().err
    assert message in err
    assert "Invalid value" not in err
    assert "Traceback" not in err


def test_import_dash_detects_other_formats_and_refuses_unknown_ones(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    dump = [
        {
            "_": "Message",
            "id": 9,
            "peer_id": {"_": "PeerChannel", "channel_id": 77},
            "date": "2024-08-06 10:00:00+00:00",
            "message": "Жителей эвакуировали",
            "post": True,
        }
    ]
    monkeypatch.setattr(
        sys, "stdin", io.TextIOWrapper(io.BytesIO(json.dumps(dump).encode()), encoding="utf-8")
    )
    assert main(["import", "-", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["format"], report["new"]) == ("telethon", 1)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"<html>"), encoding="utf-8"))
    assert main(["import", "-"]) == 3
    assert "first byte '<'" in errors(capsys)


def test_status_describes_the_database_read_only_and_creates_nothing(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", "posts.jsonl"]) == 0
    before = sorted(p.name for p in home.iterdir())
    capsys.readouterr()
    assert main(["status", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["database"]["posts"] == 3
    assert data["database"]["channels"] == 2
    assert data["running"] is False
    assert sorted(p.name for p in home.iterdir()) == before
    assert main(["status"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # unwrapped
    assert "3 posts in 2 channels" in out
    assert "no channel resolved by a live run yet" in out
