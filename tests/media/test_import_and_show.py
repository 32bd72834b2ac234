"""`import` archives the files a Telegram Desktop export ships; `posts show` and chat /post list media."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from tests.media.rig import jpeg


def export_with_files(folder: Path) -> Path:
    (folder / "photos").mkdir(parents=True)
    (folder / "files").mkdir()
    (folder / "photos" / "photo_1.jpg").write_bytes(jpeg(1))
    (folder / "photos" / "photo_2.jpg").write_bytes(jpeg(1))  # the same picture posted twice
    (folder / "files" / "report.pdf").write_bytes(b"%PDF-1.4 report")
    messages = [
        {
            "id": 1,
            "type": "message",
            "date": "2024-08-06T08:00:00",
            "text": "Эвакуация",
            "photo": "photos/photo_1.jpg",
        },
        {
            "id": 2,
            "type": "message",
            "date": "2024-08-06T09:00:00",
            "text": "Повтор",
            "photo": "photos/photo_2.jpg",
        },
        {
            "id": 3,
            "type": "message",
            "date": "2024-08-06T10:00:00",
            "text": "Документ",
            "file": "files/report.pdf",
            "mime_type": "application/pdf",
        },
        {
            "id": 4,
            "type": "message",
            "date": "2024-08-06T11:00:00",
            "text": "Без файла",
            "photo": "photos/missing.jpg",
        },
    ]
    doc = {"name": "Губернатор", "type": "public_channel", "id": 4242, "messages": messages}
    path = folder / "result.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "telewatch.toml").write_text(f'[media]\npath = "{tmp_path / "media"}"\n', encoding="utf-8")
    monkeypatch.setenv("TELEWATCH_CONFIG", str(tmp_path / "telewatch.toml"))
    monkeypatch.setenv("TELEWATCH_DB", str(tmp_path / "tw.db"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_import_archives_shipped_files_once_and_posts_show_lists_them(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = export_with_files(env / "export")
    assert main(["import", str(result)]) == 0
    out = capsys.readouterr().out
    assert "media: 2 files the export ships archived" in out
    assert "2 \nskipped" in out or "2 skipped" in out  # the PDF (documents are off) and the missing photo
    stored = [p for p in (env / "media").rglob("*.jpg") if not p.name.endswith(".thumb.jpg")]
    assert len(stored) == 1  # the same picture twice: one file
    assert main(["posts", "show", "1", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    (photo,) = shown["media_files"]
    assert photo["state"] == "stored"
    assert photo["thumbnail"] is not None
    assert (env / "media" / photo["path"]).is_file()
    assert main(["posts", "show", "3"]) == 0
    assert "document files are not archived" in capsys.readouterr().out
    assert main(["posts", "show", "4", "--json"]) == 0
    (missing,) = json.loads(capsys.readouterr().out)["media_files"]
    assert missing["state"] == "skipped"
    assert "does not ship this file" in missing["reason"]
    assert main(["import", str(result)]) == 0  # again: nothing new, nothing duplicated
    assert len([p for p in (env / "media").rglob("*.jpg") if not p.name.endswith(".thumb.jpg")]) == 1


def test_db_stats_counts_the_media_archive(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(export_with_files(env / "export"))]) == 0
    capsys.readouterr()
    assert main(["db", "stats", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["media_by_state"] == {"stored": 2, "skipped": 2}
    assert stats["media_bytes"] == len(jpeg(1))
