"""Parsing of command text and the packing of long replies into pages."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.chat.auth import bare_id, chat_is_admin
from bot.chat.models import Usage
from bot.chat.pages import TELEGRAM_LIMIT, PageStore, pack_lines
from bot.chat.parsing import (
    parse_command,
    parse_rule,
    parse_search,
    parse_since,
    split_terms,
)
from bot.domain.refs import parse_post_ref as parse_post_link
from config.settings import AdminSettings


def test_command_name_bot_mention_and_arguments() -> None:
    parsed = parse_command("/Search@TeleWatchBot обстрел  in @rybar")
    assert parsed is not None
    assert (parsed.name, parsed.bot, parsed.args) == ("search", "TeleWatchBot", "обстрел  in @rybar")
    assert parse_command("no slash") is None


@pytest.mark.parametrize(
    ("args", "query", "scope", "since"),
    [
        ("Суджа", "Суджа", None, None),
        ('"режим КТО" in official since 2024-08-06', '"режим КТО"', "official", "2024-08-06"),
        ("обстрел since 3d in @rybar", "обстрел", "@rybar", "3d"),
        ('"coming in hot"', '"coming in hot"', None, None),
        ("coming in hot", "coming", "hot", None),  # a bare trailing "in X" is always the scope
    ],
)
def test_search_options_at_the_end_in_either_order(
    args: str, query: str, scope: str | None, since: str | None
) -> None:
    parsed = parse_search(args)
    assert (parsed.query, parsed.scope, parsed.since) == (query, scope, since)


def test_since_accepts_dates_in_the_local_zone_and_relative_times() -> None:
    now = datetime(2024, 8, 7, 10, 0, tzinfo=UTC)
    msk = ZoneInfo("Europe/Moscow")
    assert parse_since("2024-08-06", now, msk) == datetime(2024, 8, 5, 21, 0, tzinfo=UTC)
    assert parse_since("12h", now, msk) == datetime(2024, 8, 6, 22, 0, tzinfo=UTC)
    assert parse_since("today", now, msk) == datetime(2024, 8, 6, 21, 0, tzinfo=UTC)
    with pytest.raises(Usage, match="not a date"):
        parse_since("tuesday", now, msk)


def test_post_links() -> None:
    assert parse_post_link("https://t.me/rybar/123") is not None
    assert parse_post_link("https://t.me/s/rybar/123") is not None
    assert parse_post_link("@rybar/123") is not None
    assert parse_post_link("https://t.me/rybar") is None
    assert parse_post_link("https://t.me/+AbCdEfGh12/5") is None
    link = parse_post_link("t.me/c/1234567/89")
    assert link is not None
    assert (link.tg_id, link.message_id) == (1234567, 89)
    assert parse_post_link("https://t.me/rybar") is None


def test_rule_text_becomes_a_toml_table() -> None:
    assert parse_rule('evac critical эвакуация, "режим КТО"; none: учения; labels: official') == {
        "name": "evac",
        "severity": "critical",
        "any": ["эвакуация", '"режим КТО"'],
        "none": ["учения"],
        "labels": ["official"],
    }
    assert split_terms("/a,b/, c") == ["/a,b/", "c"]


def test_admin_chats_match_by_id_in_any_spelling_by_name_and_me() -> None:
    admin = AdminSettings(chats=("-1001500", "@deskgroup", "me"), users=(1,))
    assert bare_id(-1001500) == 1500 == bare_id(1500)
    assert chat_is_admin(admin, -1001500, None, private=False)
    assert chat_is_admin(admin, -100777, "DeskGroup", private=False)
    assert chat_is_admin(admin, 1, None, private=True)
    assert not chat_is_admin(admin, -100777, "other", private=False)


def test_pages_stay_within_the_telegram_limit_and_keep_every_line() -> None:
    lines = [f"line {i} " + "x" * 300 for i in range(50)] + ["y" * 5000]
    pages = pack_lines(lines)
    assert all(len(p) <= 3800 for p in pages)
    assert sum(p.count("line ") for p in pages) == 50
    store = PageStore()
    first = store.paginate("<b>head</b>", lines)
    assert len(first.html) <= TELEGRAM_LIMIT
    assert first.buttons[0][0] == "next ›"
    assert store.paginate("", ["short"]).buttons == ()
