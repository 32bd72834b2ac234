"""The desk's loop: marks train a rule's model; low scores go to the digest as probably not relevant,
never dropped; scores show in alerts, /test and /stats; the scheduled job retrains; --reset forgets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.alerts.relevance import MIN_MARKS, RelevanceService, retrain_job
from bot.chat.jobs import digest_job
from bot.domain.models import AlertStatus
from bot.relevance import Example, train
from bot.relevance.shipped import PackModels
from tests.chat.conftest import CONFIG, GOV, App, make_app

MSK = ZoneInfo("Europe/Moscow")
PLACES = ["Суджи", "Коренево", "Глушково", "Рыльска", "Льгова", "Тёткино", "Шебекино", "Грайворона",
          "Белгорода", "Курчатова", "Обояни", "Волчанска"]  # fmt: skip
GOOD = [
    "Началась эвакуация жителей из {p} из-за обстрелов",
    "Эвакуация детей и пожилых из {p}: автобусы вывозят людей",
    "Власти: эвакуация населения {p}, пункты временного размещения открыты",
]
BAD = [
    "Эвакуация автомобилей в {p}: эвакуатор увозит машины с парковки",
    "В школе {p} прошла учебная эвакуация, пожарная тревога была учебной",
    "Штрафстоянка {p} переполнена, эвакуация машин продолжается, эвакуатор работает",
]
ROUTE = 'target = "-1001500"\n'


def texts(templates: list[str], n: int, offset: int = 0) -> list[str]:
    return [
        templates[i % len(templates)].format(p=PLACES[(i + offset) % len(PLACES)]) + f" ({i})"
        for i in range(n)
    ]


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    built = await make_app(tmp_path, CONFIG.replace(ROUTE, ROUTE + "min_score = 0.5\n"))
    service = await RelevanceService(built.store, shipped={}, clock=built.clock).load()
    built.pipeline.relevance = service
    built.services.control.ctx.relevance = service
    yield built
    await built.store.close()


def service_of(app: App) -> RelevanceService:
    assert isinstance(app.pipeline.relevance, RelevanceService)
    return app.pipeline.relevance


async def mark(app: App, items: list[str], review: str) -> None:
    """Publish each text and give its alert the review mark (what the chat buttons and the CLI store)."""
    for text in items:
        await app.publish(GOV, text)
        newest = (await app.store.alerts.listing(limit=1))[0]
        assert newest["text"] == text
        assert await app.store.alerts.review(newest["id"], review, "alice", app.clock.now())


async def test_a_rule_is_not_scored_until_it_has_enough_marks_of_each_kind(app: App) -> None:
    service = service_of(app)
    await mark(app, texts(GOOD, MIN_MARKS), "relevant")
    await mark(app, texts(BAD, MIN_MARKS - 1), "false_positive")
    [report] = await service.learn(["evacuation"])
    assert not report.trained
    assert "needs 20 marks of each kind" in report.note
    assert service.score("evacuation", "эвакуация жителей") is None
    await app.publish(GOV, "эвакуация автомобилей, эвакуатор на парковке")
    newest = (await app.store.alerts.listing(limit=1))[0]
    assert newest["score"] is None
    assert newest["status"] == "pending"
    await mark(app, texts(BAD, 1, offset=5), "false_positive")
    [report] = await service.learn(["evacuation"])
    assert report.trained
    assert (report.relevant, report.false_positive) == (MIN_MARKS, MIN_MARKS)
    good = service.score("evacuation", "Эвакуация жителей из Обояни продолжается")
    bad = service.score("evacuation", "Эвакуатор увёз машины с парковки, эвакуация автомобилей")
    assert good is not None
    assert bad is not None
    assert bad.value < 0.5 < good.value


async def test_low_scores_go_to_the_digest_as_probably_not_relevant_and_high_ones_at_once(app: App) -> None:
    await mark(app, texts(GOOD, 24), "relevant")
    await mark(app, texts(BAD, 24), "false_positive")
    await service_of(app).learn()
    app.sink.delivered.clear()
    await app.dispatcher.run_once()
    app.sink.delivered.clear()
    await app.publish(GOV, "Эвакуатор и штрафстоянка: эвакуация машин с парковки у рынка")
    await app.publish(GOV, "Эвакуация жителей приграничных сёл: людей вывозят автобусами")
    await app.dispatcher.run_once()
    [sent] = app.sink.delivered
    assert "жителей" in sent.html
    assert "relevance 0." in sent.plain
    assert "evacuation" in sent.data["scores"]
    held = [r for r in await app.store.alerts.listing(limit=2) if r["status"] == AlertStatus.HELD.value]
    assert len(held) == 1
    assert held[0]["demoted"] == 1
    assert held[0]["score"] < 0.5
    # a route without a digest schedule sends its probably-not-relevant alerts in the daily digest
    await digest_job(app.services.digests, app.clock)
    assert len(app.sink.delivered) == 1
    app.clock.current = datetime(2024, 8, 8, 8, 0, tzinfo=MSK).astimezone(UTC)
    await digest_job(app.services.digests, app.clock)
    digest = app.sink.delivered[-1]
    assert "Probably not relevant" in digest.html
    assert "штрафстоянка" in digest.html
    stats = await app.chat.say_one("/stats")
    assert "after scoring (1 to digest)" in stats


async def test_min_score_zero_sends_every_scored_alert_at_once(tmp_path: Path) -> None:
    app = await make_app(tmp_path, CONFIG.replace(ROUTE, ROUTE + "min_score = 0\n"))
    try:
        model = train(
            "evacuation",
            [Example(t, True) for t in texts(GOOD, 9)] + [Example(t, False) for t in texts(BAD, 9)],
        )
        service = RelevanceService(app.store, shipped={"p": PackModels("p", "", {"evacuation": model})})
        app.pipeline.relevance = service
        await app.publish(GOV, "эвакуация машин, эвакуатор на парковке")
        [row] = await app.store.alerts.listing()
        assert row["status"] == "pending"
        assert row["demoted"] == 0
        assert row["score"] < 0.5
    finally:
        await app.store.close()


async def test_chat_test_shows_the_score_with_words_for_and_against(app: App) -> None:
    await mark(app, texts(GOOD, 21), "relevant")
    await mark(app, texts(BAD, 21), "false_positive")
    await service_of(app).learn(["evacuation"])
    reply = await app.chat.say_one("/test эвакуация машин: эвакуатор на парковке")
    assert "evacuation" in reply
    assert "relevance 0." in reply
    assert "against: " in reply


async def test_the_scheduled_job_retrains_after_enough_new_marks_and_reset_forgets(app: App) -> None:
    service = service_of(app)
    await mark(app, texts(GOOD, 20), "relevant")
    await mark(app, texts(BAD, 20), "false_positive")
    assert [r.rule for r in await retrain_job(service, new_marks=10)] == ["evacuation"]
    assert await retrain_job(service, new_marks=10) == []  # nothing new since
    await mark(app, texts(BAD, 10, offset=3), "false_positive")
    [again] = await retrain_job(service, new_marks=10)
    assert again.trained
    assert again.false_positive == 30
    assert (await app.store.relevance.models())[0].marks_seen == 50
    assert await service.forget(["evacuation"]) == 1
    assert service.score("evacuation", "эвакуация жителей") is None
    assert await app.store.relevance.models() == []
    assert (await app.store.relevance.mark_counts())["evacuation"].total == 50  # marks are kept
    reloaded = await RelevanceService(app.store, shipped={}).load()
    assert reloaded.active("evacuation") is None


async def test_a_post_marked_on_two_routes_counts_once_with_its_newest_mark(app: App) -> None:
    await app.publish(GOV, "эвакуация жителей")
    [row] = await app.store.alerts.listing()
    await app.store.alerts.review(row["id"], "false_positive", "bob", app.clock.now())
    app.clock.advance(60)
    await app.store.alerts.review(row["id"], "relevant", "alice", app.clock.now())
    [m] = await app.store.relevance.marks("evacuation")
    assert m.relevant
    assert m.text == "эвакуация жителей"


async def test_marks_on_posts_without_text_do_not_count_toward_training(app: App) -> None:
    await mark(app, texts(GOOD, 20), "relevant")
    await mark(app, texts(BAD, 20), "false_positive")
    async with app.store.db.transaction() as tx:  # the texts of two false positives are gone (media only)
        await tx.execute(
            "UPDATE posts SET text = '' WHERE id IN (SELECT id FROM posts ORDER BY id DESC LIMIT 2)"
        )
    [report] = await service_of(app).learn(["evacuation"])
    assert not report.trained
    assert "has 20 and 18" in report.note


async def test_a_broken_stored_model_is_skipped_not_fatal(app: App, caplog: pytest.LogCaptureFixture) -> None:
    await app.store.relevance.save_model("evacuation", "{broken", 20, 20, 40, app.clock.now())
    service = await RelevanceService(app.store, shipped={}).load()
    assert service.active("evacuation") is None
    assert "unreadable" in caplog.text


def test_a_broken_shipped_model_file_is_skipped_not_fatal(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import bot.relevance.shipped as shipped

    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "evacuation.json").write_text("[1, 2", encoding="utf-8")
    monkeypatch.setattr(shipped, "pack_dir", lambda: tmp_path)
    service = RelevanceService(None, ["evacuation"])
    assert service.shipped == {}
    assert "shipped relevance models of pack evacuation not used" in caplog.text
