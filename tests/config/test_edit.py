"""ConfigEditor: edits keep comments and order, are validated before writing, and are atomic."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bot.domain.errors import ConfigError, NotFound
from bot.domain.models import RuleSpec, Severity
from config.edit import ConfigEditor, rule_to_toml
from config.files import atomic_write
from config.loader import load
from tests.config.conftest import WriteConfig

BASE = """\
# my watch list -- keep this comment
timezone = "UTC"  # inline comment

# official feeds
[[channels]]
ref = "@gubernator_46"  # Kursk governor
label = "official"

# the one about rybar
[[channels]]
ref = "@rybar"
label = "milblogger"

# ---- rules below ----

[[rules]]
name = "evac"  # main rule
any = ["эвакуация"]

# shelling comment
[[rules]]
name = "shelling"
any = ["обстрел"]
"""


@pytest.fixture
def cfg(write_config: WriteConfig) -> Path:
    return write_config(BASE)


def comment_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if "#" in line]


def test_add_channel_appends_and_keeps_every_comment_in_place(cfg: Path) -> None:
    ch = ConfigEditor(cfg, {}).add_channel("https://t.me/Mash", label="media", tags=["ru"], backfill_count=50)
    assert (ch.ref, ch.label, ch.tags, ch.backfill_count) == ("https://t.me/Mash", "media", ("ru",), 50)
    text = cfg.read_text(encoding="utf-8")
    assert comment_lines(text) == comment_lines(BASE)
    # The new table lands after the last channel and before the rules section's heading comment.
    assert text.index('ref = "https://t.me/Mash"') < text.index("# ---- rules below ----")
    assert text.startswith(BASE[: BASE.index("# ---- rules below")])
    assert [c.ref for c in load(cfg, {}).channels] == ["@gubernator_46", "@rybar", "https://t.me/Mash"]


def test_add_channel_to_a_file_without_channels_creates_the_section(write_config: WriteConfig) -> None:
    path = write_config('# only a comment\ntimezone = "UTC"\n')
    ConfigEditor(path, {}).add_channel("@rybar")
    text = path.read_text(encoding="utf-8")
    assert text.startswith('# only a comment\ntimezone = "UTC"\n')
    assert "[[channels]]" in text
    assert load(path, {}).channels[0].ref == "@rybar"


def test_add_channel_to_inline_array_keeps_inline_style(write_config: WriteConfig) -> None:
    path = write_config('channels = [{ ref = "@a1234" }]\n')
    ConfigEditor(path, {}).add_channel("@b1234", label="x")
    assert "[[channels]]" not in path.read_text(encoding="utf-8")
    assert [c.ref for c in load(path, {}).channels] == ["@a1234", "@b1234"]


def test_adding_a_listed_channel_in_another_spelling_fails_and_writes_nothing(cfg: Path) -> None:
    with pytest.raises(ConfigError, match=r"already listed as channels\[1\]"):
        ConfigEditor(cfg, {}).add_channel("https://t.me/RYBAR")
    assert cfg.read_text(encoding="utf-8") == BASE


def test_bad_option_is_rejected_by_validation_and_nothing_is_written(cfg: Path) -> None:
    with pytest.raises(ConfigError) as info:
        ConfigEditor(cfg, {}).add_channel("@mash_news", backfil_days=3)
    assert "did you mean 'backfill_days'" in str(info.value)
    assert "nothing was written" in (info.value.hint or "")
    assert cfg.read_text(encoding="utf-8") == BASE


def test_malformed_ref_is_rejected(cfg: Path) -> None:
    with pytest.raises(ConfigError, match="not a channel reference"):
        ConfigEditor(cfg, {}).add_channel("not a channel")


def test_remove_channel_by_any_spelling_keeps_the_next_channels_comment(cfg: Path) -> None:
    removed = ConfigEditor(cfg, {}).remove_channel("https://t.me/Gubernator_46")
    assert removed.ref == "@gubernator_46"
    text = cfg.read_text(encoding="utf-8")
    assert "gubernator" not in text
    assert '# the one about rybar\n[[channels]]\nref = "@rybar"' in text
    assert "# my watch list -- keep this comment" in text
    assert "# ---- rules below ----" in text
    assert [c.ref for c in load(cfg, {}).channels] == ["@rybar"]


def test_remove_last_channel_drops_its_comment_and_keeps_the_next_section(cfg: Path) -> None:
    ConfigEditor(cfg, {}).remove_channel("rybar")
    text = cfg.read_text(encoding="utf-8")
    assert "# the one about rybar" not in text
    assert "# ---- rules below ----" in text
    assert "# official feeds" in text
    assert "\n\n\n" not in text


def test_remove_unknown_channel_is_not_found(cfg: Path) -> None:
    with pytest.raises(NotFound):
        ConfigEditor(cfg, {}).remove_channel("@nobody_here")


def test_enable_disable_and_update_edit_in_place(cfg: Path) -> None:
    ed = ConfigEditor(cfg, {})
    assert ed.set_channel_enabled("@rybar", False).enabled is False
    ch = ed.update_channel("@gubernator_46", label=None, tags=("kursk",), poll_minutes=2.5)
    assert (ch.label, ch.tags, ch.poll_minutes) == (None, ("kursk",), 2.5)
    text = cfg.read_text(encoding="utf-8")
    assert 'ref = "@gubernator_46"  # Kursk governor' in text
    assert comment_lines(text) == comment_lines(BASE)


def test_add_get_and_remove_rules(cfg: Path) -> None:
    ed = ConfigEditor(cfg, {})
    rule = ed.add_rule(
        {"name": "drones", "any": ["дрон", "бпла"], "severity": "critical", "near": [["a", "b", 3]]}
    )
    assert rule.any_ == ("дрон", "бпла")
    assert rule.severity is Severity.CRITICAL
    assert rule.near == (("a", "b", 3),)
    assert ed.get_rule("drones") == rule
    assert ed.remove_rule("evac").name == "evac"
    assert [r.name for r in load(cfg, {}).rules] == ["shelling", "drones"]
    with pytest.raises(NotFound):
        ed.get_rule("evac")
    assert "# shelling comment" in cfg.read_text(encoding="utf-8")


def test_add_rule_with_existing_name_needs_replace(cfg: Path) -> None:
    ed = ConfigEditor(cfg, {})
    with pytest.raises(ConfigError, match="already exists"):
        ed.add_rule({"name": "evac", "any": ["x"]})
    rule = ed.add_rule({"name": "evac", "any": ["евакуація"], "severity": "info"}, replace=True)
    assert rule.any_ == ("евакуація",)
    assert rule.severity is Severity.INFO
    assert 'name = "evac"  # main rule' in cfg.read_text(encoding="utf-8")


def test_add_rule_from_a_rule_spec_round_trips(cfg: Path) -> None:
    spec = RuleSpec(
        name="x",
        any_=("a",),
        none_=("b",),
        near=(("c", "d", 2),),
        severity=Severity.INFO,
        labels=("media",),
        enabled=False,
        description="d",
    )
    assert ConfigEditor(cfg, {}).add_rule(spec) == spec
    assert rule_to_toml(spec)["none"] == ["b"]


def test_invalid_rule_is_rejected_and_file_unchanged(cfg: Path) -> None:
    with pytest.raises(ConfigError, match="severity"):
        ConfigEditor(cfg, {}).add_rule({"name": "x", "any": ["a"], "severity": "loud"})
    assert cfg.read_text(encoding="utf-8") == BASE


def test_pack_rules_can_be_disabled_by_override_but_not_removed(
    write_config: WriteConfig, packs: Path
) -> None:
    path = write_config('rule_packs = ["alpha"]\n')
    ed = ConfigEditor(path, {})
    with pytest.raises(ConfigError, match="rule pack"):
        ed.remove_rule("evac")
    assert ed.set_rule_enabled("evac", False).enabled is False
    rules = {r.name: r for r in load(path, {}).rules}
    assert rules["evac"].enabled is False
    assert rules["evac"].any_ == ("эвакуация",)
    assert rules["shelling"].enabled


def test_edit_keeps_file_mode(cfg: Path) -> None:
    os.chmod(cfg, 0o600)
    ConfigEditor(cfg, {}).add_channel("@mash_news")
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o600


def test_edit_keeps_crlf_line_endings(write_config: WriteConfig) -> None:
    path = write_config("")
    path.write_bytes(b'# c\r\ntimezone = "UTC"\r\n')
    ConfigEditor(path, {}).add_channel("@mash_news")
    data = path.read_bytes()
    assert data.startswith(b'# c\r\ntimezone = "UTC"\r\n')
    assert b'ref = "@mash_news"' in data


def test_edit_of_a_file_with_a_byte_order_mark_keeps_the_mark(cfg: Path) -> None:
    # Editors on Windows save one; the "changed while editing" check saw a difference on every edit.
    cfg.write_bytes(b"\xef\xbb\xbf" + BASE.encode())
    editor = ConfigEditor(cfg, {})
    editor.add_channel("@anotherchan1")
    editor.set_channel_enabled("@rybar", False)
    data = cfg.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf# my watch list")
    assert data.count(b"\xef\xbb\xbf") == 1
    assert b'ref = "@anotherchan1"' in data
    assert [c.enabled for c in load(cfg, {}).channels] == [True, False, True]


def test_failed_replace_leaves_old_file_and_no_temp_files(cfg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space"):
        ConfigEditor(cfg, {}).add_channel("@mash_news")
    assert cfg.read_text(encoding="utf-8") == BASE
    assert sorted(p.name for p in cfg.parent.iterdir()) == ["telewatch.toml"]


def test_concurrent_change_is_detected_and_not_overwritten(cfg: Path) -> None:
    cfg.write_text(BASE + "\n# someone else's edit\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="changed while"):
        atomic_write(cfg, "x = 1\n", expect_old=BASE)
    assert cfg.read_text(encoding="utf-8").endswith("# someone else's edit\n")
