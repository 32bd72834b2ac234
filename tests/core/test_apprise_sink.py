"""The apprise sink against a real HTTP server on the loopback: JSON webhooks with an idempotency key,
a server answering 500 and one that hangs (timeouts, backoff), and nothing lost."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bot.alerts.dispatcher import Dispatcher, DispatchPolicy
from bot.alerts.routing import Router
from bot.alerts.sinks import sink_key
from bot.alerts.sinks.apprise import AppriseSink, invalid_reason
from bot.domain.models import ChannelRef, Post
from bot.ingest.pipeline import Pipeline
from config.settings import RouteSettings
from storage.store import Store
from tests.ports_fakes import FakeClock, WordMatcher

T0 = datetime(2024, 8, 7, 6, 30, tzinfo=UTC)
GOV = ChannelRef(tg_id=1001, username="gov_region", title="Губернатор области")


class Hook:
    """A webhook receiver: records each JSON body and header; answers `mode` (ok, 500 or hang)."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.received: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.requests = 0
        self.release = threading.Event()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                hook.requests += 1
                if hook.mode == "hang":
                    hook.release.wait(10)  # longer than the client's read timeout
                    return
                if hook.mode == "500":
                    self.send_response(500)
                    self.end_headers()
                    return
                hook.received.append(json.loads(body))
                hook.headers.append(dict(self.headers))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.server.server_address[1]}/hook?cto=1&rto=1"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.close()


def posts(n: int) -> list[Post]:
    return [Post(GOV, i, T0 + timedelta(minutes=i), f"Начался обстрел окраин #{i}") for i in range(1, n + 1)]


async def open_app(tmp_path: Path, url: str, clock: FakeClock, policy: DispatchPolicy | None = None):  # type: ignore[no-untyped-def]
    route = RouteSettings(name="desk", sink="apprise", target=url)
    store = await Store.open(tmp_path / "db")
    pipeline = Pipeline(store, WordMatcher({"shelling": ["обстрел"]}), Router((route,)), clock=clock)
    sink = AppriseSink(url, timeout=15)
    dispatcher = Dispatcher(store, {sink_key(route): sink}, clock=clock, policy=policy)
    return store, pipeline, dispatcher


async def test_webhook_receives_the_alert_once_with_its_idempotency_key(tmp_path: Path, hook: Hook) -> None:
    clock = FakeClock()
    store, pipeline, dispatcher = await open_app(tmp_path, hook.url, clock)
    await pipeline.ingest(posts(2))
    assert (await dispatcher.run_once()).sent == 2
    assert (await dispatcher.run_once()).sent == 0
    assert len(hook.received) == 2
    first = hook.received[0]
    assert first["idempotency_key"].endswith("/shelling/new/desk")
    assert hook.headers[0]["X-Idempotency-Key"] == first["idempotency_key"]
    assert {first["idempotency_key"], hook.received[1]["idempotency_key"]} == {
        r["idempotency_key"] for r in hook.received
    }
    assert len({r["idempotency_key"] for r in hook.received}) == 2
    assert first["rule"] == "shelling"
    assert first["link"] == "https://t.me/gov_region/1"
    assert "обстрел" in first["message"]
    assert "shelling" in first["title"]
    assert await store.alerts.counts() == {"sent": 2}
    await store.close()


async def test_a_server_answering_500_is_retried_with_backoff_then_delivered(
    tmp_path: Path, hook: Hook
) -> None:
    clock = FakeClock()
    store, pipeline, dispatcher = await open_app(tmp_path, hook.url, clock)
    await pipeline.ingest(posts(3))
    hook.mode = "500"
    result = await dispatcher.run_once()
    # one request: the destination is down, so the other two wait without a request each
    assert (result.sent, result.retried, hook.requests) == (0, 3, 1)
    clock.advance(1)
    assert (await dispatcher.run_once()).retried == 0  # backoff: not due yet
    clock.advance(2)
    await dispatcher.run_once()
    assert hook.requests == 2
    hook.mode = "ok"
    clock.advance(60)
    assert (await dispatcher.run_once()).sent == 3
    assert len(hook.received) == 3
    assert await store.alerts.counts() == {"sent": 3}
    await store.close()


async def test_a_hanging_server_times_out_and_nothing_is_lost(tmp_path: Path, hook: Hook) -> None:
    clock = FakeClock()
    store, pipeline, dispatcher = await open_app(tmp_path, hook.url, clock)
    await pipeline.ingest(posts(2))
    hook.mode = "hang"
    result = await dispatcher.run_once()  # the read timeout (rto=1) ends the request
    assert (result.sent, result.retried, hook.requests) == (0, 2, 1)
    [row, _] = await store.alerts.listing()
    assert row["status"] == "pending"
    hook.mode = "ok"
    clock.advance(60)
    assert (await dispatcher.run_once()).sent == 2
    assert sorted(r["idempotency_key"] for r in hook.received) == sorted(
        r["idempotency_key"] for r in hook.received
    )
    assert len(hook.received) == 2
    await store.close()


async def test_a_destination_down_for_long_keeps_its_alerts_pending_not_failed(
    tmp_path: Path, hook: Hook
) -> None:
    clock = FakeClock()
    policy = DispatchPolicy(max_attempts=3, unreachable_retry=600)
    store, pipeline, dispatcher = await open_app(tmp_path, hook.url, clock, policy)
    await pipeline.ingest(posts(1))
    hook.mode = "500"
    for _ in range(5):
        await dispatcher.run_once()
        clock.advance(30)
    assert await store.alerts.counts() == {"pending": 1}
    [row] = await store.alerts.listing()
    assert "kept pending" in row["last_error"]
    before = hook.requests
    clock.advance(30)
    await dispatcher.run_once()
    assert hook.requests == before  # waiting: tried again every 10 minutes, not every pass
    hook.mode = "ok"
    clock.advance(600)
    assert (await dispatcher.run_once()).sent == 1
    await store.close()


def test_invalid_urls_are_named() -> None:
    assert invalid_reason("") is not None
    assert "no scheme" in (invalid_reason("hooks.example.org/x") or "")
    assert "unknown scheme 'nosuch'" in (invalid_reason("nosuch://host/path") or "")
    assert invalid_reason("json://127.0.0.1:9/hook") is None


def _check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, routes: str) -> tuple[int, str]:
    from bot.cli import main

    (tmp_path / "telewatch.toml").write_text(routes, encoding="utf-8")
    monkeypatch.setenv("TELEWATCH_CONFIG", str(tmp_path / "telewatch.toml"))
    monkeypatch.setenv("TELEWATCH_DB", str(tmp_path / "tw.db"))
    monkeypatch.chdir(tmp_path)
    code = main(["config", "check"])
    return code, ""


def test_config_check_names_an_invalid_apprise_url_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    route = '[[routes]]\nname = "ops"\nsink = "apprise"\ntarget = "nosuch://host/token123"\n'
    code, _ = _check(tmp_path, monkeypatch, route)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert "telewatch.toml:4: key 'routes[0].target': route 'ops':" in err[0]
    assert "unknown scheme 'nosuch'" in err[0]
    assert "token123" not in err[0]  # the rest of a URL may be a secret: never echoed
    assert "Traceback" not in "\n".join(err)


def test_an_apprise_target_reads_its_url_from_dotenv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    route = '[[routes]]\nname = "ops"\nsink = "apprise"\ntarget = "${DESK_HOOK_URL}"\n'
    code, _ = _check(tmp_path, monkeypatch, route)
    assert code == 2
    assert "${DESK_HOOK_URL}, which is set neither in the environment nor in .env" in capsys.readouterr().err
    (tmp_path / ".env").write_text("DESK_HOOK_URL=json://127.0.0.1:9/hook\n", encoding="utf-8")
    code, _ = _check(tmp_path, monkeypatch, route)
    assert code == 0
    from config.loader import load

    [loaded] = load(tmp_path / "telewatch.toml", {}).routes
    assert loaded.target == "${DESK_HOOK_URL}"  # what the outbox and listings show
    assert loaded.resolved_target == "json://127.0.0.1:9/hook"


def test_config_check_warns_of_a_webhook_nobody_listens_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as s:  # a port that was free a moment ago: nothing listens on it
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    route = f'[[routes]]\nname = "ops"\nsink = "apprise"\ntarget = "json://127.0.0.1:{port}/hook"\n'
    code, _ = _check(tmp_path, monkeypatch, route)
    err = capsys.readouterr().err
    assert code == 0  # the config is right; the destination is down
    assert f"route 'ops': cannot connect to 127.0.0.1:{port} (connection refused)" in err


SECRETS = ("secretpath", "secretq", "s3cr3tpw", "alice")


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


@pytest.mark.parametrize("debug", [[], ["--debug"]])
def test_config_check_never_prints_apprise_urls_through_apprises_own_logger(
    tmp_path: Path, debug: list[str]
) -> None:
    """#32: apprise logs "Unparseable URL <the whole URL>"; no path, query or userinfo may show.
    A real process: the test runner's own log capture would hide what a user sees."""
    import subprocess
    import sys

    (tmp_path / "t.toml").write_text(
        '[[routes]]\nname = "ops"\nsink = "apprise"\n'
        'target = "foo://alice:s3cr3tpw@bar/secretpath?token=secretq"\n',
        encoding="utf-8",
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from bot.cli import main; sys.exit(main())",
            *debug,
            "--config",
            str(tmp_path / "t.toml"),
            "--db",
            str(tmp_path / "x.db"),
            "config",
            "check",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == (1 if debug else 2)  # --debug shows the traceback: exit 1
    assert "route 'ops'" in done.stderr
    assert _leaks(done.stderr + done.stdout) == []


def _relayed(caplog: pytest.LogCaptureFixture) -> str:
    """What reaches the application's handlers: apprise's logger does not propagate (the test runner
    hooks its capture onto such loggers too, so its raw records are left out here)."""
    import logging

    assert logging.getLogger("apprise").propagate is False
    assert logging.getLogger("urllib3").propagate is False
    raw = ("apprise", "urllib3")
    return "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith(raw))


async def test_a_failed_delivery_never_logs_the_url_path_query_or_password(
    tmp_path: Path, hook: Hook, caplog: pytest.LogCaptureFixture
) -> None:
    """#32: apprise logs the URL it posts to and why it failed; we mask it, and our errors too."""
    from bot.domain.errors import DeliveryFailed
    from bot.domain.ports import OutgoingAlert

    caplog.set_level("DEBUG")
    hook.mode = "500"
    port = hook.server.server_address[1]
    url = f"json://alice:s3cr3tpw@127.0.0.1:{port}/secretpath?token=secretq&cto=1&rto=1"
    sink = AppriseSink(url, timeout=15)
    alert = OutgoingAlert("k1", "plain", "<b>x</b>", {"severity": "info"})
    with pytest.raises(DeliveryFailed) as failed:
        await sink.deliver(alert)
    assert hook.requests >= 1
    assert _leaks(str(failed.value)) == []
    logged = _relayed(caplog)
    assert "apprise: Failed to send" in logged  # its lines are kept, masked
    assert _leaks(logged) == []
