"""What `run` offers operators: the Prometheus endpoint, the heartbeat behind `telewatch health`, JSON logs."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.app.run import run_live
from bot.cli import main
from bot.cli.logs import JsonFormatter
from config.loader import load
from storage.snapshot import HEARTBEAT_KEY
from storage.store import Store
from tests.fakes import FakeTelegram
from tests.ports_fakes import RecordingSink
from tests.telegram.harness import wait_until


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


CONFIG = """
[telegram]
requests_per_second = 1000

[[channels]]
ref = "@alpha"

[[rules]]
name = "evacuation"
any = ["evacuate"]

[metrics]
port = {port}
"""


def scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


async def test_the_metrics_endpoint_reports_posts_matches_alerts_floods_lag_and_health(
    tmp_path: Path,
) -> None:
    port = free_port()
    path = tmp_path / "telewatch.toml"
    path.write_text(CONFIG.format(port=port), encoding="utf-8")
    fake = FakeTelegram()
    fake.add_channel("alpha", tg_id=11)
    fake.flood("resolve", 1, times=1)
    scheduler = AsyncIOScheduler(timezone="UTC")
    stop = asyncio.Event()
    sink = RecordingSink("console")
    task = asyncio.create_task(
        run_live(
            load(path, {}),
            tmp_path / "t.db",
            gateway=fake,
            sinks={"console": sink},
            stop=stop,
            scheduler=scheduler,
        )
    )
    try:
        await wait_until(lambda: scheduler.get_job("gap-check:11") is not None)
        await fake.publish("alpha", "Residents told to evacuate")
        await fake.publish("alpha", "Weather")
        await wait_until(lambda: len(sink.delivered) == 1)
        m: dict[str, float] = {}
        async with asyncio.timeout(10):
            while m.get('telewatch_alerts{state="sent"}') != 1:
                m = await asyncio.to_thread(scrape, port)
    finally:
        stop.set()
        await task
    assert m["telewatch_posts_stored"] == 2
    assert m['telewatch_matches{rule="evacuation"}'] == 1
    assert m['telewatch_alerts{state="sent"}'] == 1
    assert m['telewatch_alerts{state="pending"}'] == 0
    assert m["telewatch_outbox_oldest_pending_seconds"] == 0
    assert m['telewatch_health_ok{check="database"}'] == 1
    assert m['telewatch_health_ok{check="telegram_connected"}'] == 1
    assert m['telewatch_health_ok{check="outbox"}'] == 1
    assert m['telewatch_health_ok{check="conditions"}'] == 1
    assert m['telewatch_flood_wait_seconds_total{request="resolve"}'] == 1
    assert m['telewatch_flood_waits_total{request="resolve"}'] == 1
    assert 'telewatch_channel_last_check_age_seconds{channel="@alpha"}' in m
    assert m["telewatch_database_bytes"] > 0
    with pytest.raises(urllib.error.URLError):  # the endpoint stops with run
        await asyncio.to_thread(scrape, port)


async def test_a_port_in_use_is_one_config_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        path = tmp_path / "telewatch.toml"
        path.write_text(CONFIG.format(port=busy.getsockname()[1]), encoding="utf-8")
        fake = FakeTelegram()
        fake.add_channel("alpha", tg_id=11)
        from bot.domain.errors import ConfigError

        with pytest.raises(ConfigError, match="cannot serve metrics"):
            await run_live(
                load(path, {}), tmp_path / "t.db", gateway=fake, sinks={"console": RecordingSink("console")}
            )
        # What run had started before the error stopped with it (it wrote to a store closed meanwhile).
        await asyncio.sleep(0)
        assert [t.get_name() for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []


async def test_health_follows_the_heartbeat_run_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "t.db"
    (tmp_path / "telewatch.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("TELEWATCH_CONFIG", str(tmp_path / "telewatch.toml"))
    monkeypatch.setenv("TELEWATCH_DB", str(db))
    assert await asyncio.to_thread(main, ["health"]) == 4
    assert "no database at" in capsys.readouterr().err
    async with await Store.open(db) as store:
        pass
    assert await asyncio.to_thread(main, ["health"]) == 1
    assert "never written a heartbeat" in capsys.readouterr().err
    async with await Store.open(db) as store:
        await store.set_meta(HEARTBEAT_KEY, (datetime.now(UTC) - timedelta(minutes=10)).isoformat())
    assert await asyncio.to_thread(main, ["health"]) == 1
    assert "not running" in capsys.readouterr().err
    async with await Store.open(db) as store:
        await store.set_meta(HEARTBEAT_KEY, datetime.now(UTC).isoformat())
    assert await asyncio.to_thread(main, ["health", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["healthy"] is True


async def test_run_writes_a_heartbeat_at_start(tmp_path: Path) -> None:
    path = tmp_path / "telewatch.toml"
    path.write_text(CONFIG.format(port=0), encoding="utf-8")
    fake = FakeTelegram()
    fake.add_channel("alpha", tg_id=11)
    scheduler = AsyncIOScheduler(timezone="UTC")
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_live(
            load(path, {}),
            tmp_path / "t.db",
            gateway=fake,
            sinks={"console": RecordingSink("console")},
            stop=stop,
            scheduler=scheduler,
        )
    )
    try:
        await wait_until(lambda: scheduler.get_job("heartbeat") is not None)
        await wait_until(lambda: scheduler.get_job("gap-check:11") is not None)
    finally:
        stop.set()
        await task
    async with await Store.open(tmp_path / "t.db") as store:
        beat = await store.meta(HEARTBEAT_KEY)
    assert beat is not None
    assert (datetime.now(UTC) - datetime.fromisoformat(beat)).total_seconds() < 60


def test_raised_health_conditions_are_exported(tmp_path: Path) -> None:
    import asyncio as aio

    from bot.app.operations import ProcessState, TelewatchCollector

    db = tmp_path / "t.db"

    async def raise_one() -> None:
        async with await Store.open(db) as store:
            await store.db.execute(
                "INSERT INTO conditions (key, kind, raised_at, detail) VALUES ('silent:1', 'health', '2024', 'x')"
            )

    aio.run(raise_one())
    collector = TelewatchCollector(db, ProcessState(), lambda: datetime.now(UTC))
    samples = {(s.name, tuple(s.labels.items())): s.value for f in collector.collect() for s in f.samples}
    assert samples[("telewatch_condition_raised", (("condition", "silent:1"), ("kind", "health")))] == 1
    assert samples[("telewatch_health_ok", (("check", "conditions"),))] == 0


def test_json_logs_are_one_object_per_line_with_the_exception() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord(
            "telewatch.x", logging.ERROR, __file__, 1, "failed: %s", ("эвакуация",), sys.exc_info()
        )
    line = JsonFormatter().format(record)
    data = json.loads(line)
    assert "\n" not in line
    assert data["level"] == "error"
    assert data["message"] == "failed: эвакуация"
    assert "ValueError: boom" in data["exception"]


def test_log_format_json_through_the_entry_point(tmp_path: Path) -> None:
    """A real process: with --log-format json every log line on stderr is a JSON object."""
    (tmp_path / "t.toml").write_text("", encoding="utf-8")
    args = ["--log-format", "json", "--debug", "--config", str(tmp_path / "t.toml")]
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from bot.cli import main; sys.exit(main())",
            *args,
            "--db",
            str(tmp_path / "x.db"),
            "db",
            "prune",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines, "asyncio logs its selector at debug level"
    for line in lines:
        assert {"time", "level", "logger", "message"} <= json.loads(line).keys()


async def test_health_says_stopped_after_a_clean_stop_of_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """#62: after run stops cleanly its last heartbeat is recent, yet health must not say alive."""
    path = tmp_path / "telewatch.toml"
    path.write_text(CONFIG.format(port=0), encoding="utf-8")
    fake = FakeTelegram()
    fake.add_channel("alpha", tg_id=11)
    scheduler = AsyncIOScheduler(timezone="UTC")
    stop = asyncio.Event()
    db = tmp_path / "t.db"
    task = asyncio.create_task(
        run_live(
            load(path, {}),
            db,
            gateway=fake,
            sinks={"console": RecordingSink("console")},
            stop=stop,
            scheduler=scheduler,
        )
    )
    monkeypatch.setenv("TELEWATCH_CONFIG", str(path))
    monkeypatch.setenv("TELEWATCH_DB", str(db))
    try:
        await wait_until(lambda: scheduler.get_job("gap-check:11") is not None)
        assert await asyncio.to_thread(main, ["health"]) == 0
        assert "ok: telewatch run is alive" in capsys.readouterr().out
    finally:
        stop.set()
        await task
    assert await asyncio.to_thread(main, ["health"]) == 1
    err = capsys.readouterr().err
    assert "stopped" in err
    assert "a clean stop" in err
    async with await Store.open(db) as store:  # a new run's heartbeat makes it alive again
        await store.set_meta(HEARTBEAT_KEY, datetime.now(UTC).isoformat())
    assert await asyncio.to_thread(main, ["health"]) == 0


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("not an ip", "is not an IP address or a host name"),
        ("no-such-host.invalid", "is a host name that does not resolve"),
    ],
)
def test_a_metrics_address_that_cannot_be_listened_on_fails_at_config_load(
    tmp_path: Path, address: str, problem: str
) -> None:
    """#48: the address is checked when the config loads, naming metrics.address (not the port)."""
    from bot.domain.errors import ConfigError

    path = tmp_path / "telewatch.toml"
    path.write_text(CONFIG.format(port=9464) + f'address = "{address}"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as failed:
        load(path, {})
    assert "metrics.address" in str(failed.value)
    assert problem in str(failed.value)
    path.write_text(CONFIG.format(port=9464) + 'address = "localhost"\n', encoding="utf-8")
    assert load(path, {}).metrics.address == "localhost"


def test_a_bind_error_names_the_key_and_reason() -> None:
    """#49: an address this machine does not have is blamed on metrics.address, a busy port on the port."""
    from bot.app.operations import MetricsEndpoint, ProcessState, TelewatchCollector
    from bot.domain.errors import ConfigError
    from config.settings import MetricsSettings

    collector = TelewatchCollector(None, ProcessState(None), lambda: datetime.now(UTC))
    with pytest.raises(ConfigError) as failed:
        MetricsEndpoint(MetricsSettings(port=free_port(), address="192.0.2.1"), collector)
    assert failed.value.key == "metrics.address"
    assert "choose a free port" not in (failed.value.hint or "")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(ConfigError) as failed:
            MetricsEndpoint(MetricsSettings(port=busy.getsockname()[1]), collector)
    assert failed.value.key == "metrics.port"
    assert "in use" in str(failed.value)


def test_media_series_are_exported_before_any_download(tmp_path: Path) -> None:
    """#13: the documented telewatch_media_files / telewatch_media_stored_bytes exist from the start."""
    import asyncio as aio

    from bot.app.operations import ProcessState, TelewatchCollector

    db = tmp_path / "t.db"

    async def make() -> None:
        async with await Store.open(db):
            pass

    aio.run(make())
    collector = TelewatchCollector(db, ProcessState(), lambda: datetime.now(UTC))
    samples = {(s.name, tuple(s.labels.items())): s.value for f in collector.collect() for s in f.samples}
    assert samples[("telewatch_media_stored_bytes", ())] == 0
    assert samples[("telewatch_media_files", (("state", "stored"),))] == 0


UNREACHABLE = """
[telegram]
requests_per_second = 1000
session_dir = "{dir}"

[[channels]]
ref = "@alpha"
"""


def status_health(capsys: pytest.CaptureFixture[str]) -> list[str]:
    out = capsys.readouterr().out
    return [line.strip() for line in out[out.index("health:") :].splitlines()]


async def test_status_while_run_cannot_reach_telegram_says_not_connected_yet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """#56: from the start of run (before the first full health pass), not "all checks pass"."""
    from bot.alerts.health import LIVE_KEY
    from bot.telegram.client import lock_path
    from bot.watch.lock import InstanceLock

    path = tmp_path / "telewatch.toml"
    path.write_text(UNREACHABLE.format(dir=tmp_path / "sessions"), encoding="utf-8")
    settings = load(path, {})
    fake = FakeTelegram()
    fake.refuse_connects = 10_000  # [telegram.server] at a closed port
    db = tmp_path / "t.db"
    stop = asyncio.Event()
    scheduler = AsyncIOScheduler(timezone="UTC")
    monkeypatch.setenv("TELEWATCH_CONFIG", str(path))
    monkeypatch.setenv("TELEWATCH_DB", str(db))
    monkeypatch.setenv("COLUMNS", "200")
    with InstanceLock(lock_path(settings.telegram)):  # what `telewatch run` holds
        task = asyncio.create_task(
            run_live(settings, db, gateway=fake, sinks={}, stop=stop, scheduler=scheduler)
        )
        try:
            await wait_until(lambda: db.exists() and scheduler.running)

            async def live_stored() -> bool:
                async with await Store.open(db, read_only=True) as store:
                    return await store.meta(LIVE_KEY) is not None

            for _ in range(200):
                if await live_stored():
                    break
                await asyncio.sleep(0.05)
            assert await asyncio.to_thread(main, ["status"]) == 0
            lines = status_health(capsys)
            assert lines[0] == "health: no problems; 2 not checked yet", lines
            assert any(
                line.startswith("· not connected to Telegram yet (0 min; a health alert after")
                for line in lines
            ), lines
            assert not any("is checked by `telewatch run`" in line for line in lines), lines
        finally:
            stop.set()
            await task


def test_status_while_run_is_still_connecting_says_not_connected_yet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """run holds its lock but has stored nothing yet (its alert bot still connecting): not a blank check."""
    from bot.telegram.client import lock_path
    from bot.watch.lock import InstanceLock

    path = tmp_path / "telewatch.toml"
    path.write_text(UNREACHABLE.format(dir=tmp_path / "sessions"), encoding="utf-8")
    db = tmp_path / "t.db"
    monkeypatch.setenv("TELEWATCH_CONFIG", str(path))
    monkeypatch.setenv("TELEWATCH_DB", str(db))
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["--db", str(db), "posts", "recent"]) in (0, 4)  # nothing needed but an archive
    asyncio.run(_create(db))
    capsys.readouterr()
    with InstanceLock(lock_path(load(path, {}).telegram)):
        assert main(["status"]) == 0
    lines = status_health(capsys)
    assert lines[0] == "health: no problems; 2 not checked yet", lines
    assert any(line.startswith("· not connected to Telegram yet (0 min;") for line in lines), lines
    assert not any("is checked by `telewatch run`" in line for line in lines), lines


async def _create(db: Path) -> None:
    async with await Store.open(db):
        pass
