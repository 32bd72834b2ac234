"""Opening PostgreSQL: a wrong URL, password or schema is one clear line (StorageError, exit code 4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain.errors import StorageError
from storage.postgres.db import LATEST_VERSION, PgDatabase
from storage.postgres.store import PgStore
from tests import pgserver
from tests.pgserver import LocalPostgres, ServerMissing, free_port, start_postgres


async def test_an_unreachable_server_is_one_line_naming_it() -> None:
    port = free_port()  # nothing listens there
    with pytest.raises(StorageError) as e:
        await PgStore.open_url(f"postgresql://telewatch@127.0.0.1:{port}/nowhere", "x")
    assert f"cannot reach PostgreSQL at postgresql://telewatch@127.0.0.1:{port}/nowhere" in e.value.message
    assert "\n" not in e.value.message
    assert "\t" not in e.value.message
    assert "connection refused" in e.value.message.lower()
    assert e.value.exit_code == 4


@pytest.mark.parametrize(
    ("libpq", "shown"),
    [
        (
            'connection failed: connection to server at "127.0.0.1", port 55432 failed: Connection refused\n'
            "\tIs the server running on that host and accepting TCP/IP connections?",
            "Connection refused",
        ),
        (
            'connection to server at "::1", port 5 failed: Connection refused\n\tIs the server running?\n'
            'connection to server at "127.0.0.1", port 5 failed: Connection refused\n\tIs the server running?',
            "Connection refused",
        ),
        ('could not translate host name "nohost" to address: Name or service not known\n', None),
    ],
)
def test_libpqs_multi_line_message_is_one_clean_line(libpq: str, shown: str | None) -> None:
    import psycopg

    from storage.postgres.db import connection_error

    err = connection_error(psycopg.OperationalError(libpq), "postgresql://u@h:5/db")
    assert err.message == f"cannot reach PostgreSQL at postgresql://u@h:5/db: {shown or libpq.strip()}"


async def test_a_wrong_password_is_refused_in_words_and_never_echoed(postgres: LocalPostgres) -> None:
    with pytest.raises(StorageError) as e:
        await PgStore.open_url(postgres.url("postgres"), "not-the-password-123")
    assert "refused the login: wrong or missing password" in e.value.message
    assert "not-the-password-123" not in str(e.value) + (e.value.hint or "")
    assert "TELEWATCH_DB_PASSWORD" in (e.value.hint or "")


async def test_a_missing_database_is_named(postgres: LocalPostgres) -> None:
    with pytest.raises(StorageError, match="the database does not exist"):
        await PgStore.open_url(postgres.url("no_such_db"), postgres.password)


async def test_a_new_database_is_migrated_once_and_reopened(postgres: LocalPostgres) -> None:
    url = postgres.url(postgres.create_database())
    store = await PgStore.open_url(url, postgres.password)
    assert await store.pg.schema_version() == LATEST_VERSION
    await store.close()
    again = await PgStore.open_url(url, postgres.password)
    rows = await again.pg.fetchall("SELECT version FROM schema_version ORDER BY version")
    assert [r[0] for r in rows] == list(range(1, LATEST_VERSION + 1))
    await again.close()


async def test_a_newer_schema_is_refused_in_one_line(postgres: LocalPostgres) -> None:
    name = postgres.create_database()
    await (await PgStore.open_url(postgres.url(name), postgres.password)).close()
    postgres.admin(f"INSERT INTO schema_version (version) VALUES ({LATEST_VERSION + 3})", name)
    with pytest.raises(StorageError) as e:
        await PgStore.open_url(postgres.url(name), postgres.password)
    assert e.value.message == (
        f"database postgresql://telewatch@127.0.0.1:{postgres.port}/{name} has schema version "
        f"{LATEST_VERSION + 3}, newer than this telewatch ({LATEST_VERSION})"
    )
    assert e.value.hint == "upgrade telewatch"


async def test_an_older_schema_is_upgraded_by_a_writer_and_refused_by_a_reader(
    postgres: LocalPostgres,
) -> None:
    name = postgres.create_database()
    await (await PgStore.open_url(postgres.url(name), postgres.password)).close()
    postgres.admin(f"DELETE FROM schema_version WHERE version = {LATEST_VERSION}", name)
    with pytest.raises(StorageError, match=r"older than this telewatch"):
        await PgStore.open_url(postgres.url(name), postgres.password, migrate=False)


async def test_a_database_of_another_application_is_left_alone(postgres: LocalPostgres) -> None:
    name = postgres.create_database()
    postgres.admin("CREATE TABLE invoices (id int)", name)
    with pytest.raises(StorageError, match=r"holds tables of another application.*invoices"):
        await PgDatabase.open(postgres.url(name), postgres.password)
    assert postgres.admin("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", name) == "1"


def _no_server() -> Path:
    raise ServerMissing(
        "no PostgreSQL server found (initdb, pg_ctl): install it with `apt-get install -y postgresql`"
    )


def test_without_the_server_the_postgresql_tests_fail_under_ci_and_skip_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pgserver, "bin_dir", _no_server)
    with pytest.raises(pytest.fail.Exception, match="CI must run the PostgreSQL tests"):
        start_postgres(ci=True)
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y postgresql"):
        start_postgres(ci=False)


def test_a_location_never_shows_its_password() -> None:
    from bot.app.backend import PgLocation

    where = PgLocation("postgresql://desk@db.example/telewatch", "hunter2secret")
    assert "hunter2secret" not in repr(where) + str(where) + f"{where!r}"
