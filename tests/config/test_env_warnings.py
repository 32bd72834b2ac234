"""A .env line that cannot be read is one warning naming the .env file and the line (python-dotenv's own
message named neither the file nor what to write instead)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.cli import main
from config.env import env_warnings


def test_an_unreadable_dotenv_line_is_named_with_its_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    config = tmp_path / "cfg" / "telewatch.toml"
    config.parent.mkdir()
    config.write_text("", encoding="utf-8")
    dotenv = config.parent / ".env"
    dotenv.write_text("# secrets\nTELEWATCH_API_ID=5\nthis is not an assignment\nTELEWATCH_DB_PASSWORD=x\n")
    (warning,) = env_warnings(config, {})
    assert warning.startswith(f"{dotenv}:3: cannot read 'this is not an assignment'; the line is ignored")
    with caplog.at_level(logging.WARNING):
        assert main(["--config", str(config), "config", "check"]) == 0
    err = capsys.readouterr().err
    assert f"warning: {dotenv}:3: cannot read" in err
    assert "could not parse" not in err + caplog.text  # python-dotenv's own, unnamed message
