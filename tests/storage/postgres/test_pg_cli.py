"""[storage] url selects PostgreSQL for the commands; its password comes from the environment only."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from storage.postgres.store import PgStore
from tests.pgserver import LocalPostgres


async def _create(url: str, password: str) -> None:
    await (await PgStore.open_url(url, password)).close()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TELEWATCH_DB", raising=False)
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("COLUMNS", "160")
    return tmp_path


def write_config(where: Path, storage: str) -> Path:
    cfg = where / "telewatch.toml"
    cfg.write_text(f"[storage]\n{storage}\n", encoding="utf-8")
    return cfg


def test_a_password_inside_the_url_is_a_config_error_that_never_echoes_it(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(workdir, 'url = "postgresql://desk:hunter2secret@db.example/telewatch"')
    code, out, err = run(capsys, "--config", str(cfg), "posts", "recent")
    assert code == 2
    assert "storage.url" in err
    assert "secrets must not be in the config file" in err
    assert "TELEWATCH_DB_PASSWORD" in err
    assert "hunter2secret" not in out + err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "query", ["password=hunter2secret", "sslmode=require&PASSWORD=hunter2secret", "sslpassword=hunter2secret"]
)
@pytest.mark.parametrize("command", [("config", "check"), ("config", "show"), ("status",)])
def test_a_secret_in_the_urls_query_string_is_the_same_config_error(
    workdir: Path, capsys: pytest.CaptureFixture[str], query: str, command: tuple[str, ...]
) -> None:
    cfg = write_config(workdir, f'url = "postgresql://telewatch@127.0.0.1:55432/telewatch?{query}"')
    code, out, err = run(capsys, "--config", str(cfg), *command)
    assert code == 2
    assert "storage.url" in err
    assert "secrets must not be in the config file" in err
    assert "hunter2secret" not in out + err
    assert "Traceback" not in err


def test_a_url_that_is_not_postgresql_is_shown_without_its_secret_parts(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(workdir, 'url = "mysql://desk@db.example/telewatch?sslkey=hunter2secret"')
    code, out, err = run(capsys, "--config", str(cfg), "config", "check")
    assert code == 2
    assert "is not a PostgreSQL URL" in err
    assert "hunter2secret" not in out + err


def test_config_check_names_the_postgresql_url_it_uses_without_the_password(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(workdir, 'url = "postgresql://telewatch@127.0.0.1:55432/telewatch?sslmode=prefer"')
    code, out, err = run(capsys, "--config", str(cfg), "config", "check")
    assert code == 0, err
    assert "storage postgresql://telewatch@127.0.0.1:55432/telewatch," in out
    assert "telewatch.db" not in out


def test_a_password_key_under_storage_names_the_variable_it_belongs_in(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(workdir, 'url = "postgresql://desk@db.example/telewatch"\npassword = "hunter2secret"')
    code, _, err = run(capsys, "--config", str(cfg), "posts", "recent")
    assert code == 2
    assert "TELEWATCH_DB_PASSWORD" in err
    assert "hunter2secret" not in err


def test_a_url_that_is_not_postgresql_is_a_config_error(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(workdir, 'url = "mysql://desk@db.example/telewatch"')
    code, _, err = run(capsys, "--config", str(cfg), "posts", "recent")
    assert code == 2
    assert "is not a PostgreSQL URL" in err


def test_import_and_search_go_to_postgresql_with_the_password_from_dotenv(
    workdir: Path, postgres: LocalPostgres, capsys: pytest.CaptureFixture[str]
) -> None:
    name = postgres.create_database()
    cfg = write_config(workdir, f'url = "{postgres.url(name)}"')
    (workdir / ".env").write_text(f"TELEWATCH_DB_PASSWORD={postgres.password}\n", encoding="utf-8")
    feed = workdir / "feed.jsonl"
    rows = [
        {"channel": "@alpha", "id": 1, "date": "2024-08-07T06:00:00Z", "text": "Жители Суджи эвакуированы"},
        {"channel": "@alpha", "id": 2, "date": "2024-08-07T06:05:00Z", "text": "Погода солнечная"},
    ]
    feed.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    code, _, err = run(capsys, "--config", str(cfg), "import", str(feed))
    assert code == 0, err
    code, out, err = run(capsys, "--config", str(cfg), "posts", "search", "эвакуированы", "--json")
    assert code == 0, err
    found = json.loads(out)
    assert [p["text"] for p in found] == ["Жители Суджи эвакуированы"]
    assert not (workdir / "data" / "telewatch.db").exists()  # nothing went to the SQLite default
    assert postgres.admin("SELECT count(*) FROM posts", name) == "2"


def test_a_wrong_password_from_the_environment_is_exit_code_4_in_one_line(
    workdir: Path,
    postgres: LocalPostgres,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cfg = write_config(workdir, f'url = "{postgres.url("postgres")}"')
    monkeypatch.setenv("TELEWATCH_DB_PASSWORD", "wrong-password-xyz")
    code, _, err = run(capsys, "--config", str(cfg), "posts", "recent")
    assert code == 4
    assert "refused the login: wrong or missing password" in err
    assert "wrong-password-xyz" not in err
    assert "Traceback" not in err


def test_a_file_level_command_says_it_is_not_supported_on_postgresql_yet(
    workdir: Path, postgres: LocalPostgres, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(workdir, f'url = "{postgres.url("postgres")}"')
    code, _, err = run(capsys, "--config", str(cfg), "db", "stats")
    assert code == 4
    assert "not supported on PostgreSQL yet" in err


def test_health_reads_the_heartbeat_from_postgresql(
    workdir: Path,
    postgres: LocalPostgres,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = postgres.create_database()
    cfg = write_config(workdir, f'url = "{postgres.url(name)}"')
    monkeypatch.setenv("TELEWATCH_DB_PASSWORD", postgres.password)
    code, _, err = run(capsys, "--config", str(cfg), "health")
    assert code == 4  # no archive there yet
    assert "holds no telewatch archive yet" in err
    assert run(capsys, "--config", str(cfg), "posts", "recent")[0] == 4  # reading creates nothing
    assert postgres.admin("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", name) == "0"
    asyncio.run(_create(postgres.url(name), postgres.password))  # what `run` does first
    code, _, err = run(capsys, "--config", str(cfg), "health")
    assert code == 1
    assert "never written a heartbeat" in err
    now = datetime.now(UTC).isoformat(timespec="seconds")
    postgres.admin(f"INSERT INTO meta (key, value) VALUES ('run.heartbeat', '{now}')", name)
    code, out, err = run(capsys, "--config", str(cfg), "health", "--json")
    assert code == 0, err
    assert json.loads(out)["healthy"] is True


def test_status_on_postgresql_while_run_is_not_connected_says_so(
    workdir: Path, postgres: LocalPostgres, capsys: pytest.CaptureFixture[str]
) -> None:
    """#56 on PostgreSQL: run holds its lock but has not reached Telegram: not "all checks pass"."""
    from bot.telegram.client import lock_path
    from bot.watch.lock import InstanceLock
    from config.loader import load

    name = postgres.create_database()
    cfg = workdir / "telewatch.toml"
    cfg.write_text(
        f'[telegram]\nsession_dir = "{workdir / "sessions"}"\n\n[storage]\nurl = "{postgres.url(name)}"\n',
        encoding="utf-8",
    )
    (workdir / ".env").write_text(f"TELEWATCH_DB_PASSWORD={postgres.password}\n", encoding="utf-8")
    feed = workdir / "feed.jsonl"
    feed.write_text(
        json.dumps({"channel": "@alpha", "id": 1, "date": "2024-08-07T06:00:00Z", "text": "x"}) + "\n"
    )
    assert run(capsys, "--config", str(cfg), "import", str(feed))[0] == 0
    with InstanceLock(lock_path(load(cfg, {}).telegram)):
        code, out, err = run(capsys, "--config", str(cfg), "status")
    assert code == 0, err
    assert "health: no problems; 2 not checked yet" in out
    assert "· not connected to Telegram yet (0 min; a health alert after" in out
    assert "all checks pass" not in out
