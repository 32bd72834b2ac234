"""Tables stay readable in narrow terminals: ids are never cut, text shrinks and wraps, optional
columns are hidden first; the real commands at COLUMNS=80 and 60."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from rich.console import Console

from bot.cli import main
from bot.cli.alerts_cmds import ALERT_COLUMNS
from bot.cli.tables import fitted_table

TEXT = "Жителей Суджанского района эвакуируют, автобусы отправляются от администрации каждый час " * 2


def render(width: int, rows: list[list[str]]) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(fitted_table(console, ALERT_COLUMNS, rows, title="alerts"))
    return console.export_text()


def alert_row(alert_id: int) -> list[str]:
    return [
        str(alert_id),
        "2024-08-06 08:10",
        "evacuation-and-shelters",
        "critical",
        "edited",
        "sent (relevant)",
        "ops",
        "@kursk_governor_demo_channel",
        "9876543210",
        TEXT,
    ]


@pytest.mark.parametrize("width", [120, 80, 60, 40])
def test_ids_are_never_cut_and_the_text_keeps_room(width: int) -> None:
    out = render(width, [alert_row(123456789), alert_row(7)])
    assert all(len(line) <= width for line in out.splitlines())
    assert "123456789" in out
    assert "│ 7 " in out or "│         7 │" in out
    assert "Жите" in out  # the text column has width
    assert "│  │" not in out.replace(" ", "")  # no zero-width column


def test_optional_columns_go_before_the_text_is_squeezed() -> None:
    wide, narrow = render(160, [alert_row(5)]), render(80, [alert_row(5)])
    assert "kind" in wide
    assert "post" in wide
    assert "kind" not in narrow  # hidden at 80 columns...
    assert "rule" in narrow  # ...while the rule and the text stay
    assert "route" in narrow  # and the route: a post's alerts on two routes differ only there
    assert "Жителей" in narrow


POSTS = [
    {"channel": "@gov_test", "id": i, "date": "2024-08-06T08:00:00Z", "text": "Жителей эвакуируют " * 12}
    for i in range(1, 4)
]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in [k for k in os.environ if k.startswith("TELEWATCH_")]:
        monkeypatch.delenv(key)
    (tmp_path / "telewatch.toml").write_text(
        '[[rules]]\nname = "e"\nany = ["эвакуируют"]\n', encoding="utf-8"
    )
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(p) + "\n" for p in POSTS), encoding="utf-8")
    monkeypatch.setenv("TELEWATCH_CONFIG", str(tmp_path / "telewatch.toml"))
    monkeypatch.setenv("TELEWATCH_DB", str(tmp_path / "tw.db"))
    monkeypatch.chdir(tmp_path)
    assert main(["import", "p.jsonl", "--alert"]) == 0
    return tmp_path


@pytest.mark.parametrize("width", ["80", "60"])
@pytest.mark.parametrize(
    "args", [["alerts", "list"], ["posts", "recent"], ["posts", "search", "Жителей"], ["import", "p.jsonl"]]
)
def test_listings_fit_narrow_terminals_with_whole_ids(
    home: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    width: str,
    args: list[str],
) -> None:
    monkeypatch.setenv("COLUMNS", width)
    capsys.readouterr()
    assert main(args) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines
    assert all(len(line) <= int(width) for line in lines), out
    header = next(line for line in lines if "┃" in line)
    first = header.split("┃")[1].strip()
    assert first in ("id", "file"), header
    if first == "id":
        cells = [line.split("│")[1].strip() for line in lines if line.startswith("│")]
        assert {"1", "2", "3"} <= set(cells), out  # every id whole
        assert "Жителей" in out
