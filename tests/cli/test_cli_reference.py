"""docs/cli.md is generated from the click commands; it must match them (run `make docs` after a change)."""

from __future__ import annotations

from pathlib import Path

from bot.cli import cli
from bot.cli.reference import render

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_the_cli_reference_is_up_to_date() -> None:
    import difflib

    diff = "".join(
        difflib.unified_diff(DOC.read_text(encoding="utf-8").splitlines(True), render(cli).splitlines(True))
    )
    assert not diff, "docs/cli.md is stale: run `make docs`\n" + diff


def test_the_reference_names_every_command_and_option() -> None:
    text = render(cli)
    for name in cli.list_commands(None):  # type: ignore[arg-type]
        assert f"`telewatch {name}`" in text
    assert "`telewatch posts search`" in text
    assert "`--json`" in text
