"""A real archive for the web pages: posts imported through the real pipeline into SQLite, with matches,
alerts (a jsonl route), an edit, a deletion, a forward copy, a reply and a hostile post."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bot.cli import main
from bot.web import WebOptions, create_app
from storage.store import Store

HOSTILE = '<script>alert("x")</script> &amp; &lt;b&gt; <img src=x onerror=alert(1)> эвакуация'
LINES = [
    {
        "channel": "@gov_test",
        "channel_title": "Губернатор",
        "id": 1,
        "date": "2024-08-06T08:00:00Z",
        "text": "Несколько тысяч жителей эвакуированы из Суджи",
    },
    {"channel": "@gov_test", "id": 2, "date": "2024-08-06T09:00:00Z", "text": "Погода: солнечно"},
    {
        "channel": "@milblog_test",
        "id": 7,
        "date": "2024-08-06T10:00:00Z",
        "text": "Обстрел окраин Суджи",
        "reply_to": 6,
    },
    {
        "channel": "@milblog_test",
        "id": 8,
        "date": "2024-08-06T10:30:00Z",
        "text": "Подробности: обстрел продолжается",
        "reply_to": 7,
    },
    {
        "channel": "@gov_test",
        "id": 2,
        "date": "2024-08-06T09:00:00Z",
        "text": "Погода: солнечно. Объявлена эвакуация",
        "edit_date": "2024-08-06T11:00:00Z",
        "event": "edit",
    },
    {"channel": "@media_test", "id": 30, "date": "2024-08-06T12:00:00Z", "text": HOSTILE},
    {
        "channel": "@media_test",
        "id": 31,
        "date": "2024-08-06T12:30:00Z",
        "text": "Репортаж https://example.org/a",
        "entities": [{"type": "url", "offset": 9, "length": 21}],
    },
    {"event": "delete", "channel": "@milblog_test", "ids": [8]},
    *[
        {
            "channel": "@filler_test",
            "id": 100 + i,
            "date": f"2024-08-05T{i % 24:02d}:10:00Z",
            "text": f"Сводка номер {i}: без происшествий",
        }
        for i in range(25)
    ],
]
CONFIG = """
timezone = "UTC"

[[channels]]
ref = "@gov_test"
label = "official"

[[channels]]
ref = "@milblog_test"
label = "milblogger"

[[rules]]
name = "evacuation"
any = ["эвакуация", "эвакуировать"]
severity = "critical"

[[rules]]
name = "shelling"
any = ["обстрел"]

[[routes]]
name = "desk"
sink = "jsonl"
target = "alerts.jsonl"
"""
SECRET = "TELEWATCH_API_HASH=0123456789abcdef0123456789abcdef\n"


@dataclass(frozen=True)
class Archive:
    root: Path
    db: Path
    config: Path


def build_archive(root: Path, monkeypatch: pytest.MonkeyPatch) -> Archive:
    """Config, .env with a secret (that must never show), and a database filled by `telewatch import --alert`."""
    (root / "telewatch.toml").write_text(CONFIG, encoding="utf-8")
    (root / ".env").write_text(SECRET, encoding="utf-8")
    (root / "posts.jsonl").write_text(
        "\n".join(json.dumps(line, ensure_ascii=False) for line in LINES) + "\n", encoding="utf-8"
    )
    monkeypatch.chdir(root)
    code = main(
        [
            "--config",
            str(root / "telewatch.toml"),
            "--db",
            str(root / "tw.db"),
            "import",
            "--alert",
            str(root / "posts.jsonl"),
        ]
    )
    assert code == 0
    return Archive(root, root / "tw.db", root / "telewatch.toml")


@pytest.fixture
def archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Archive:
    return build_archive(tmp_path, monkeypatch)


@asynccontextmanager
async def serve(archive: Archive, **options: object) -> AsyncIterator[httpx.AsyncClient]:
    """The app over the archive (its lifespan run), with an ASGI client holding cookies."""
    opts = WebOptions(db_path=archive.db, config_path=archive.config, environ={}, **options)  # type: ignore[arg-type]
    app = create_app(opts, lambda: Store.open(archive.db, read_only=opts.read_only))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            yield client


def csrf_of(html: str) -> str:
    """The CSRF token a page carries."""
    marker = 'name="csrf-token" content="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]
