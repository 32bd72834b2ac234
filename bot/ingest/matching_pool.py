"""Matching in a second process, so a bulk import uses both cores: one parses and writes, one matches.

Threads cannot do this: matching is pure Python and would hold the GIL the writer needs. The compiled
matcher is sent to the worker pickled (a few hundred KB), so the worker never loads the morphology
dictionaries and stays small.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import multiprocessing
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Protocol

from bot.domain.models import Match
from bot.domain.ports import Matcher

log = logging.getLogger(__name__)

# (text, channel handle, channel tags): what Matcher.match needs for one post
MatchJob = tuple[str, str | None, tuple[str, ...]]

_worker_matcher: Matcher | None = None
_PARENT_POLL = 0.5  # seconds between the worker's checks that its parent is alive
_PR_SET_PDEATHSIG = 1
_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _start_worker(blob: bytes, parent: int) -> None:
    global _worker_matcher
    # Ctrl-C (and timeout's SIGTERM) reaches the whole process group: the parent decides what it means
    # and shuts the pool down; the worker printed a KeyboardInterrupt traceback of ~90 lines instead.
    # The worker starts with both blocked (see MatcherPool.match), so none lands before this line.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
    _die_with_parent(parent)
    _worker_matcher = pickle.loads(blob)


def _die_with_parent(parent: int) -> None:
    """End this worker when the process that started it dies (kill -9 included): never an orphan."""
    if sys.platform == "linux":
        # the kernel sends SIGKILL the moment the parent thread exits
        with_errno = ctypes.CDLL(None, use_errno=True)
        with_errno.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
    # everywhere (and for a parent whose starting thread ends early): poll for re-parenting
    threading.Thread(target=_watch_parent, args=(parent,), name="parent-watch", daemon=True).start()


def _watch_parent(parent: int) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(1)
        threading.Event().wait(_PARENT_POLL)


def _match_jobs(jobs: Sequence[MatchJob]) -> list[list[Match]]:
    assert _worker_matcher is not None, "worker started without a matcher"
    return [_worker_matcher.match(text, channel=channel, tags=tags) for text, channel, tags in jobs]


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


class MatcherPool:
    """One worker process holding a copy of the matcher."""

    def __init__(self, matcher: Matcher) -> None:
        # spawn, not fork: forking a process that runs threads (aiosqlite's) is unsafe
        self._executor = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(pickle.dumps(matcher), os.getpid()),
        )

    @classmethod
    def try_start(cls, matcher: Matcher) -> MatcherPool | None:
        """A pool, or None (and matching stays in-process) when the matcher cannot be sent to a worker."""
        try:
            return cls(matcher)
        except (pickle.PicklingError, TypeError, AttributeError, OSError) as e:
            log.info("matching in-process: cannot start a matcher worker (%s)", e)
            return None

    async def match(self, jobs: Sequence[MatchJob]) -> list[list[Match]]:
        loop = asyncio.get_running_loop()
        # the first submit spawns the worker: it inherits this thread's signal mask, so SIGINT/SIGTERM
        # stay blocked in it from its first line until its initializer ignores them (a signal meanwhile
        # is taken by another thread of this process, or when the mask is restored)
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            future = loop.run_in_executor(self._executor, _match_jobs, list(jobs))
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        return await future

    async def peak_rss_mb(self) -> float:
        """The worker's peak resident memory (for the benchmark)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, _peak_rss_mb)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


class MatchingWorker(Protocol):
    """What the pipeline and the importer use of a matcher worker (MatcherPool, or a test's fake)."""

    async def match(self, jobs: Sequence[MatchJob]) -> list[list[Match]]: ...

    async def peak_rss_mb(self) -> float: ...

    def close(self) -> None: ...


WorkerFactory = Callable[[Matcher], MatchingWorker | None]


class MatcherSlot:
    """The matcher worker a bulk import may use. Built by the composition root and given to the pipeline
    when it is constructed; the importer starts it once a file proves big and closes it at the end, the
    pipeline matches through it while it runs and drops it when it breaks."""

    def __init__(self, start: WorkerFactory = MatcherPool.try_start) -> None:
        self._start = start
        self._worker: MatchingWorker | None = None

    @property
    def worker(self) -> MatchingWorker | None:
        """The running worker, or None: matching stays in-process."""
        return self._worker

    def start(self, matcher: Matcher) -> bool:
        """Start a worker holding `matcher` (once); whether one runs."""
        if self._worker is None:
            self._worker = self._start(matcher)
        return self._worker is not None

    def discard(self) -> None:
        """A broken worker: close it and match in-process from now on."""
        worker, self._worker = self._worker, None
        if worker is not None:
            with contextlib.suppress(Exception):
                worker.close()

    async def peak_rss_mb(self) -> float:
        return await self._worker.peak_rss_mb() if self._worker is not None else 0.0

    def close(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.close()
