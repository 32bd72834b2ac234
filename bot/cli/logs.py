"""Log output: readable lines on a terminal, or one JSON object per line for log shippers."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import click

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """{"time", "level", "logger", "message"} (+ "exception" with its traceback), one line each."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


_json_lines = False  # --log-format json: our own error/warning lines are JSON objects too


def use_json(on: bool) -> None:
    global _json_lines
    _json_lines = on


def json_requested(argv: Sequence[str], environ: Mapping[str, str] = os.environ) -> bool:
    """--log-format json (or TELEWATCH_LOG_FORMAT=json), read before click parses anything: a usage
    error is printed before the option takes effect."""
    for i, arg in enumerate(argv):
        if arg == "--log-format":
            return i + 1 < len(argv) and argv[i + 1] == "json"
        if arg.startswith("--log-format="):
            return arg.split("=", 1)[1] == "json"
        if arg == "--":
            break
    return environ.get("TELEWATCH_LOG_FORMAT", "") == "json"


def say(level: str, message: str, hint: str | None = None) -> None:
    """One message of ours on stderr: `error: …` / `warning: …` (+ `hint: …`) lines, or with JSON logs
    one {"time", "level", "logger", "message", "hint"} object, like every log line around it."""
    if _json_lines:
        data: dict[str, object] = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "level": level,
            "logger": "telewatch",
            "message": message,
        }
        if hint:
            data["hint"] = hint
        click.echo(json.dumps(data, ensure_ascii=False), err=True)
        return
    click.secho(f"{level}: {message}", fg="red" if level == "error" else "yellow", err=True)
    if hint:
        click.echo(f"hint: {hint}", err=True)


def configure(level: int, log_format: str) -> None:
    """Set up the root logger once, in the entry point: text (the default) or JSON lines on stderr.

    Like logging.basicConfig, it leaves alone a root logger someone else already set up (a test
    runner capturing logs, an application embedding telewatch).
    """
    use_json(log_format == "json")
    root = logging.getLogger()
    if any(not getattr(h, "telewatch", False) for h in root.handlers):
        return
    for old in list(root.handlers):
        root.removeHandler(old)
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    handler.telewatch = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
