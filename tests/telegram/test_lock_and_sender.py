"""The single-instance lock, and the Telegram alert sink's exactly-once sending and error translation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.alerts.sinks.telegram import TelegramSink, random_id_for
from bot.domain.errors import AlreadyRunning, DeliveryFailed, RateLimited, TargetUnreachable
from bot.domain.ports import OutgoingAlert
from bot.watch.lock import InstanceLock
from tests.fakes import FakeTelegram


def test_a_second_lock_on_the_same_session_refuses_with_the_holders_pid(tmp_path: Path) -> None:
    path = tmp_path / "watcher.lock"
    with InstanceLock(path):
        with pytest.raises(AlreadyRunning) as info:
            InstanceLock(path).acquire()
        assert str(os.getpid()) in str(info.value)
        assert info.value.exit_code == 8
    with InstanceLock(path) as again:  # released on exit
        assert again.held


def test_the_lock_is_held_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "watcher.lock"
    code = (
        "import sys; from bot.watch.lock import InstanceLock; from bot.domain.errors import AlreadyRunning\n"
        f"try:\n    InstanceLock(__import__('pathlib').Path({str(path)!r})).acquire()\n"
        "except AlreadyRunning:\n    sys.exit(8)\n"
    )
    with InstanceLock(path):
        other = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[2], check=False)
    assert other.returncode == 8


def alert(key: str = "1/5/evac/new/tg", target: str | None = "@desk") -> OutgoingAlert:
    return OutgoingAlert(
        dedup_key=key,
        plain="evacuated",
        html="<b>evacuated</b>",
        data={},
        target=target,
        buttons=(("Relevant", "rv:1:y"), ("False positive", "rv:1:n")),
    )


def test_random_id_is_a_stable_signed_64_bit_number_per_dedup_key() -> None:
    assert random_id_for("a") == random_id_for("a")
    assert random_id_for("a") != random_id_for("b")
    assert -(2**63) <= random_id_for("a") < 2**63


async def test_resending_an_alert_after_a_crash_shows_it_once() -> None:
    fake = FakeTelegram()
    await fake.connect()
    sink = TelegramSink(fake)
    await sink.deliver(alert())
    await sink.deliver(alert())  # the outbox retries: it had not recorded the first send
    await sink.deliver(alert(key="other"))
    assert [s.html for s in fake.sent] == ["<b>evacuated</b>", "<b>evacuated</b>"]
    assert fake.sent[0].buttons == (("Relevant", "rv:1:y"), ("False positive", "rv:1:n"))
    assert fake.count("send") == 3


async def test_a_flood_wait_on_send_becomes_rate_limited_with_retry_after() -> None:
    fake = FakeTelegram()
    await fake.connect()
    fake.flood("send", 17)
    with pytest.raises(RateLimited) as info:
        await TelegramSink(fake).deliver(alert())
    assert info.value.retry_after == 17
    assert fake.sent == []


async def test_an_unreachable_chat_is_a_waiting_state_not_a_permanent_failure() -> None:
    """ "Not found" means the chat cannot be written to yet (nobody there wrote to the bot): the alert waits."""
    fake = FakeTelegram()
    await fake.connect()
    fake.unreachable_chats.add("@gone")
    with pytest.raises(TargetUnreachable) as gone:
        await TelegramSink(fake).deliver(alert(target="@gone"))
    assert not gone.value.permanent
    assert (gone.value.target, gone.value.state) == ("@gone", "not found")
    fake.drop_connection()
    with pytest.raises(DeliveryFailed) as dropped:
        await TelegramSink(fake).deliver(alert())
    assert not dropped.value.permanent


async def test_an_alert_without_a_target_uses_the_default_chat_or_fails_permanently() -> None:
    fake = FakeTelegram()
    await fake.connect()
    await TelegramSink(fake, default_target="me").deliver(alert(target=None))
    assert fake.sent[0].chat == "me"
    with pytest.raises(DeliveryFailed) as info:
        await TelegramSink(fake).deliver(alert(target=None))
    assert info.value.permanent
