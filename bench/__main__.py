"""`python -m bench [SECTION...]`: run the benchmark modules and print one table of figures."""

from __future__ import annotations

import importlib
import sys

from bench.report import Report

SECTIONS = {
    "import": "bench.import_bench",
    "rules": "bench.rules_bench",
    "eval": "bench.eval.real",
    "relevance": "bench.relevance_bench",
    "dedup": "bench.dedup_bench",
    "live": "bench.live_bench",
    "fault": "bench.fault_bench",
    "web": "bench.web_bench",
    "ops": "bench.ops_bench",
    "trends": "bench.trends_bench",
    "watchers": "bench.watchers_bench",
    "postgres": "bench.pg_bench",
}


def main(argv: list[str]) -> int:
    chosen = argv or list(SECTIONS)
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        print(f"unknown section(s): {', '.join(unknown)}; choose from {', '.join(SECTIONS)}", file=sys.stderr)
        return 2
    report = Report()
    for name in chosen:
        try:
            module = importlib.import_module(SECTIONS[name])
        except ModuleNotFoundError as e:
            report.add(name, "not available", str(e))
            continue
        report.console.rule(f"[bold]{name}")
        module.run(report)
    report.console.print()
    report.print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
