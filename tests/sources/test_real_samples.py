"""The readers on real exports and corpora from ../shared/data (skipped when absent)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from bot.domain.models import Post
from bot.sources import BadRecord, open_source
from bot.sources.fields import utf16_slice

TRANTOR = "format_samples/tdesktop_real_public_channel_trantor/result.json"
TKONVERTER = "format_samples/tdesktop_synthetic_tkonverter"
TELETHON = "format_samples/telethon_to_dict_ditirodt/channel_messages.json"
CUAS = "replay/cuas_rybar_intelslava_2025/telegram_gru_dutch_20251119_084300_translated.json"
NKTKLN = "replay/nktkln_telegram_news_ru_2024"


def test_trantor_export_gives_924_messages_16_of_them_service(shared_data: Path) -> None:
    source = open_source(shared_data / TRANTOR)
    assert source.format == "tdesktop"
    assert source.channel is not None
    assert source.channel.tg_id == 1878264527
    items = list(source)
    assert all(isinstance(i, Post) for i in items)
    posts = [i for i in items if isinstance(i, Post)]
    assert len(posts) == 924
    assert sum(p.is_service for p in posts) == 16
    assert sum(p.edit_date is not None for p in posts) == 880
    assert sum(p.reply_to is not None for p in posts) == 84
    assert sum(any(m.kind == "photo" for m in p.media) for p in posts) == 484
    assert sum(any(m.kind == "poll" for m in p.media) for p in posts) == 1
    assert source.bytes_read == source.size_hint()


def test_trantor_entities_cover_exactly_their_text(shared_data: Path) -> None:
    """Entities built from text lists (with CJK and emoji) slice the text back to the entity's words."""
    import json

    raw = json.loads((shared_data / TRANTOR).read_text(encoding="utf-8"))["messages"]
    by_id = {m["id"]: m for m in raw}
    checked = 0
    for post in open_source(shared_data / TRANTOR):
        assert isinstance(post, Post)
        exported = [e for e in by_id[post.message_id]["text_entities"] if e["type"] != "plain"]
        assert [utf16_slice(post.text, e.offset, e.length) for e in post.entities] == [
            e["text"] for e in exported
        ]
        checked += len(exported)
    assert checked > 9000


def test_tkonverter_synthetic_exports_read_with_only_the_unsupported_message_bad(shared_data: Path) -> None:
    for name in ("result.json", "result_group.json"):
        items = list(open_source(shared_data / TKONVERTER / name))
        bad = [i for i in items if isinstance(i, BadRecord)]
        assert len(bad) == 1
        assert "'unsupported'" in bad[0].reason
    posts = [i for i in open_source(shared_data / TKONVERTER / "result.json") if isinstance(i, Post)]
    kinds = Counter(m.kind for p in posts for m in p.media)
    assert {"photo", "video", "voice", "audio", "sticker", "poll", "geo", "other"} <= set(kinds)
    assert any(p.forward is not None and p.forward.channel_tg_id == 500 for p in posts)


def test_telethon_dump_gives_45_posts_one_service(shared_data: Path) -> None:
    source = open_source(shared_data / TELETHON)
    assert source.format == "telethon"
    posts = list(source)
    assert len(posts) == 45
    assert all(isinstance(p, Post) for p in posts)
    assert sum(p.is_service for p in posts) == 1  # type: ignore[union-attr]
    assert {p.channel.tg_id for p in posts} == {1746611944}  # type: ignore[union-attr]
    links = [link for p in posts for link in p.links]  # type: ignore[union-attr]
    assert len(links) == 902  # 898 text links + 4 plain URLs
    assert all(link.startswith(("http", "t.me/")) for link in links)  # plain URLs may lack a scheme


def test_cuas_corpus_gives_487_posts_of_four_channels(shared_data: Path) -> None:
    posts = list(open_source(shared_data / CUAS))
    assert len(posts) == 487
    assert all(isinstance(p, Post) for p in posts)
    counts = Counter(p.channel.username for p in posts)  # type: ignore[union-attr]
    assert counts == {"rybar": 338, "intelslava": 109, "FVDNL": 34, "Cafe_Weltschmerz": 6}


def test_nktkln_corpus_gives_22099_posts_of_24_channels(shared_data: Path) -> None:
    total = 0
    channels = set()
    for path in sorted((shared_data / NKTKLN).glob("*_messages.json")):
        source = open_source(path)
        assert source.format == "nktkln"
        for post in source:
            assert isinstance(post, Post)
            assert post.channel.tg_id == int(path.name.split("_")[0][3:])  # the file is named by -100 id
            channels.add(post.channel.tg_id)
            total += 1
    assert total == 22099
    assert len(channels) == 24
