"""`telewatch init`, `channels add|remove|list|enable|disable`, `config check|show` through the entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from config.loader import load


@pytest.fixture
def cfg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COLUMNS", "160")  # rich tables: wide enough that no cell is cut
    return tmp_path / "conf" / "telewatch.toml"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_init_writes_the_commented_example_and_refuses_to_overwrite(
    cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "--config", str(cfg), "init")
    assert code == 0
    assert "wrote" in out
    assert "TELEWATCH_API_HASH" in out
    example = (Path(__file__).resolve().parents[2] / "config" / "example.toml").read_text(encoding="utf-8")
    assert cfg.read_text(encoding="utf-8") == example
    cfg.write_text("# mine\n", encoding="utf-8")
    code, _, err = run(capsys, "--config", str(cfg), "init")
    assert code == 2
    assert "already exists" in err
    assert "--force" in err
    assert cfg.read_text(encoding="utf-8") == "# mine\n"
    code, _, _ = run(capsys, "--config", str(cfg), "init", "--force")
    assert code == 0
    assert cfg.read_text(encoding="utf-8") == example


def test_channels_add_list_remove_round_trip(cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--config", str(cfg), "init")[0] == 0
    code, out, _ = run(
        capsys,
        "--config",
        str(cfg),
        "channels",
        "add",
        "https://t.me/mash_news",
        "--label",
        "media",
        "--tag",
        "ru",
        "--tag",
        "tabloid",
        "--backfill-days",
        "3",
        "--disabled",
    )
    assert code == 0
    assert "added" in out
    code, out, _ = run(capsys, "--config", str(cfg), "channels", "list", "--json")
    rows = json.loads(out)
    mash = next(r for r in rows if r["ref"] == "https://t.me/mash_news")
    assert mash == {
        "ref": "https://t.me/mash_news",
        "label": "media",
        "tags": ["ru", "tabloid"],
        "enabled": False,
        "backfill_days": 3,
    }
    code, out, _ = run(capsys, "--config", str(cfg), "channels", "list")
    assert code == 0
    assert "mash_news" in out
    assert "backfill_days=3" in out
    assert run(capsys, "--config", str(cfg), "channels", "enable", "@Mash_News")[0] == 0
    assert next(c for c in load(cfg, {}).channels if c.ref.endswith("mash_news")).enabled
    code, out, _ = run(capsys, "--config", str(cfg), "channels", "remove", "@MASH_NEWS")
    assert code == 0
    assert "removed" in out
    assert all("mash" not in c.ref for c in load(cfg, {}).channels)
    assert "# Watched channels." in cfg.read_text(encoding="utf-8")


def test_channels_add_duplicate_exits_2_with_one_line(cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "--config", str(cfg), "init")
    code, _, err = run(capsys, "--config", str(cfg), "channels", "add", "t.me/rybar")
    assert code == 2
    assert err.startswith("error: ")
    assert "already listed" in err
    assert "Traceback" not in err


def test_channels_remove_unknown_exits_5(cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "--config", str(cfg), "init")
    code, _, err = run(capsys, "--config", str(cfg), "channels", "remove", "@nobody_here")
    assert code == 5
    assert "not in" in err


def test_channels_without_a_config_file_say_to_run_init(
    cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "--config", str(cfg), "channels", "list")
    assert code == 2
    assert "telewatch init" in err


def test_config_check_reports_ok_and_errors(cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "--config", str(cfg), "init")
    code, out, _ = run(capsys, "--config", str(cfg), "config", "check")
    assert code == 0
    assert "ok" in out
    assert "channels" in out
    cfg.write_text('[schedule]\npoll_minutes = "often"\n', encoding="utf-8")
    code, _, err = run(capsys, "--config", str(cfg), "config", "check")
    assert code == 2
    assert f"{cfg}:2: key 'schedule.poll_minutes'" in err


@pytest.mark.parametrize("command", [("config", "check"), ("replay", "--speed", "0", "{posts}")])
def test_a_route_naming_no_known_sink_is_one_line_naming_its_key(
    cfg: Path, capsys: pytest.CaptureFixture[str], command: tuple[str, ...]
) -> None:
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text('[[routes]]\nname = "desk"\nsink = "telegramm"\n', encoding="utf-8")
    posts = cfg.parent / "posts.jsonl"
    posts.write_text(
        '{"channel": "@alpha", "id": 1, "date": "2024-08-07T06:30:00Z", "text": "x"}\n', encoding="utf-8"
    )
    code, _, err = run(capsys, "--config", str(cfg), *(c.format(posts=posts) for c in command))
    assert code == 2
    assert f"{cfg}:3: key 'routes[0].sink': is not allowed" in err
    assert "did you mean 'telegram'?" in err


def test_config_show_hides_secrets(
    cfg: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run(capsys, "--config", str(cfg), "init")
    monkeypatch.setenv("TELEWATCH_API_HASH", "ab" * 16)
    code, out, _ = run(capsys, "--config", str(cfg), "config", "show", "--json")
    data = json.loads(out)
    assert code == 0
    assert data["telegram"]["api_hash"] == "***"
    assert "ab" * 16 not in out
    assert data["rules"][0]["any"]
    assert data["routes"][0]["sink"] == "console"
    code, out, _ = run(capsys, "--config", str(cfg), "config", "show")
    assert code == 0
    assert "[telegram]" in out
    assert "ab" * 16 not in out
