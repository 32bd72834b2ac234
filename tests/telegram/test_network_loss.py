"""Losing the network: Telethon's failures become Unreachable; `check` exits 9 in one line, `run` retries."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from telethon import TelegramClient
from telethon.sessions import MemorySession

from bot.app.run import connect_with_retry, keep_watching
from bot.domain.errors import Disconnected, Unreachable
from bot.telegram.client import whoami
from bot.telegram.errors import translate
from bot.telegram.gateway import TelethonGateway
from tests.fakes import FakeTelegram
from tests.telegram.conftest import MakeRig
from tests.telegram.harness import channel

ROOT = Path(__file__).resolve().parents[2]
API_HASH = "0123456789abcdef0123456789abcdef"
TELEWATCH = [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())"]


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LoopbackServer:
    """A TCP server on 127.0.0.1 that accepts and then closes at once (`hang` = never answers)."""

    def __init__(self, *, hang: bool = False) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.hang = hang
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            if self.hang:
                self._held.append(conn)
                continue
            conn.settimeout(2)
            with contextlib.suppress(OSError):
                conn.recv(4096)  # the client's first request: it now waits for an answer that never comes
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        for conn in self._held:
            conn.close()
        self.sock.close()


@pytest.fixture
def closing_server() -> Iterator[LoopbackServer]:
    server = LoopbackServer()
    yield server
    server.close()


def client_for(port: int) -> TelegramClient:
    client = TelegramClient(MemorySession(), 1, API_HASH, connection_retries=0, receive_updates=False)
    client.session.set_dc(2, "127.0.0.1", port)
    return client


async def test_a_closed_port_is_unreachable_naming_host_and_port() -> None:
    port = closed_port()
    client = client_for(port)
    with pytest.raises(Unreachable) as info:
        await whoami(client)
    assert (info.value.host, info.value.port) == ("127.0.0.1", port)
    assert str(info.value).startswith(f"cannot reach Telegram at 127.0.0.1:{port} — ")
    assert info.value.exit_code == 9
    await client.disconnect()


async def test_a_server_closing_mid_answer_is_unreachable_not_an_eof(closing_server: LoopbackServer) -> None:
    gateway = TelethonGateway(client_for(closing_server.port))
    with pytest.raises(Unreachable, match="closed before the answer") as info:
        await gateway.connect()
    assert isinstance(info.value.__cause__, EOFError)  # Telethon's IncompleteReadError, chained for --debug
    await gateway.disconnect()


def test_network_errors_without_a_client_are_still_disconnections() -> None:
    error = translate(asyncio.IncompleteReadError(b"", 8), request="history")
    assert type(error) is Disconnected
    assert error.exit_code == 9


async def test_a_connect_that_hangs_stops_promptly_when_asked() -> None:
    server = LoopbackServer(hang=True)
    gateway = TelethonGateway(client_for(server.port))
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.3, stop.set)
    started = time.monotonic()
    assert await asyncio.wait_for(connect_with_retry(gateway, stop), 5) is False
    assert time.monotonic() - started < 3
    await gateway.disconnect()
    server.close()


async def test_run_keeps_trying_while_telegram_is_unreachable_and_logs_each_attempt(
    rigs: MakeRig, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeTelegram()
    fake.add_channel("alpha", tg_id=11)
    fake.add_post("alpha", "posted while we could not connect")
    rig = await rigs(fake, [channel("@alpha", backfill_count=10)])
    fake.refuse_connects = 3
    stop = asyncio.Event()
    with caplog.at_level(logging.WARNING, logger="bot.app.run"):
        task = asyncio.create_task(keep_watching(rig.watcher, stop, max_backoff=0.01))
        for _ in range(500):
            if rig.watcher.connected.is_set():
                break
            await asyncio.sleep(0.01)
        stop.set()
        await task
    attempts = [r.getMessage() for r in caplog.records if "attempt" in r.getMessage()]
    assert len(attempts) == 3
    assert "cannot reach Telegram at 127.0.0.1:443" in attempts[0]
    assert "attempt 1 failed, next in" in attempts[0]
    assert "attempt 3 failed" in attempts[2]
    assert [t for _, _, t in await rig.posts()] == ["posted while we could not connect"]


def write_config(tmp_path: Path, port: int) -> Path:
    config = tmp_path / "telewatch.toml"
    config.write_text(
        f"""
[telegram]
api_id = 12345
session_dir = "{tmp_path / "sessions"}"

[telegram.server]
address = "127.0.0.1"
port = {port}

[[channels]]
ref = "@alpha"

[storage]
path = "{tmp_path / "tw.db"}"
""",
        encoding="utf-8",
    )
    return config


def cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEWATCH_")}
    env["TELEWATCH_API_HASH"] = API_HASH
    env["TELEWATCH_CONFIG"] = str(write_config(tmp_path, 0))
    return env


@pytest.mark.parametrize("command", ["check", "login"])
def test_check_and_login_without_network_are_one_line_and_exit_9(
    tmp_path: Path, closing_server: LoopbackServer, command: str
) -> None:
    env = cli_env(tmp_path)
    env["TELEWATCH_CONFIG"] = str(write_config(tmp_path, closing_server.port))
    done = subprocess.run(
        [*TELEWATCH, command],
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 9, done.stderr
    assert "Traceback" not in done.stderr
    assert "aborted" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith(f"error: cannot reach Telegram at 127.0.0.1:{closing_server.port} — ")
    assert len(lines) == 2
    assert lines[1].startswith("hint: ")


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 0)])
def test_run_without_network_retries_until_ctrl_c_then_stops_cleanly(
    tmp_path: Path, closing_server: LoopbackServer, sig: signal.Signals, code: int
) -> None:
    """Ctrl-C exits 130 like every command; SIGTERM (a service being stopped) is a normal end."""
    env = cli_env(tmp_path)
    env["TELEWATCH_CONFIG"] = str(write_config(tmp_path, closing_server.port))
    proc = subprocess.Popen(
        [*TELEWATCH, "run"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, "")), daemon=True)
    reader.start()
    deadline = time.monotonic() + 30
    while not any("attempt 2 failed" in line for line in lines) and time.monotonic() < deadline:
        assert proc.poll() is None, "".join(lines)
        time.sleep(0.05)
    proc.send_signal(sig)
    out, rest = proc.communicate(timeout=10)  # `rest`: what the reader thread did not take
    reader.join(5)
    err = "".join(lines) + (rest or "")
    assert proc.returncode == code, err
    stopped = "interrupted; run stopped cleanly (every post it received is stored)"
    assert (stopped in err.splitlines()) is (sig == signal.SIGINT), err
    assert "Traceback" not in err
    assert f"cannot reach Telegram at 127.0.0.1:{closing_server.port}" in err
    assert "attempt 1 failed, next in 1s" in err
    assert "attempt 2 failed, next in 2s" in err
    assert "stopped" in out
