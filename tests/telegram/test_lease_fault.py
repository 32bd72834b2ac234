"""Fault test: three watcher processes on one database, one killed (SIGKILL) in the middle of its catch-up.

Its channels must be taken over within the lease (3 s here, renewed every second), and in the end every
post is stored once, every alert delivered once to the jsonl file, none lost. Run on SQLite (one file,
WAL) and on PostgreSQL (the session's server on the loopback).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.app.backend import Location, PgLocation, open_store
from bot.domain.refs import parse_channel_ref
from storage.store import Store
from tests.pgserver import LocalPostgres
from tests.telegram.lease_worker import world

ROOT = Path(__file__).resolve().parents[2]


def fault_spec(**overrides: Any) -> dict[str, Any]:
    spec = {
        "channels": 6,
        "history": 1500,  # posts each channel has before the start: 15 pages to catch up
        "live": 16,  # then one post per channel every `interval` seconds
        "interval": 0.5,
        "alert_every": 10,
        # seconds per request: a catch-up of 15 pages takes 15 s or more, so the kill (once the three share
        # the channels, which takes longer on a loaded machine: three interpreters start) lands mid catch-up
        "latency": 1.0,
        "lease": 3.0,
        "renew": 1.0,
        "max_channels": 6,
    }
    spec.update(overrides)
    return spec


@dataclass
class Cluster:
    """Worker processes on one database, and what they wrote."""

    tmp: Path
    db: str
    spec: dict[str, Any]
    env: dict[str, str]
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def out(self) -> Path:
        return self.tmp / "alerts.jsonl"

    def start(self, name: str) -> None:
        args = [
            sys.executable, "-m", "tests.telegram.lease_worker", "--spec", str(self.tmp / "spec.json"),
            "--name", name, "--db", self.db, "--out", str(self.out), "--raw", str(self.tmp / f"raw-{name}.txt"),
        ]  # fmt: skip
        with (self.tmp / f"{name}.log").open("wb") as log:  # the child keeps its own descriptor
            self.procs[name] = subprocess.Popen(
                args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )

    def kill(self, name: str) -> None:
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait(10)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in self.procs.items():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise AssertionError(f"{name} did not stop on SIGTERM") from None

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted(self.tmp.glob("*.log"))
        )

    def raw_deliveries(self) -> Counter[str]:
        keys: Counter[str] = Counter()
        for raw in self.tmp.glob("raw-*.txt"):
            keys.update(raw.read_text().split())
        return keys


async def seed(location: Location, spec: dict[str, Any]) -> None:
    """The channels as an earlier run left them: resolved, started, nothing stored (history to fetch)."""
    fake = world(spec)
    store = await open_store(location)
    try:
        marks = {}
        for c in fake.channels.values():
            channel_id, _ = await store.watch.remember(
                parse_channel_ref(f"@{c.username}").key, c.resolved(), "ok", fake.next_date()
            )
            marks[channel_id] = 0
        await store.watch.save_safe_marks(marks)
    finally:
        await store.close()


async def owners(store: Store, now: float) -> dict[int, str]:
    rows = await store.db.fetchall(
        "SELECT channel_id, owner FROM leases WHERE owner IS NOT NULL AND expires_at > ?", (now,)
    )
    return {int(r[0]): str(r[1]) for r in rows}


async def stored_per_channel(store: Store) -> dict[int, int]:
    rows = await store.db.fetchall("SELECT channel_id, count(*) FROM posts GROUP BY channel_id")
    return {int(r[0]): int(r[1]) for r in rows}


async def until(what: str, check: Any, cluster: Cluster, within: float) -> Any:
    deadline = time.monotonic() + within
    while True:
        found = await check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{cluster.logs()}")
        await asyncio.sleep(0.1)


@dataclass
class FaultResult:
    takeover_s: float
    posts_lost: int
    posts_twice: int
    alerts_lost: int
    alerts_twice: int  # lines with the same key in the jsonl file
    resent: int  # deliveries repeated by a process (dropped by the sink)
    stored_by_victim_at_kill: int


async def run_fault(
    tmp: Path,
    location: Location,
    db_arg: str,
    env: dict[str, str],
    spec: dict[str, Any],
    *,
    mid_catch_up: bool = True,
) -> FaultResult:
    """Start w1, w2 and w3; kill -9 w1 once the three share the channels (and w1 is catching up)."""
    spec = {**spec, "t0": time.time() + 4}
    (tmp / "spec.json").write_text(json.dumps(spec))
    await seed(location, spec)
    cluster = Cluster(tmp, db_arg, spec, env)
    store = await open_store(location)
    total = spec["history"] + spec["live"]
    try:
        for name in ("w1", "w2", "w3"):
            cluster.start(name)

        async def balanced() -> dict[int, str] | None:
            held = await owners(store, time.time())
            per = Counter(held.values())
            if len(held) == spec["channels"] and all(per[w] == 2 for w in ("w1", "w2", "w3")):
                return held
            return None

        balance_within = 40 + 3 * spec["renew"]
        held = await until("the three to share the channels", balanced, cluster, balance_within)
        victim = sorted(c for c, w in held.items() if w == "w1")
        counts = await stored_per_channel(store)
        at_kill = sum(counts.get(c, 0) for c in victim)
        # Mid catch-up: less than 3/4 of its channels' history stored.
        if mid_catch_up:
            assert at_kill < 0.75 * len(victim) * spec["history"], f"w1 too far in its catch-up ({at_kill})"
        cluster.kill("w1")
        killed = time.time()

        async def taken_over() -> float | None:
            now = time.time()
            held = await owners(store, now)
            if all(held.get(c) in ("w2", "w3") for c in victim):
                return now - killed
            return None

        takeover = await until("w1's channels to be taken over", taken_over, cluster, 30 + 2 * spec["lease"])
        expected_alerts = spec["channels"] * (total // spec["alert_every"])

        seen: list[Any] = []

        async def complete() -> bool:
            counts = await stored_per_channel(store)
            alerts = await store.alerts.counts()
            seen[:] = [counts, alerts, await owners(store, time.time())]
            if time.time() < spec["t0"] + spec["live"] * spec["interval"]:
                return False
            return (
                sum(counts.values()) >= spec["channels"] * total and alerts.get("sent", 0) >= expected_alerts
            )

        try:
            await until(
                "every post stored and every alert sent", complete, cluster, 60 + spec["history"] / 50
            )
        except AssertionError as e:
            raise AssertionError(f"{e}\nstored per channel, alerts, owners: {seen}") from None
        cluster.stop_all()
        counts = await stored_per_channel(store)
        rows = await store.db.fetchall(
            "SELECT count(*), count(DISTINCT channel_id * 1000000 + message_id) FROM posts"
        )
        alerts = await store.alerts.counts()
    finally:
        for proc in cluster.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        await store.close()
    keys = [json.loads(line)["dedup_key"] for line in cluster.out.read_text().splitlines()]
    raw = cluster.raw_deliveries()
    return FaultResult(
        takeover_s=takeover,
        posts_lost=spec["channels"] * total - int(rows[0][1]),
        posts_twice=int(rows[0][0]) - int(rows[0][1]),
        alerts_lost=expected_alerts - len(set(keys)) + (sum(alerts.values()) - alerts.get("sent", 0)),
        alerts_twice=len(keys) - len(set(keys)),
        resent=sum(raw.values()) - len(raw),
        stored_by_victim_at_kill=at_kill,
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Location, str, dict[str, str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if request.param == "sqlite":
        path = tmp_path / "shared.db"
        return path, str(path), env
    server: LocalPostgres = request.getfixturevalue("postgres")
    url = server.url(server.create_database())
    return PgLocation(url, server.password), url, {**env, "TELEWATCH_DB_PASSWORD": server.password}


@pytest.mark.timeout(240)
async def test_a_killed_watchers_channels_are_taken_over_with_nothing_lost_or_repeated(
    tmp_path: Path, backend: tuple[Location, str, dict[str, str]]
) -> None:
    location, db_arg, env = backend
    spec = fault_spec()
    result = await run_fault(tmp_path, location, db_arg, env, spec)
    assert result.takeover_s <= spec["lease"] + spec["renew"] + 2.0
    assert (result.posts_lost, result.posts_twice) == (0, 0)
    assert (result.alerts_lost, result.alerts_twice) == (0, 0)
