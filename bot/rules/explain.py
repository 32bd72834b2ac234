"""Why each rule did or did not match a text: the data behind `telewatch rules test`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.models import MatchedTerm, Severity
from bot.rules.compiler import CompiledRule, Tables
from bot.rules.engine import TextState, evaluate, in_scope, rule_hits


@dataclass(frozen=True, slots=True)
class TermReport:
    """One term of a rule in one role (any / all / none / near) and the words that matched it."""

    role: str
    term: str
    hits: tuple[MatchedTerm, ...]


@dataclass(frozen=True, slots=True)
class RuleReport:
    """A rule's verdict on a text, with the terms that hit and the reasons it did not match."""

    rule: str
    severity: Severity
    matched: bool
    enabled: bool
    in_scope: bool
    reasons: tuple[str, ...]
    terms: tuple[TermReport, ...]
    hits: tuple[MatchedTerm, ...]

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready view for `rules test --json`."""
        return {
            "rule": self.rule,
            "severity": self.severity.label,
            "matched": self.matched,
            "enabled": self.enabled,
            "in_scope": self.in_scope,
            "reasons": list(self.reasons),
            "hits": [_hit(h) for h in self.hits],
            "terms": [
                {"role": t.role, "term": t.term, "hits": [_hit(h) for h in t.hits]} for t in self.terms
            ],
        }


def _hit(h: MatchedTerm) -> dict[str, object]:
    return {"term": h.term, "text": h.text, "start": h.start, "end": h.end}


def _words(hits: Sequence[MatchedTerm]) -> str:
    return ", ".join(dict.fromkeys(repr(h.text) for h in hits))


def _scope_reason(rule: CompiledRule, channel: str | None, tags: Sequence[str]) -> str:
    wanted = sorted(f"@{c}" if not c.isdigit() else c for c in rule.channels) + sorted(
        f"label {lab}" for lab in rule.labels
    )
    where = f"channel {channel}" if channel else "no channel given"
    if tags:
        where += f", labels {', '.join(tags)}"
    return f"out of scope: rule applies to {', '.join(wanted)} ({where})"


def explain_rule(
    rule: CompiledRule, state: TextState, channel: str | None, tags: Sequence[str]
) -> RuleReport:
    """Evaluate one rule on a prepared text and say why it matched or not."""
    tables = state.tables
    terms: list[TermReport] = []

    def report(role: str, tid: int) -> tuple[MatchedTerm, ...]:
        hits = tuple(state.matched_term(tid, s) for s in state.hits(tid))
        terms.append(TermReport(role, tables.terms[tid].raw, hits))
        return hits

    any_hits = [report("any", t) for t in rule.any_]
    reasons: list[str] = []
    if rule.any_ and not any(any_hits):
        reasons.append(
            "none of the any-terms found: " + ", ".join(repr(tables.terms[t].raw) for t in rule.any_)
        )
    for tid in rule.all_:
        if not report("all", tid):
            reasons.append(f"missing all-term {tables.terms[tid].raw!r}")
    for a, b, n in rule.near:
        report("near", a)
        report("near", b)
        d = state.closest(a, b)
        ra, rb = tables.terms[a].raw, tables.terms[b].raw
        if d is None:
            absent = [r for t, r in ((a, ra), (b, rb)) if not state.hits(t)]
            reasons.append(f"near({ra!r}, {rb!r}, {n}): {' and '.join(map(repr, absent))} not found")
        elif d > n:
            reasons.append(f"near({ra!r}, {rb!r}, {n}): closest occurrences are {d} words apart")
    for tid in rule.none_:
        hits = report("none", tid)
        if hits:
            reasons.append(f"excluded by none-term {tables.terms[tid].raw!r} (found {_words(hits)})")
    scoped = in_scope(rule, channel, tags)
    if not scoped:
        reasons.append(_scope_reason(rule, channel, tags))
    if not rule.spec.enabled:
        reasons.append("rule is disabled (enabled = false)")
    matched = scoped and rule.spec.enabled and evaluate(rule, state)
    return RuleReport(
        rule=rule.name,
        severity=rule.spec.severity,
        matched=matched,
        enabled=rule.spec.enabled,
        in_scope=scoped,
        reasons=tuple(reasons),
        terms=tuple(terms),
        hits=rule_hits(rule, state) if matched else (),
    )


def explain_text(
    tables: Tables, text: str, channel: str | None, tags: Sequence[str], rules: Sequence[str] | None
) -> list[RuleReport]:
    """A report for every rule (or the named ones), matched rules first."""
    state = TextState(tables, text)
    chosen = [r for r in tables.rules if rules is None or r.name in rules]
    reports = [explain_rule(r, state, channel, tags) for r in chosen]
    reports.sort(key=lambda r: (not r.matched, -r.severity, r.rule))
    return reports
