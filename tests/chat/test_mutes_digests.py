"""Mutes that expire, pause/resume, quiet hours and scheduled digests, driven by a controllable clock."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.alerts.digest import in_quiet_hours, last_boundary
from bot.alerts.mutes import format_duration, parse_duration
from bot.chat.jobs import digest_job, mute_expiry_job
from bot.domain.models import AlertStatus
from storage.alerts import AlertFilter
from tests.chat.conftest import BLOG, CONFIG, GOV, App, make_app

MSK = ZoneInfo("Europe/Moscow")


def with_route(extra: str) -> str:
    """The test config with the desk route's settings extended."""
    return CONFIG.replace('target = "-1001500"\n', f'target = "-1001500"\n{extra}\n')


async def statuses(app: App) -> list[str]:
    return [r["status"] for r in reversed(await app.store.alerts.listing())]


# -- mutes --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "minutes"), [("30m", 30), ("1h", 60), ("2d", 2880), ("1w", 10080)])
def test_durations_parse(text: str, minutes: int) -> None:
    assert parse_duration(text) == timedelta(minutes=minutes)


@pytest.mark.parametrize("text", ["", "0h", "1y", "h", "-1h", "100d"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"duration|90 days"):
        parse_duration(text)


def test_durations_format_for_people() -> None:
    assert format_duration(timedelta(minutes=90)) == "1h 30m"
    assert format_duration(timedelta(days=2, hours=3)) == "2d 3h"


async def test_mute_command_mutes_a_rule_until_it_expires(app: App) -> None:
    assert "rule shelling muted for 2h (until 07.08 15:00)" in await app.chat.say_one("/mute shelling 2h")
    await app.publish(GOV, "обстрел")
    assert await statuses(app) == ["suppressed"]
    listed = await app.chat.say_one("/mute")
    assert "rule shelling until 07.08 15:00 (2h left, by @alice)" in listed
    assert "shelling" in await app.chat.say_one("/rules")
    assert "muted" in await app.chat.say_one("/rules")
    app.clock.advance(2 * 3600)
    await app.publish(GOV, "снова обстрел")
    assert await statuses(app) == ["suppressed", "pending"]


async def test_mute_channel_by_name_and_unmute_early(app: App) -> None:
    await app.publish(BLOG, "тишина")  # the channel is known once it posted
    assert "channel Milblog muted for 30m" in await app.chat.say_one("/mute @milblog 30m")
    await app.publish(BLOG, "обстрел")
    assert "unmuted" in await app.chat.say_one("/unmute @milblog")
    await app.publish(BLOG, "ещё обстрел")
    assert await statuses(app) == ["suppressed", "pending"]
    assert "was not muted" in await app.chat.say_one("/mute @milblog off")


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/mute shelling", "give a rule or channel and a duration"),
        ("/mute shelling forever", "is not a duration like 30m"),
        ("/mute nothing 1h", "no rule or stored channel named 'nothing'"),
        ("/unmute", "give one rule or channel"),
        ("/pause now", "usage: /pause"),
        ("/resume now", "usage: /resume"),
    ],
)
async def test_mute_and_pause_with_bad_arguments(app: App, command: str, expected: str) -> None:
    assert expected in await app.chat.say_one(command)


async def test_the_expiry_job_forgets_ended_mutes_and_tells_the_chat(app: App) -> None:
    await app.chat.say("/mute shelling 1h")
    told: list[str] = []

    async def notify(text: str) -> None:
        told.append(text)

    await mute_expiry_job(app.services.mutes, app.clock, notify)
    assert told == []
    app.clock.advance(3600)
    await mute_expiry_job(app.services.mutes, app.clock, notify)
    assert told == ["🔔 The mute of rule <b>shelling</b> has ended."]
    assert "Nothing is muted" in await app.chat.say_one("/mute")


# -- pause --------------------------------------------------------------------------------------------


async def test_pause_holds_every_alert_and_resume_sends_them_as_one_digest(app: App) -> None:
    assert "Alerts paused" in await app.chat.say_one("/pause")
    assert "Already paused by @alice" in await app.chat.say_one("/pause")
    await app.publish(GOV, "обстрел")
    await app.publish(BLOG, "эвакуация")
    assert (await app.dispatcher.run_once()).sent == 0
    await digest_job(app.services.digests, app.clock)
    assert app.sink.delivered == []
    assert "Paused by @alice" in await app.chat.say_one("/stats")
    assert "2 held alert(s)" in await app.chat.say_one("/resume")
    assert len(app.sink.delivered) == 1
    digest = app.sink.delivered[0]
    assert "Digest · desk" in digest.html
    assert "обстрел" in digest.html
    assert "эвакуация" in digest.html
    assert await statuses(app) == ["sent", "sent"]
    assert "were not paused" in await app.chat.say_one("/resume")


# -- quiet hours --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "quiet"),
    [
        (time(23, 30), True),
        (time(3, 0), True),
        (time(6, 59), True),
        (time(7, 0), False),
        (time(12, 0), False),
    ],
)
def test_quiet_hours_wrap_past_midnight(local: time, quiet: bool) -> None:
    now = datetime(2024, 8, 7, local.hour, local.minute, tzinfo=MSK).astimezone(UTC)
    assert in_quiet_hours(now, (time(23, 0), time(7, 0)), MSK) is quiet


async def test_quiet_hours_deliver_only_critical_and_the_rest_waits_for_their_end(tmp_path: Path) -> None:
    night = datetime(2024, 8, 7, 23, 30, tzinfo=MSK).astimezone(UTC)
    app = await make_app(tmp_path, with_route('quiet_hours = "23:00-07:00"'), start=night)
    try:
        await app.publish(GOV, "обстрел ночью")
        await app.publish(BLOG, "эвакуация ночью")
        await app.dispatcher.run_once()
        assert [a.data["rule"] for a in app.sink.delivered] == ["evacuation"]
        await digest_job(app.services.digests, app.clock)
        assert len(app.sink.delivered) == 1  # nothing more during quiet hours
        app.clock.current = datetime(2024, 8, 8, 7, 0, tzinfo=MSK).astimezone(UTC)
        await digest_job(app.services.digests, app.clock)
        assert len(app.sink.delivered) == 2
        assert "обстрел ночью" in app.sink.delivered[1].html
        assert "Digest" in app.sink.delivered[1].html
        await digest_job(app.services.digests, app.clock)
        assert len(app.sink.delivered) == 2  # exactly once
    finally:
        await app.store.close()


# -- digests --------------------------------------------------------------------------------------------


def test_digest_boundaries_follow_the_local_clock() -> None:
    now = datetime(2024, 8, 7, 10, 20, tzinfo=UTC)  # 13:20 in Moscow
    assert last_boundary(now, "hourly", 8, MSK) == datetime(2024, 8, 7, 10, 0, tzinfo=UTC)
    assert last_boundary(now, "daily", 8, MSK) == datetime(2024, 8, 7, 5, 0, tzinfo=UTC)
    assert last_boundary(now, "daily", 14, MSK) == datetime(2024, 8, 6, 11, 0, tzinfo=UTC)


async def test_hourly_digest_collects_info_matches_and_sends_at_the_top_of_the_hour(tmp_path: Path) -> None:
    start = datetime(2024, 8, 7, 10, 10, tzinfo=UTC)
    app = await make_app(tmp_path, with_route('digest = "hourly"'), start=start)
    try:
        await app.publish(GOV, "утренняя сводка")
        await app.publish(BLOG, "сводка от блогера")
        await app.publish(GOV, "обстрел")  # warning: not digest material, sent at once
        await app.dispatcher.run_once()
        assert [a.data["rule"] for a in app.sink.delivered] == ["shelling"]
        app.clock.advance(40 * 60)  # 10:50: the hour is not over
        await digest_job(app.services.digests, app.clock)
        assert len(app.sink.delivered) == 1
        app.clock.advance(10 * 60)  # 11:00
        await digest_job(app.services.digests, app.clock)
        assert len(app.sink.delivered) == 2
        digest = app.sink.delivered[1]
        assert "2 post(s)" in digest.html
        assert "утренняя сводка" in digest.html
        assert "сводка от блогера" in digest.html
        held = await app.store.alerts.listing(AlertFilter(statuses=(AlertStatus.HELD,)))
        assert held == []
    finally:
        await app.store.close()


async def test_daily_digest_waits_for_the_digest_hour(tmp_path: Path) -> None:
    start = datetime(2024, 8, 7, 9, 0, tzinfo=MSK).astimezone(UTC)
    app = await make_app(tmp_path, with_route('digest = "daily"'), start=start)
    try:
        await app.publish(GOV, "сводка дня")
        app.clock.current = datetime(2024, 8, 8, 7, 59, tzinfo=MSK).astimezone(UTC)
        await digest_job(app.services.digests, app.clock)
        assert app.sink.delivered == []
        app.clock.current = datetime(2024, 8, 8, 8, 0, tzinfo=MSK).astimezone(UTC)
        await digest_job(app.services.digests, app.clock)
        assert len(app.sink.delivered) == 1
    finally:
        await app.store.close()


async def test_a_flood_wait_during_a_digest_retries_without_resending_parts(tmp_path: Path) -> None:
    start = datetime(2024, 8, 7, 10, 10, tzinfo=UTC)
    app = await make_app(tmp_path, with_route('digest = "hourly"'), start=start)
    try:
        for i in range(40):
            await app.publish(GOV, f"сводка {i} " + "подробности " * 30)
        app.clock.advance(50 * 60)
        app.sink.failures = []
        sent_before = len(app.sink.delivered)
        original = app.sink.deliver
        calls = 0

        async def flaky(alert):  # type: ignore[no-untyped-def]
            nonlocal calls
            calls += 1
            if calls == 2:
                from bot.domain.errors import RateLimited

                raise RateLimited(30, request="send")
            return await original(alert)

        app.sink.deliver = flaky  # type: ignore[method-assign]
        report = await app.services.digests.run_once(app.clock.now())
        assert report.retried == 1
        assert len(app.sink.delivered) == sent_before + 1
        app.clock.advance(60)
        report = await app.services.digests.run_once(app.clock.now())
        assert report.sent == 1
        keys = [a.dedup_key for a in app.sink.delivered[sent_before:]]
        assert len(keys) == len(set(keys)) >= 2
        assert all(len(a.html) <= 4096 for a in app.sink.delivered)
    finally:
        await app.store.close()
