"""#38: Ctrl-C at any moment, even while the commands are still being imported: "aborted", exit 130."""

from __future__ import annotations

import importlib.abc
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot import entry

ROOT = Path(__file__).resolve().parents[2]


class InterruptingFinder(importlib.abc.MetaPathFinder):
    """Raises KeyboardInterrupt when `bot.cli` is imported, as a Ctrl-C during that import would."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "bot.cli":
            raise KeyboardInterrupt
        return None


def test_a_ctrl_c_while_the_cli_is_imported_prints_aborted_and_exits_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in [m for m in sys.modules if m == "bot.cli" or m.startswith("bot.cli.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [InterruptingFinder(), *sys.meta_path])
    assert entry.main(["--help"]) == 130
    err = capsys.readouterr().err
    assert err == "aborted\n"


def test_the_console_script_is_the_entry_that_catches_early_interrupts() -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'telewatch = "bot.entry:main"' in text


# The child says "go" just before calling the entry point; a signal that lands before the call is not
# what is tested (exit 99 there), so that case is tried again.
CHILD = """
import sys
from bot.entry import main
rc = None
try:
    print("go", flush=True)
    rc = main(["--help"])
except KeyboardInterrupt:
    sys.exit(99 if rc is None else 98)
sys.exit(rc)
"""


def test_a_real_sigint_while_importing_never_shows_a_traceback() -> None:
    """A real process interrupted as soon as it runs the entry point, while the commands load."""
    for _ in range(5):
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline() == "go\n"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        if proc.returncode != 99:
            break
    assert proc.returncode != 98, "KeyboardInterrupt escaped the entry point"
    assert "Traceback" not in err
    assert "KeyboardInterrupt" not in err
    if "Usage:" not in out:  # (a fast machine may have printed --help already: exit 0)
        assert proc.returncode == 130
        assert err.strip().endswith("aborted")
