"""A real PostgreSQL server on the loopback for tests and benchmarks, from the Debian `postgresql` package.

initdb and pg_ctl refuse to run as root: as root they run as the `postgres` user (runuser). The data
folder, log and unix socket live in a temporary folder; the port is a free one; `stop()` removes it all.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

SUPERUSER = "telewatch"


class ServerMissing(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def bin_dir() -> Path:
    """The newest /usr/lib/postgresql/N/bin holding initdb and pg_ctl (or the ones on PATH)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parent.parent.name)
    )
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).resolve().parent
    raise ServerMissing(
        "no PostgreSQL server found (initdb, pg_ctl): install it with `apt-get install -y postgresql`"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_postgres(*, ci: bool) -> LocalPostgres:
    """A started server; without the server binaries the test skips, or fails under CI (CI must run it)."""
    import pytest

    try:
        return LocalPostgres().start()
    except ServerMissing as e:
        if ci:
            pytest.fail(f"{e} (CI must run the PostgreSQL tests: .ci/run installs it)", pytrace=False)
        pytest.skip(str(e))


@dataclass
class LocalPostgres:
    """One server: `start()`, then `url(db)` and `password`; `create_database()`; `stop()`."""

    fsync: bool = False
    password: str = field(default_factory=lambda: secrets.token_hex(12))
    port: int = 0
    root: Path | None = None

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(a) for a in args]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> LocalPostgres:
        binaries = bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="telewatch-pg-"))
        data, sock = self.root / "data", self.root / "sock"
        sock.mkdir()
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if os.geteuid() == 0:
            pg = pwd.getpwnam("postgres")
            for path in (self.root, sock, pwfile):
                os.chown(path, pg.pw_uid, pg.pw_gid)
        self._run(
            binaries / "initdb", "-D", data, "-U", SUPERUSER, "--pwfile", pwfile, "--auth-local=trust",
            "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip
        self.port = free_port()
        options = f"-p {self.port} -k {sock} -c listen_addresses=127.0.0.1 -c max_connections=100"
        if not self.fsync:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(
            binaries / "pg_ctl", "-D", data, "-o", options, "-l", self.root / "log", "-w", "-t", "60", "start"
        )
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str, database: str = "postgres") -> str:
        """Run SQL as the superuser through psql over the unix socket."""
        assert self.root is not None
        result = self._run(
            "psql", "-h", self.root / "sock", "-p", str(self.port), "-U", SUPERUSER, "-d", database,
            "-v", "ON_ERROR_STOP=1", "-tAc", sql,
        )  # fmt: skip
        return result.stdout.strip()

    def create_database(self, name: str | None = None) -> str:
        name = name or f"tw_{secrets.token_hex(6)}"
        self.admin(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        if self.root is None:
            return
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self._run(bin_dir() / "pg_ctl", "-D", self.root / "data", "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None
