"""The examples of docs/architecture.md work as written: a webhook sink and a chat command, each one new
module plus one registration line."""

from __future__ import annotations

import json
import re
import threading
import types
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from bot.alerts.sinks import KINDS, SinkEnv, SinkSet, register
from bot.chat.models import Command, Reply
from bot.chat.router import Router
from bot.domain.errors import DeliveryFailed
from bot.domain.ports import OutgoingAlert
from config.settings import RouteSettings, Settings
from storage.store import Store

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


def blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def module_from(source: str, name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    exec(compile(source, f"docs/architecture.md:{name}", "exec"), module.__dict__)
    return module


class Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, object]]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        Receiver.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


async def test_the_webhook_sink_example_plugs_in_with_one_registration_line(receiver: str) -> None:
    sink_code, registration, *_ = blocks()
    webhook = module_from(sink_code, "webhook")
    assert registration.strip() == "register(webhook.KIND)"
    eval(registration, {"register": register, "webhook": webhook})
    try:
        sinks = SinkSet(SinkEnv())
        added = sinks.update(Settings(routes=(RouteSettings(name="hook", sink="webhook", target=receiver),)))
        assert added == [f"webhook:{receiver}"]
        alert = OutgoingAlert("3/10/evac/new/hook", "plain", "<b>html</b>", {"rule": "evac"})
        await sinks[f"webhook:{receiver}"].deliver(alert)
        assert Receiver.received[-1] == {"dedup_key": "3/10/evac/new/hook", "rule": "evac"}
        with pytest.raises(DeliveryFailed):
            await webhook.WebhookSink("http://127.0.0.1:9/closed").deliver(alert)
    finally:
        del KINDS["webhook"]


async def test_the_chat_command_example_plugs_in_with_one_registration_line(tmp_path: Path) -> None:
    _, _, command_code, registration = blocks()
    cmd_ping = module_from(command_code, "cmd_ping")
    commands = Router()
    assert registration.strip() == "COMMANDS.include(cmd_ping.router)"
    eval(registration, {"COMMANDS": commands, "cmd_ping": cmd_ping})
    ping = commands.get("ping")
    assert ping is not None
    assert ping.summary == "is telewatch alive"
    async with await Store.open(tmp_path / "t.db") as store:
        ctx = types.SimpleNamespace(store=store)
        replies = await ping.handler(ctx, Command(chat_id=1, user_id=2, text="/ping"), "")  # type: ignore[arg-type]
    assert replies == [Reply("pong: 0 posts stored")]
