"""#21: config show/check report the database commands open (--db / TELEWATCH_DB); #7: text with
[brackets] is printed as written, never eaten as rich markup."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main


def test_config_show_and_check_report_the_db_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "telewatch.toml").write_text('[storage]\npath = "data/telewatch.db"\n', encoding="utf-8")
    monkeypatch.setenv("TELEWATCH_CONFIG", str(tmp_path / "telewatch.toml"))
    monkeypatch.setenv("TELEWATCH_DB", str(tmp_path / "telewatch.db"))
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["config", "show", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["storage"]["path"] == str(tmp_path / "telewatch.db")
    assert main(["config", "show"]) == 0
    out = capsys.readouterr().out
    assert str(tmp_path / "telewatch.db") in out
    assert "data/telewatch.db" not in out
    assert main(["config", "check"]) == 0
    out = capsys.readouterr().out
    assert f"storage {tmp_path / 'telewatch.db'}," in out


def test_prune_hint_keeps_its_bracketed_section_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from storage.store import Store

    async def make() -> None:
        async with await Store.open(tmp_path / "tw.db"):
            pass

    asyncio.run(make())
    (tmp_path / "none.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("TELEWATCH_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["--db", str(tmp_path / "tw.db"), "db", "prune", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "(set [storage] keep_days or [storage.keep_days_by_label] in the config)" in out


async def test_backup_paths_with_brackets_are_printed_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from storage.store import Store

    async with await Store.open(tmp_path / "tw.db"):
        pass
    (tmp_path / "none.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("TELEWATCH_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("COLUMNS", "300")
    target = tmp_path / "[bold]x.db"
    assert await asyncio.to_thread(main, ["--db", str(tmp_path / "tw.db"), "backup", str(target)]) == 0
    assert f"backup written: {target}" in capsys.readouterr().out


def test_commands_that_deliver_nothing_do_not_need_route_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """#69: db prune / stats / backup / health work while an apprise route's ${HOOK_URL} is unset;
    commands that deliver still refuse."""
    import asyncio

    from storage.store import Store

    async def make() -> None:
        async with await Store.open(tmp_path / "tw.db"):
            pass

    asyncio.run(make())
    (tmp_path / "t.toml").write_text(
        '[storage]\nkeep_days = 30\n[[routes]]\nname = "ops"\nsink = "apprise"\ntarget = "${HOOK_URL}"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("TELEWATCH_CONFIG", str(tmp_path / "t.toml"))
    monkeypatch.setenv("TELEWATCH_DB", str(tmp_path / "tw.db"))
    monkeypatch.delenv("HOOK_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["db", "prune", "--dry-run"]) == 0
    assert main(["db", "stats"]) == 0
    assert main(["backup", str(tmp_path / "b.db")]) == 0
    for reading in (["posts", "search", "x"], ["posts", "recent"], ["alerts", "list"], ["trends"]):
        assert main(reading) == 0, reading
    assert main(["posts", "show", "@alpha/1"]) == 5  # no such post, not a missing secret
    capsys.readouterr()
    assert main(["config", "check"]) == 2
    assert "${HOOK_URL}" in capsys.readouterr().err


def test_config_check_warns_of_settings_that_do_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """#35: forward_original on a non-telegram route; #55: a keep_days_by_label label no channel has."""
    (tmp_path / "t.toml").write_text(
        '[[channels]]\nref = "@alpha"\nlabel = "military"\n\n'
        "[storage.keep_days_by_label]\nmilitray = 30\n\n"
        '[[routes]]\nname = "file"\nsink = "jsonl"\n'
        f'target = "{tmp_path / "a.jsonl"}"\nforward_original = true\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("TELEWATCH_CONFIG", str(tmp_path / "t.toml"))
    monkeypatch.setenv("TELEWATCH_DB", str(tmp_path / "tw.db"))
    monkeypatch.chdir(tmp_path)
    assert main(["config", "check"]) == 0
    err = capsys.readouterr().err
    assert "routes[0] ('file'): forward_original = true does nothing on a jsonl route" in err
    assert (
        "[storage.keep_days_by_label] 'militray': no channel has this label (did you mean 'military'?)" in err
    )
