"""Replay, import --alert and config check say which alerts were not delivered and why; none fail silently."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bot.cli import main
from storage.store import Store

RULES = """
[[channels]]
ref = "@gov_test"

[[rules]]
name = "evacuation"
any = ["эвакуация", "эвакуировать"]
"""
POSTS = [
    {"channel": "@gov_test", "id": 1, "date": "2024-08-06T08:00:00Z", "text": "Жители эвакуированы из Суджи"},
    {"channel": "@gov_test", "id": 2, "date": "2024-08-06T09:00:00Z", "text": "Объявлена эвакуация"},
]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "posts.jsonl").write_text(
        "\n".join(json.dumps(p, ensure_ascii=False) for p in POSTS) + "\n", encoding="utf-8"
    )
    (tmp_path / "a-file").write_text("not a folder\n", encoding="utf-8")
    monkeypatch.setenv("TELEWATCH_CONFIG", str(tmp_path / "telewatch.toml"))
    monkeypatch.setenv("TELEWATCH_DB", str(tmp_path / "tw.db"))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def configure(env: Path, route: str) -> None:
    (env / "telewatch.toml").write_text(RULES + route, encoding="utf-8")


def statuses(env: Path) -> list[tuple[str, str | None]]:
    async def read() -> list[tuple[str, str | None]]:
        async with await Store.open(env / "tw.db") as store:
            return [(r["status"], r["last_error"]) for r in await store.alerts.listing()]

    return asyncio.run(read())


UNWRITABLE = '[[routes]]\nname = "log"\nsink = "jsonl"\ntarget = "a-file/alerts.jsonl"\n'
TELEGRAM = '[[routes]]\nname = "desk"\nsink = "telegram"\ntarget = "@desk"\n'


def test_replay_into_an_unwritable_jsonl_route_names_the_alerts_and_fails(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    configure(env, UNWRITABLE)
    capsys.readouterr()
    assert main(["replay", "posts.jsonl", "--speed", "0"]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "2 alert(s) for route 'log' (jsonl → " in err
    assert "a-file/alerts.jsonl) not delivered yet: cannot write alerts to" in err
    assert "error: 2 alert(s) could not be delivered" in err
    assert "Traceback" not in err
    assert [s for s, _ in statuses(env)] == ["pending", "pending"]  # kept for a later try, not lost


@pytest.mark.parametrize(
    "command", [["replay", "posts.jsonl", "--speed", "0"], ["import", "posts.jsonl", "--alert"]]
)
def test_a_telegram_route_outside_run_keeps_alerts_pending_for_run_and_says_so(
    env: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    configure(env, TELEGRAM)
    capsys.readouterr()
    assert main(command) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "2 alert(s) for route 'desk' (telegram → @desk) kept pending for `telewatch run`" in err
    assert {s for s, _ in statuses(env)} == {"pending"}  # never 'failed' for lack of a sink here
    capsys.readouterr()
    assert main(["alerts", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["alerts"]
    assert {a["waiting_for"] for a in listed} == {
        "`telewatch run`: the telegram sink sends only while telewatch runs"
    }


def test_config_check_tests_that_jsonl_targets_are_writable(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    configure(env, UNWRITABLE)
    capsys.readouterr()
    assert main(["config", "check"]) == 2
    err = capsys.readouterr().err
    first = err.splitlines()[0]
    assert "route 'log'" in first
    assert "a-file/alerts.jsonl" in first
    assert "not writable" in first
    configure(env, '[[routes]]\nname = "log"\nsink = "jsonl"\ntarget = "out/new/alerts.jsonl"\n')
    assert main(["config", "check"]) == 0
    assert not (env / "out").exists()  # checking creates nothing
