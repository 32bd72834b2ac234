"""Round-trip edits of the config file (comments and order kept), validated before an atomic write.

Used by `telewatch channels ...` and by the chat commands, so both change the same file the same way.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import tomlkit
from tomlkit.exceptions import ParseError
from tomlkit.items import AoT, Array

from bot.domain.errors import ConfigError, NotFound
from bot.domain.models import SENTENCE, TEXT, RuleSpec, Severity
from config.files import atomic_write
from config.loader import RuleCheck, load_text, read_text
from config.refs import EXPECTED as REF_EXPECTED
from config.refs import parse_ref, same_channel
from config.settings import ChannelSettings, Settings
from config.tomledit import append_table, remove_table, set_values

T = TypeVar("T")

CHANNEL_OPTIONS = (
    "enabled",
    "auto_join",
    "backfill_days",
    "backfill_count",
    "alert_on_backfill",
    "poll_minutes",
)


class ConfigEditor:
    """Edits one config file. Each call re-reads the file, so several editors (CLI, chat) never clobber."""

    def __init__(
        self, path: Path, environ: Mapping[str, str] | None = None, *, check_rules: RuleCheck | None = None
    ) -> None:
        self.path = path
        self.environ: Mapping[str, str] = dict(os.environ) if environ is None else environ
        self.check_rules = check_rules  # the rules engine's term check (config.loader.RuleCheck)

    # -- reading --------------------------------------------------------------------------------------

    def settings(self) -> Settings:
        """The file as it is now, loaded and validated."""
        return load_text(read_text(self.path), self.path, self.environ, check_rules=self.check_rules)

    def channels(self) -> tuple[ChannelSettings, ...]:
        """The configured channels, in file order."""
        return self.settings().channels

    def get_channel(self, ref: str) -> ChannelSettings:
        """The configured channel `ref` names (any spelling of it); NotFound otherwise."""
        for ch in self.channels():
            if same_channel(ch.ref, ref):
                return ch
        raise NotFound(f"channel {ref} is not in {self.path}", hint="see: telewatch channels list")

    def get_rule(self, name: str) -> RuleSpec:
        """The rule `name` as in force (from the file or a rule pack); NotFound otherwise."""
        for rule in self.settings().rules:
            if rule.name == name:
                return rule
        raise NotFound(f"rule '{name}' is not in {self.path} or its rule packs")

    # -- channels -------------------------------------------------------------------------------------

    def add_channel(
        self, ref: str, label: str | None = None, tags: Iterable[str] = (), **options: Any
    ) -> ChannelSettings:
        """Append a [[channels]] entry; ConfigError if `ref` is malformed, already listed or an option is bad."""
        try:
            parse_ref(ref)
        except ValueError:
            raise ConfigError(
                "is not a channel reference", file=self.path, key="ref", value=ref, expected=REF_EXPECTED
            ) from None
        values: dict[str, Any] = {"ref": ref.strip()}
        if label is not None:
            values["label"] = label
        tag_list = list(tags)
        if tag_list:
            values["tags"] = tag_list
        values.update({k: v for k, v in options.items() if v is not None})

        def change(doc: Any) -> None:
            container, index = _find_channel(doc, ref)
            if container is not None:
                raise ConfigError(
                    f"channel is already listed as channels[{index}] ({container[index]['ref']})",
                    file=self.path,
                    key="channels",
                    value=ref,
                )
            append_table(doc, "channels", values)

        settings = self._edit(change)
        return next(ch for ch in settings.channels if same_channel(ch.ref, ref))

    def remove_channel(self, ref: str) -> ChannelSettings:
        """Delete the channel's entry (and the comment right above it); NotFound if it is not listed."""
        removed = self.get_channel(ref)

        def change(doc: Any) -> None:
            container, index = self._require_channel(doc, ref)
            remove_table(container, index)

        self._edit(change)
        return removed

    def set_channel_enabled(self, ref: str, enabled: bool) -> ChannelSettings:
        """Switch watching of a listed channel on or off (the entry stays)."""
        return self.update_channel(ref, enabled=enabled)

    def update_channel(self, ref: str, **changes: Any) -> ChannelSettings:
        """Set fields of a listed channel in place (label, tags, options); None removes a field."""

        def change(doc: Any) -> None:
            container, index = self._require_channel(doc, ref)
            set_values(
                container[index], {k: list(v) if isinstance(v, tuple) else v for k, v in changes.items()}
            )

        settings = self._edit(change)
        return next(ch for ch in settings.channels if same_channel(ch.ref, ref))

    # -- rules ----------------------------------------------------------------------------------------

    def add_rule(self, spec: Mapping[str, Any] | RuleSpec, *, replace: bool = False) -> RuleSpec:
        """Append a [[rules]] entry (TOML keys: any/all/none/near...); with `replace`, overwrite in place.

        A rule named like a rule-pack rule overrides it; that is how pack rules are tuned.
        """
        values = rule_to_toml(spec) if isinstance(spec, RuleSpec) else dict(spec)
        name = values.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError("a rule needs a name", file=self.path, key="rules.name", value=name)

        def change(doc: Any) -> None:
            container, index = _find_rule(doc, name)
            if container is None:
                append_table(doc, "rules", values)
            elif not replace:
                raise ConfigError(
                    f"rule '{name}' already exists as rules[{index}]",
                    file=self.path,
                    key=f"rules[{index}].name",
                    hint="remove it first, or replace it",
                )
            else:
                table = container[index]
                set_values(table, {k: None for k in list(table) if k not in values})
                set_values(table, values)

        return self._rule_in(self._edit(change), name)

    def remove_rule(self, name: str) -> RuleSpec:
        """Delete a [[rules]] entry; a rule-pack rule cannot be deleted, only overridden or disabled."""
        removed = self.get_rule(name)

        def change(doc: Any) -> None:
            container, index = _find_rule(doc, name)
            if container is None:
                raise ConfigError(
                    f"rule '{name}' comes from a rule pack, not from the file",
                    file=self.path,
                    key="rule_packs",
                    hint="disable it instead (set_rule_enabled / `enabled = false`), or drop the pack",
                )
            remove_table(container, index)

        self._edit(change)
        return removed

    def set_rule_enabled(self, name: str, enabled: bool) -> RuleSpec:
        """Switch a rule on or off; for a rule-pack rule this writes an overriding copy in the file."""
        current = self.get_rule(name)

        def change(doc: Any) -> None:
            container, index = _find_rule(doc, name)
            if container is None:
                values = rule_to_toml(current)
                values["enabled"] = enabled
                append_table(doc, "rules", values)
            else:
                set_values(container[index], {"enabled": enabled})

        return self._rule_in(self._edit(change), name)

    # -- machinery ------------------------------------------------------------------------------------

    def _edit(self, change: Callable[[Any], None]) -> Settings:
        """Read, change, validate the would-be file with the loader, then atomically replace the file."""
        # A file saved with a byte-order mark keeps it; the "changed while editing" check compares the
        # bytes on disk with the text read, mark included.
        raw = read_text(self.path, keep_bom=True)
        bom = "\ufeff" if raw.startswith("\ufeff") else ""
        old = raw[len(bom) :]
        try:
            doc = tomlkit.parse(old)
        except ParseError as e:
            raise ConfigError(
                f"TOML syntax error: {e}", file=self.path, line=e.line, hint="fix the file by hand first"
            ) from None
        change(doc)
        new = tomlkit.dumps(doc)
        try:
            settings = load_text(new, self.path, self.environ, check_rules=self.check_rules)
        except ConfigError as e:
            e.hint = "nothing was written" + (f"; {e.hint}" if e.hint else "")
            raise
        atomic_write(self.path, bom + new, expect_old=raw)
        return settings

    def _require_channel(self, doc: Any, ref: str) -> tuple[AoT | Array, int]:
        container, index = _find_channel(doc, ref)
        if container is None:
            raise NotFound(f"channel {ref} is not in {self.path}", hint="see: telewatch channels list")
        return container, index

    def _rule_in(self, settings: Settings, name: str) -> RuleSpec:
        return next(r for r in settings.rules if r.name == name)


def _find_channel(doc: Any, ref: str) -> tuple[AoT | Array | None, int]:
    container = doc.get("channels")
    if isinstance(container, AoT | Array):
        for i, item in enumerate(container):
            if isinstance(item.get("ref"), str) and same_channel(item["ref"], ref):
                return container, i
    return None, -1


def _find_rule(doc: Any, name: str) -> tuple[AoT | Array | None, int]:
    container = doc.get("rules")
    if isinstance(container, AoT | Array):
        for i, item in enumerate(container):
            if item.get("name") == name:
                return container, i
    return None, -1


def _scope(n: int) -> int | str:
    return "sentence" if n == SENTENCE else "text" if n == TEXT else n


def rule_to_toml(spec: RuleSpec) -> dict[str, Any]:
    """A RuleSpec as the TOML table that loads back to it (defaults left out)."""
    values: dict[str, Any] = {"name": spec.name}
    if spec.description:
        values["description"] = spec.description
    for field, key in (("any_", "any"), ("all_", "all"), ("none_", "none")):
        terms = getattr(spec, field)
        if terms:
            values[key] = list(terms)
    if spec.near:
        values["near"] = [[a, b, _scope(n)] for a, b, n in spec.near]
    for key in ("unless_near", "only_near"):
        gates = getattr(spec, key)
        if gates:
            values[key] = [
                [terms[0] if len(terms) == 1 else list(terms), list(others), _scope(n)]
                for terms, others, n in gates
            ]
    if spec.severity != Severity.WARNING:
        values["severity"] = spec.severity.label
    if spec.channels:
        values["channels"] = list(spec.channels)
    if spec.labels:
        values["labels"] = list(spec.labels)
    if not spec.enabled:
        values["enabled"] = False
    return values
