"""Shared fixtures: paths to the real sample data (skipping when absent) and a fresh database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.pgserver import LocalPostgres, start_postgres

# CI runs the property tests derandomised: a failure there is reproducible, never a coin toss.
settings.register_profile("ci", derandomize=True, database=None, deadline=None, max_examples=200)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

ROOT = Path(__file__).resolve().parent.parent
# ../shared/data beside the checkout; a checkout nested one level deeper (a worktree) finds it too.
SHARED_DATA = next(
    (p / "shared" / "data" for p in ROOT.parents[:2] if (p / "shared" / "data").is_dir()),
    ROOT.parent / "shared" / "data",
)


@pytest.fixture
def shared_data() -> Path:
    """../shared/data, or skip: the real samples live outside the repository."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real sample data not present at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def postgres() -> Iterator[LocalPostgres]:
    """A real PostgreSQL server on the loopback for the whole session (tests/pgserver.py).

    Without the server binaries the tests using it skip, except under CI (CI=true), where they fail."""
    server = start_postgres(ci=bool(os.environ.get("CI")))
    try:
        yield server
    finally:
        server.stop()
