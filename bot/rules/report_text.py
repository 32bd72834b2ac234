"""A plain-text rendering of rule explanations, shared by chat `/test` (and any non-table output)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.rules.explain import RuleReport


def shown_reports(reports: Sequence[RuleReport], show_all: bool = False) -> list[RuleReport]:
    """The reports worth showing: rules that matched or found one of their terms (every rule with show_all)."""
    return [r for r in reports if show_all or r.matched or any(t.hits for t in r.terms)]


def term_words(report: RuleReport) -> list[tuple[str, str, str]]:
    """(role, matched words, term) for every term of a rule that was found in the text."""
    return [
        (t.role, ", ".join(dict.fromkeys(repr(h.text) for h in t.hits)), t.term)
        for t in report.terms
        if t.hits
    ]


def explanation_lines(reports: Sequence[RuleReport], *, show_all: bool = False) -> list[str]:
    """One block per rule that matched or had a term found (all rules with `show_all`), then a summary.

    Mirrors the table of `telewatch rules test`: verdict, words -> terms, and why a rule did not match.
    """
    lines: list[str] = []
    shown = shown_reports(reports, show_all)
    for r in shown:
        verdict = "✓ match" if r.matched else "✗ no"
        lines.append(f"{verdict}: {r.rule} ({r.severity.label})")
        lines.extend(f"    {role}: {words} → {term}" for role, words, term in term_words(r))
        lines.extend(f"    cancelled: {note}" for note in r.cancelled)
        lines.extend(f"    why not: {reason}" for reason in r.reasons)
    matched = sum(r.matched for r in reports)
    hidden = len(reports) - len(shown)
    tail = f"; {hidden} other rules found none of their terms" if hidden else ""
    lines.append(f"{matched} of {len(reports)} rules match{tail}")
    return lines
