"""`telewatch rules test / check / rescan / packs` through the real entry point, with a real SQLite archive."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import pytest

from bot.cli import main
from storage.store import Store

CONFIG = """
[[channels]]
ref = "@gov_test"
label = "official"

[[rules]]
name = "evacuation"
any = ["эвакуация", "эвакуировать"]
none = ["эвакуатор"]
severity = "critical"

[[rules]]
name = "sudzha-near"
near = [["эвакуировать", "Суджа", 3]]
"""
NEW_RULE = """
[[rules]]
name = "sudzha"
any = ["Суджа"]
"""
POSTS = [
    {"channel": "@gov_test", "id": 1, "date": "2024-08-06T08:00:00Z", "text": "Жители эвакуированы из Суджи"},
    {"channel": "@gov_test", "id": 2, "date": "2024-08-06T09:00:00Z", "text": "Погода: солнечно"},
    {"channel": "@milblog_test", "id": 7, "date": "2024-08-07T10:00:00Z", "text": "Обстрел окраин Суджи"},
]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "telewatch.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "posts.jsonl").write_text(
        "\n".join(json.dumps(p, ensure_ascii=False) for p in POSTS) + "\n", encoding="utf-8"
    )
    monkeypatch.setenv("TELEWATCH_CONFIG", str(tmp_path / "telewatch.toml"))
    monkeypatch.setenv("TELEWATCH_DB", str(tmp_path / "tw.db"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def out(capsys: pytest.CaptureFixture[str], *args: str, code: int = 0) -> str:
    capsys.readouterr()
    assert main(list(args)) == code
    captured = capsys.readouterr()
    return captured.out + captured.err


def test_rules_test_shows_matched_words_and_terms(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = out(capsys, "rules", "test", "Жители эвакуированы из Суджи")
    assert "evacuation" in text
    assert "✓ match" in text
    assert "'эвакуированы' → эвакуировать" in text
    assert "2 of 2 rules match" in text


def test_rules_test_says_why_a_rule_did_not_match(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = out(capsys, "rules", "test", "Эвакуация: вызвали эвакуатор")
    assert "excluded by none-term 'эвакуатор'" in text


def test_rules_test_json_reads_one_text_per_line_from_stdin(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("Жители эвакуированы\nПогода\n"))
    lines = out(capsys, "rules", "test", "--json").splitlines()
    results = [json.loads(line) for line in lines]
    assert [r["matched"] for r in results] == [["evacuation"], []]
    assert results[0]["rules"][0]["hits"][0]["text"] == "эвакуированы"


def test_rules_test_reads_a_file_and_adds_shipped_packs(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (env / "post.txt").write_text("Над областью сбиты 12 БПЛА", encoding="utf-8")
    data = json.loads(out(capsys, "rules", "test", "--file", "post.txt", "--pack", "shelling", "--json"))
    assert data["matched"] == ["drones", "shelling"]  # an intercepted attack is still an attack


def test_rules_test_post_uses_the_stored_text(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out(capsys, "import", str(env / "posts.jsonl"))
    data = json.loads(out(capsys, "rules", "test", "--post", "1", "--json"))
    assert set(data["matched"]) == {"evacuation", "sudzha-near"}
    assert "no stored post" in out(capsys, "rules", "test", "--post", "999", code=5)


def test_rules_check_reports_terms_and_warnings(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(out(capsys, "rules", "check", "--json"))
    terms = {t["term"]: t for t in data["terms"]}
    assert terms["эвакуировать"]["forms"] > 50
    assert terms["эвакуатор"]["role"] == "none"
    (env / "telewatch.toml").write_text(
        CONFIG + '\n[[rules]]\nname = "odd"\nany = ["Ыыыкск"]\n', encoding="utf-8"
    )
    assert "predicted" in out(capsys, "rules", "check")


def test_rules_check_fails_naming_the_rule_and_term(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (env / "telewatch.toml").write_text(
        CONFIG + '\n[[rules]]\nname = "bad"\nany = ["эв*"]\n', encoding="utf-8"
    )
    text = out(capsys, "rules", "check", code=2)
    assert "bad" in text
    assert "эв*" in text


def counts(env: Path) -> tuple[int, int]:
    async def read() -> tuple[int, int]:
        async with await Store.open(env / "tw.db") as store:
            alerts = await store.alerts.counts()
            return await store.matches.count("sudzha"), sum(alerts.values())

    return asyncio.run(read())


def test_rescan_records_matches_of_a_new_rule_without_alerting(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out(capsys, "import", str(env / "posts.jsonl"))  # no --alert: nothing enqueued
    (env / "telewatch.toml").write_text(CONFIG + NEW_RULE, encoding="utf-8")
    data = json.loads(out(capsys, "rules", "rescan", "sudzha", "--json"))
    assert (data["scanned"], data["matched"], data["alerts"]) == (3, 2, 0)
    assert counts(env) == (2, 0)


def test_rescan_since_and_alert_enqueue_alerts_for_old_posts(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out(capsys, "import", str(env / "posts.jsonl"))
    (env / "telewatch.toml").write_text(CONFIG + NEW_RULE, encoding="utf-8")
    data = json.loads(out(capsys, "rules", "rescan", "sudzha", "--since", "2024-08-07", "--alert", "--json"))
    assert (data["scanned"], data["matched"]) == (1, 1)
    assert data["alerts"] == 1
    assert counts(env) == (1, 1)
    assert "no rule named" in out(capsys, "rules", "rescan", "nope", code=5)


def test_rescan_with_a_wrong_rule_keeps_earlier_matches_and_a_right_one_restores_them(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rescan never deletes: matches a changed rule no longer makes are kept, marked superseded."""
    out(capsys, "import", str(env / "posts.jsonl"))
    (env / "telewatch.toml").write_text(CONFIG + NEW_RULE, encoding="utf-8")
    out(capsys, "rules", "rescan", "sudzha")
    assert counts(env) == (2, 0)
    narrowed = NEW_RULE.replace('any = ["Суджа"]', 'all = ["Суджа", "обстрел"]')
    (env / "telewatch.toml").write_text(CONFIG + narrowed, encoding="utf-8")
    text = " ".join(out(capsys, "rules", "rescan", "sudzha").split())
    assert "1 earlier matches no longer hold (kept, marked superseded)" in text
    assert counts(env) == (1, 0)
    shown = json.loads(out(capsys, "posts", "show", "@gov_test/1", "--json"))
    assert [m["rule"] for m in shown["superseded_matches"]] == ["sudzha"]
    assert "superseded" in out(capsys, "posts", "show", "@gov_test/1")
    # back to the right rule: the kept match is current again, with nothing lost
    (env / "telewatch.toml").write_text(CONFIG + NEW_RULE, encoding="utf-8")
    data = json.loads(out(capsys, "rules", "rescan", "sudzha", "--json"))
    assert (data["matched"], data["superseded"]) == (2, 0)
    assert counts(env) == (2, 0)
    assert json.loads(out(capsys, "posts", "show", "@gov_test/1", "--json"))["superseded_matches"] == []


def test_rules_packs_lists_the_shipped_packs(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "evacuation" in out(capsys, "rules", "packs")


def test_rules_test_names_the_exclusion_and_the_hit_it_cancelled(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (env / "gated.toml").write_text(
        '[[rules]]\nname = "evac"\nany = ["эвакуировать"]\nunless_near = [["*", ["автомобиль"], 3]]\n',
        encoding="utf-8",
    )
    text = out(capsys, "--config", "gated.toml", "rules", "test", "Эвакуировали автомобиль со двора")
    assert "cancelled:" in text
    assert "unless_near" in text
    data = json.loads(
        out(capsys, "--config", "gated.toml", "rules", "test", "--json", "Эвакуировали автомобиль")
    )
    assert data["matched"] == []
    assert "unless_near" in data["rules"][0]["cancelled"][0]
