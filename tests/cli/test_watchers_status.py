"""`telewatch status` lists the watchers sharing the database and the channels none of them holds."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.domain.ports import ResolvedChannel
from bot.domain.records import WatcherBeat
from bot.domain.refs import parse_channel_ref
from storage.store import Store

CONFIG = (
    '[telegram]\nsession_dir = "sessions"\n\n[[channels]]\nref = "@alpha_news"\n\n'
    '[[channels]]\nref = "@bravo_news"\n'
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in [k for k in os.environ if k.startswith("TELEWATCH_")]:
        monkeypatch.delenv(key)
    (tmp_path / "telewatch.toml").write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("TELEWATCH_CONFIG", str(tmp_path / "telewatch.toml"))
    monkeypatch.setenv("TELEWATCH_DB", str(tmp_path / "tw.db"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


async def two_channels_one_held(db: Path) -> None:
    """A watcher (capacity 1) resolved both channels and holds one; the other is unowned."""
    now = datetime.now(UTC)
    async with await Store.open(db) as store:
        ids = []
        for i, name in enumerate(("alpha_news", "bravo_news")):
            resolved = ResolvedChannel(tg_id=900 + i, username=name, title=name, access_hash=1, joined=True)
            channel_id, _ = await store.watch.remember(parse_channel_ref(f"@{name}").key, resolved, "ok", now)
            ids.append(channel_id)
        beat = WatcherBeat(name="desk-1", account="desk", host="h", pid=1, max_channels=1, lag_seconds=12)
        await store.leases.sync(beat, ids, now, 60.0)


async def test_status_json_lists_watchers_and_unowned_channels(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await two_channels_one_held(home / "tw.db")
    assert await _main(["status", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (watcher,) = data["watchers"]
    assert (watcher["name"], watcher["account"], watcher["state"]) == ("desk-1", "desk", "live")
    assert (watcher["channels"], watcher["max_channels"], watcher["lag_s"]) == (1, 1, 12.0)
    (unowned,) = data["unowned"]
    assert unowned["channel"] == "@bravo_news"
    assert await _main(["status"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "desk-1" in out
    assert "unowned: @bravo_news" in out


async def _main(args: list[str]) -> int:
    import asyncio

    return await asyncio.to_thread(main, args)  # the CLI runs its own event loop
