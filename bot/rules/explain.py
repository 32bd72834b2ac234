"""Why each rule did or did not match a text: the data behind `telewatch rules test`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.models import MatchedTerm, Severity
from bot.rules.compiler import CompiledRule, Tables, scope_text
from bot.rules.engine import Span, TextState, evaluate, in_scope, rule_hits
from bot.rules.terms import REGEX_TIMEOUT


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
    cancelled: tuple[str, ...] = ()  # hits that an unless_near / only_near gate cancelled, and why

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready view for `rules test --json`."""
        return {
            "rule": self.rule,
            "severity": self.severity.label,
            "matched": self.matched,
            "enabled": self.enabled,
            "in_scope": self.in_scope,
            "reasons": list(self.reasons),
            "cancelled": list(self.cancelled),
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

    cancelled: list[str] = []
    kept = _gate_hits(rule, state, cancelled)
    any_hits = [report("any", t) for t in rule.any_]
    reasons: list[str] = []
    if rule.any_ and not any(any_hits):
        reasons.append(
            "none of the any-terms found: " + ", ".join(repr(tables.terms[t].raw) for t in rule.any_)
        )
    elif rule.any_ and not any(kept[t] for t in rule.any_):
        reasons.append("every hit of the any-terms was cancelled (see cancelled)")
    for tid in rule.all_:
        if not report("all", tid):
            reasons.append(f"missing all-term {tables.terms[tid].raw!r}")
        elif not kept[tid]:
            reasons.append(f"every hit of all-term {tables.terms[tid].raw!r} was cancelled")
    for a, b, n in rule.near:
        report("near", a)
        report("near", b)
        ra, rb = tables.terms[a].raw, tables.terms[b].raw
        shown = {0: "sentence", -1: "text"}.get(n, n)
        if not state.hits(a) or not state.hits(b):
            absent = [r for t, r in ((a, ra), (b, rb)) if not state.hits(t)]
            reasons.append(f"near({ra!r}, {rb!r}, {shown}): {' and '.join(map(repr, absent))} not found")
        elif not any(state.within(x, y, n) for x in kept[a] for y in kept[b]):
            d = state.closest(a, b)
            apart = f"closest occurrences are {d} words apart" if n else "never in the same sentence"
            if not kept[a] or not kept[b]:
                apart = "the hits were cancelled"
            reasons.append(f"near({ra!r}, {rb!r}, {shown}): {apart}")
    for gate in rule.gates:
        for other in gate.others:
            report(gate.kind, other)
    for tid in rule.none_:
        hits = report("none", tid)
        if hits:
            reasons.append(f"excluded by none-term {tables.terms[tid].raw!r} (found {_words(hits)})")
    for tid in dict.fromkeys(state.timed_out):
        if tid in rule.positive or tid in rule.none_:
            reasons.append(
                f"regex {tables.terms[tid].raw!r} gave up after {round(REGEX_TIMEOUT * 1000)} ms on this text"
                " (counted as not found)"
            )
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
        cancelled=tuple(cancelled),
    )


def _listed(raws: Sequence[str], most: int = 8, *, quote: bool = True) -> str:
    shown = ", ".join(repr(r) if quote else r for r in raws[:most])
    return shown + (f", … ({len(raws) - most} more)" if len(raws) > most else "")


def _gate_hits(rule: CompiledRule, state: TextState, cancelled: list[str]) -> dict[int, list[Span]]:
    """Each positive term's hits that the gates keep; says in `cancelled` which gate dropped the others."""
    terms = state.tables.terms
    kept: dict[int, list[Span]] = {}
    # one line per distinct reason, naming every hit it dropped (it was one line per hit: a post with
    # 31 hits of an only_near-gated term repeated the same long condition 31 times)
    dropped: dict[str, list[str]] = {}
    for tid in rule.positive:
        gates = rule.gates_for(tid)
        kept[tid] = []
        for span in state.hits(tid):
            blocked = state.gate_blocks(span, gates) if gates else None
            if blocked is None:
                kept[tid].append(span)
                continue
            gate, other, where = blocked
            hit = state.matched_term(tid, span)
            what = f"{hit.text!r} ({terms[tid].raw})"
            if where is not None:
                found = state.matched_term(other, where).text
                reason = f"cancelled by unless_near {terms[other].raw!r}: {found!r} {scope_text(gate.scope)}"
            else:
                wanted = "; nor ".join(
                    f"{_listed([terms[o].raw for o in g.others])} {scope_text(g.scope)}"
                    for g in gates
                    if g.kind == "only_near" and g.targets == gate.targets
                )
                reason = f"dropped by only_near: none of {wanted}"
            hits = dropped.setdefault(reason, [])
            if what not in hits:
                hits.append(what)
    cancelled.extend(f"{_listed(hits, quote=False)} {reason}" for reason, hits in dropped.items())
    return kept


def explain_text(
    tables: Tables, text: str, channel: str | None, tags: Sequence[str], rules: Sequence[str] | None
) -> list[RuleReport]:
    """A report for every rule (or the named ones), matched rules first."""
    state = TextState(tables, text)
    chosen = [r for r in tables.rules if rules is None or r.name in rules]
    reports = [explain_rule(r, state, channel, tags) for r in chosen]
    reports.sort(key=lambda r: (not r.matched, -r.severity, r.rule))
    return reports
