"""Hostile input: time and peak memory of deep JSON, a 50M-character post and an adversarial regex,
each beside a baseline of the same size measured in the same run. Each case runs in a fresh process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.report import Report

SECTION = "fault"
_HWM = "import pathlib; print([l for l in pathlib.Path('/proc/self/status').read_text().splitlines() if l.startswith('VmHWM')][0].split()[1], file=__import__('sys').stderr)"
_IMPORT = "import sys; from bot.cli import main; code = main(sys.argv[1:]); " + _HWM + "; sys.exit(code)"
_LOADS = "import json, sys; [json.loads(l) for l in open(sys.argv[1], 'rb')]; " + _HWM


def _measure(code: str, *args: str, cwd: Path) -> tuple[float, float, int, str]:
    """Seconds, peak RSS (MiB), exit code and last stderr line of `python -c code args` in a fresh process."""
    env = {**os.environ, "HOME": str(cwd), "NO_COLOR": "1"}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, cwd=cwd, check=False
    )
    seconds = time.perf_counter() - started
    lines = done.stderr.strip().splitlines()
    rss = int(lines[-1]) / 1024 if lines and lines[-1].isdigit() else float("nan")
    message = next((line for line in lines if line.startswith(("error", "bad record"))), "")
    return seconds, rss, done.returncode, message


def _import(tmp: Path, path: Path, *extra: str) -> tuple[float, float, int, str]:
    return _measure(_IMPORT, "--db", str(tmp / f"{path.stem}.db"), "import", *extra, str(path), cwd=tmp)


def _posts(n: int, text: str) -> str:
    return "".join(
        json.dumps({"channel": "@alpha", "id": i + 1, "date": "2024-08-07T06:30:00+00:00", "text": text})
        + "\n"
        for i in range(n)
    )


def run(report: Report) -> None:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        _deep_json(report, tmp)
        _huge_post(report, tmp)
    _regex(report)


def _deep_json(report: Report, tmp: Path) -> None:
    deep = tmp / "deep.json"
    deep.write_bytes(b"[" * 100_000 + b"]" * 100_000 + b"\n")
    normal = tmp / "normal.jsonl"
    normal.write_text(_posts(2_000, "Несколько тысяч жителей эвакуированы"), encoding="utf-8")
    s, rss, code, _ = _import(tmp, deep)
    report.add(
        SECTION,
        "import 200 KB of nested brackets",
        f"{s:.2f} s, {rss:.0f} MiB, exit {code}",
        "was 24 GB and the OOM killer",
        ok=code == 3,
    )
    s, rss, code, _ = _import(tmp, normal)
    report.add(
        SECTION, f"baseline: import {normal.stat().st_size // 1024} KB of posts", f"{s:.2f} s, {rss:.0f} MiB"
    )


def _huge_post(report: Report, tmp: Path) -> None:
    huge = tmp / "huge.jsonl"
    huge.write_text(
        _posts(1, "эвакуация " * 5_000_000) + _posts(1, "ok").replace('"id": 1', '"id": 2'), encoding="utf-8"
    )
    s, rss, code, message = _import(tmp, huge)
    report.add(
        SECTION,
        "import a 50M-character post",
        f"{s:.2f} s, {rss:.0f} MiB, exit {code}",
        "was 400 s and 2.9 GB",
        ok=code == 0 and "skipped" in message,
    )
    s, rss, code, _ = _measure(_LOADS, str(huge), cwd=tmp)
    report.add(SECTION, "baseline: json.loads of the same file", f"{s:.2f} s, {rss:.0f} MiB")


def _regex(report: Report) -> None:
    from bot.domain.models import RuleSpec
    from bot.rules import compile_rules
    from bot.rules.terms import REGEX_TIMEOUT

    post = "a" * 19 + "b" * 8_000
    slow = compile_rules([RuleSpec("slow", ("/(.*a){20}/",), (), (), ())])
    plain = compile_rules([RuleSpec("plain", ("/a+b/",), (), (), ())])
    for label, matcher, target in (
        ("(.*a){20} on an 8 KB post", slow, f"budget {REGEX_TIMEOUT * 1000:.0f} ms; was 65-72 s"),
        ("baseline: /a+b/ on the same post", plain, ""),
    ):
        started = time.perf_counter()
        matcher.match(post)
        ms = (time.perf_counter() - started) * 1000
        report.add(
            SECTION, label, f"{ms:.1f} ms", target, ok=ms < 10 * REGEX_TIMEOUT * 1000 if target else None
        )
