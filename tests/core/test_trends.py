"""Rule spikes and place/name surges: the statistic, lemmatised names, alerting once, `telewatch trends`."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.alerts.trend_watch import TrendWatch
from bot.alerts.trends import TrendDetector, names_in, robust_z
from bot.domain.models import ChannelRef, Match, Post, Severity
from config.settings import RouteSettings, Settings, TrendSettings
from storage.store import Store

NOW = datetime(2024, 8, 7, 12, 0, tzinfo=UTC)


def test_names_are_lemmatised_and_ever_present_names_left_out() -> None:
    text = "Бои у Суджи. В Судже эвакуация. Суджа под обстрелом; Путин провёл совещание в Москве"
    assert names_in(text) == {"суджа"}
    assert "путин" in names_in("Путин провёл совещание", frozenset())


def test_the_robust_z_score_floors_the_spread_of_small_counts() -> None:
    assert robust_z(23, [2, 2, 3, 1]) == (2.0, pytest.approx((23 - 2) / 2**0.5))
    assert robust_z(3, [0, 0, 0, 0])[1] == 3.0  # spread floored at 1: three matches are no spike alone


def spike_detector(now_count: int) -> TrendDetector:
    detector = TrendDetector(TrendSettings())
    for week in range(1, 5):  # the same hour of the four weeks before: two matches each
        for i in range(2):
            detector.add(NOW - timedelta(weeks=week, minutes=10 + i * 20), 1, "", ["evacuation"])
    for i in range(now_count):
        detector.add(NOW - timedelta(minutes=55 - i * 2), 1 + i % 9, "", ["evacuation"])
    return detector


def test_a_rule_far_above_its_usual_hour_spikes() -> None:
    [spike] = spike_detector(23).evaluate(NOW)
    assert spike.title(30) == "evacuation: 23 matches in 60 min across 9 channels, usual 2"
    assert spike_detector(6).evaluate(NOW) == []  # z = 2.8: within the usual spread


def surge_detector(before: int, channels: int = 6) -> TrendDetector:
    detector = TrendDetector(TrendSettings(surge_channels=5, surge_minutes=30, surge_rare_max=2))
    for i in range(before):
        detector.add(NOW - timedelta(days=3, hours=i), 50, "Тихо в Судже", [])
    forms = ["Суджа", "Судже", "Суджи"]
    for c in range(channels):
        detector.add(NOW - timedelta(minutes=25 - c * 3), c + 1, f"Колонна у {forms[c % 3]}", [])
    return detector


def test_a_rare_name_in_many_channels_within_minutes_surges() -> None:
    [surge] = surge_detector(before=0).evaluate(NOW)
    assert surge.title(30) == "Суджа: 6 channels in 30 min, 0 posts last week"
    assert surge_detector(before=3).evaluate(NOW) == []  # not rare before
    assert surge_detector(before=0, channels=4).evaluate(NOW) == []  # too few channels


async def store_with_surge(path: Path) -> Store:
    store = await Store.open(path)
    posts = [
        Post(ChannelRef(tg_id=100 + c, username=f"ch{c}"), 1, NOW - timedelta(minutes=20 - c), "Бои у Суджи")
        for c in range(6)
    ]
    posts += [
        Post(ChannelRef(tg_id=100 + c, username=f"ch{c}"), 2, NOW - timedelta(minutes=10), "эвакуация")
        for c in range(6)
    ]
    async with store.transaction() as tx:
        outcomes = await store.posts.save(tx, posts, NOW)
        rows = [
            (o.post_id, Match("evacuation", Severity.CRITICAL)) for o in outcomes if o.post.message_id == 2
        ]
        await store.matches.insert_new(tx, rows, NOW)
    return store


async def test_live_trends_alert_once_per_cooldown_through_the_routes(tmp_path: Path) -> None:
    settings = Settings(
        routes=(RouteSettings(name="desk", sink="console"),),
        trends=TrendSettings(spike_min_count=5, spike_sensitivity=3),
    )
    store = await store_with_surge(tmp_path / "db")
    now = [NOW]
    watch = TrendWatch(store, lambda: settings, lambda: now[0])
    assert await watch.run_once() == 2  # the surge of Суджа and the spike of evacuation
    assert await watch.run_once() == 0
    notices = await store.notices.recent()
    assert sorted(n.kind for n in notices) == ["spike", "surge"]
    assert {n.title for n in notices} >= {"Суджа: 6 channels in 30 min, 0 posts last week"}
    now[0] = NOW + timedelta(hours=13)  # quiet past the cooldown: the condition is forgotten silently
    assert await watch.run_once() == 0
    assert len(await store.notices.recent()) == 2
    assert await store.notices.conditions() == {}
    await store.close()


def test_telewatch_trends_shows_the_top_at_a_moment(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from bot.cli import main

    asyncio.run(_close(store_with_surge(tmp_path / "db")))
    (tmp_path / "telewatch.toml").write_text("[trends]\nsurge_channels = 5\n", encoding="utf-8")
    monkeypatch.setenv("TELEWATCH_CONFIG", str(tmp_path / "telewatch.toml"))
    monkeypatch.setenv("TELEWATCH_DB", str(tmp_path / "db"))
    monkeypatch.setenv("COLUMNS", "120")
    assert main(["trends", "--at", "2024-08-07T12:00"]) == 0
    assert "Суджа: 6 channels in 30 min, 0 posts last week" in capsys.readouterr().out
    assert main(["trends", "--at", "2024-08-09T12:00", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["trends"] == []
    # #28: --at takes what every time option takes; a wrong one is a usage error, exit 2
    assert main(["trends", "--at", "yesterday", "--json"]) == 0
    capsys.readouterr()
    assert main(["trends", "--at", "2024-13-45"]) == 2
    err = capsys.readouterr().err
    assert "'2024-13-45' is not a date" in err
    assert "Traceback" not in err
    # #27: a moment with an offset is shown (and looked at) in UTC
    assert main(["trends", "--at", "2024-08-07T17:00+05:00"]) == 0
    out = capsys.readouterr().out
    assert "2024-08-07 12:00 UTC" in out
    assert "Суджа: 6 channels in 30 min" in out


async def _close(opening: object) -> None:
    store = await opening  # type: ignore[misc]
    await store.close()


def test_a_look_at_a_past_moment_leaves_out_later_posts(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from bot.cli import main

    asyncio.run(_close(store_with_surge(tmp_path / "db")))
    (tmp_path / "telewatch.toml").write_text("[trends]\nsurge_channels = 5\n", encoding="utf-8")
    monkeypatch.setenv("TELEWATCH_CONFIG", str(tmp_path / "telewatch.toml"))
    monkeypatch.setenv("TELEWATCH_DB", str(tmp_path / "db"))
    # 11:43: only three of the six channels had named Суджа (the others post at 11:44..11:45)
    assert main(["trends", "--at", "2024-08-07T11:43", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["trends"] == []


async def test_trend_notices_wait_for_the_end_of_a_routes_quiet_hours(tmp_path: Path) -> None:
    quiet = (NOW - timedelta(hours=1)).time(), (NOW + timedelta(hours=2)).time()
    settings = Settings(
        routes=(
            RouteSettings(name="night", sink="console", quiet_hours=quiet),
            RouteSettings(name="desk", sink="console", target="file"),
        ),
        trends=TrendSettings(spike_min_count=5, spike_sensitivity=3),
    )
    store = await store_with_surge(tmp_path / "db")
    watch = TrendWatch(store, lambda: settings, lambda: NOW)
    assert await watch.run_once() == 2
    assert len(await store.notices.recent()) == 4  # two trends, two routes
    due_now = await store.notices.due(NOW)
    assert {n.route for n in due_now} == {"desk"}
    due_later = await store.notices.due(NOW + timedelta(hours=2))
    assert {n.route for n in due_later} == {"desk", "night"}
    await store.close()
