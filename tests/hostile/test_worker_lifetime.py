"""The matcher worker never outlives the import that started it, however that import ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_the_worker_and_its_helpers_end_with_the_parent(sig: signal.Signals) -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "tests.hostile.pool_parent"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    ) as parent:
        _kill_and_check(parent, sig)


def _kill_and_check(parent: subprocess.Popen[str], sig: signal.Signals) -> None:
    try:
        assert parent.stdout is not None
        worker = int(parent.stdout.readline())
        helpers = [p.pid for p in psutil.Process(parent.pid).children(recursive=True)]
        assert worker in helpers  # the resource tracker is among the others
        parent.send_signal(sig)
        parent.wait(timeout=10)
        for pid in helpers:
            assert _gone(pid, within=5.0), f"process {pid} outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
