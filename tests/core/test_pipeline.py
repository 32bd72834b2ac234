"""The pipeline: post -> store -> match -> outbox, in one transaction, with edits and deletions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.alerts.routing import Router, dedup_key
from bot.alerts.sinks.telegram import random_id_for as random_id
from bot.domain.models import AlertKind, AlertStatus, ChannelRef, Post, Severity
from bot.ingest.pipeline import Pipeline
from config.settings import RouteSettings
from storage.store import Store
from tests.ports_fakes import FakeClock, WordMatcher

T0 = datetime(2024, 8, 7, 6, 30, tzinfo=UTC)
GOV = ChannelRef(tg_id=1001, username="gov_region")
ROUTES = (RouteSettings(name="console", sink="console"),)


def post(message_id: int, text: str, channel: ChannelRef = GOV, **kw: object) -> Post:
    return Post(
        channel=channel, message_id=message_id, date=T0 + timedelta(minutes=message_id), text=text, **kw
    )  # type: ignore[arg-type]


@pytest.fixture
async def store(tmp_path: Path) -> Store:
    s = await Store.open(tmp_path / "p.db")
    yield s  # type: ignore[misc]
    await s.close()


def make_pipeline(store: Store, routes: tuple[RouteSettings, ...] = ROUTES) -> Pipeline:
    matcher = WordMatcher({"evacuation": ["эвакуация", "эвакуированы"], "shelling": ["обстрел"]})
    return Pipeline(store, matcher, Router(routes), clock=FakeClock())


async def pending_keys(store: Store) -> list[str]:
    return [a.dedup_key for a in await store.alerts.due(datetime(2100, 1, 1, tzinfo=UTC))]


async def test_a_matching_post_is_stored_matched_and_queued_once(store: Store) -> None:
    pipe = make_pipeline(store)
    result = await pipe.ingest([post(1, "Жители эвакуированы"), post(2, "Погода хорошая")])
    assert (result.new, result.matches, result.alerts) == (2, 1, 1)
    again = await pipe.ingest([post(1, "Жители эвакуированы")])
    assert (again.new, again.unchanged, again.alerts) == (0, 1, 0)
    assert len(await pending_keys(store)) == 1
    match = await store.matches.get(1, "evacuation")
    assert match is not None
    assert match.words == ("эвакуированы",)


async def test_without_alerting_matches_are_recorded_but_nothing_is_queued(store: Store) -> None:
    result = await make_pipeline(store).ingest([post(1, "обстрел")], alert=False)
    assert (result.matches, result.alerts) == (1, 0)
    assert await pending_keys(store) == []


async def test_an_edit_that_adds_a_keyword_alerts_marked_edited(store: Store) -> None:
    pipe = make_pipeline(store)
    await pipe.ingest([post(1, "Спокойно")])
    result = await pipe.ingest([post(1, "Спокойно. Начался обстрел", edit_date=T0 + timedelta(hours=1))])
    assert (result.edited, result.alerts) == (1, 1)
    [alert] = await store.alerts.due(datetime(2100, 1, 1, tzinfo=UTC))
    assert alert.kind is AlertKind.EDITED
    assert alert.rule == "shelling"


async def test_an_edit_that_keeps_matching_the_same_rule_does_not_alert_again(store: Store) -> None:
    pipe = make_pipeline(store)
    await pipe.ingest([post(1, "обстрел")])
    result = await pipe.ingest([post(1, "обстрел продолжается", edit_date=T0 + timedelta(hours=1))])
    assert result.alerts == 0


async def test_deleting_an_alerted_post_reports_the_deletion(store: Store) -> None:
    pipe = make_pipeline(store)
    await pipe.ingest([post(1, "обстрел"), post(2, "ничего")])
    result = await pipe.delete(GOV, [1, 2])
    assert (result.deleted, result.alerts) == (2, 1)
    kinds = sorted(r["kind"] for r in await store.alerts.listing())
    assert kinds == ["deleted", "new"]  # the report is due once the original alert is sent
    assert (await pipe.delete(GOV, [1])).alerts == 0


async def test_routes_filter_by_severity_rule_and_label(store: Store) -> None:
    routes = (
        RouteSettings(name="all", sink="console"),
        RouteSettings(name="critical", sink="console", min_severity=Severity.CRITICAL),
        RouteSettings(name="shelling-only", sink="console", rules=("shelling",)),
        RouteSettings(name="official", sink="console", labels=("official",)),
    )
    async with store.db.transaction() as tx:
        channel = await store.channels.ensure(tx, GOV)
        await store.channels.set_label(tx, channel.id, "official", ())
    await make_pipeline(store, routes).ingest(
        [post(1, "эвакуация"), post(2, "x", ChannelRef(username="other"))]
    )
    routes_hit = sorted(key.split("/")[-1] for key in await pending_keys(store))
    assert routes_hit == ["all", "official"]


async def test_late_posts_alert_marked_late(store: Store) -> None:
    await make_pipeline(store).ingest([post(1, "обстрел")], kind=AlertKind.LATE)
    [alert] = await store.alerts.due(datetime(2100, 1, 1, tzinfo=UTC))
    assert alert.kind is AlertKind.LATE


async def test_a_policy_can_hold_alerts_for_a_digest(store: Store) -> None:
    pipe = make_pipeline(store)
    pipe.policy = lambda match, channel, route: AlertStatus.HELD
    result = await pipe.ingest([post(1, "обстрел")])
    assert result.alerts == 1
    assert await pending_keys(store) == []


async def test_a_matcher_crash_never_loses_the_post(store: Store) -> None:
    class Broken:
        def match(self, text: str, **kw: object) -> list[object]:
            raise ValueError("bug")

    pipe = Pipeline(store, Broken(), Router(ROUTES), clock=FakeClock())  # type: ignore[arg-type]
    result = await pipe.ingest([post(1, "обстрел")])
    assert result.new == 1
    assert await store.posts.count() == 1


async def test_cursors_advance_to_the_newest_message(store: Store) -> None:
    pipe = make_pipeline(store)
    await pipe.ingest([post(5, "a"), post(3, "b")])
    await pipe.ingest([post(4, "c")])
    channel = await store.channels.find("gov_region")
    assert channel is not None
    assert (await store.cursors.get(channel.id)).last_message_id == 5


def test_dedup_keys_and_random_ids_are_stable() -> None:
    from bot.domain.models import Channel

    channel = Channel(id=3, tg_id=1, username="x", title=None)
    key = dedup_key(channel, 10, "rule", AlertKind.NEW, "tg")
    assert key == "3/10/rule/new/tg"
    assert random_id(key) == random_id("3/10/rule/new/tg")
    assert random_id(key) != random_id("3/10/rule/edited/tg")
    assert -(2**63) <= random_id(key) < 2**63
