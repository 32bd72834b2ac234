"""Keyword rules: normalisation, word-form expansion, one shared automaton, explanations. Pure, no I/O."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.models import Match, RuleSpec
from bot.rules.compiler import Tables, build_tables
from bot.rules.engine import match_text
from bot.rules.explain import RuleReport, TermReport, explain_text
from bot.rules.normalize import NormalizedText

__all__ = [
    "CompiledRules",
    "NormalizedText",
    "RuleReport",
    "TermReport",
    "compile_rules",
]


class CompiledRules:
    """A compiled rule set; implements bot.domain.ports.Matcher. Immutable once built, safe to share."""

    __slots__ = ("tables",)

    def __init__(self, tables: Tables) -> None:
        self.tables = tables

    @property
    def names(self) -> tuple[str, ...]:
        """Names of every rule, enabled or not, in configuration order."""
        return tuple(r.name for r in self.tables.rules)

    @property
    def specs(self) -> tuple[RuleSpec, ...]:
        return tuple(r.spec for r in self.tables.rules)

    def match(self, text: str, *, channel: str | None = None, tags: Sequence[str] = ()) -> list[Match]:
        """Enabled rules matching `text`, most severe first; hit spans index the original text.

        A rule scoped to channels or labels matches only when `channel` or one of `tags` is in its scope.
        """
        return match_text(self.tables, text, channel, tags)

    def explain(
        self,
        text: str,
        *,
        channel: str | None = None,
        tags: Sequence[str] = (),
        rules: Sequence[str] | None = None,
    ) -> list[RuleReport]:
        """For every rule (or those named): matched or not, which words hit which terms, and why not."""
        return explain_text(self.tables, text, channel, tags, rules)

    def subset(self, names: Sequence[str]) -> CompiledRules:
        """A matcher restricted to the named rules (used by `rules rescan`)."""
        return compile_rules([s for s in self.specs if s.name in set(names)])


def compile_rules(specs: Sequence[RuleSpec]) -> CompiledRules:
    """Parse, expand and compile rules; raises bot.domain.errors.RuleError naming the rule and the term."""
    return CompiledRules(build_tables(specs))
