"""The `telewatch` console script: catches Ctrl-C from the very first moment, before the CLI is imported.

Importing the commands (click, rich, the storage and rules packages) takes a moment; a Ctrl-C then would
otherwise print Python's KeyboardInterrupt traceback. This module imports nothing heavy itself.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Run `bot.cli.main`; Ctrl-C at any point, imports included, prints "aborted" and exits 130."""
    try:
        from bot.cli import main as cli_main

        return cli_main(argv)
    except KeyboardInterrupt:
        sys.stderr.write("aborted\n")
        sys.stderr.flush()
        return 130


if __name__ == "__main__":
    sys.exit(main())
