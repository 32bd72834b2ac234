"""Matching a text against compiled rules: one automaton pass, then boolean and proximity checks."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence

from bot.models import Match, MatchedTerm
from bot.rules.compiler import CompiledRule, Tables, channel_handle
from bot.rules.normalize import NormalizedText, normalize

# Regexes see at most this much text: Telegram posts are at most 4,096 characters, so anything
# longer is an import artefact, and a cap bounds the worst case of any pattern.
REGEX_INPUT_LIMIT = 8_192

_WORD = re.compile(r"\S+")

Span = tuple[int, int]  # start, end in NormalizedText.spaced coordinates
_NONE: list[Span] = []


class TextState:
    """The per-text work of one match call: atom hits from the automaton, term hits computed lazily."""

    def __init__(self, tables: Tables, text: str) -> None:
        self.tables = tables
        self.norm: NormalizedText = normalize(text)
        self._word_starts: list[int] | None = None
        self._term_hits: dict[int, list[Span]] = {}
        self.atom_hits: dict[int, list[Span]] = {}
        padded = " " + self.norm.spaced + " "
        if tables.key_count:
            for end, (klen, is_prefix, aids) in tables.automaton.iter(padded):
                start = end - klen + 1  # index of the key's leading space = word start in spaced
                stop = padded.find(" ", end + 1) - 1 if is_prefix else end - 1
                for aid in aids:
                    self.atom_hits.setdefault(aid, []).append((start, stop))
        self.touched: set[int] = set()
        for aid in self.atom_hits:
            self.touched.update(tables.atom_terms[aid])

    def word_starts(self) -> list[int]:
        if self._word_starts is None:
            self._word_starts = [m.start() for m in _WORD.finditer(self.norm.spaced)]
        return self._word_starts

    def word_index(self, pos: int) -> int:
        """Index of the word containing spaced position `pos`."""
        return bisect_right(self.word_starts(), pos) - 1

    def hits(self, tid: int) -> list[Span]:
        """Spans of term `tid` in the text (cached)."""
        cached = self._term_hits.get(tid)
        if cached is not None:
            return cached
        if tid not in self.touched and tid not in self.tables.regex_terms:
            return _NONE
        term = self.tables.terms[tid]
        aids = self.tables.term_atoms[tid]
        spans: list[Span]
        if term.regex is not None:
            folded = self.norm.folded[:REGEX_INPUT_LIMIT]
            spans = [(m.start(), m.end()) for m in term.regex.finditer(folded) if m.end() > m.start()]
        elif len(aids) == 1:
            spans = sorted(set(self.atom_hits.get(aids[0], ())))
        else:
            spans = self._phrase_hits(aids)
        self._term_hits[tid] = spans
        return spans

    def _phrase_hits(self, aids: tuple[int, ...]) -> list[Span]:
        per_word: list[dict[int, Span]] = []
        for aid in aids:
            found = self.atom_hits.get(aid)
            if not found:
                return []
            per_word.append({self.word_index(s): (s, e) for s, e in found})
        spans = []
        for first, (s, _) in sorted(per_word[0].items()):
            ok = all(first + k in per_word[k] for k in range(1, len(aids)))
            if ok:
                spans.append((s, per_word[-1][first + len(aids) - 1][1]))
        return spans

    def distance(self, a: Span, b: Span) -> int:
        """Words from the end of one span to the start of the other (adjacent words: 1; overlap: 0)."""
        a0, a1 = self.word_index(a[0]), self.word_index(a[1] - 1)
        b0, b1 = self.word_index(b[0]), self.word_index(b[1] - 1)
        if a1 < b0:
            return b0 - a1
        if b1 < a0:
            return a0 - b1
        return 0

    def closest(self, ta: int, tb: int) -> int | None:
        """The smallest word distance between hits of two terms, or None when either is absent."""
        ha, hb = self.hits(ta), self.hits(tb)
        if not ha or not hb:
            return None
        return min(self.distance(a, b) for a in ha for b in hb)

    def matched_term(self, tid: int, span: Span) -> MatchedTerm:
        start, end = self.norm.span(*span)
        return MatchedTerm(self.tables.terms[tid].raw, self.norm.original[start:end], start, end)


def in_scope(rule: CompiledRule, channel: str | None, tags: Sequence[str]) -> bool:
    """A rule without scope applies everywhere; a scoped one needs its channel or one of its labels."""
    if not rule.channels and not rule.labels:
        return True
    if rule.channels and channel is not None and channel_handle(channel) in rule.channels:
        return True
    return bool(rule.labels) and any(t.strip().lower() in rule.labels for t in tags)


def evaluate(rule: CompiledRule, state: TextState) -> bool:
    """The matching semantics: (any empty or one any hits) and every all and near holds and no none hits."""
    hits, touched, regex_terms = state.hits, state.touched, state.tables.regex_terms
    if rule.any_:
        for t in rule.any_:
            if (t in touched or t in regex_terms) and hits(t):
                break
        else:
            return False
    for t in rule.all_:
        if not hits(t):
            return False
    for a, b, n in rule.near:
        d = state.closest(a, b)
        if d is None or d > n:
            return False
    return not any(state.hits(t) for t in rule.none_)


def rule_hits(rule: CompiledRule, state: TextState) -> tuple[MatchedTerm, ...]:
    """Every positive hit of a rule, deduplicated and in text order."""
    found: dict[tuple[int, int, str], MatchedTerm] = {}
    touched, regex_terms = state.touched, state.tables.regex_terms
    for tid in rule.positive:
        if tid not in touched and tid not in regex_terms:
            continue
        for span in state.hits(tid):
            mt = state.matched_term(tid, span)
            found.setdefault((mt.start, mt.end, mt.term), mt)
    return tuple(sorted(found.values(), key=lambda h: (h.start, h.end)))


def match_text(tables: Tables, text: str, channel: str | None, tags: Sequence[str]) -> list[Match]:
    """Rules that match `text`, most severe first; only rules touched by the automaton are evaluated."""
    state = TextState(tables, text)
    candidates: set[int] = set(tables.regex_rules)
    for tid in state.touched:
        candidates.update(tables.term_rules[tid])
    out: list[Match] = []
    for rid in sorted(candidates):
        rule = tables.rules[rid]
        if in_scope(rule, channel, tags) and evaluate(rule, state):
            out.append(Match(rule.name, rule.spec.severity, rule_hits(rule, state)))
    out.sort(key=lambda m: -m.severity)
    return out
