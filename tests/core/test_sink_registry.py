"""The sink registry: routes name a kind, each kind builds its sink once per key, new routes get theirs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.alerts.sinks import KINDS, ConsoleSink, JsonlSink, SinkEnv, SinkKind, SinkSet, TelegramSink, register
from bot.domain.errors import ConfigError
from bot.domain.ports import AlertSink
from config.settings import RouteSettings, Settings
from tests.fakes import FakeTelegram
from tests.ports_fakes import RecordingSink


def settings(*routes: RouteSettings) -> Settings:
    return Settings(routes=routes)


@pytest.fixture
def webhook() -> Iterator[SinkKind]:
    """A sink kind registered the way a new module does it: one `register` line."""

    def build(route: RouteSettings, env: SinkEnv) -> AlertSink:
        return RecordingSink(f"webhook:{route.target}")

    kind = register(SinkKind(name="webhook", build=build, target="a URL", per_target=True))
    yield kind
    del KINDS["webhook"]


def test_a_registered_kind_gets_one_sink_per_key_from_the_routes(webhook: SinkKind, tmp_path: Path) -> None:
    sinks = SinkSet(SinkEnv())
    added = sinks.update(
        settings(
            RouteSettings(name="a", sink="webhook", target="https://x/1"),
            RouteSettings(name="b", sink="webhook", target="https://x/1"),
            RouteSettings(name="c", sink="webhook", target="https://x/2"),
            RouteSettings(name="d", sink="jsonl", target=str(tmp_path / "a.jsonl")),
            RouteSettings(name="e", sink="console"),
        )
    )
    assert added == ["webhook:https://x/1", "webhook:https://x/2", f"jsonl:{tmp_path / 'a.jsonl'}", "console"]
    assert isinstance(sinks[f"jsonl:{tmp_path / 'a.jsonl'}"], JsonlSink)
    assert isinstance(sinks["console"], ConsoleSink)


def test_routes_added_later_get_their_sinks_and_the_others_are_kept() -> None:
    sinks = SinkSet(SinkEnv(sender=FakeTelegram()))
    sinks.update(settings(RouteSettings(name="screen", sink="console")))
    console = sinks["console"]
    added = sinks.update(
        settings(
            RouteSettings(name="screen", sink="console"),
            RouteSettings(name="desk", sink="telegram", target="@desk"),
        )
    )
    assert added == ["telegram"]
    assert sinks["console"] is console
    assert isinstance(sinks["telegram"], TelegramSink)


def test_a_telegram_route_gets_no_sink_without_a_sender() -> None:
    """Replay, import and demo have no Telegram connection: their telegram alerts wait for `run`."""
    sinks = SinkSet(SinkEnv())
    assert sinks.update(settings(RouteSettings(name="desk", sink="telegram", target="@desk"))) == []
    assert "telegram" not in sinks


def test_given_sinks_take_their_keys() -> None:
    given = RecordingSink("console")
    sinks = SinkSet(SinkEnv(), {"console": given})
    sinks.update(settings(RouteSettings(name="screen", sink="console")))
    assert sinks["console"] is given


def test_an_unknown_sink_or_a_missing_target_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as unknown:
        SinkSet(SinkEnv()).update(settings(RouteSettings(name="a", sink="jsnol")))
    assert unknown.value.key == "routes[0].sink"
    assert unknown.value.hint == "did you mean 'jsonl'?"
    with pytest.raises(ConfigError) as target:
        SinkSet(SinkEnv()).update(settings(RouteSettings(name="a", sink="jsonl")))
    assert target.value.key == "routes[0].target"
    assert "a file path" in str(target.value)
