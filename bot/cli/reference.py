"""docs/cli.md, generated from the click commands themselves (`make docs`; a test fails when it is stale)."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import click

HEADER = """# Command reference

Generated from the commands' own help by `make docs`; do not edit by hand.
Every command takes the global options `--config`, `--db` and `--debug` (see `telewatch --help`).
"""


def _usage(command: click.Command, path: list[str], ctx: click.Context) -> str:
    pieces = command.collect_usage_pieces(ctx)
    return " ".join(["telewatch", *path[1:], *pieces])


def _options(command: click.Command, ctx: click.Context) -> list[str]:
    rows = []
    for param in command.get_params(ctx):
        if not isinstance(param, click.Option) or param is command.get_help_option(ctx):
            continue  # every command has -h/--help
        record = param.get_help_record(ctx)
        if record is None:
            continue
        names, text = (cell.replace("|", "\\|").replace("\n", " ") for cell in record)
        rows.append(f"| `{names}` | {text} |")
    if not rows:
        return []
    return ["| option | meaning |", "| --- | --- |", *rows, ""]


def _section(command: click.Command, path: list[str], parent: click.Context | None) -> list[str]:
    ctx = click.Context(command, info_name=path[-1], parent=parent)
    title = " ".join(["telewatch", *path[1:]])
    lines = [f"{'#' * min(len(path), 4)} `{title}`", ""]
    if command.help:
        lines += [inspect.cleandoc(click.unstyle(command.help)), ""]
    lines += ["```", _usage(command, path, ctx), "```", ""]
    lines += _options(command, ctx)
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                lines += _section(sub, [*path, name], ctx)
    return lines


def render(root: click.Group) -> str:
    """The whole reference as Markdown."""
    settings = {**root.context_settings, "terminal_width": 80, "max_content_width": 80}
    ctx = click.Context(root, info_name="telewatch", **settings)
    lines = [HEADER, "```", root.get_help(ctx), "```", ""]
    for name in root.list_commands(ctx):
        command = root.get_command(ctx, name)
        if command is not None and not command.hidden:
            lines += _section(command, ["telewatch", name], ctx)
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str]) -> int:
    """Write the reference to the path given (default docs/cli.md)."""
    from bot.cli import cli

    target = Path(argv[1] if len(argv) > 1 else "docs/cli.md")
    target.write_text(render(cli), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
