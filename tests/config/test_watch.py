"""ConfigWatcher: a changed file is reloaded and handed over; a bad edit is logged and the old settings kept."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from config.edit import ConfigEditor
from config.files import atomic_write
from config.settings import Settings
from config.watch import ConfigWatcher, start_watching
from tests.config.conftest import WriteConfig

GOOD = '[[channels]]\nref = "@rybar"\n'


async def test_check_reloads_a_changed_file_and_calls_on_change(write_config: WriteConfig) -> None:
    path = write_config(GOOD)
    seen: list[Settings] = []
    watcher = ConfigWatcher(path, {}, seen.append)
    assert await watcher.check() is None  # nothing changed yet
    ConfigEditor(path, {}).add_channel("@mash_news")
    new = await watcher.check()
    assert new is not None
    assert [c.ref for c in new.channels] == ["@rybar", "@mash_news"]
    assert seen == [new]
    assert watcher.current == new


async def test_async_on_change_is_awaited(write_config: WriteConfig) -> None:
    path = write_config(GOOD)
    seen: list[Settings] = []

    async def handler(settings: Settings) -> None:
        await asyncio.sleep(0)
        seen.append(settings)

    watcher = ConfigWatcher(path, {}, handler)
    atomic_write(path, 'timezone = "Europe/Kyiv"\n' + GOOD)
    await watcher.check()
    assert [s.timezone for s in seen] == ["Europe/Kyiv"]


async def test_bad_edit_is_logged_once_and_old_settings_kept(
    write_config: WriteConfig, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_config(GOOD)
    seen: list[Settings] = []
    watcher = ConfigWatcher(path, {}, seen.append)
    old = watcher.current
    atomic_write(path, GOOD + "[schedule]\npoll_minutes = -1\n")
    with caplog.at_level(logging.ERROR, logger="config.watch"):
        assert await watcher.check() is None
        assert await watcher.check() is None  # same bad file: not reported again
    assert watcher.current is old
    assert seen == []
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "schedule.poll_minutes" in errors[0].getMessage()
    assert "\n" not in errors[0].getMessage()
    assert watcher.last_error is not None
    atomic_write(path, GOOD + "[schedule]\npoll_minutes = 1\n")  # fixed: reloads
    new = await watcher.check()
    assert new is not None
    assert new.schedule.poll_minutes == 1.0
    assert watcher.last_error is None


async def test_touch_without_a_change_does_not_call_on_change(write_config: WriteConfig) -> None:
    path = write_config(GOOD)
    seen: list[Settings] = []
    watcher = ConfigWatcher(path, {}, seen.append)
    atomic_write(path, GOOD)
    assert await watcher.check() is None
    assert seen == []


async def test_new_dotenv_is_picked_up(write_config: WriteConfig) -> None:
    path = write_config(GOOD)
    watcher = ConfigWatcher(path, {}, lambda s: None)
    (path.parent / ".env").write_text("TELEWATCH_API_ID=42\n", encoding="utf-8")
    new = await watcher.check()
    assert new is not None
    assert new.telegram.api_id == 42


async def test_running_task_reloads_on_change(write_config: WriteConfig) -> None:
    path = write_config(GOOD)
    changed = asyncio.Event()
    got: list[Settings] = []

    def on_change(settings: Settings) -> None:
        got.append(settings)
        changed.set()

    _, task = start_watching(
        path, {}, on_change, current=ConfigWatcher(path, {}, on_change).current, interval=0.01
    )
    try:
        await asyncio.sleep(0.03)
        atomic_write(path, '[[channels]]\nref = "@other_one"\n')
        await asyncio.wait_for(changed.wait(), timeout=5)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert [c.ref for c in got[0].channels] == ["@other_one"]


async def test_failing_handler_does_not_stop_the_watcher(
    write_config: WriteConfig, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_config(GOOD)
    calls: list[int] = []

    def on_change(settings: Settings) -> None:
        calls.append(len(settings.channels))
        if len(calls) == 1:
            raise RuntimeError("handler bug")

    watcher = ConfigWatcher(path, {}, on_change, interval=0.01)
    task = asyncio.create_task(watcher.run())
    try:
        atomic_write(path, GOOD + '[[channels]]\nref = "@second"\n')
        for _ in range(500):
            if calls:
                break
            await asyncio.sleep(0.01)
        atomic_write(path, GOOD + '[[channels]]\nref = "@second"\n[[channels]]\nref = "@third"\n')
        for _ in range(500):
            if len(calls) == 2:
                break
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert calls == [2, 3]
    assert any("handler failed" in r.getMessage() for r in caplog.records)


def test_missing_file_at_start_raises(tmp_path: Path) -> None:
    from bot.domain.errors import ConfigError

    with pytest.raises(ConfigError, match="not found"):
        ConfigWatcher(tmp_path / "none.toml", {}, lambda s: None)
