"""The real replay corpus from ../shared/data, replicated to any size as telewatch JSONL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# ../shared/data beside the checkout; a checkout nested one level deeper (a worktree) finds it too.
SHARED_DATA = next(
    (p / "shared" / "data" for p in ROOT.parents[:2] if (p / "shared" / "data").is_dir()),
    ROOT.parent / "shared" / "data",
)
NKTKLN = SHARED_DATA / "replay" / "nktkln_telegram_news_ru_2024"


def available() -> bool:
    return NKTKLN.is_dir()


def base_posts() -> list[dict[str, object]]:
    """The 22k real posts: channel id, message id, date, text."""
    posts: list[dict[str, object]] = []
    for path in sorted(NKTKLN.glob("*_messages.json")):
        for record in json.loads(path.read_text(encoding="utf-8")):
            sender = int(record["sender_id"])
            posts.append(
                {
                    "channel": int(str(abs(sender)).removeprefix("100")),
                    "id": int(record["message_id"]),
                    "date": record["date"],
                    "text": record.get("text") or "",
                }
            )
    return posts


def replicated(count: int) -> Iterator[dict[str, object]]:
    """`count` posts: the corpus repeated, each copy shifted to fresh message ids."""
    base = base_posts()
    shift = max(int(p["id"]) for p in base) + 1  # type: ignore[call-overload]
    n = 0
    copy = 0
    while True:
        for post in base:
            if n >= count:
                return
            yield {**post, "id": int(post["id"]) + copy * shift}  # type: ignore[call-overload]
            n += 1
        copy += 1


def write_jsonl(path: Path, count: int) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for record in replicated(count):
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path
