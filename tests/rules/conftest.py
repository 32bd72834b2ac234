"""Helpers for rule tests: build RuleSpecs and matchers tersely."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.models import RuleSpec, Severity
from bot.rules import CompiledRules, compile_rules


def rule(
    name: str = "r",
    any_: Sequence[str] = (),
    all_: Sequence[str] = (),
    none_: Sequence[str] = (),
    near: Sequence[tuple[str, str, int]] = (),
    **kw: object,
) -> RuleSpec:
    return RuleSpec(name, tuple(any_), tuple(all_), tuple(none_), tuple(near), **kw)  # type: ignore[arg-type]


def one(*any_: str, none_: Sequence[str] = ()) -> CompiledRules:
    return compile_rules([rule("r", any_, none_=none_, severity=Severity.WARNING)])


def words(matcher: CompiledRules, text: str) -> list[str]:
    """The original-text words that matched, for every matching rule."""
    return [h.text for m in matcher.match(text) for h in m.hits]
