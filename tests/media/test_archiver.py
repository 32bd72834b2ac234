"""The media archive: files stored once by content, caps and quota, flood waits, bad files and full disks."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
from dataclasses import replace
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from PIL import Image

from bot.app.run import run_live
from bot.domain.media import MediaState
from config.loader import load
from tests.fakes import FakeTelegram
from tests.media.rig import Rig, jpeg
from tests.mounts import small_disks
from tests.ports_fakes import RecordingSink
from tests.telegram.harness import wait_until


def files_in(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and "tmp" not in p.relative_to(root).parts)


async def test_a_photo_is_stored_under_its_sha256_with_a_thumbnail(rig: Rig) -> None:
    data = jpeg(1, (800, 600))
    await rig.post("alpha", "фото", data)
    report = await rig.archiver.drain()
    assert report.stored == 1
    (record,) = await rig.store.media.for_post(1)
    sha = hashlib.sha256(data).hexdigest()
    assert record.state is MediaState.STORED
    assert record.sha256 == sha
    assert record.path == f"{sha[:2]}/{sha[2:4]}/{sha}.jpg"
    assert (rig.media.path / record.path).read_bytes() == data
    assert record.thumb_path is not None
    with Image.open(rig.media.path / record.thumb_path) as thumb:
        assert max(thumb.size) == 320


async def test_reposts_across_channels_are_stored_once(rig: Rig) -> None:
    data = jpeg(2)
    await rig.post("alpha", "оригинал", data, file_ref="photo:77")
    await rig.post("beta", "репост", data, file_ref="photo:77")  # a forward: the same Telegram file
    await rig.post("beta", "перезалив", data)  # re-uploaded: another file id, the same bytes
    report = await rig.archiver.drain()
    assert report.stored == 3
    assert report.deduplicated == 2
    assert rig.fake.count("download") == 2  # the forward was not downloaded again
    assert len([p for p in files_in(rig.media.path) if not p.name.endswith(".thumb.jpg")]) == 1
    paths = {r[0] for r in await rig.store.db.fetchall("SELECT path FROM media")}
    assert len(paths) == 1
    assert await rig.store.media.stored_bytes() == len(data)


async def test_caps_per_kind_and_documents_off_by_default(rig: Rig) -> None:
    rig.media = dataclasses.replace(rig.media, video_mb=1)
    await rig.post("alpha", "видео", b"v" * (2 * 1024 * 1024), kind="video", mime_type="video/mp4")
    await rig.post("alpha", "документ", b"%PDF", kind="document", mime_type="application/pdf")
    await rig.post("alpha", "маленькое видео", b"v" * 1000, kind="video", mime_type="video/mp4")
    await rig.archiver.drain()
    rows = await rig.rows()
    assert rows[0] == ("video", "skipped", "2.0 MB is over the video cap of 1.0 MB ([media] video_mb)")
    assert rows[1] == ("document", "skipped", "document files are not archived ([media] document_mb = 0)")
    assert rows[2][:2] == ("video", "stored")
    assert rig.fake.count("download") == 2  # the small video and its preview, nothing else


async def test_a_file_larger_than_announced_stops_at_the_cap(rig: Rig) -> None:
    rig.media = dataclasses.replace(rig.media, video_mb=1)
    await rig.post("alpha", "видео", b"v" * (3 * 1024 * 1024), kind="video", mime_type="video/mp4", size=100)
    await rig.archiver.drain()
    assert (await rig.rows())[0][:2] == ("video", "skipped")
    assert "larger than the cap" in str((await rig.rows())[0][2])
    assert files_in(rig.media.path) == []


async def test_the_quota_skips_what_does_not_fit_and_says_so(rig: Rig) -> None:
    rig.media = dataclasses.replace(rig.media, quota_gb=150_000 / 1024**3)
    for i in range(3):
        await rig.post("alpha", f"фото {i}", jpeg(10 + i, (400, 400)) + bytes(60_000))
    await rig.archiver.drain()
    states = [r[1] for r in await rig.rows()]
    assert states == ["stored", "stored", "skipped"]
    assert "quota" in str((await rig.rows())[2][2])


async def test_a_flood_wait_on_downloads_is_waited_out_and_the_file_is_whole(rig: Rig) -> None:
    data = jpeg(3)
    await rig.post("alpha", "фото", data)
    rig.fake.flood("download", 0.2)
    report = await rig.archiver.drain()
    assert report.stored == 1
    assert rig.archiver.pacer.flood_counts == {"download": 1}
    (record,) = await rig.store.media.for_post(1)
    assert record.sha256 == hashlib.sha256(data).hexdigest()


async def test_a_corrupt_image_is_kept_with_the_reason_and_a_truncated_download_fails(rig: Rig) -> None:
    await rig.post("alpha", "битое фото", b"\xff\xd8not really a jpeg")
    await rig.post("alpha", "оборванное", jpeg(4), size=10_000_000)  # Telegram announced more
    report = await rig.archiver.drain()
    first, second = await rig.rows()
    assert first[:2] == ("photo", "stored")
    assert "not a readable image" in str(first[2])
    assert second[1] == "failed"
    assert "truncated download" in str(second[2])
    assert report.failed == 1
    assert any("not a readable image" in p for p in report.problems)


async def test_a_deleted_message_fails_its_row_only(rig: Rig) -> None:
    await rig.post("alpha", "удалят", jpeg(5))
    await rig.post("alpha", "останется", jpeg(6))
    await rig.fake.delete("alpha", 1)
    await rig.archiver.drain()
    assert [r[1] for r in await rig.rows()] == ["failed", "stored"]


async def test_a_full_disk_fails_the_download_keeps_the_post_and_pauses(tmp_path: Path, rig: Rig) -> None:
    with small_disks(tmp_path) as mount:
        disk = mount("media", "1m")
        rig.media = dataclasses.replace(rig.media, path=disk, photo_mb=5)
        await rig.post("alpha", "большое", os.urandom(2 * 1024 * 1024), mime_type="image/jpeg")
        await rig.post("alpha", "следующее", jpeg(7))
        report = await rig.archiver.drain()
        rows = await rig.rows()
        assert rows[0] == ("photo", "failed", "disk full while downloading")
        assert rows[1][1] == "pending"  # downloads pause; the next one is tried later
        assert report.failed == 1
        assert [p for p in disk.rglob("*") if p.is_file()] == []  # the partial file is gone
        assert await rig.store.posts.count() == 2


async def test_run_archives_in_the_background_while_alerts_go_out(tmp_path: Path) -> None:
    path = tmp_path / "telewatch.toml"
    path.write_text(
        '[telegram]\nrequests_per_second = 1000\n[[channels]]\nref = "@alpha"\n'
        '[[rules]]\nname = "evacuation"\nany = ["evacuate"]\n'
        f'[media]\npath = "{tmp_path / "media"}"\nrequests_per_second = 1000\n',
        encoding="utf-8",
    )
    fake = FakeTelegram()
    fake.add_channel("alpha", tg_id=11)
    fake.bandwidth = 2 * 1024 * 1024  # a 4 MB video takes two seconds
    scheduler = AsyncIOScheduler(timezone="UTC")
    stop = asyncio.Event()
    sink = RecordingSink("console")
    task = asyncio.create_task(
        run_live(
            load(path, {}),
            tmp_path / "t.db",
            gateway=fake,
            sinks={"console": sink},
            stop=stop,
            scheduler=scheduler,
        )
    )
    try:
        await wait_until(lambda: scheduler.get_job("gap-check:11") is not None)
        await fake.publish_file(
            "alpha", "video", b"v" * (4 * 1024 * 1024), kind="video", mime_type="video/mp4"
        )
        await asyncio.sleep(0.3)  # the download is under way
        await fake.publish("alpha", "Residents told to evacuate")
        await wait_until(lambda: len(sink.delivered) == 1, within=1.0)  # not behind the download
        await wait_until(lambda: any((tmp_path / "media").rglob("*.mp4")), within=10)
    finally:
        stop.set()
        await task


async def test_each_album_item_downloads_from_its_own_message(rig: Rig) -> None:
    from bot.watch.albums import merge_album

    parts = []
    for i in range(3):
        parts.append(await rig.fake.publish_file("alpha", "альбом" if i == 0 else "", jpeg(20 + i)))
    album = merge_album([replace(p, grouped_id=5) for p in parts])
    assert [m.message_id for m in album.media] == [1, 2, 3]
    async with rig.store.db.transaction() as tx:
        await rig.store.posts.save(tx, [album], album.date)
    report = await rig.archiver.drain()
    assert report.stored == 3
    records = await rig.store.media.for_post(1)
    assert [r.message_id for r in records] == [1, 2, 3]
    assert len({r.sha256 for r in records}) == 3
