"""Import FILE the way `telewatch import` does, in this process; print peak RSS (MB) of it and its matcher worker."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from bot.app.runtime import open_runtime
from bot.ingest.importer import import_items
from bot.sources import open_source
from config.loader import load


def peak_rss_mb() -> float:
    """VmHWM of this process (ru_maxrss would include the parent's peak, inherited across fork/exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


async def main(path: Path) -> float:
    settings = load(Path(os.environ["TELEWATCH_CONFIG"]), os.environ)
    async with open_runtime(settings, os.environ["TELEWATCH_DB"], sinks={}) as rt:
        report = await import_items(open_source(path), rt.pipeline)
    return report.worker_rss_mb


if __name__ == "__main__":
    worker = asyncio.run(main(Path(sys.argv[1])))
    print(peak_rss_mb(), worker)
