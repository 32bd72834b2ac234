"""A plain-text rendering of rule explanations, shared by chat `/test` (and any non-table output)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.rules.explain import RuleReport


def explanation_lines(reports: Sequence[RuleReport], *, show_all: bool = False) -> list[str]:
    """One block per rule that matched or had a term found (all rules with `show_all`), then a summary.

    Mirrors the table of `telewatch rules test`: verdict, words -> terms, and why a rule did not match.
    """
    lines: list[str] = []
    shown = 0
    for r in reports:
        touched = any(t.hits for t in r.terms)
        if not (r.matched or touched or show_all):
            continue
        shown += 1
        verdict = "✓ match" if r.matched else "✗ no"
        lines.append(f"{verdict}: {r.rule} ({r.severity.label})")
        for t in r.terms:
            if t.hits:
                words = ", ".join(dict.fromkeys(repr(h.text) for h in t.hits))
                lines.append(f"    {t.role}: {words} → {t.term}")
        lines.extend(f"    why not: {reason}" for reason in r.reasons)
    matched = sum(r.matched for r in reports)
    hidden = len(reports) - shown
    tail = f"; {hidden} other rules found none of their terms" if hidden else ""
    lines.append(f"{matched} of {len(reports)} rules match{tail}")
    return lines
