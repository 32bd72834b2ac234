"""Run `telewatch import FILE` in this process and print its peak RSS in MB (for the RSS benchmark)."""

from __future__ import annotations

import sys
from pathlib import Path

from bot.cli import main


def peak_rss_mb() -> float:
    """VmHWM of this process (ru_maxrss would include the parent's peak, inherited across fork/exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


if __name__ == "__main__":
    code = main(["import", "--json", sys.argv[1]])
    if code:
        sys.exit(code)
    print(peak_rss_mb())
