"""Matching a text against compiled rules: one automaton pass, then boolean and proximity checks."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence

from bot.domain.models import SENTENCE, TEXT, Match, MatchedTerm, Severity
from bot.domain.refs import channel_handle
from bot.rules.compiler import CompiledRule, Gate, Tables
from bot.rules.normalize import NormalizedText, is_gap, normalize, word_end, word_start

# Regexes see at most this much text: Telegram posts are at most 4,096 characters, so anything
# longer is an import artefact, and a cap bounds the worst case of any pattern.
REGEX_INPUT_LIMIT = 8_192

_ALNUM = re.compile(r"[^\W_]")  # a letter or digit: never a word boundary (see normalize.is_gap)
_ALNUM_RUN = re.compile(r"[^\W_]+")
# A sentence ends at a line break, or at . ! ? … (closing quotes or brackets may follow) before white
# space and a character that is not a lower-case letter; abbreviations and initials do not end one.
_SENTENCE_END = re.compile(r"\n|[.!?…]+[\"»”’)\]]*(?=\s+(\S))")
_ABBREVIATIONS = frozenset({
    "г", "гг", "ул", "пр", "просп", "пл", "обл", "пос", "пгт", "с", "д", "ст", "им", "т", "е", "п", "м",
    "км", "тыс", "млн", "млрд", "руб", "грн", "коп", "св", "проф", "акад", "ген", "полк", "рис", "см",
    "вул", "буд", "смт", "мкр", "mr", "mrs", "ms", "dr", "st", "no", "vs", "etc", "gen", "col", "lt", "sgt",
    "jr", "sr", "inc",
})  # fmt: skip

Span = tuple[int, int]  # start, end in NormalizedText.spaced coordinates

# The hot path builds its results through the slots directly: a frozen dataclass's __init__ sets each
# field through object.__setattr__, which costs more than the rest of matching a hit. Same objects.
_new = object.__new__
_set_term, _set_text, _set_start, _set_end = (
    MatchedTerm.__dict__[f].__set__ for f in ("term", "text", "start", "end")
)
_set_rule, _set_severity, _set_hits = (Match.__dict__[f].__set__ for f in ("rule", "severity", "hits"))


def _hit(term: str, text: str, start: int, end: int) -> MatchedTerm:
    """MatchedTerm(term, text, start, end)."""
    hit = _new(MatchedTerm)
    _set_term(hit, term)
    _set_text(hit, text)
    _set_start(hit, start)
    _set_end(hit, end)
    return hit


def _match(rule: str, severity: Severity, hits: tuple[MatchedTerm, ...]) -> Match:
    """Match(rule, severity, hits)."""
    match = _new(Match)
    _set_rule(match, rule)
    _set_severity(match, severity)
    _set_hits(match, hits)
    return match


_NONE: list[Span] = []


class TextState:
    """The per-text work of one match call: atom hits from the automaton, term hits computed lazily."""

    __slots__ = (
        "_lazy_hits",
        "_sentence_ends",
        "_term_hits",
        "_touched",
        "_word_starts",
        "atom_hits",
        "norm",
        "tables",
        "timed_out",
    )

    def __init__(self, tables: Tables, text: str) -> None:
        self.tables = tables
        self.norm: NormalizedText = normalize(text)
        self._word_starts: list[int] | None = None
        self._sentence_ends: list[int] | None = None
        self._term_hits: dict[int, list[Span]] = {}
        self._touched: set[int] | None = None
        self._lazy_hits: dict[int, list[Span] | None] | None = None
        self.timed_out: list[int] = []  # regex terms that ran out of time on this text
        atom_hits: dict[int, list[Span]] = {}
        self.atom_hits = atom_hits
        if not tables.key_count:
            return
        if tables.padded:
            self._find_padded(atom_hits)
            return
        folded = self.norm.folded
        size = len(folded)
        get = atom_hits.get
        automaton = tables.automaton
        values = automaton.values
        # leftmost-longest: the longest key at each word start (see bot.rules.automaton), and keys inside words
        for key, start, end in automaton.find(self.norm.narrow if automaton.narrow else folded):
            if start:
                ch = folded[start - 1]
                if ch.isalnum() or (ch == "'" and not is_gap(folded, start - 1)):
                    continue  # inside a word
            prefix_aids, other_aids = values[key]
            if prefix_aids:
                span = (start, word_end(folded, end))
                for aid in prefix_aids:
                    found = get(aid)
                    if found is None:
                        atom_hits[aid] = [span]
                    else:
                        found.append(span)
            if other_aids and (
                end == size or (not (ch := folded[end]).isalnum() and (ch != "'" or is_gap(folded, end)))
            ):
                span = (start, end)
                for aid in other_aids:
                    found = get(aid)
                    if found is None:
                        atom_hits[aid] = [span]
                    else:
                        found.append(span)

    def _find_padded(self, atom_hits: dict[int, list[Span]]) -> None:
        """Atom hits of an automaton with padded keys (see compiler._automaton), on the spaced text."""
        padded = " " + self.norm.spaced + " "
        get = atom_hits.get
        values = self.tables.automaton.values
        for key, start, end in self.tables.automaton.find(padded):
            prefix_aids, aids = values[key]
            # start: index of the key's leading space = word start in spaced
            if prefix_aids:
                aids = prefix_aids
                span = (start, padded.find(" ", end) - 1)
            else:
                span = (start, end - 2)
            for aid in aids:
                found = get(aid)
                if found is None:
                    atom_hits[aid] = [span]
                else:
                    found.append(span)

    @property
    def touched(self) -> set[int]:
        """Terms with a hit of an atom the automaton looks for (computed on first use: the fast path never
        needs it); only these can hit."""
        if self._touched is None:
            atom_terms = self.tables.atom_terms
            self._touched = {tid for aid in self.atom_hits for tid in atom_terms[aid]}
        return self._touched

    def word_starts(self) -> list[int]:
        if self._word_starts is None:
            folded = self.norm.folded
            # a run of letters and digits starts a word unless an apostrophe kept inside a word precedes it
            self._word_starts = [
                s
                for m in _ALNUM_RUN.finditer(folded)
                if not ((s := m.start()) and folded[s - 1] == "'" and not is_gap(folded, s - 1))
            ]
        return self._word_starts

    def word_index(self, pos: int) -> int:
        """Index of the word containing spaced position `pos`."""
        return bisect_right(self.word_starts(), pos) - 1

    def hits(self, tid: int) -> list[Span]:
        """Spans of term `tid` in the text, sorted and distinct (cached); callers must not mutate them."""
        aid = self.tables.term_single[tid]
        if aid >= 0:
            found = self.atom_hits.get(aid)
            if found is None:
                if aid not in self.tables.lazy_atoms:
                    return _NONE
                found = self.atom_spans(aid)
                if found is None:
                    return _NONE
            if len(found) == 1:
                return found
        cached = self._term_hits.get(tid)
        if cached is not None:
            return cached
        spans: list[Span]
        if aid >= 0:
            spans = sorted(set(found))  # type: ignore[arg-type]  # aid >= 0: found is set above
        else:
            if tid not in self.touched and tid not in self.tables.unkeyed_terms:
                return _NONE
            term = self.tables.terms[tid]
            if term.regex is not None:
                folded = self.norm.folded[:REGEX_INPUT_LIMIT]
                found = term.regex.spans(folded)
                if found is None:
                    self.timed_out.append(tid)
                spans = found or []
            else:
                spans = self._phrase_hits(self.tables.term_atoms[tid])
        self._term_hits[tid] = spans
        return spans

    def atom_spans(self, aid: int) -> list[Span] | None:
        """Hits of atom `aid` in automaton order, or None; a lazy atom's are found on first use."""
        found = self.atom_hits.get(aid)
        if found is not None or aid not in self.tables.lazy_atoms:
            return found
        if self._lazy_hits is None:
            self._lazy_hits = {}
        elif aid in self._lazy_hits:
            return self._lazy_hits[aid]
        found = self._lazy_hits[aid] = self._find_atom(aid) or None
        return found

    def _find_atom(self, aid: int) -> list[Span]:
        """What the automaton loop would find for one atom, by searching for each of its forms."""
        folded = self.norm.folded
        size = len(folded)
        prefix = self.tables.atoms[aid].mode == "prefix"
        spans: list[Span] = []
        for form in self.tables.lazy_forms[aid]:
            start = folded.find(form)
            while start >= 0:
                end = start + len(form)
                if not start or is_gap(folded, start - 1):
                    if prefix:
                        spans.append((start, word_end(folded, end)))
                    elif end == size or is_gap(folded, end):
                        spans.append((start, end))
                start = folded.find(form, start + 1)
        spans.sort()
        return spans

    def _phrase_hits(self, aids: tuple[int, ...]) -> list[Span]:
        """Spans where the atoms hit word after word. Hits cover whole words, so the next word of a
        phrase is the hit that starts at the first letter or digit after the previous one ends."""
        first = self.atom_spans(aids[0])
        if not first:
            return []
        by_start: list[dict[int, int]] = []
        for aid in aids[1:]:
            found = self.atom_spans(aid)
            if not found:
                return []
            by_start.append({s: e for s, e in found})
        folded, search = self.norm.folded, _ALNUM.search
        spans = []
        for s, end in sorted(set(first)):
            for ends in by_start:
                nxt = search(folded, end)
                end = ends.get(nxt.start(), -1) if nxt else -1
                if end < 0:
                    break
            else:
                spans.append((s, end))
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

    def sentence(self, pos: int) -> int:
        """Index of the sentence containing spaced position `pos` (computed only for sentence scopes)."""
        if self._sentence_ends is None:
            self._sentence_ends = self._find_sentence_ends()
        return bisect_right(self._sentence_ends, pos)

    def _find_sentence_ends(self) -> list[int]:
        norm = self.norm
        folded, original = norm.folded, norm.original
        ends: list[int] = []
        for m in _SENTENCE_END.finditer(folded):
            nxt = m.start(1)
            if nxt >= 0:
                ch = original[nxt if norm.starts is None else norm.starts[nxt]]
                if ch.islower():
                    continue
                word = folded[word_start(folded, m.start()) : m.start()]
                if len(word) == 1 or word in _ABBREVIATIONS:
                    continue  # "г. Курск", "В. Гладков": not the end of a sentence
            ends.append(m.start())
        return ends

    def within(self, a: Span, b: Span, scope: int) -> bool:
        """Whether two hits are within `scope` words of each other, in one sentence (SENTENCE), or in
        the text at all (TEXT)."""
        if scope == TEXT:
            return True
        if scope == SENTENCE:
            return self.sentence(a[0]) == self.sentence(b[0])
        return self.distance(a, b) <= scope

    def near(self, ta: int, tb: int, scope: int) -> bool | None:
        """Whether some hits of two terms are within scope; None when either term is absent."""
        ha, hb = self.hits(ta), self.hits(tb)
        if not ha or not hb:
            return None
        return any(self.within(a, b, scope) for a in ha for b in hb)

    def gate_blocks(self, span: Span, gates: Sequence[Gate]) -> tuple[Gate, int, Span | None] | None:
        """Why a hit at `span` is cancelled, or None when it counts: the first unless_near gate that finds
        one of its terms (with that term and its hit), or the first only_near gate of a group none of
        whose gates finds its context (with -1 and None). only_near gates naming the same terms are one
        group of alternatives; every group that applies must hold.

        A gate with a number of words looks only inside the hit's sentence."""
        groups: dict[frozenset[int] | None, list[Gate]] = {}
        for gate in gates:
            if gate.kind == "only_near":
                groups.setdefault(gate.targets, []).append(gate)
                continue
            found = self._context(span, gate)
            if found is not None:
                return gate, found[0], found[1]
        for group in groups.values():
            if not any(self._context(span, g) is not None for g in group):
                return group[0], -1, None
        return None

    def _context(self, span: Span, gate: Gate) -> tuple[int, Span] | None:
        """A hit of one of the gate's other terms within its scope of `span`."""
        touched, unkeyed = self.touched, self.tables.unkeyed_terms
        if len(gate.others) > 8:
            # a long context list: walk the terms found in the text instead (in term order, as written)
            candidates: Iterable[int] = sorted((touched | unkeyed) & gate.others_set)
        else:
            candidates = [o for o in gate.others if o in touched or o in unkeyed]
        for other in candidates:
            for o in self.hits(other):
                if self.within(span, o, gate.scope) and (
                    gate.scope <= SENTENCE or self.sentence(span[0]) == self.sentence(o[0])
                ):
                    return other, o
        return None

    def matched_term(self, tid: int, span: Span) -> MatchedTerm:
        """The hit of term `tid` at `span`, located in the original text."""
        norm = self.norm
        start, end = span if norm.starts is None else norm.span(*span)
        return MatchedTerm(self.tables.terms[tid].raw, norm.original[start:end], start, end)

    def any_hits(self, entries: list[tuple[int, int, int]]) -> tuple[MatchedTerm, ...]:
        """rule_hits for an any-only rule, given its (position, term, rank) entries whose first atom hit."""
        if self.norm.starts is None:
            # offsets are kept, so spans of different terms never collide (terms differ) and those of
            # one term are distinct: sorting by (start, end, rank) gives rule_hits' order exactly
            raw, original = self.tables.terms, self.norm.original
            merged = sorted([(s, e, rank, tid) for _, tid, rank in entries for s, e in self.hits(tid)])
            return tuple([_hit(raw[tid].raw, original[s:e], s, e) for s, e, _, tid in merged])
        entries.sort(key=_rank)  # rule_hits goes through terms in rule order; ties keep that order
        return _in_order(self.matched_term(tid, span) for _, tid, _ in entries for span in self.hits(tid))


def _rank(entry: tuple[int, int, int]) -> int:
    return entry[2]


def _position(hit: MatchedTerm) -> tuple[int, int]:
    return hit.start, hit.end


def _in_order(hits: Iterable[MatchedTerm]) -> tuple[MatchedTerm, ...]:
    """Hits deduplicated (first kept) and stably sorted by position in the original text."""
    found: dict[tuple[int, int, str], MatchedTerm] = {}
    for mt in hits:
        found.setdefault((mt.start, mt.end, mt.term), mt)
    return tuple(sorted(found.values(), key=_position))


def in_scope(rule: CompiledRule, channel: str | None, tags: Sequence[str]) -> bool:
    """A rule without scope applies everywhere; a scoped one needs its channel or one of its labels."""
    if not rule.channels and not rule.labels:
        return True
    if rule.channels and channel is not None and channel_handle(channel) in rule.channels:
        return True
    return bool(rule.labels) and any(t.strip().lower() in rule.labels for t in tags)


def gated_hits(rule: CompiledRule, state: TextState, tid: int) -> list[Span]:
    """The hits of a positive term that the rule's unless_near / only_near gates let through."""
    spans = state.hits(tid)
    if not spans or not rule.gates:
        return spans
    gates = rule.gates_for(tid)
    if not gates:
        return spans
    return [s for s in spans if state.gate_blocks(s, gates) is None]


def evaluate(rule: CompiledRule, state: TextState) -> bool:
    """The matching semantics: (any empty or one any hits) and every all and near holds and no none hits;
    hits cancelled by the rule's gates count as absent."""
    if rule.gates:
        return _evaluate_gated(rule, state)
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
        if not state.near(a, b, n):
            return False
    return not any(state.hits(t) for t in rule.none_)


def _evaluate_gated(rule: CompiledRule, state: TextState) -> bool:
    kept: dict[int, list[Span]] = {}
    touched, regex_terms = state.touched, state.tables.regex_terms

    def hits(tid: int) -> list[Span]:
        found = kept.get(tid)
        if found is None:
            found = kept[tid] = gated_hits(rule, state, tid)
        return found

    # the text's found terms are far fewer than a pack rule's any-terms: walk those
    any_set = rule.any_set
    if rule.any_ and not any(hits(t) for t in (*touched, *regex_terms) if t in any_set):
        return False
    if not all(hits(t) for t in rule.all_):
        return False
    for a, b, n in rule.near:
        ha, hb = hits(a), hits(b)
        if not any(state.within(x, y, n) for x in ha for y in hb):
            return False
    return not any(state.hits(t) for t in rule.none_)


def rule_hits(rule: CompiledRule, state: TextState) -> tuple[MatchedTerm, ...]:
    """Every positive hit of a rule that its gates let through, deduplicated and in text order."""
    return _in_order(
        state.matched_term(tid, span) for tid in rule.positive for span in gated_hits(rule, state, tid)
    )


def match_text(tables: Tables, text: str, channel: str | None, tags: Sequence[str]) -> list[Match]:
    """Rules that match `text`, most severe first; only rules touched by the automaton are evaluated."""
    state = TextState(tables, text)
    atom_hits = state.atom_hits
    if not atom_hits and not tables.regex_rules:
        return []
    atom_any, atom_general = tables.atom_any, tables.atom_general
    # (position, term, rank) of every any-only rule term whose first atom hit; sorted, the rules come
    # out in output order with their entries side by side
    hit = sorted([entry for aid in atom_hits for entry in atom_any[aid]])
    general: set[int] | None = None
    if tables.regex_rules or tables.general_atoms:
        general = set(tables.regex_rules)
        for aid in atom_hits:
            if atom_general[aid]:
                general.update(atom_general[aid])
    by_position, terms, term_single = tables.by_position, tables.terms, tables.term_single
    norm = state.norm
    original = norm.original if norm.starts is None else None  # None: spans need mapping back
    # rules needing full evaluation (rare) are merged, by position, into the any-only ones
    pending: list[tuple[int, Match]] = []
    if general:
        order, rules = tables.rule_order, tables.rules
        for rid in general:
            rule = rules[rid]
            if in_scope(rule, channel, tags) and evaluate(rule, state):
                pending.append(
                    (order[rid], Match(rule.spec.name, rule.spec.severity, rule_hits(rule, state)))
                )
        pending.sort(key=_rank_of, reverse=True)  # pop() gives the next one in output order
    out: list[Match] = []
    i, n = 0, len(hit)
    while i < n:
        position, tid, _ = hit[i]
        j = i + 1
        while j < n and hit[j][0] == position:
            j += 1
        rule = by_position[position]
        if (rule.channels or rule.labels) and not in_scope(rule, channel, tags):
            i = j
            continue
        hits: tuple[MatchedTerm, ...]
        if j == i + 1 and original is not None:
            i = j
            # the common case, inlined: one term hit, in a text whose offsets are kept; a term's spans
            # are distinct and in order, so they need neither deduplication nor sorting
            aid = term_single[tid]
            spans = atom_hits[aid] if aid >= 0 and len(atom_hits[aid]) == 1 else state.hits(tid)
            if not spans:  # an any-only rule matches exactly when one of its terms hits
                continue
            raw = terms[tid].raw
            if len(spans) == 1:
                start, end = spans[0]
                hits = (_hit(raw, original[start:end], start, end),)
            else:
                hits = tuple([_hit(raw, original[s:e], s, e) for s, e in spans])
        else:
            hits = state.any_hits(hit[i:j])
            i = j
            if not hits:
                continue
        while pending and pending[-1][0] < position:
            out.append(pending.pop()[1])
        out.append(_match(rule.spec.name, rule.spec.severity, hits))
    while pending:
        out.append(pending.pop()[1])
    return out


def _rank_of(item: tuple[int, Match]) -> int:
    return item[0]
