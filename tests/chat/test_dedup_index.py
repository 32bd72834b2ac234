"""Near-duplicate detection through stored fingerprints: same verdicts as the exact test, a window that
expires, fingerprints that survive a restart, and older databases fingerprinted on first use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.alerts.dedup import near_identical, normalize
from bot.alerts.fingerprint import MAX_TEXTS_PER_KEY, fingerprint
from tests.chat.conftest import BLOG, GOV, MEDIA, App, make_app

TEXT = "Противник нанёс обстрел по окраинам Суджи, есть разрушения жилых домов и пострадавшие"
OTHER = "Обстрел Белгорода: сбиты две ракеты над городом, пострадавших нет по данным оперштаба"
SAMPLES = [
    TEXT,
    TEXT.upper() + "!!!",
    TEXT + "\n\nПодписывайтесь на наш канал @milblog",
    "⚡️ " + TEXT + " https://t.me/gov_region/5",
    TEXT + " " + " ".join(f"комментарий{i}" for i in range(40)),
    "Совсем другой текст про обстрел в другом районе области сегодня утром",
    OTHER,
    "обстрел",
    "обстрел окраин",
    "Обстрел!",
    "",
]


@pytest.mark.parametrize("a", SAMPLES)
@pytest.mark.parametrize("b", SAMPLES)
def test_fingerprints_give_the_exact_tests_verdict(a: str, b: str) -> None:
    fa, fb = fingerprint(normalize(a)), fingerprint(normalize(b))
    assert fa.near(fb.norm, fb.shingle_blob()) is near_identical(fa.norm, fb.norm)


def test_copies_share_an_index_key_and_unrelated_texts_do_not() -> None:
    base = fingerprint(normalize(TEXT))
    copy = fingerprint(normalize("⚡️ " + TEXT + "\nПодписывайтесь: @milblog"))
    other = fingerprint(normalize(OTHER))
    assert set(base.keys) & set(copy.keys)
    assert not set(base.keys) & set(other.keys)
    assert (
        fingerprint(normalize("Обстрел!")).keys == fingerprint(normalize("обстрел")).keys
    )  # short: whole text


def test_fingerprints_are_the_same_in_every_process() -> None:
    """They are stored: a restart must compute the same keys (no per-process hash seeds)."""
    code = "from bot.alerts.fingerprint import fingerprint; print(list(fingerprint('раз два три четыре пять шесть').keys))"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(list(fingerprint("раз два три четыре пять шесть").keys))


async def index_rows(app: App) -> tuple[int, int]:
    texts = await app.store.db.fetchone("SELECT count(*) FROM dedup_texts WHERE shingles IS NOT NULL")
    bands = await app.store.db.fetchone("SELECT count(*) FROM dedup_bands")
    assert texts is not None
    assert bands is not None
    return int(texts[0]), int(bands[0])


async def test_a_near_identical_copy_among_many_remembered_texts_is_merged(app: App) -> None:
    for n in range(30):
        await app.publish(
            MEDIA, f"Обстрел района номер {n}: повреждены {n} домов, {n + 2} человек ранены, работают службы"
        )
    await app.publish(GOV, TEXT)
    await app.publish(BLOG, "⚡️ " + TEXT + "\nПодписывайтесь: @milblog")
    sent = await app.dispatcher.run_once()
    assert sent.sent == 31  # the copy went into the governor's alert


async def test_texts_that_left_the_window_leave_the_index(app: App) -> None:
    await app.publish(GOV, TEXT)
    assert (await index_rows(app))[0] == 1
    app.clock.advance(61 * 60)  # dedup_window_minutes = 60
    await app.publish(BLOG, OTHER)  # the next judged batch drops what is out of the window
    texts, bands = await index_rows(app)
    assert texts == 1  # only the new text is indexed
    fresh = await app.store.db.fetchone("SELECT count(DISTINCT post_id) FROM dedup_bands")
    assert fresh is not None
    assert fresh[0] == 1
    assert bands == len(fingerprint(normalize(OTHER)).keys)
    await app.publish(MEDIA, TEXT)  # a copy of the expired text: its own alert
    assert (await app.dispatcher.run_once()).sent == 3


async def test_a_restart_keeps_fingerprints_and_merges_a_later_copy(tmp_path: Path) -> None:
    first = await make_app(tmp_path)
    await first.publish(GOV, TEXT)
    await first.dispatcher.run_once()
    before = await first.store.db.fetchall("SELECT band, post_id FROM dedup_bands ORDER BY band")
    shingles = await first.store.db.fetchone("SELECT shingles FROM dedup_texts")
    await first.store.close()

    second = await make_app(tmp_path)  # a new process: new gate, same database
    try:
        after = await second.store.db.fetchall("SELECT band, post_id FROM dedup_bands ORDER BY band")
        assert [tuple(r) for r in after] == [tuple(r) for r in before]
        assert before
        await second.publish(BLOG, TEXT + "\n\nПодписывайтесь на наш канал @milblog")
        assert (await second.dispatcher.run_once()).sent == 0  # merged into the alert sent before the restart
        again = await second.store.db.fetchone("SELECT shingles FROM dedup_texts ORDER BY post_id LIMIT 1")
        assert shingles is not None
        assert again is not None
        assert again[0] == shingles[0]
    finally:
        await second.store.close()


async def test_texts_remembered_before_fingerprints_existed_are_fingerprinted_on_first_use(
    tmp_path: Path,
) -> None:
    first = await make_app(tmp_path)
    await first.publish(GOV, TEXT)
    await first.dispatcher.run_once()
    async with first.store.db.transaction() as tx:  # what a database migrated from 0002 holds
        await tx.execute("UPDATE dedup_texts SET shingles = NULL")
        await tx.execute("DELETE FROM dedup_bands")
    await first.store.close()

    second = await make_app(tmp_path)
    try:
        await second.publish(BLOG, "⚡️ " + TEXT)
        assert (await second.dispatcher.run_once()).sent == 0
        assert (await index_rows(second))[0] == 2
    finally:
        await second.store.close()


async def test_templated_posts_beyond_the_crowded_key_limit_stay_apart_and_a_real_copy_still_merges(
    app: App,
) -> None:
    channels = (GOV, BLOG, MEDIA)
    for n in range(MAX_TEXTS_PER_KEY + 20):  # they share index keys through their common wording
        await app.publish(
            channels[n % 3], f"Обстрел района номер {n} сегодня утром, жители эвакуированы из города"
        )
    await app.publish(GOV, TEXT)
    await app.publish(BLOG, "⚡️ " + TEXT + "\nПодписывайтесь: @milblog")
    assert (await app.dispatcher.run_once()).sent == MAX_TEXTS_PER_KEY + 21
