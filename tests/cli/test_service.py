"""The systemd unit validates and is never clobbered; the container's entry point and healthcheck work."""

from __future__ import annotations

import configparser
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from bot.app.service import UnitSpec, unit_text
from bot.cli import main

ROOT = Path(__file__).resolve().parents[2]
TELEWATCH = Path(sys.executable).parent / "telewatch"

# Keys a unit of ours may use, per section (a typo would be ignored by systemd with only a warning).
KNOWN = {
    "Unit": {"description", "after", "wants", "startlimitintervalsec", "startlimitburst"},
    "Service": {
        "type",
        "execstart",
        "workingdirectory",
        "restart",
        "restartsec",
        "restartpreventexitstatus",
        "timeoutstopsec",
        "environment",
        "standardoutput",
        "standarderror",
        "syslogidentifier",
        "nonewprivileges",
        "privatetmp",
        "user",
        "protectsystem",
        "protecthome",
        "readwritepaths",
    },
    "Install": {"wantedby"},
}


def parse_unit(text: str) -> configparser.ConfigParser:
    """Our own syntax check: sections and keys systemd knows, every line inside a section."""
    parser = configparser.ConfigParser(strict=False, interpolation=None, comment_prefixes=("#", ";"))
    parser.read_string(text)
    assert set(parser.sections()) == set(KNOWN)
    for section in parser.sections():
        assert set(parser[section]) <= KNOWN[section], section
    return parser


def verify_with_systemd(unit: Path) -> None:
    """systemd-analyze verify: exit 0 and no complaint about our file (it only warns on unknown keys)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        if os.environ.get("CI") and not os.environ.get("TELEWATCH_ALLOW_SKIP"):
            pytest.fail("systemd-analyze is missing in CI (.ci/run installs Debian's systemd)")
        pytest.skip("systemd-analyze not installed (TELEWATCH_ALLOW_SKIP or not CI)")
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    complaints = [line for line in done.stderr.splitlines() if unit.name in line]
    assert complaints == []


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "telewatch.toml").write_text(
        '[storage]\npath = "data/tw.db"\n[telegram]\nsession_dir = "sessions"\n', encoding="utf-8"
    )
    monkeypatch.setenv("TELEWATCH_CONFIG", str(tmp_path / "telewatch.toml"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("system", [False, True], ids=["user", "system"])
def test_the_written_unit_validates(home: Path, system: bool, capsys: pytest.CaptureFixture[str]) -> None:
    out = home / "telewatch.service"
    args = ["service", "install", "--output", str(out), "--executable", str(TELEWATCH)]
    assert main([*args, "--system", "--run-as", "daemon"] if system else args) == 0
    assert "unit written" in capsys.readouterr().out
    unit = parse_unit(out.read_text(encoding="utf-8"))
    service = unit["Service"]
    assert service["ExecStart"] == f"{TELEWATCH} --config {home / 'telewatch.toml'} run"
    assert service["Restart"] == "on-failure"
    assert service["StandardError"] == "journal"
    assert service["RestartPreventExitStatus"] == "2 7 8"
    assert unit["Install"]["WantedBy"] == ("multi-user.target" if system else "default.target")
    if system:
        assert service["User"] == "daemon"
        text = out.read_text(encoding="utf-8")
        for folder in (home / "data", home / "sessions", home):
            assert f"ReadWritePaths=-{folder}\n" in text
    verify_with_systemd(out)


def test_a_user_unit_goes_to_the_user_folder_and_another_unit_is_not_replaced(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = home / "xdg" / "systemd" / "user" / "telewatch.service"
    assert main(["service", "install", "--executable", str(TELEWATCH)]) == 0
    out = capsys.readouterr().out
    assert str(target) in out
    assert "systemctl --user enable --now telewatch" in out
    assert main(["service", "install", "--executable", str(TELEWATCH)]) == 0
    assert "unit unchanged" in capsys.readouterr().out
    target.write_text("[Service]\nExecStart=/bin/true\n", encoding="utf-8")
    assert main(["service", "install", "--executable", str(TELEWATCH)]) == 2
    err = capsys.readouterr().err
    assert "a different unit already exists" in err
    assert "Traceback" not in err
    assert target.read_text(encoding="utf-8") == "[Service]\nExecStart=/bin/true\n"
    assert main(["service", "install", "--executable", str(TELEWATCH), "--force"]) == 0
    assert "telewatch" in target.read_text(encoding="utf-8")


def test_paths_with_spaces_and_percent_signs_are_quoted(tmp_path: Path) -> None:
    folder = tmp_path / "my 100% data"
    spec = UnitSpec(
        executable=TELEWATCH,
        config=folder / "telewatch.toml",
        working_dir=folder,
        writable=(folder,),
        system=True,
    )
    unit = tmp_path / "telewatch.service"
    unit.write_text(unit_text(spec), encoding="utf-8")
    service = parse_unit(unit.read_text(encoding="utf-8"))["Service"]
    assert service["ExecStart"].endswith(f"--config '{folder}/telewatch.toml' run".replace("%", "%%"))
    verify_with_systemd(unit)


def test_install_without_a_config_file_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["--config", str(tmp_path / "none.toml"), "service", "install", "--print"]) == 2
    assert "config file not found" in capsys.readouterr().err


# -- the container ---------------------------------------------------------------------------------


def dockerfile() -> dict[str, object]:
    """ENTRYPOINT, CMD, HEALTHCHECK's command and ENV of the Dockerfile (JSON-array forms)."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    found: dict[str, object] = {"ENV": {}}
    for line in text.splitlines():
        word, _, rest = line.strip().partition(" ")
        if word in ("ENTRYPOINT", "CMD"):
            found[word] = json.loads(rest)
        elif word == "HEALTHCHECK":
            found[word] = json.loads(rest.split(" CMD ", 1)[1])
        elif word == "ENV":
            env = found["ENV"]
            assert isinstance(env, dict)
            for pair in rest.split():
                key, _, value = pair.partition("=")
                env[key] = value
    return found


def container_env(data: Path) -> dict[str, str]:
    """The image's environment with /data moved to a temporary folder."""
    env = dict(os.environ)
    for key in list(env):
        if key.startswith("TELEWATCH_"):
            del env[key]
    declared = dockerfile()["ENV"]
    assert isinstance(declared, dict)
    for key, value in declared.items():
        env[key] = str(value).replace("/data", str(data))
    return env


def run_in_container(argv: list[str], data: Path) -> subprocess.CompletedProcess[str]:
    """Run a command of the image (its first word resolved on PATH, as Docker does) in /data."""
    command = [str(TELEWATCH) if argv[0] == "telewatch" else argv[0], *argv[1:]]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=120, cwd=data, env=container_env(data)
    )


def test_compose_and_dockerfile_agree_on_the_volume_the_entry_point_and_the_healthcheck() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    service = compose["services"]["telewatch"]
    image = dockerfile()
    assert image["ENTRYPOINT"] == ["telewatch"]
    assert service["healthcheck"]["test"] == ["CMD", *image["HEALTHCHECK"]]  # type: ignore[misc]
    assert service["command"] == image["CMD"]
    assert any(v.split(":")[1] == "/data" for v in service["volumes"])
    env = image["ENV"]
    assert isinstance(env, dict)
    for key, value in service["environment"].items():
        assert env[key] == value
    assert env["HOME"] == "/data"  # sessions (~/.local/share/telewatch) land in the volume


def test_the_entry_point_initialises_then_runs_and_stops_in_one_line_without_credentials(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    image = dockerfile()
    entry = image["ENTRYPOINT"]
    assert isinstance(entry, list)
    init = run_in_container([*entry, "init"], data)
    assert init.returncode == 0, init.stderr
    assert (data / "telewatch.toml").is_file()
    cmd = image["CMD"]
    assert isinstance(cmd, list)
    started = run_in_container([*entry, *cmd], data)
    assert started.returncode == 2, started.stderr
    lines = [json.loads(line) if line.startswith("{") else line for line in started.stderr.splitlines()]
    assert any("api_id" in str(line) for line in lines)
    assert "Traceback" not in started.stderr


def test_the_healthcheck_command_fails_until_run_beats_then_passes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    check = dockerfile()["HEALTHCHECK"]
    assert isinstance(check, list)
    missing = run_in_container(check, data)
    assert missing.returncode == 4
    assert "no database" in missing.stderr
    import asyncio

    from storage.snapshot import HEARTBEAT_KEY
    from storage.store import Store

    async def beat(age: timedelta) -> None:
        async with await Store.open(data / "telewatch.db") as store:
            await store.set_meta(HEARTBEAT_KEY, (datetime.now(UTC) - age).isoformat())

    asyncio.run(beat(timedelta(minutes=30)))
    stale = run_in_container(check, data)
    assert stale.returncode == 1
    assert "not running" in stale.stderr
    asyncio.run(beat(timedelta(0)))
    alive = run_in_container(check, data)
    assert alive.returncode == 0, alive.stderr
    assert alive.stdout.startswith("ok: telewatch run is alive")


def test_a_system_unit_may_write_the_media_archive_and_every_written_folder(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """#18: [media] path outside the database folder is writable under ProtectSystem=strict."""
    (home / "telewatch.toml").write_text(
        '[storage]\npath = "data/tw.db"\n[telegram]\nsession_dir = "sessions"\n'
        f'[media]\npath = "{home / "srv" / "twmedia"}"\n'
        f'[[routes]]\nname = "log"\nsink = "jsonl"\ntarget = "{home / "logs" / "alerts.jsonl"}"\n',
        encoding="utf-8",
    )
    assert main(["service", "install", "--system", "--run-as", "daemon", "--print"]) == 0
    text = capsys.readouterr().out
    for folder in (home / "srv" / "twmedia", home / "logs", home / "data", home / "sessions", home):
        assert f"ReadWritePaths=-{folder}\n" in text


def test_every_path_setting_is_either_written_by_the_unit_or_read_only() -> None:
    """A new Path setting must be classified: the unit's ReadWritePaths are derived, not a hand list."""
    import dataclasses

    from bot.app.service import READ_ONLY_PATHS, written_folders
    from config.settings import ServerSettings, Settings, TelegramSettings

    def path_fields(obj: object, prefix: str = "") -> list[str]:
        out = []
        for f in dataclasses.fields(obj):  # type: ignore[arg-type]
            value = getattr(obj, f.name)
            if dataclasses.is_dataclass(value):
                out += path_fields(value, f"{prefix}{f.name}.")
            elif "Path" in str(f.type):
                out.append(prefix + f.name)
        return out

    written = {"storage.path", "telegram.session_dir", "media.path"}
    full = Settings(telegram=TelegramSettings(server=ServerSettings(address="127.0.0.1")))
    assert set(path_fields(full)) == written | set(READ_ONLY_PATHS)
    folders = written_folders(Settings(), Path("/etc/telewatch/telewatch.toml"))
    assert Settings().media.path.resolve() in folders


def test_system_install_refuses_an_account_that_does_not_exist(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """#20: --run-as NOBODY_HERE for a system unit: refused in one line (a warning with --print)."""
    out = home / "telewatch.service"
    args = ["service", "install", "--system", "--run-as", "no_such_user_tw", "--output", str(out)]
    assert main(args) == 2
    assert "no_such_user_tw: no such user on this machine" in capsys.readouterr().err
    assert not out.exists()
    assert main(["service", "install", "--system", "--run-as", "no_such_user_tw", "--print"]) == 0
    assert "warning: --run-as no_such_user_tw: no such user" in capsys.readouterr().err
