"""The CLI through its entry point: demo, import, posts search/recent/show, alerts list/review, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main

LINES = [
    {
        "channel": "@gov_test",
        "channel_title": "Губернатор",
        "id": 1,
        "date": "2024-08-06T08:00:00Z",
        "text": "Несколько тысяч жителей эвакуированы из Суджи",
    },
    {"channel": "@gov_test", "id": 2, "date": "2024-08-06T09:00:00Z", "text": "Погода: солнечно"},
    {"channel": "@milblog_test", "id": 7, "date": "2024-08-06T10:00:00Z", "text": "Обстрел окраин Суджи"},
    {
        "channel": "@gov_test",
        "id": 2,
        "date": "2024-08-06T09:00:00Z",
        "text": "Погода: солнечно. Объявлена эвакуация",
        "edit_date": "2024-08-06T11:00:00Z",
        "event": "edit",
    },
    {"event": "delete", "channel": "@milblog_test", "ids": [7]},
]
CONFIG = """
[[channels]]
ref = "@gov_test"
label = "official"

[[rules]]
name = "evacuation"
any = ["эвакуация", "эвакуировать"]
severity = "critical"
"""


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config, a JSONL file and a database path in tmp_path, passed through the environment."""
    (tmp_path / "telewatch.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "posts.jsonl").write_text(
        "\n".join(json.dumps(line, ensure_ascii=False) for line in LINES) + "\n{broken\n", encoding="utf-8"
    )
    monkeypatch.setenv("TELEWATCH_CONFIG", str(tmp_path / "telewatch.toml"))
    monkeypatch.setenv("TELEWATCH_DB", str(tmp_path / "tw.db"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> object:
    capsys.readouterr()
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_import_reports_counts_and_bad_records_and_is_idempotent(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = run_json(capsys, "import", str(env / "posts.jsonl"))
    assert isinstance(first, dict)
    assert (first["new"], first["edited"], first["deleted"], first["bad"]) == (3, 1, 1, 1)
    assert first["bad_records"][0]["position"] == "line 6"
    assert first["matches"] == 2
    again = run_json(capsys, "import", str(env / "posts.jsonl"))
    assert isinstance(again, dict)
    assert (again["new"], again["edited"], again["unchanged"], again["deleted"]) == (0, 0, 4, 0)


def test_search_recent_and_show_with_history(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(env / "posts.jsonl")]) == 0
    found = run_json(capsys, "posts", "search", "суджи")
    assert isinstance(found, list)
    assert {p["message_id"] for p in found} == {1, 7}
    official = run_json(capsys, "posts", "recent", "--label", "official")
    assert isinstance(official, list)
    assert {p["channel"] for p in official} == {"gov_test"}
    shown = run_json(capsys, "posts", "show", "@gov_test/2")
    assert isinstance(shown, dict)
    assert [v["text"] for v in shown["history"]] == [
        "Погода: солнечно",
        "Погода: солнечно. Объявлена эвакуация",
    ]
    assert shown["matches"][0]["rule"] == "evacuation"
    deleted = run_json(capsys, "posts", "show", "https://t.me/milblog_test/7")
    assert isinstance(deleted, dict)
    assert deleted["deleted_at"]


def test_show_as_a_table_prints_the_history(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(env / "posts.jsonl")]) == 0
    capsys.readouterr()
    assert main(["posts", "show", "@gov_test/2"]) == 0
    out = capsys.readouterr().out
    assert "edit history (2 versions)" in out
    assert "Объявлена эвакуация" in out


def test_alerts_list_and_review_feed_precision(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "--alert", str(env / "posts.jsonl")]) == 0
    listing = run_json(capsys, "alerts", "list")
    assert isinstance(listing, dict)
    ids = [a["id"] for a in listing["alerts"]]
    assert len(ids) == 2
    assert all(a["status"] == "sent" for a in listing["alerts"])
    assert main(["alerts", "review", str(ids[0]), "relevant"]) == 0
    assert main(["alerts", "review", str(ids[1]), "fp"]) == 0
    listing = run_json(capsys, "alerts", "list", "--review", "relevant")
    assert isinstance(listing, dict)
    assert [a["id"] for a in listing["alerts"]] == [ids[0]]
    assert listing["precision"][0]["precision"] == 0.5


def test_demo_runs_the_whole_pipeline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["--db", str(tmp_path / "demo.db"), "demo", "--speed", "0"]) == 0
    out = capsys.readouterr().out
    assert "demo summary" in out
    assert "alerts delivered" in out
    found = run_json(capsys, "--db", str(tmp_path / "demo.db"), "posts", "search", "Суджа")
    assert isinstance(found, list)
    assert found


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["posts", "show", "999"], 5, "no post with id 999"),
        (["posts", "search", "x", "--channel", "@nobody_here"], 5, "no stored channel"),
        (["alerts", "review", "42", "relevant"], 5, "no alert with id 42"),
        (["posts", "recent", "--since", "last tuesday"], 2, "is not a date"),
    ],
)
def test_errors_are_one_line_with_a_meaningful_exit_code(
    env: Path, capsys: pytest.CaptureFixture[str], args: list[str], code: int, message: str
) -> None:
    assert main(["import", str(env / "posts.jsonl")]) == 0
    capsys.readouterr()
    assert main(args) == code
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_a_file_in_no_known_format_is_refused_clearly(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (env / "page.html").write_text("<html>not posts</html>", encoding="utf-8")
    assert main(["import", str(env / "page.html")]) == 3
    err = capsys.readouterr().err
    assert "page.html" in err
    assert "Traceback" not in err


def test_a_post_alerted_on_two_routes_shows_each_route_and_counts_once_in_precision(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    routes = "".join(
        f'\n[[routes]]\nname = "{name}"\nsink = "jsonl"\ntarget = "{env / (name + ".jsonl")}"\n'
        for name in ("ops-file", "log-file")
    )
    (env / "telewatch.toml").write_text(CONFIG + routes, encoding="utf-8")
    assert main(["import", "--alert", str(env / "posts.jsonl")]) == 0
    listing = run_json(capsys, "alerts", "list")
    assert isinstance(listing, dict)
    first = [a for a in listing["alerts"] if a["message_id"] == 1]
    assert sorted(a["route"] for a in first) == ["log-file", "ops-file"]
    monkeypatch.setenv("COLUMNS", "80")
    capsys.readouterr()
    assert main(["alerts", "list"]) == 0
    table = capsys.readouterr().out
    assert "ops-file" in table
    assert "log-file" in table
    assert main(["alerts", "review", str(first[0]["id"]), "relevant"]) == 0
    listing = run_json(capsys, "alerts", "list")
    assert isinstance(listing, dict)
    assert {a["review"] for a in listing["alerts"] if a["message_id"] == 1} == {"relevant"}
    (evacuation,) = listing["precision"]
    assert (evacuation["relevant"], evacuation["false_positive"], evacuation["precision"]) == (1, 0, 1.0)


def test_a_search_with_too_many_terms_is_one_line_exit_2(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """#11: 'a* ' x 3200 took ~10 s per search on PostgreSQL."""
    assert main(["import", str(env / "posts.jsonl")]) == 0
    capsys.readouterr()
    assert main(["posts", "search", "a* " * 3200]) == 2
    err = capsys.readouterr().err
    assert "the search has 3,200 terms; at most 32" in err
    assert "Traceback" not in err
    ok = " OR ".join(["суджи"] + [f'"w{i} x{i}"' for i in range(31)])  # 32 terms, operators not counted
    assert main(["posts", "search", ok]) == 0
