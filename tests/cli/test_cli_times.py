"""Every time option: a moment outside the calendar is a usage error (exit 2, one line), never a crash."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.cli import main
from storage.store import Store

OUT_OF_RANGE = ["99999999d", "0001-01-01T00:00+05:00", "0001-01-01T00:00:00+23:59"]
COMMANDS = [
    ["posts", "search", "x", "--since"],
    ["posts", "search", "x", "--until"],
    ["alerts", "list", "--since"],
    ["trends", "--at"],
]


@pytest.fixture
def archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    async def make() -> None:
        async with await Store.open(tmp_path / "tw.db"):
            pass

    asyncio.run(make())
    (tmp_path / "none.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("TELEWATCH_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("TELEWATCH_DB", str(tmp_path / "tw.db"))
    return tmp_path / "tw.db"


@pytest.mark.parametrize("value", OUT_OF_RANGE)
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_moment_outside_the_calendar_is_a_usage_error(
    archive: Path, capsys: pytest.CaptureFixture[str], command: list[str], value: str
) -> None:
    """#59: --since 99999999d or a date whose UTC time is before year 1: exit 2, one error line."""
    code = main([*command, value])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "OverflowError" not in err
    assert "Traceback" not in err
    assert sum(line.startswith("error:") for line in err.splitlines()) == 1
    assert value in err
