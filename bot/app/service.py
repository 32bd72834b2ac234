"""The systemd unit of `telewatch run`: its text, where it goes, and writing it without clobbering."""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from bot.domain.errors import ConfigError, TelewatchError
from config.settings import Settings

UNIT_NAME = "telewatch.service"
# Exit codes after which restarting cannot help: bad config (2), not signed in (7), already running (8).
NO_RESTART = "2 7 8"


@dataclass(frozen=True, slots=True)
class UnitSpec:
    """What the unit runs and as whom."""

    executable: Path
    config: Path
    working_dir: Path
    writable: tuple[Path, ...]  # folders `run` writes to (database, sessions, alert files)
    system: bool
    user: str | None = None  # system units only: the account to run as
    log_format: str = "text"


def find_executable() -> Path:
    """The `telewatch` script of this installation (the one running now), as an absolute path."""
    script = Path(sys.argv[0])
    if script.name == "telewatch" and script.exists():
        return script.resolve()
    found = shutil.which("telewatch")
    if found:
        return Path(found).resolve()
    beside = Path(sys.executable).parent / "telewatch"
    if beside.exists():
        return beside
    raise TelewatchError(
        "cannot find the telewatch executable to put in the unit",
        hint="install telewatch (pip install .) or pass --executable PATH",
    )


def unit_path(system: bool, home: Path | None = None) -> Path:
    """/etc/systemd/system/telewatch.service, or ~/.config/systemd/user/telewatch.service."""
    if system:
        return Path("/etc/systemd/system") / UNIT_NAME
    base = os.environ.get("XDG_CONFIG_HOME")
    root = Path(base) if base else (home or Path.home()) / ".config"
    return root / "systemd" / "user" / UNIT_NAME


def _quote(value: Path | str) -> str:
    # systemd splits ExecStart like a shell (quotes, backslashes); `%` starts a specifier, so double it.
    return shlex.quote(str(value)).replace("%", "%%")


# Path settings `run` only reads: every other Path in Settings is somewhere it writes (a test checks that
# each Path field is in one list or the other, so a new one cannot be forgotten).
READ_ONLY_PATHS = ("telegram.server.rsa_key_file", "path")


def written_folders(settings: Settings, config: Path) -> tuple[Path, ...]:
    """Every folder `telewatch run` writes to with these settings (a system unit may write nowhere else):
    the database's folder (with its -wal/-shm), the config's folder (edits from the chat), the session
    folder, the media archive (when it downloads), the folders of jsonl alert files."""
    folders = {
        settings.storage.path.expanduser().resolve().parent,
        config.resolve().parent,
        settings.telegram.session_dir.expanduser().resolve(),
    }
    if settings.media.download:
        folders.add(settings.media.path.expanduser().resolve())
    for route in settings.routes:
        target = route.resolved_target or route.target
        if route.sink == "jsonl" and target:
            folders.add(Path(target).expanduser().resolve().parent)
    return tuple(sorted(folders))


def user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def unit_text(spec: UnitSpec) -> str:
    """The unit file: restarts on failure (not on errors a restart cannot fix), logs to journald."""
    exec_start = " ".join(_quote(p) for p in (spec.executable, "--config", spec.config, "run"))
    lines = [
        "# Written by `telewatch service install`; edit freely, `telewatch service install --force` rewrites it.",
        "[Unit]",
        "Description=telewatch: watch Telegram channels, keep every post, alert on keyword matches",
        "After=network-online.target",
        "Wants=network-online.target",
        "StartLimitIntervalSec=600",
        "StartLimitBurst=10",
        "",
        "[Service]",
        "Type=simple",
        f"ExecStart={exec_start}",
        f"WorkingDirectory={str(spec.working_dir).replace('%', '%%')}",  # a raw path: no quotes
        "Restart=on-failure",
        "RestartSec=15",
        f"RestartPreventExitStatus={NO_RESTART}",
        "TimeoutStopSec=60",
        "Environment=PYTHONUNBUFFERED=1",
        f"Environment=TELEWATCH_LOG_FORMAT={spec.log_format}",
        "StandardOutput=journal",
        "StandardError=journal",
        "SyslogIdentifier=telewatch",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
    ]
    if spec.system:
        if spec.user:
            lines.append(f"User={spec.user}")
        lines += ["ProtectSystem=strict", "ProtectHome=read-only"]
        for folder in spec.writable:
            lines.append(f"ReadWritePaths=-{_quote(folder)}")  # "-": a folder not created yet is no error
    lines += ["", "[Install]", f"WantedBy={'multi-user.target' if spec.system else 'default.target'}", ""]
    return "\n".join(lines)


def default_user() -> str | None:
    """The account a system unit runs as: the one installing it, unless that is root."""
    sudo = os.environ.get("SUDO_USER")
    if sudo and sudo != "root":
        return sudo
    name = pwd.getpwuid(os.getuid()).pw_name
    return None if name == "root" else name


def install(spec: UnitSpec, target: Path, *, force: bool = False) -> str:
    """Write the unit to `target`; 'written', 'unchanged', or ConfigError when another unit is there."""
    text = unit_text(spec)
    if target.exists():
        current = target.read_text(encoding="utf-8", errors="replace")
        if current == text:
            return "unchanged"
        if not force:
            raise ConfigError(
                f"a different unit already exists at {target}",
                hint="compare it with `telewatch service install --print`, then pass --force to replace it",
            )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        partial.write_text(text, encoding="utf-8")
        partial.chmod(0o644)
        partial.replace(target)
    except OSError as e:
        raise TelewatchError(
            f"cannot write {target}: {e.strerror}",
            hint="a system unit needs root (sudo telewatch service install --system), "
            "or install a user unit instead",
        ) from e
    return "written"


def next_steps(spec: UnitSpec) -> list[str]:
    """The commands that load, enable and start the unit."""
    ctl = "systemctl" if spec.system else "systemctl --user"
    journal = "journalctl" if spec.system else "journalctl --user"
    steps = [f"{ctl} daemon-reload", f"{ctl} enable --now telewatch", f"{journal} -u telewatch -f"]
    if not spec.system:
        steps.insert(0, "loginctl enable-linger $USER   # keep it running after you log out")
    return steps
