"""Log output: readable lines on a terminal, or one JSON object per line for log shippers."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

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


def configure(level: int, log_format: str) -> None:
    """Set up the root logger once, in the entry point: text (the default) or JSON lines on stderr.

    Like logging.basicConfig, it leaves alone a root logger someone else already set up (a test
    runner capturing logs, an application embedding telewatch).
    """
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
