"""#16: with --log-format json our own error/warning/hint lines are JSON objects on stderr too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main


def objects(err: str) -> list[dict[str, object]]:
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines
    return [json.loads(line) for line in lines]  # every line: one JSON object


@pytest.mark.parametrize("how", ["option", "env"])
def test_errors_hints_and_warnings_are_json_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    monkeypatch.chdir(tmp_path)  # no config/telewatch.toml here: a warning
    monkeypatch.delenv("TELEWATCH_CONFIG", raising=False)
    monkeypatch.delenv("TELEWATCH_LOG_FORMAT", raising=False)
    prefix = ["--log-format", "json"] if how == "option" else []
    if how == "env":
        monkeypatch.setenv("TELEWATCH_LOG_FORMAT", "json")
    assert main([*prefix, "--db", str(tmp_path / "missing.db"), "trends"]) == 4
    found = objects(capsys.readouterr().err)
    levels = {str(o["level"]) for o in found}
    assert {"warning", "error"} <= levels
    error = next(o for o in found if o["level"] == "error")
    assert "no database at" in str(error["message"])
    assert "hint" in error
    # a usage error, printed before the option itself is applied
    assert main([*prefix, "posts", "search", "x", "--since", "bogus"]) == 2
    [usage] = [o for o in objects(capsys.readouterr().err) if o["level"] == "error"]
    assert "'bogus'" in str(usage["message"])


def test_text_mode_is_unchanged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "none.toml").write_text("", encoding="utf-8")
    args = ["--config", str(tmp_path / "none.toml"), "--db", str(tmp_path / "missing.db"), "posts", "recent"]
    assert main(args) == 4
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("error: no database at")
    assert err[1].startswith("hint: ")


def test_a_bad_value_from_the_environment_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """#57: TELEWATCH_LOG_FORMAT=xml names the variable; --log-format xml names the option."""
    monkeypatch.setenv("TELEWATCH_LOG_FORMAT", "xml")
    assert main(["config", "path"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: environment variable TELEWATCH_LOG_FORMAT: ")
    assert "'xml'" in err
    monkeypatch.delenv("TELEWATCH_LOG_FORMAT")
    assert main(["--log-format", "xml", "config", "path"]) == 2
    err = capsys.readouterr().err
    assert "environment variable" not in err
    assert "'--log-format'" in err
