"""The web pages through the ASGI client, over a real SQLite archive filled by the real import."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from bot.cli import main
from bot.domain.errors import ConfigError
from bot.web.security import check_bind, is_loopback
from tests.web.conftest import Archive, csrf_of, serve


def post_id(archive: Archive, channel: str, message_id: int) -> int:
    with sqlite3.connect(archive.db) as conn:
        row = conn.execute(
            "SELECT p.id FROM posts p JOIN channels c ON c.id = p.channel_id WHERE c.username = ? AND p.message_id = ?",
            (channel, message_id),
        ).fetchone()
    return int(row[0])


def alert_ids(archive: Archive, rule: str) -> list[int]:
    with sqlite3.connect(archive.db) as conn:
        return [r[0] for r in conn.execute("SELECT id FROM alerts WHERE rule = ? ORDER BY id", (rule,))]


async def test_search_highlights_the_words_found_in_the_original_text(archive: Archive) -> None:
    async with serve(archive) as client:
        page = await client.get("/search", params={"q": "суджи"})
    assert page.status_code == 200
    assert "<mark>Суджи</mark>" in page.text
    assert page.text.count('class="result') >= 2


async def test_search_filters_by_channel_label_rule_severity_and_marks(archive: Archive) -> None:
    async with serve(archive) as client:
        by_label = await client.get("/search", params={"label": "milblogger"})
        by_rule = await client.get("/search", params={"rule": "shelling"})
        critical = await client.get("/search", params={"severity": "critical"})
        deleted = await client.get("/search", params={"deleted": "yes"})
        edited = await client.get("/search", params={"edited": "yes"})
        in_channel = await client.get("/search", params={"q": "эвакуация OR суджи", "channel": "@gov_test"})
        unknown = await client.get("/search", params={"channel": "@nobody"})
    assert "Обстрел окраин" in by_label.text
    assert "Погода" not in by_label.text
    assert "Обстрел окраин" in by_rule.text
    assert "Несколько тысяч" not in by_rule.text
    assert "Несколько тысяч" in critical.text
    assert "Обстрел" not in critical.text
    assert "Подробности" in deleted.text
    assert "Погода" not in deleted.text
    assert "Объявлена" in edited.text
    assert "Несколько тысяч" not in edited.text
    assert "Обстрел" not in in_channel.text
    assert "Несколько" in in_channel.text
    assert "no stored channel" in unknown.text


async def test_search_pages_and_sorts(archive: Archive) -> None:
    async with serve(archive) as client:
        first = await client.get("/search", params={"q": "сводка"})
        second = await client.get("/search", params={"q": "сводка", "page": "2"})
        oldest = await client.get("/search", params={"q": "сводка", "sort": "oldest"})
        relevance = await client.get("/search", params={"q": "сводка", "sort": "relevance"})
    assert first.text.count('<li class="result') == 20
    assert "page=2" in first.text
    assert second.text.count('<li class="result') == 5
    assert oldest.text.index("номер 0") < oldest.text.index("номер 1:")
    assert relevance.status_code == 200
    assert relevance.text.count('<li class="result') == 20


async def test_search_htmx_request_gets_the_results_alone(archive: Archive) -> None:
    async with serve(archive) as client:
        part = await client.get(
            "/search", params={"q": "суджи"}, headers={"HX-Request": "true", "HX-Target": "results"}
        )
    assert "<html" not in part.text
    assert "<mark>" in part.text


async def test_broken_query_syntax_falls_back_to_the_words(archive: Archive) -> None:
    async with serve(archive) as client:
        page = await client.get("/search", params={"q": 'Суджи "unclosed AND ('})
    assert page.status_code == 200
    assert "searched for the words as written" in page.text or "No posts found" in page.text


@pytest.mark.parametrize(
    "params",
    [
        {"page": "abc"},
        {"sort": "sideways"},
        {"since": "yesterday-ish"},
        {"media": "maybe"},
        {"severity": "urgent"},
    ],
)
async def test_bad_parameters_answer_400_with_the_reason(archive: Archive, params: dict[str, str]) -> None:
    async with serve(archive) as client:
        page = await client.get("/search", params=params)
    assert page.status_code == 400
    key = next(iter(params))
    assert f"{key}=" in page.text


async def test_post_page_shows_every_version_with_a_diff_and_capture_times(archive: Archive) -> None:
    pid = post_id(archive, "gov_test", 2)
    async with serve(archive) as client:
        page = await client.get(f"/posts/{pid}")
    assert page.status_code == 200
    assert "Edit history" in page.text
    assert "(2 versions)" in page.text
    assert "<ins>" in page.text
    assert "Объявлена" in page.text
    assert page.text.count("first seen") == 2
    assert "https://t.me/gov_test/2" in page.text
    assert "<mark" in page.text  # the evacuation match highlighted in the text


async def test_post_page_shows_deletion_reply_thread_alerts_and_links(archive: Archive) -> None:
    deleted = post_id(archive, "milblog_test", 8)
    parent = post_id(archive, "milblog_test", 7)
    linked = post_id(archive, "media_test", 31)
    async with serve(archive) as client:
        page = await client.get(f"/posts/{deleted}")
        parent_page = await client.get(f"/posts/{parent}")
        link_page = await client.get(f"/posts/{linked}")
        missing = await client.get("/posts/999999")
    assert "kept here as evidence" in page.text
    assert f'href="/posts/{parent}"' in page.text  # reply to a stored post
    assert "Replies" in parent_page.text
    assert f'href="/posts/{deleted}"' in parent_page.text
    assert "Alerts it caused" in parent_page.text
    assert "shelling" in parent_page.text
    assert 'href="https://example.org/a"' in link_page.text
    assert missing.status_code == 404


async def test_hostile_post_text_is_shown_as_text_never_as_markup(archive: Archive) -> None:
    pid = post_id(archive, "media_test", 30)
    async with serve(archive) as client:
        pages = [
            await client.get(f"/posts/{pid}"),
            await client.get("/search", params={"q": "script"}),
            await client.get("/search", params={"channel": "@media_test"}),
            await client.get("/alerts"),
            await client.get(f"/posts/{pid}", params={"q": "<script>"}),
        ]
    for page in pages:
        assert page.status_code == 200
        assert "<script>alert" not in page.text
        assert "<img src=x" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in pages[0].text
    assert "&amp;amp; &amp;lt;b&amp;gt;" in pages[0].text  # the entities the post itself contains, as text


async def test_no_secret_is_ever_rendered(archive: Archive) -> None:
    secret = "0123456789abcdef0123456789abcdef"
    async with serve(archive, password="hunter2-long-password") as client:
        client.headers["Authorization"] = "Bearer hunter2-long-password"
        for url in ["/", "/search?q=суджи", "/alerts", "/rules", "/channels", "/charts", "/rules/new?q=x"]:
            page = await client.get(url)
            assert page.status_code == 200, url
            assert secret not in page.text
            assert "hunter2" not in page.text


async def test_every_answer_carries_a_strict_content_security_policy(archive: Archive) -> None:
    async with serve(archive) as client:
        page = await client.get("/")
        script = await client.get("/static/htmx.min.js")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert script.status_code == 200
    assert "htmx" in script.text[:2000]
    assert not re.search(r"<script>(?!</script>)", page.text)  # no inline script at all


async def test_marking_an_alert_is_the_chat_buttons_mark_and_changes_precision(archive: Archive) -> None:
    alert = alert_ids(archive, "shelling")[0]
    async with serve(archive) as client:
        before = await client.get("/rules")
        token = csrf_of(before.text)
        answer = await client.post(
            f"/alerts/{alert}/review",
            data={"mark": "relevant"},
            headers={"HX-Request": "true", "X-CSRF-Token": token},
        )
        after = await client.get("/rules")
    assert answer.status_code == 200
    assert "✓ relevant" in answer.text
    assert f'id="alert-{alert}"' in answer.text
    with sqlite3.connect(archive.db) as conn:
        review, by = conn.execute("SELECT review, reviewed_by FROM alerts WHERE id = ?", (alert,)).fetchone()
        refresh = conn.execute("SELECT count(*) FROM alert_edits").fetchone()[0]
    assert (review, by) == ("relevant", "web")
    assert refresh == 1  # the sent alert message is re-rendered with the mark by the running bot
    assert "none reviewed" in _rule_card(before.text, "shelling")
    assert "precision <b>100%</b>" in _rule_card(after.text, "shelling")


def _rule_card(html: str, name: str) -> str:
    start = html.index(f'id="rule-{name}"')
    return html[start : html.index("</article>", start)]


async def test_plain_form_marks_and_mutes_redirect_back(archive: Archive) -> None:
    alert = alert_ids(archive, "evacuation")[0]
    async with serve(archive) as client:
        token = csrf_of((await client.get("/alerts")).text)
        marked = await client.post(
            f"/alerts/{alert}/review", data={"mark": "false_positive", "csrf_token": token}
        )
        muted = await client.post(
            f"/alerts/{alert}/mute", data={"what": "rule", "duration": "2h", "csrf_token": token}
        )
        muted_channel = await client.post(
            f"/alerts/{alert}/mute", data={"what": "channel", "duration": "1h", "csrf_token": token}
        )
        queue = await client.get("/alerts")
        bad = await client.post(
            f"/alerts/{alert}/mute", data={"what": "rule", "duration": "forever", "csrf_token": token}
        )
    assert marked.status_code == muted.status_code == muted_channel.status_code == 303
    assert "Muted now" in queue.text
    assert "evacuation" in queue.text
    assert "@gov_test" in queue.text
    assert bad.status_code == 400
    assert "duration" in bad.text
    with sqlite3.connect(archive.db) as conn:
        assert (
            conn.execute("SELECT review FROM alerts WHERE id = ?", (alert,)).fetchone()[0] == "false_positive"
        )
        assert {r[0] for r in conn.execute("SELECT kind FROM mutes")} == {"rule", "channel"}


async def test_alert_queue_filters_by_rule_route_state_and_review(archive: Archive) -> None:
    async with serve(archive) as client:
        shelling = await client.get("/alerts", params={"rule": "shelling"})
        sent = await client.get("/alerts", params={"status": "sent", "route": "desk"})
        failed = await client.get("/alerts", params={"status": "failed"})
        unreviewed = await client.get("/alerts", params={"review": "unreviewed"})
        wrong = await client.get("/alerts", params={"status": "lost"})
    assert shelling.text.count('class="alert-row') == len(alert_ids(archive, "shelling"))
    assert "evacuation</a>" not in shelling.text
    with sqlite3.connect(archive.db) as conn:
        sent_count = conn.execute("SELECT count(*) FROM alerts WHERE status = 'sent'").fetchone()[0]
    assert sent.text.count('class="alert-row') == sent_count
    assert 'class="alert-row' not in failed.text
    assert "No alerts" in failed.text
    assert unreviewed.text.count('class="alert-row') >= 1
    assert wrong.status_code == 400


async def test_every_form_refuses_a_missing_or_wrong_csrf_token(archive: Archive) -> None:
    from bot.web.app import routes

    posts = [r.path for r in routes() if getattr(r, "methods", None) and "POST" in r.methods]  # type: ignore[union-attr]
    assert len(posts) >= 8
    async with serve(archive) as client:
        await client.get("/")  # a session with a token exists; the requests below do not send it
        for path in posts:
            url = path.replace("{alert_id:rowid}", "1").replace("{action:str}", "add")
            missing = await client.post(url, data={"mark": "relevant", "ref": "@x", "text": "x"})
            wrong = await client.post(url, data={"csrf_token": "forged" * 8, "mark": "relevant"})
            assert missing.status_code == 403, url
            assert wrong.status_code == 403, url
    with sqlite3.connect(archive.db) as conn:
        assert conn.execute("SELECT count(*) FROM alerts WHERE review IS NOT NULL").fetchone()[0] == 0


async def test_read_only_mode_offers_no_changes_and_refuses_them(archive: Archive) -> None:
    alert = alert_ids(archive, "shelling")[0]
    config_before = archive.config.read_text(encoding="utf-8")
    async with serve(archive, read_only=True) as client:
        queue = await client.get("/alerts")
        token = csrf_of(queue.text)
        refused = await client.post(f"/alerts/{alert}/review", data={"mark": "relevant", "csrf_token": token})
        add = await client.post("/channels/add", data={"ref": "@new_one", "csrf_token": token})
        tested = await client.post("/rules/test", data={"text": "обстрел", "csrf_token": token})
    assert "read-only" in queue.text
    assert "✓ Relevant" not in queue.text
    assert refused.status_code == 403
    assert add.status_code == 403
    assert tested.status_code == 200
    assert "✓ match" in tested.text
    assert archive.config.read_text(encoding="utf-8") == config_before


async def test_a_password_guards_every_page_and_a_session_or_bearer_token_opens_it(archive: Archive) -> None:
    async with serve(archive, password="correct horse battery") as client:
        redirect = await client.get("/alerts?rule=x")
        login_page = await client.get("/login")
        token = csrf_of(login_page.text)
        wrong = await client.post("/login", data={"password": "nope", "csrf_token": token, "next": "/alerts"})
        evil_next = await client.post(
            "/login",
            data={"password": "correct horse battery", "csrf_token": token, "next": "//evil.example/"},
        )
        inside = await client.get("/alerts")
    assert redirect.status_code == 303
    assert redirect.headers["location"].startswith("/login?next=")
    assert wrong.status_code == 401
    assert evil_next.status_code == 303
    assert evil_next.headers["location"] == "/"
    assert inside.status_code == 200
    async with serve(archive, password="correct horse battery") as fresh:
        bearer = await fresh.get("/rules", headers={"Authorization": "Bearer correct horse battery"})
        bad_bearer = await fresh.get("/rules", headers={"Authorization": "Bearer wrong"})
        static = await fresh.get("/static/app.css")
    assert bearer.status_code == 200
    assert bad_bearer.status_code == 303
    assert static.status_code == 200


def test_binding_beyond_the_loopback_needs_a_password() -> None:
    assert is_loopback("127.0.0.1")
    assert is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("0.0.0.0")
    assert not is_loopback("192.168.1.5")
    with pytest.raises(ConfigError, match="without a password"):
        check_bind("0.0.0.0", None)
    check_bind("0.0.0.0", "a password")
    check_bind("127.0.0.1", None)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "127.255.255.254", "::1", "[::1]", "localhost"])
def test_any_loopback_address_serves_without_a_password(host: str) -> None:
    assert is_loopback(host)
    check_bind(host, None)


@pytest.mark.parametrize(
    "host", ["0.0.0.0", "::", "10.0.0.2", "192.168.1.5", "128.0.0.1", "desk.example", ""]
)
def test_anything_beyond_the_loopback_needs_a_password(host: str) -> None:
    assert not is_loopback(host)
    with pytest.raises(ConfigError, match="without a password"):
        check_bind(host, None)
    check_bind(host, "a password")


def test_cli_refuses_a_public_bind_without_password_and_a_missing_database(
    archive: Archive, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--config", str(archive.config), "--db", str(archive.db), "web", "--host", "0.0.0.0"])
    err = capsys.readouterr().err
    assert code == 2
    assert "TELEWATCH_WEB_PASSWORD" in err
    assert "Traceback" not in err
    code = main(["--config", str(archive.config), "--db", str(archive.root / "none.db"), "web"])
    err = capsys.readouterr().err
    assert code == 4
    assert "no database" in err
    assert not (archive.root / "none.db").exists()


async def test_rules_page_lists_terms_counts_precision_and_explains_a_text(archive: Archive) -> None:
    async with serve(archive) as client:
        page = await client.get("/rules")
        token = csrf_of(page.text)
        explained = await client.post(
            "/rules/test", data={"text": "Жителей эвакуировали, обстрел продолжается", "csrf_token": token}
        )
        miss = await client.post("/rules/test", data={"text": "Эвакуатор увёз машину", "csrf_token": token})
    card = _rule_card(page.text, "evacuation")
    assert "<code>эвакуация</code>" in card
    assert "critical" in card
    assert "<svg" in card
    assert 'href="/search?rule=evacuation"' in card
    assert "2 of 2 rules match" in explained.text
    assert "эвакуировали" in explained.text
    assert "0 of 2 rules match" in miss.text


async def test_a_search_becomes_a_rule_tested_on_recent_posts_then_saved(archive: Archive) -> None:
    async with serve(archive) as client:
        form = await client.get("/rules/new", params={"q": "обстрел OR эвакуация"})
        token = csrf_of(form.text)
        values = {"name": "strikes", "severity": "warning", "any": "обстрел\nэвакуация", "csrf_token": token}
        trial = await client.post("/rules/new", data={**values, "action": "test"})
        saved = await client.post("/rules/new", data={**values, "action": "save"})
        twice = await client.post("/rules/new", data={**values, "action": "save"})
        rules = await client.get("/rules")
    assert "обстрел\nэвакуация" in form.text
    assert re.search(r"\d+ of the newest \d+ posts match", trial.text)
    assert "<mark>" in trial.text
    assert saved.status_code == 303
    text = archive.config.read_text(encoding="utf-8")
    assert 'name = "strikes"' in text
    assert 'ref = "@gov_test"' in text
    assert twice.status_code == 400
    assert "already exists" in twice.text
    assert 'id="rule-strikes"' in rules.text


async def test_channels_page_shows_state_and_activity_and_edits_the_config(archive: Archive) -> None:
    archive.config.write_text(
        "# my watch list\n" + archive.config.read_text(encoding="utf-8"), encoding="utf-8"
    )
    async with serve(archive) as client:
        page = await client.get("/channels")
        token = csrf_of(page.text)
        added = await client.post(
            "/channels/add", data={"ref": "https://t.me/new_chan", "label": "media", "csrf_token": token}
        )
        after = await client.get("/channels")
        disabled = await client.post("/channels/disable", data={"ref": "@gov_test", "csrf_token": token})
        bad = await client.post("/channels/add", data={"ref": "not a channel!", "csrf_token": token})
    assert "Губернатор" in page.text
    assert "not in config" in page.text
    assert added.status_code == 303
    assert "Now watching https://t.me/new_chan" in after.text
    text = archive.config.read_text(encoding="utf-8")
    assert text.startswith("# my watch list\n")
    assert 'ref = "https://t.me/new_chan"' in text
    assert disabled.status_code == 303
    assert "enabled = false" in archive.config.read_text(encoding="utf-8")
    assert bad.status_code == 400
    assert "channel reference" in bad.text


async def test_charts_are_server_side_svg_with_an_event_timeline(archive: Archive) -> None:
    async with serve(archive) as client:
        page = await client.get("/charts")
        event = await client.get("/charts", params={"q": "суджи OR обстрел"})
        bad = await client.get("/charts", params={"hours": "100000"})
    assert page.text.count("<svg") >= 2
    assert "<rect" in page.text
    assert "evacuation" in page.text
    assert "shelling" in page.text
    assert "<circle" in event.text
    assert "Губернатор" in event.text
    assert bad.status_code == 400


def test_templates_and_static_files_ship_as_package_data() -> None:
    import tomllib

    root = Path(__file__).resolve().parents[2]
    patterns = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"
    ]["bot"]
    web = root / "bot"
    for folder in ("web/templates", "web/static"):
        files = [f for f in (web / folder).iterdir() if f.is_file()]
        assert files
        for f in files:
            assert any(f.relative_to(web).match(p) for p in patterns), f


async def test_relevance_scores_show_on_the_queue_and_the_post(archive: Archive) -> None:
    alert = alert_ids(archive, "shelling")[0]
    with sqlite3.connect(archive.db) as conn:
        conn.execute("UPDATE alerts SET score = 0.83 WHERE id = ?", (alert,))
        conn.execute(
            "UPDATE alerts SET score = 0.12, demoted = 1 WHERE id != ? AND rule = 'shelling'", (alert,)
        )
        post = conn.execute("SELECT post_id FROM alerts WHERE id = ?", (alert,)).fetchone()[0]
    async with serve(archive) as client:
        queue = await client.get("/alerts", params={"rule": "shelling"})
        page = await client.get(f"/posts/{post}")
    assert "relevance 0.83" in queue.text
    assert "score demoted" in queue.text  # below the route's min_score: shown as probably not relevant
    assert "relevance 0.83" in page.text


async def test_an_id_too_large_for_any_row_is_not_found_rather_than_an_error(archive: Archive) -> None:
    huge = "9" * 20  # fits no SQLite INTEGER: passed to the driver it overflowed (500)
    async with serve(archive) as client:
        page = await client.get(f"/posts/{huge}")
        charts = await client.get("/charts", params={"days": "²"})
    assert page.status_code == 404
    assert charts.status_code == 400
