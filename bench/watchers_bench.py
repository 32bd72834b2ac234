"""Several watcher processes on one database (docs/watchers.md), on SQLite and on PostgreSQL.

- ingest: the same posts caught up by 1 process and by 2 processes (each holding half the channels),
  posts stored per second from the first stored post to the last; the simulated Telegram answers each
  history request after `LATENCY` seconds, like a real round trip.
- takeover: three processes, one killed with SIGKILL: seconds until its channels are held by the others,
  with the default 60 s lease (renewed every 20 s) on SQLite, and with a 3 s lease on both backends;
  posts and alerts lost and repeated.

Run alone with `python -m bench watchers`.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.report import Report
from bot.app.backend import Location, PgLocation, open_store
from tests.telegram.test_lease_fault import ROOT, Cluster, fault_spec, run_fault, seed, stored_per_channel

SECTION = "watchers"
CHANNELS = 8
HISTORY = 4000  # posts per channel to catch up: 32,000 in all
LATENCY = 0.05  # seconds per history request (100 posts)


async def ingest_rate(
    tmp: Path, location: Location, db_arg: str, env: dict[str, str], processes: int
) -> float:
    """Posts stored per second while `processes` workers catch up CHANNELS channels of HISTORY posts."""
    spec = fault_spec(
        channels=CHANNELS,
        history=HISTORY,
        live=0,
        latency=LATENCY,
        lease=60.0,
        renew=20.0,
        max_channels=CHANNELS // processes,  # each holds its half from the start: no hand-over timed
        alert_every=50,
        t0=time.time(),
    )
    (tmp / "spec.json").write_text(json.dumps(spec))
    await seed(location, spec)
    cluster = Cluster(tmp, db_arg, spec, env)
    store = await open_store(location)
    total = CHANNELS * HISTORY
    first: float | None = None
    try:
        for i in range(processes):
            cluster.start(f"i{i}")
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            stored = sum((await stored_per_channel(store)).values())
            now = time.perf_counter()
            if stored and first is None:
                first = now
            if stored >= total:
                assert first is not None
                return total / (now - first)
            await asyncio.sleep(0.05)
        raise RuntimeError(f"ingest did not finish\n{cluster.logs()}")
    finally:
        for proc in cluster.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in cluster.procs.values():
            proc.wait(60)
        await store.close()


async def _run(report: Report) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    backends: list[tuple[str, Any]] = [("sqlite", None)]
    server = None
    try:
        from tests.pgserver import LocalPostgres

        server = LocalPostgres(fsync=True).start()
        backends.append(("postgresql", server))
    except Exception as e:  # no server binaries here: the SQLite rows still run
        report.add(SECTION, "postgresql", "not available", str(e).splitlines()[0])
    try:
        for name, pg in backends:
            rates = []
            for processes in (1, 2):
                with tempfile.TemporaryDirectory() as folder:
                    tmp = Path(folder)
                    location, db_arg, run_env = _where(tmp, pg, env)
                    rates.append(await ingest_rate(tmp, location, db_arg, run_env, processes))
            report.add(SECTION, f"{name}: ingest, 1 process", f"{rates[0]:,.0f} posts/s")
            speedup = rates[1] / rates[0]
            report.add(
                SECTION,
                f"{name}: ingest, 2 processes",
                f"{rates[1]:,.0f} posts/s ({speedup:.2f}x)",
                ">= 1.7x",
                speedup >= 1.7,
            )
        for name, pg in backends:
            with tempfile.TemporaryDirectory() as folder:
                tmp = Path(folder)
                location, db_arg, run_env = _where(tmp, pg, env)
                result = await run_fault(tmp, location, db_arg, run_env, fault_spec())
            _fault_rows(report, f"{name}: kill -9, 3 s lease (renew 1 s)", result, 3.0)
        with tempfile.TemporaryDirectory() as folder:
            tmp = Path(folder)
            location, db_arg, run_env = _where(tmp, None, env)
            spec = fault_spec(lease=60.0, renew=20.0, history=300, latency=0.2, live=0)
            result = await run_fault(tmp, location, db_arg, run_env, spec, mid_catch_up=False)
        _fault_rows(report, "sqlite: kill -9, default 60 s lease (renew 20 s)", result, 60.0)
    finally:
        if server is not None:
            server.stop()


def _where(tmp: Path, pg: Any, env: dict[str, str]) -> tuple[Location, str, dict[str, str]]:
    if pg is None:
        path = tmp / "shared.db"
        return path, str(path), env
    url = pg.url(pg.create_database())
    return PgLocation(url, pg.password), url, {**env, "TELEWATCH_DB_PASSWORD": pg.password}


def _fault_rows(report: Report, label: str, result: Any, lease: float) -> None:
    report.add(
        SECTION,
        f"{label}: takeover",
        f"{result.takeover_s:.2f} s",
        f"<= {lease:g} s",
        result.takeover_s <= lease,
    )
    lost = result.posts_lost + result.alerts_lost
    twice = result.posts_twice + result.alerts_twice
    report.add(
        SECTION,
        f"{label}: lost / repeated",
        f"posts {result.posts_lost}/{result.posts_twice}, alerts {result.alerts_lost}/{result.alerts_twice}"
        f" (resends dropped by the sink: {result.resent})",
        "0 / 0",
        lost == 0 and twice == 0,
    )


def run(report: Report) -> None:
    asyncio.run(_run(report))


if __name__ == "__main__":
    r = Report()
    run(r)
    r.print()
