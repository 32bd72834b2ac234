"""The review pages over a PostgreSQL archive: the same archive as SQLite, migrated, reads the same."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from bot.app.backend import PgLocation
from bot.app.migrate import migrate_archive
from bot.web import WebOptions, create_app
from storage.postgres.store import PgStore
from storage.store import Store
from tests.pgserver import LocalPostgres
from tests.web.conftest import Archive, build_archive

PAGES = [
    "/search?q=эвакуация",
    "/search?q=Суджи&sort=oldest",
    "/search?q=обстрел&sort=relevance",
    "/search?q=эвакуац*",
    '/search?q="без происшествий"&page=2',
    "/search?q=мост+(",
    "/search",
    "/search?rule=shelling",
    "/posts/1",
    "/posts/2",
    "/alerts",
    "/rules",
    "/channels",
    "/charts",
]


def _post_ids(html: str) -> list[str]:
    return re.findall(r'href="/posts/(\d+)"', html)


async def _pages(opener: object, db: Path | str, config: Path) -> dict[str, tuple[int, list[str], str]]:
    options = WebOptions(db_path=db, config_path=config, environ={}, read_only=True)
    app = create_app(options, opener)  # type: ignore[arg-type]
    out = {}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as c,
    ):
        for page in PAGES:
            r = await c.get(page)
            out[page] = (r.status_code, _post_ids(r.text), r.text)
    return out


@pytest.fixture
def archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Archive:
    return build_archive(tmp_path, monkeypatch)  # `telewatch import --alert` runs its own event loop


async def test_the_pages_read_a_postgresql_archive_as_they_read_sqlite(
    archive: Archive, postgres: LocalPostgres
) -> None:
    target = PgLocation(postgres.url(postgres.create_database()), postgres.password)
    assert all(c.ok for c in await migrate_archive(archive.db, target))
    sqlite = await _pages(lambda: Store.open(archive.db, read_only=True), archive.db, archive.config)
    pg = await _pages(
        lambda: PgStore.open_url(target.url, target.password, migrate=False), str(target), archive.config
    )
    for page in PAGES:
        assert pg[page][0] == sqlite[page][0] == 200, (page, pg[page][2][-500:])
        assert pg[page][1] == sqlite[page][1], page  # the same posts, in the same order
    assert "<mark>" in pg["/search?q=эвакуация"][2]  # the matched words highlighted
