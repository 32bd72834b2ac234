"""`telewatch web`: serve the review pages over the archive with uvicorn."""

from __future__ import annotations

import errno
import os
import socket
import sys
import webbrowser
from pathlib import Path

import click

from bot.app.backend import open_store
from bot.cli.params import BoundedInt
from bot.cli.root import DEFAULT_CONFIG, CliContext, cli, pass_ctx, run_async
from bot.domain.errors import ConfigError
from config.edit import ConfigEditor
from storage.store import Store


def has_display() -> bool:
    """Whether a browser window could open here (not over ssh without X, not in CI)."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def check_port(host: str, port: int) -> None:
    """Refuse a port that is taken, in one line, before uvicorn would log a traceback-like error."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as e:
            why = "is in use" if e.errno == errno.EADDRINUSE else f"cannot be bound ({e.strerror})"
            raise ConfigError(
                f"port {port} on {host} {why}", hint="pass another --port, or stop what is listening there"
            ) from None


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=BoundedInt(1, 65535), help="Port to listen on.")
@click.option("--read-only", is_flag=True, help="Browse only: no marks, mutes or config edits.")
@click.option(
    "--open", "open_browser", is_flag=True, help="Open the pages in a browser (when there is a display)."
)
@pass_ctx
@run_async
async def web(ctx: CliContext, host: str, port: int, read_only: bool, open_browser: bool) -> None:
    """Review the archive in a browser: search, posts with every version, alerts, rules, channels, charts.

    Listens on 127.0.0.1 by default. A --host beyond the loopback (127.0.0.0/8, ::1) needs
    TELEWATCH_WEB_PASSWORD (environment or .env, never the TOML); the pages then ask for it, and scripts may send it as `Authorization: Bearer ...`.
    Rules and channels are read from, and edited in, the --config file (comments and order kept).
    """
    import uvicorn

    from bot.rules import compile_rules
    from bot.web import WebOptions, create_app
    from bot.web.security import check_bind
    from config.env import WEB_PASSWORD, WEB_SECRET, lookup

    explicit = ctx.config_path != DEFAULT_CONFIG or "TELEWATCH_CONFIG" in ctx.environ
    config_path: Path | None = ctx.config_path if ctx.config_path.exists() else None
    if config_path is None and explicit:
        raise ConfigError(f"no config file at {ctx.config_path}", hint="check --config / TELEWATCH_CONFIG")
    if config_path is not None:
        # a broken file stops here, in one line
        ConfigEditor(config_path, ctx.environ, check_rules=compile_rules).settings()
    env_base = config_path or ctx.config_path
    password = lookup(WEB_PASSWORD, env_base, ctx.environ)
    secret = lookup(WEB_SECRET, env_base, ctx.environ)
    check_bind(host, password.value if password else None)
    database = ctx.database
    check_port(host, port)
    # Opened before the address is printed: a missing, empty or foreign file stops here in one line, and
    # the pages never create a database or fill an empty file with the schema (create=False).
    store = await open_store(database, read_only=read_only, create=False)

    async def opened() -> Store:
        return store

    options = WebOptions(
        db_path=database if isinstance(database, Path) else str(database),
        config_path=config_path,
        read_only=read_only,
        password=password.value if password else None,
        session_secret=secret.value if secret else None,
        environ=ctx.environ,
    )
    app = create_app(options, opened)
    shown_host = f"[{host}]" if ":" in host else host
    url = f"http://{shown_host}:{port}/"
    ctx.console.print(
        f"telewatch web: [bold]{url}[/bold]  (database {database}"
        + (f", config {config_path}" if config_path else ", no config file")
        + (", read-only" if read_only else "")
        + (", password required" if password else "")
        + ")  Ctrl-C stops."
    )
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, server_header=False)
    )
    if open_browser:
        if has_display():
            webbrowser.open(url)
        else:
            ctx.console.print("[dim]No display here: open the address above in a browser.[/dim]")
    try:
        await server.serve()
    finally:
        await store.close()  # already closed by the app's lifespan unless uvicorn stopped before it
