"""OCR of archived images: the text is kept, matched by the rules (marked [OCR]) and found by search."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from bot.alerts.routing import Router
from bot.cli import main
from bot.domain.models import ChannelRef, Post
from bot.ingest.pipeline import OCR_MARK, Pipeline
from config.settings import Settings
from tests.media.rig import Rig
from tests.ports_fakes import FakeClock, WordMatcher


def needs_tesseract() -> None:
    if shutil.which("tesseract") is None:
        if os.environ.get("CI") and not os.environ.get("TELEWATCH_ALLOW_SKIP"):
            pytest.fail("tesseract is missing in CI (.ci/run installs tesseract-ocr and its languages)")
        pytest.skip("tesseract not installed (apt install tesseract-ocr tesseract-ocr-rus ...)")


def picture_of(words: str) -> bytes:
    image = Image.new("RGB", (900, 160), "white")
    ImageDraw.Draw(image).text((20, 40), words, fill="black", font=ImageFont.load_default(size=64))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def test_text_in_an_archived_image_is_read_and_handed_on(rig: Rig) -> None:
    needs_tesseract()
    rig.media = dataclasses.replace(rig.media, ocr=True)
    seen: list[tuple[int, str]] = []

    async def on_ocr(post_id: int, text: str) -> None:
        seen.append((post_id, text))

    rig.archiver.on_ocr = on_ocr
    await rig.post("alpha", "", picture_of("EVACUATION NOW"), mime_type="image/png")
    report = await rig.archiver.drain()
    assert report.ocr == 1
    (record,) = await rig.store.media.for_post(1)
    assert record.ocr_text is not None
    assert "EVACUATION" in record.ocr_text
    assert seen == [(1, record.ocr_text)]


async def test_ocr_text_matches_rules_once_marked_as_ocr_and_alerts(tmp_path: Path) -> None:
    from storage.store import Store

    async with await Store.open(tmp_path / "t.db") as store:
        settings = Settings()
        pipeline = Pipeline(
            store, WordMatcher({"evac": ["evacuated"]}), Router(settings.routes), clock=FakeClock()
        )
        ref = ChannelRef(tg_id=11, username="alpha")
        await pipeline.ingest([Post(channel=ref, message_id=1, date=FakeClock().now(), text="a photo")])
        result = await pipeline.ocr_text(1, "residents evacuated from the town")
        assert (result.matches, result.alerts) == (1, 1)
        (match,) = await store.matches.for_post(1)
        assert match.words == (f"{OCR_MARK}evacuated",)
        assert all(h.start < 0 for h in match.hits)  # no span in the post's own text
        again = await pipeline.ocr_text(1, "evacuated again")  # the rule already matched: nothing new
        assert (again.matches, again.alerts) == (0, 0)


def test_search_finds_posts_by_the_text_in_their_images(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    needs_tesseract()
    folder = tmp_path / "export"
    (folder / "photos").mkdir(parents=True)
    (folder / "photos" / "p.png").write_bytes(picture_of("SHELLING REPORT"))
    doc = {
        "name": "Chan",
        "type": "public_channel",
        "id": 77,
        "messages": [
            {"id": 1, "type": "message", "date": "2024-08-06T08:00:00", "text": "", "photo": "photos/p.png"}
        ],
    }
    (folder / "result.json").write_text(json.dumps(doc), encoding="utf-8")
    (tmp_path / "t.toml").write_text(
        f'[media]\nocr = true\npath = "{tmp_path / "media"}"\n', encoding="utf-8"
    )
    monkeypatch.setenv("TELEWATCH_CONFIG", str(tmp_path / "t.toml"))
    monkeypatch.setenv("TELEWATCH_DB", str(tmp_path / "tw.db"))
    assert main(["import", str(folder / "result.json")]) == 0
    capsys.readouterr()
    assert main(["posts", "search", "shelling", "--json"]) == 0
    (hit,) = json.loads(capsys.readouterr().out)
    assert hit["matched_in"] == "ocr"
    assert main(["posts", "show", "1"]) == 0
    assert "OCR text: SHELLING REPORT" in capsys.readouterr().out
