"""config.loader.load: every valid shape loads, every invalid one fails with file, key, line and value."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from bot.domain.errors import ConfigError
from bot.domain.models import Severity
from config.loader import load
from config.settings import RouteSettings, Settings
from tests.config.conftest import WriteConfig

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example.toml"
HASH = "0123456789abcdef0123456789abcdef"
TOKEN = "123456789:AAE" + "x" * 32


def error_of(path: Path, environ: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(path, environ or {})
    return info.value


def test_example_config_loads_with_every_section_and_no_secrets() -> None:
    settings = load(EXAMPLE, {})
    assert settings.channels
    assert settings.rules
    assert settings.routes
    assert settings.telegram.api_hash is None
    assert settings.telegram.bot_token is None
    text = EXAMPLE.read_text(encoding="utf-8")
    for section in (
        "[telegram]",
        "[storage]",
        "[schedule]",
        "[admin]",
        "[[channels]]",
        "[[rules]]",
        "[[routes]]",
    ):
        assert section in text
    assert "quiet_hours" in text
    assert "rule_packs" in text
    assert "digest" in text


def test_empty_file_gives_defaults_with_a_console_route(write_config: WriteConfig, isolated: Path) -> None:
    settings = load(write_config(""), {})
    assert settings.routes == (RouteSettings(name="console", sink="console"),)
    assert settings.channels == ()
    assert settings.rules == ()
    assert settings.storage.path == isolated / "data" / "telewatch.db"
    assert settings.schedule == Settings().schedule


def test_missing_file_says_how_to_create_it(tmp_path: Path) -> None:
    err = error_of(tmp_path / "nope.toml")
    assert "not found" in str(err)
    assert "telewatch" in (err.hint or "")
    assert "init" in (err.hint or "")


def test_syntax_error_names_file_and_line(write_config: WriteConfig) -> None:
    path = write_config('timezone = "UTC"\n\n[schedule]\npoll_minutes = = 5\n')
    err = error_of(path)
    assert err.line == 4
    assert str(err).startswith(f"{path}:4: TOML syntax error")


def test_wrong_type_names_key_line_value_and_what_is_valid(write_config: WriteConfig) -> None:
    path = write_config('[schedule]\ngap_check_minutes = 10\npoll_minutes = "5"\n')
    err = error_of(path)
    assert (err.key, err.line, err.value) == ("schedule.poll_minutes", 3, "5")
    assert "must be a number" in str(err)
    assert err.expected


def test_bool_is_not_accepted_as_a_number(write_config: WriteConfig) -> None:
    err = error_of(write_config("[schedule]\ndigest_hour = true\n"))
    assert err.key == "schedule.digest_hour"
    assert "whole number" in str(err)


def test_bad_severity_lists_valid_ones(write_config: WriteConfig) -> None:
    path = write_config(
        '[[rules]]\nname = "a"\nany = ["x"]\n\n[[rules]]\nname = "b"\nany = ["y"]\nseverity = "urgent"\n'
    )
    err = error_of(path)
    assert (err.key, err.line, err.value) == ("rules[1].severity", 8, "urgent")
    assert "critical" in (err.expected or "")


def test_unknown_key_suggests_the_close_one(write_config: WriteConfig) -> None:
    path = write_config('[[channels]]\nref = "@rybar"\nlable = "milblogger"\n')
    err = error_of(path)
    assert (err.key, err.line) == ("channels[0].lable", 3)
    assert "did you mean 'label'?" in str(err)


def test_unknown_section_suggests_the_close_one(write_config: WriteConfig) -> None:
    err = error_of(write_config("[schedul]\npoll_minutes = 3\n"))
    assert err.key == "schedul"
    assert err.line == 1
    assert "did you mean 'schedule'?" in str(err)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (f'[telegram]\napi_id = 1\napi_hash = "{HASH}"\n', "telegram.api_hash"),
        (f'[telegram]\nbot_token = "{TOKEN}"\n', "telegram.bot_token"),
        (
            f'[[routes]]\nname = "x"\nsink = "telegram"\ntarget = "me"\nbot_token = "{TOKEN}"\n',
            "routes[0].bot_token",
        ),
    ],
)
def test_secret_in_toml_is_an_error_that_says_move_it_to_env(
    write_config: WriteConfig, text: str, key: str
) -> None:
    err = error_of(write_config(text))
    assert err.key == key
    assert ".env" in str(err)
    assert HASH not in str(err)
    assert TOKEN not in str(err)
    assert HASH not in (err.hint or "")


def test_secret_check_comes_before_unknown_sections(write_config: WriteConfig) -> None:
    err = error_of(write_config(f'[bot]\napi_hash = "{HASH}"\n'))
    assert err.key == "bot.api_hash"
    assert "secrets" in str(err)


def test_secrets_come_from_the_environment(write_config: WriteConfig) -> None:
    path = write_config("[telegram]\napi_id = 111\n")
    env = {"TELEWATCH_API_HASH": HASH, "TELEWATCH_BOT_TOKEN": TOKEN, "TELEWATCH_API_ID": "222"}
    tg = load(path, env).telegram
    assert (tg.api_id, tg.api_hash, tg.bot_token) == (222, HASH, TOKEN)


def test_dotenv_beside_the_config_is_read(write_config: WriteConfig) -> None:
    path = write_config("")
    (path.parent / ".env").write_text(f"TELEWATCH_API_HASH={HASH}\nTELEWATCH_API_ID=7\n", encoding="utf-8")
    tg = load(path, {}).telegram
    assert (tg.api_id, tg.api_hash) == (7, HASH)


def test_dotenv_in_working_dir_is_read_and_beside_config_wins(
    write_config: WriteConfig, isolated: Path
) -> None:
    path = write_config("")
    (isolated / ".env").write_text(
        f"TELEWATCH_API_HASH={HASH}\nTELEWATCH_BOT_TOKEN={TOKEN}\n", encoding="utf-8"
    )
    assert load(path, {}).telegram.bot_token == TOKEN
    other = "f" * 32
    (path.parent / ".env").write_text(f"TELEWATCH_API_HASH={other}\n", encoding="utf-8")
    tg = load(path, {}).telegram
    assert (tg.api_hash, tg.bot_token) == (other, TOKEN)


def test_environment_wins_over_dotenv(write_config: WriteConfig) -> None:
    path = write_config("")
    (path.parent / ".env").write_text("TELEWATCH_API_ID=7\n", encoding="utf-8")
    assert load(path, {"TELEWATCH_API_ID": "9"}).telegram.api_id == 9


def test_bad_api_id_in_env_names_the_variable(write_config: WriteConfig) -> None:
    err = error_of(write_config(""), {"TELEWATCH_API_ID": "12ab"})
    assert err.key == "TELEWATCH_API_ID"
    assert err.file == "environment"
    assert err.value == "12ab"


def test_malformed_secret_is_reported_without_echoing_it(write_config: WriteConfig) -> None:
    path = write_config("")
    (path.parent / ".env").write_text("TELEWATCH_BOT_TOKEN=not-a-token-SECRET\n", encoding="utf-8")
    err = error_of(path)
    assert err.key == "TELEWATCH_BOT_TOKEN"
    assert str(path.parent / ".env") in str(err)
    assert "SECRET" not in str(err)


def test_relative_paths_resolve_against_working_dir_and_tilde_expands(
    write_config: WriteConfig, isolated: Path
) -> None:
    path = write_config(
        '[storage]\npath = "db/x.db"\n[telegram]\nsession_dir = "~/tw"\n'
        '[[routes]]\nname = "file"\nsink = "jsonl"\ntarget = "out/alerts.jsonl"\n'
    )
    settings = load(path, {})
    assert settings.storage.path == isolated / "db" / "x.db"
    assert settings.telegram.session_dir == Path("~/tw").expanduser()
    assert settings.routes[0].target == str(isolated / "out" / "alerts.jsonl")
    assert settings.path == path


def test_quiet_hours_parse_across_midnight(write_config: WriteConfig) -> None:
    path = write_config('[[routes]]\nname = "desk"\nsink = "console"\nquiet_hours = "23:00-7:30"\n')
    assert load(path, {}).routes[0].quiet_hours == (time(23, 0), time(7, 30))


@pytest.mark.parametrize("value", ['"23-07"', '"25:00-07:00"', '"07:00-07:00"', '"23:00"', "2300"])
def test_bad_quiet_hours_are_errors(write_config: WriteConfig, value: str) -> None:
    path = write_config(f'[[routes]]\nname = "desk"\nsink = "console"\nquiet_hours = {value}\n')
    err = error_of(path)
    assert (err.key, err.line) == ("routes[0].quiet_hours", 4)
    assert "23:00-07:00" in (err.expected or "")


def routes_error(path: Path) -> ConfigError:
    from bot.alerts.sinks import check_routes  # which sinks exist is the sink registry's to say

    with pytest.raises(ConfigError) as info:
        check_routes(load(path, {}))
    return info.value


def test_route_needs_a_known_sink_and_a_target(write_config: WriteConfig) -> None:
    err = routes_error(write_config('[[routes]]\nname = "a"\nsink = "telegramm"\n'))
    assert (err.key, err.line) == ("routes[0].sink", 3)
    assert "telegram" in (err.hint or "")
    err = routes_error(write_config('[[routes]]\nname = "a"\nsink = "telegram"\n'))
    assert err.key == "routes[0].target"


def test_route_naming_an_unknown_rule_suggests_one(write_config: WriteConfig) -> None:
    path = write_config(
        '[[rules]]\nname = "shelling"\nany = ["x"]\n[[routes]]\nname = "a"\nsink = "console"\n'
        'rules = ["shellng"]\n'
    )
    err = error_of(path)
    assert err.key == "routes[0].rules[0]"
    assert "did you mean 'shelling'" in str(err)


def test_duplicate_rule_names_are_errors(write_config: WriteConfig) -> None:
    err = error_of(write_config('[[rules]]\nname = "a"\nany = ["x"]\n\n[[rules]]\nname = "a"\nany = ["y"]\n'))
    assert (err.key, err.line) == ("rules[1].name", 6)
    assert "duplicate" in str(err)


def test_duplicate_channels_in_different_spellings_are_errors(write_config: WriteConfig) -> None:
    err = error_of(write_config('[[channels]]\nref = "@Rybar"\n\n[[channels]]\nref = "https://t.me/rybar"\n'))
    assert (err.key, err.line) == ("channels[1].ref", 5)
    assert "channels[0]" in str(err)


def test_duplicate_route_names_are_errors(write_config: WriteConfig) -> None:
    err = error_of(
        write_config('[[routes]]\nname = "a"\nsink = "console"\n[[routes]]\nname = "a"\nsink = "console"\n')
    )
    assert err.key == "routes[1].name"


def test_bad_channel_ref_says_what_is_valid(write_config: WriteConfig) -> None:
    err = error_of(write_config('[[channels]]\nref = "not a channel"\n'))
    assert err.key == "channels[0].ref"
    assert "t.me" in (err.expected or "")


def test_missing_required_key_is_named(write_config: WriteConfig) -> None:
    err = error_of(write_config('[[channels]]\nlabel = "x"\n'))
    assert err.key == "channels[0].ref"
    assert "required" in str(err)
    assert err.line == 1


def test_rule_with_only_exclusions_is_an_error(write_config: WriteConfig) -> None:
    err = error_of(write_config('[[rules]]\nname = "a"\nnone = ["x"]\n'))
    assert err.key == "rules[0]"
    assert "nothing to match" in str(err)


def test_rule_toml_keys_map_to_spec_fields(write_config: WriteConfig) -> None:
    path = write_config(
        '[[rules]]\nname = "r"\nany = ["a"]\nall = ["b"]\nnone = ["c"]\nnear = [["d", "e", 5]]\n'
        'severity = "Critical"\nchannels = ["@x"]\nlabels = ["official"]\nenabled = false\ndescription = "d"\n'
    )
    (rule,) = load(path, {}).rules
    assert (rule.any_, rule.all_, rule.none_, rule.near) == (("a",), ("b",), ("c",), (("d", "e", 5),))
    assert rule.severity is Severity.CRITICAL
    assert not rule.enabled
    assert rule.labels == ("official",)


@pytest.mark.parametrize("near", ['[["a", "b"]]', '[["a", "b", 0]]', '["a", "b", 3]', '[["a", "b", "3"]]'])
def test_bad_near_conditions_are_errors(write_config: WriteConfig, near: str) -> None:
    err = error_of(write_config(f'[[rules]]\nname = "r"\nany = ["a"]\nnear = {near}\n'))
    assert (err.key or "").startswith("rules[0].near")
    assert err.line == 4


def test_bad_timezone_is_an_error(write_config: WriteConfig) -> None:
    err = error_of(write_config('timezone = "Europe/Kiev2"\n'))
    assert err.key == "timezone"
    assert "IANA" in (err.expected or "")


def test_rule_packs_merge_and_config_rule_replaces_pack_rule(write_config: WriteConfig, packs: Path) -> None:
    path = write_config(
        'rule_packs = ["alpha", "beta"]\n\n[[rules]]\nname = "shelling"\nany = ["артобстрел"]\n'
        'severity = "info"\n\n[[rules]]\nname = "own"\nany = ["x"]\n'
    )
    rules = load(path, {}).rules
    assert [r.name for r in rules] == ["evac", "shelling", "drones", "own"]
    assert rules[1].any_ == ("артобстрел",)
    assert rules[1].severity is Severity.INFO


def test_unknown_pack_lists_available_ones(write_config: WriteConfig, packs: Path) -> None:
    err = error_of(write_config('rule_packs = ["alpah"]\n'))
    assert err.key == "rule_packs[0]"
    assert "alpha, beta" in (err.expected or "")
    assert "did you mean 'alpha'" in str(err)


def test_same_rule_in_two_packs_is_an_error(write_config: WriteConfig, packs: Path) -> None:
    (packs / "gamma.toml").write_text('[[rules]]\nname = "drones"\nany = ["бпла"]\n', encoding="utf-8")
    err = error_of(write_config('rule_packs = ["beta", "gamma"]\n'))
    assert "both packs 'beta' and 'gamma'" in str(err)
    assert err.file == packs / "gamma.toml"


def test_shipped_rule_packs_all_load(write_config: WriteConfig) -> None:
    from config.loader import available_packs

    names = available_packs()
    if not names:
        pytest.skip("no rule packs shipped yet")
    listed = ", ".join(f'"{n}"' for n in names)
    assert len(load(write_config(f"rule_packs = [{listed}]\n"), {}).rules) >= len(names)


def test_bad_rule_term_is_reported_with_the_rule_key_and_line(write_config: WriteConfig) -> None:
    from bot.rules import compile_rules

    path = write_config(
        '[[rules]]\nname = "ok"\nany = ["x"]\n\n[[rules]]\nname = "bad"\nany = [\n  "fine",\n'
        '  "/[unclosed/",\n]\n'
    )
    with pytest.raises(ConfigError) as info:
        load(path, {}, check_rules=compile_rules)
    err = info.value
    assert (err.key, err.line, err.value) == ("rules[1].any[1]", 9, "/[unclosed/")
    assert "rule 'bad'" in str(err)
    assert load(path, {}).rules[1].name == "bad"  # no check given: the matcher's build finds it


def test_the_loader_never_imports_the_rules_engine(write_config: WriteConfig) -> None:
    """config/ depends on the domain only: the term check is handed in (check_rules), never imported."""
    import subprocess
    import sys

    path = write_config('[[rules]]\nname = "r"\nany = ["x"]\n')
    code = (
        "import sys; from pathlib import Path; from config.loader import load; "
        "from config.edit import ConfigEditor; "
        f"load(Path({str(path)!r}), {{}}); ConfigEditor(Path({str(path)!r}), {{}}).settings(); "
        "print(sorted(m for m in sys.modules if m == 'bot.rules' or m.startswith('bot.rules.')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=EXAMPLE.parents[1], check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_settings_are_frozen(write_config: WriteConfig) -> None:
    settings = load(write_config(""), {})
    with pytest.raises(AttributeError):
        settings.timezone = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        ("[schedule]\nrecheck_minutes = 0\n", "schedule.recheck_minutes", 0),
        ("[schedule]\nrecheck_hours = -1\n", "schedule.recheck_hours", -1),
        ("[schedule]\nrecheck_hours = 100000\n", "schedule.recheck_hours", 100000),
        ("[schedule]\nrecheck_minutes = inf\n", "schedule.recheck_minutes", float("inf")),
        ("[schedule]\ngap_check_minutes = inf\n", "schedule.gap_check_minutes", float("inf")),
        ("[schedule]\nrecheck_posts = -5\n", "schedule.recheck_posts", -5),
        ("[schedule]\nrecheck_posts = 100000\n", "schedule.recheck_posts", 100000),
        ('[[channels]]\nref = "@alpha"\nrecheck_hours = 0\n', "channels[0].recheck_hours", 0),
        ('[[channels]]\nref = "@alpha"\nrecheck_posts = -1\n', "channels[0].recheck_posts", -1),
    ],
)
def test_recheck_settings_out_of_range_name_the_key_and_value(
    write_config: WriteConfig, text: str, key: str, value: int
) -> None:
    err = error_of(write_config(text))
    assert (err.key, err.value) == (key, value)
    assert err.line is not None


def test_recheck_settings_load_per_schedule_and_per_channel(write_config: WriteConfig) -> None:
    path = write_config(
        "[schedule]\nrecheck_minutes = 30\nrecheck_hours = 24\nrecheck_posts = 300\n\n"
        '[[channels]]\nref = "@alpha"\nrecheck_posts = 0\n'
    )
    settings = load(path, {})
    s = settings.schedule
    assert (s.recheck_minutes, s.recheck_hours, s.recheck_posts) == (30, 24, 300)
    assert settings.channels[0].recheck_posts == 0
    assert settings.channels[0].recheck_hours is None


def test_a_nan_interval_is_refused(write_config: WriteConfig) -> None:
    err = error_of(write_config("[schedule]\nrecheck_hours = nan\n"))
    assert err.key == "schedule.recheck_hours"


@pytest.mark.parametrize(
    ("body", "key", "expected"),
    [
        ("lease_seconds = 1", "watcher.lease_seconds", "2..3_600 seconds"),
        ("lease_seconds = inf", "watcher.lease_seconds", "2..3_600 seconds"),
        ("max_channels = 0", "watcher.max_channels", "1..100_000 channels"),
        ("lease_seconds = 30\nrenew_every_seconds = 20", "watcher.renew_every_seconds", "0.5..15"),
        ('name = " padded"', "watcher.name", "printable"),
        ('name = ""', "watcher.name", "1..100 printable"),
        ('name = "  "', "watcher.name", "1..100 printable"),
        ('max_channels = "many"', "watcher.max_channels", None),
    ],
)
def test_watcher_settings_out_of_range_are_one_clear_line(
    write_config: WriteConfig, body: str, key: str, expected: str | None
) -> None:
    err = error_of(write_config(f"[watcher]\n{body}\n"))
    text = str(err)
    assert key in text
    assert "\n" not in text
    if expected:
        assert expected in text


def test_watcher_defaults_renew_a_third_of_the_lease(write_config: WriteConfig) -> None:
    w = load(write_config("[watcher]\nlease_seconds = 30\n"), {}).watcher
    assert (w.name, w.max_channels, w.renew_seconds) == ("", 500, 10.0)
