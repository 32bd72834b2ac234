"""`rules learn`, `rules test` and `alerts list` through the CLI entry point, on a real database."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.alerts.routing import Router
from bot.cli import main
from bot.domain.models import ChannelRef, Post
from bot.ingest.pipeline import Pipeline
from config.settings import RouteSettings
from storage.store import Store
from tests.ports_fakes import FakeClock, WordMatcher
from tests.relevance.test_learning import BAD, GOOD, texts

T0 = datetime(2024, 8, 7, 6, 0, tzinfo=UTC)
CONFIG = """
rule_packs = ["shelling"]

[[rules]]
name = "evacuation"
any = ["эвакуация"]
"""


async def fill(db: Path, good: int, bad: int) -> None:
    """Posts that alert on evacuation, the first `good` marked relevant and the next `bad` false positive."""
    async with await Store.open(db) as store:
        pipe = Pipeline(
            store,
            WordMatcher({"evacuation": ["эвакуация"]}),
            Router([RouteSettings("c", "console")]),
            clock=FakeClock(T0),
        )
        items = [(t, "relevant") for t in texts(GOOD, good)] + [
            (t, "false_positive") for t in texts(BAD, bad)
        ]
        for i, (text, review) in enumerate(items, 1):
            await pipe.ingest([Post(ChannelRef(tg_id=5, username="gov"), i, T0 + timedelta(minutes=i), text)])
            row = (await store.alerts.listing(limit=1))[0]
            await store.alerts.review(row["id"], review, "cli", T0)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "telewatch.toml").write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("TELEWATCH_CONFIG", str(tmp_path / "telewatch.toml"))
    monkeypatch.setenv("TELEWATCH_DB", str(tmp_path / "tw.db"))
    return tmp_path


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    capsys.readouterr()
    assert main([*args, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert isinstance(out, dict)
    return out


def test_learn_trains_with_enough_marks_and_reset_forgets(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(fill(env / "tw.db", 20, 12))
    out = run_json(capsys, "rules", "learn", "evacuation")
    [report] = out["trained"]  # type: ignore[misc]
    assert report["trained"] is False
    assert "needs 20 marks" in report["note"]
    asyncio.run(_more(env / "tw.db"))
    out = run_json(capsys, "rules", "learn")
    assert [r["rule"] for r in out["trained"] if r["trained"]] == ["evacuation"]  # type: ignore[attr-defined]
    rules = {r["rule"]: r for r in out["rules"]}  # type: ignore[attr-defined]
    assert rules["evacuation"]["scored_by"] == "learnt"
    assert rules["shelling"]["scored_by"] == "shipped with pack shelling"
    tested = run_json(capsys, "rules", "test", "Эвакуация машин: эвакуатор на парковке")
    assert tested["relevance"]["evacuation"]["score"] < 0.5  # type: ignore[index]
    assert tested["relevance"]["evacuation"]["against"]  # type: ignore[index]
    assert run_json(capsys, "rules", "learn", "--reset")["forgotten"] == 1
    tested = run_json(capsys, "rules", "test", "Эвакуация машин: эвакуатор на парковке")
    assert tested["relevance"] == {}


async def _more(db: Path) -> None:
    async with await Store.open(db) as store:
        pipe = Pipeline(
            store,
            WordMatcher({"evacuation": ["эвакуация"]}),
            Router([RouteSettings("c", "console")]),
            clock=FakeClock(T0),
        )
        for i, text in enumerate(texts(BAD, 8, offset=4), 100):
            await pipe.ingest([Post(ChannelRef(tg_id=5, username="gov"), i, T0 + timedelta(minutes=i), text)])
            row = (await store.alerts.listing(limit=1))[0]
            await store.alerts.review(row["id"], "false_positive", "cli", T0)


def test_learn_names_an_unknown_rule_in_one_line(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(fill(env / "tw.db", 1, 1))
    assert main(["rules", "learn", "nosuchrule"]) != 0
    err = capsys.readouterr().err
    assert "no rule named 'nosuchrule'" in err
    assert "Traceback" not in err


def test_alerts_list_shows_precision_before_and_after_scoring(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(fill(env / "tw.db", 3, 1))
    out = run_json(capsys, "alerts", "list")
    [p] = out["precision"]  # type: ignore[misc]
    assert p["precision"] == 0.75
    assert p["precision_after_scoring"] == 0.75
    assert p["demoted"] == 0
    assert main(["alerts", "list"]) == 0
    assert "after scoring" in capsys.readouterr().out


def test_rules_test_scores_shipped_pack_rules_without_a_database(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tested = run_json(capsys, "rules", "test", "Ракетный обстрел Харькова: разрушены дома")
    assert 0.0 <= tested["relevance"]["shelling"]["score"] <= 1.0  # type: ignore[index]
    assert not (env / "tw.db").exists()


def test_rules_test_still_works_when_the_database_cannot_be_read(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (env / "tw.db").write_bytes(b"not a database at all" * 100)
    tested = run_json(capsys, "rules", "test", "Ракетный обстрел Харькова: разрушены дома")
    assert "shelling" in tested["relevance"]  # type: ignore[operator]
