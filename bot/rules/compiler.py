"""Compile RuleSpecs into one shared automaton: terms are parsed and expanded to their forms once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from bot.domain.errors import RuleError
from bot.domain.models import ANY_TERM, SENTENCE, TEXT, RuleSpec
from bot.domain.refs import channel_handle
from bot.rules.automaton import KeyValue, WordAutomaton
from bot.rules.normalize import is_word
from bot.rules.terms import Atom, Term, TermSyntaxError, parse_term

Role = Literal["any", "all", "none", "near", "unless_near", "only_near"]
GateKind = Literal["unless_near", "only_near"]


@dataclass(frozen=True, slots=True)
class Gate:
    """An unless_near / only_near condition: which term's hits it judges, by which terms, in what scope."""

    kind: GateKind
    targets: frozenset[int] | None  # term ids, or None for every positive term (ANY_TERM)
    others: tuple[int, ...]
    scope: int  # words, SENTENCE or TEXT
    others_set: frozenset[int] = frozenset()

    def applies_to(self, tid: int) -> bool:
        return self.targets is None or tid in self.targets


def scope_text(scope: int) -> str:
    """How a gate's scope reads in explanations: "within 3 words" or "in the same sentence"."""
    if scope == TEXT:
        return "anywhere in the text"
    return "in the same sentence" if scope == SENTENCE else f"within {scope} words in the sentence"


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule with its terms replaced by indexes into the shared term table."""

    spec: RuleSpec
    any_: tuple[int, ...]
    all_: tuple[int, ...]
    none_: tuple[int, ...]
    near: tuple[tuple[int, int, int], ...]
    channels: frozenset[str]
    labels: frozenset[str]

    @property
    def name(self) -> str:
        return self.spec.name

    positive: tuple[int, ...] = ()  # distinct terms whose presence can make the rule match
    gates: tuple[Gate, ...] = ()  # unless_near, then only_near, in configuration order
    any_set: frozenset[int] = frozenset()  # any_ as a set, for gated rules that test only the terms found

    # positive term -> gates_for, precomputed (not part of equality: it follows from gates)
    term_gates: dict[int, tuple[Gate, ...]] = field(default_factory=dict, compare=False, hash=False)

    def gates_for(self, tid: int) -> tuple[Gate, ...]:
        """The gates that judge the hits of term `tid` (empty for most rules and terms)."""
        if not self.gates:
            return ()
        found = self.term_gates.get(tid)
        return tuple(g for g in self.gates if g.applies_to(tid)) if found is None else found


@dataclass(frozen=True, slots=True)
class Tables:
    """Everything the matcher needs, built once per configuration."""

    rules: tuple[CompiledRule, ...]
    terms: tuple[Term, ...]
    atoms: tuple[Atom, ...]
    term_atoms: tuple[tuple[int, ...], ...]  # term id -> atom ids, in phrase order
    atom_terms: tuple[tuple[int, ...], ...]  # atom id -> term ids using it
    term_rules: tuple[tuple[int, ...], ...]  # term id -> enabled rules it can make match
    regex_rules: tuple[int, ...]  # enabled rules with a regex among their positive terms
    # The fast path of match_text. An "any-only" rule (enabled, only any-terms, no regex) matches exactly
    # when one of its terms hits, and a term can only hit where each of its atoms does, so each atom lists
    # the (rule position, term, rank of the term in rule.positive) of the terms whose first non-lazy atom
    # it is; all other enabled rules are evaluated in full when one of their non-lazy atoms hits. Positions order the output: most severe
    # first, then in configuration order.
    atom_any: tuple[tuple[tuple[int, int, int], ...], ...]  # atom id -> (position, term, rank)
    atom_general: tuple[tuple[int, ...], ...]  # atom id -> other enabled rules using the atom
    general_atoms: bool  # whether any atom has such rules (a watch list of any-only rules has none)
    term_single: tuple[int, ...]  # term id -> its only atom, or -1 (phrase or regex)
    rule_order: tuple[int, ...]  # rule id -> position
    by_position: tuple[CompiledRule, ...]  # position -> rule
    regex_terms: frozenset[int]  # terms that the automaton cannot find
    # terms it does not look for: regexes, and terms whose every atom is lazy (only ever a context or an
    # exclusion: a term that can make a rule match always has an atom the automaton looks for)
    unkeyed_terms: frozenset[int]
    automaton: WordAutomaton
    key_count: int
    padded: bool  # keys are padded with spaces and matched against the spaced text (see _automaton)
    lazy_atoms: frozenset[int]  # atoms the automaton does not look for (see _lazy_atoms)
    lazy_forms: dict[int, tuple[str, ...]]  # lazy atom -> its forms that can occur in a normalised text


class _Builder:
    def __init__(self) -> None:
        self.terms: list[Term] = []
        self.term_ids: dict[str, int] = {}
        self.atoms: list[Atom] = []
        self.atom_ids: dict[tuple[str, str], int] = {}
        self.term_atoms: list[tuple[int, ...]] = []

    def term(self, raw: str, rule: str, role: str) -> int:
        key = raw.strip()
        if key in self.term_ids:
            return self.term_ids[key]
        try:
            term = parse_term(raw)
        except TermSyntaxError as e:
            # key names the rule, value the term; config.loader relocates this to the file and line
            raise RuleError(str(e), key=f"rules.{rule}.{role}", value=raw) from None
        ids = []
        for atom in term.atoms:
            akey = (atom.mode, atom.word)
            if akey not in self.atom_ids:
                self.atom_ids[akey] = len(self.atoms)
                self.atoms.append(atom)
            ids.append(self.atom_ids[akey])
        self.term_ids[key] = len(self.terms)
        self.terms.append(term)
        self.term_atoms.append(tuple(ids))
        return self.term_ids[key]


def _compile_rule(b: _Builder, spec: RuleSpec) -> CompiledRule:
    name = spec.name
    if not name or not name.strip():
        raise RuleError("a rule needs a non-empty name", key="rules.name", value=name)
    if not (spec.any_ or spec.all_ or spec.near):
        raise RuleError(
            f"rule '{name}' has no any, all or near terms, so it could never match",
            key=f"rules.{name}",
            expected="at least one of any = [...], all = [...], near = [[a, b, n]]",
        )
    near: list[tuple[int, int, int]] = []
    for cond in spec.near:
        if len(cond) != 3 or not _is_scope(cond[2]):
            raise RuleError(
                f"rule '{name}': a near condition is [term, term, words or \"sentence\"]",
                key=f"rules.{name}.near",
                value=list(cond),
                expected='two terms and a positive number of words, e.g. ["эвакуация", "Суджа", 5]',
            )
        near.append((b.term(cond[0], name, "near"), b.term(cond[1], name, "near"), cond[2]))
    any_ = tuple(b.term(t, name, "any") for t in spec.any_)
    all_ = tuple(b.term(t, name, "all") for t in spec.all_)
    positive = tuple(dict.fromkeys(any_ + all_ + tuple(t for x, y, _ in near for t in (x, y))))
    gates = [_gate(b, spec, "unless_near", g, positive) for g in spec.unless_near]
    gates += [_gate(b, spec, "only_near", g, positive) for g in spec.only_near]
    return CompiledRule(
        spec=spec,
        any_=any_,
        all_=all_,
        none_=tuple(b.term(t, name, "none") for t in spec.none_),
        near=tuple(near),
        channels=frozenset(channel_handle(c) for c in spec.channels),
        labels=frozenset(label.strip().lower() for label in spec.labels),
        positive=positive,
        gates=tuple(gates),
        any_set=frozenset(any_),
        term_gates={t: tuple(g for g in gates if g.applies_to(t)) for t in positive} if gates else {},
    )


def _is_scope(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= TEXT


def _gate(
    b: _Builder,
    spec: RuleSpec,
    kind: GateKind,
    cond: tuple[tuple[str, ...], tuple[str, ...], int],
    positive: tuple[int, ...],
) -> Gate:
    name = spec.name
    key = f"rules.{name}.{kind}"
    ok = len(cond) == 3 and all(isinstance(x, tuple) and x for x in cond[:2]) and _is_scope(cond[2])
    if not ok:
        raise RuleError(
            f"rule '{name}': an {kind} condition is [term(s), [terms], words or \"sentence\"]",
            key=key,
            value=list(cond),
            expected='e.g. ["эвакуировать", ["автомобиль", "парковка"], 3] or ["*", ["учения"], "sentence"]',
        )
    targets: set[int] = set()
    every = any(raw.strip() == ANY_TERM for raw in cond[0])
    for raw in cond[0]:
        if every:
            break
        tid = b.term(raw, name, kind)
        if tid not in positive:
            raise RuleError(
                f"rule '{name}': {kind} names {raw!r}, which is not one of the rule's any, all or near "
                "terms, so the condition would never apply",
                key=key,
                value=raw,
                expected='a term written in any / all / near, or "*" for every one of them',
            )
        targets.add(tid)
    others = tuple(dict.fromkeys(b.term(t, name, kind) for t in cond[1]))
    return Gate(kind, None if every else frozenset(targets), others, cond[2], frozenset(others))


def build_tables(specs: Sequence[RuleSpec]) -> Tables:
    """Parse and expand every term, and put every form of every word into one automaton."""
    b = _Builder()
    rules: list[CompiledRule] = []
    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen:
            raise RuleError(f"two rules are named '{spec.name}'", key=f"rules.{spec.name}", value=spec.name)
        seen.add(spec.name)
        rules.append(_compile_rule(b, spec))

    padded = any(not is_word(form) and _is_phrase_form(form) for atom in b.atoms for form in atom.forms)
    lazy = frozenset() if padded else _lazy_atoms(b, rules)
    # a term hits only where each of its atoms does: the automaton triggers it by one it looks for
    key_atom = [next((a for a in aids if a not in lazy), -1) for aids in b.term_atoms]
    atom_terms: list[list[int]] = [[] for _ in b.atoms]
    for tid, aids in enumerate(b.term_atoms):
        for aid in set(aids):
            atom_terms[aid].append(tid)
    term_rules: list[list[int]] = [[] for _ in b.terms]
    regex_rules: list[int] = []
    atom_any: list[list[tuple[int, int, int]]] = [[] for _ in b.atoms]
    atom_general: list[set[int]] = [set() for _ in b.atoms]
    by_position = sorted(range(len(rules)), key=lambda r: (-rules[r].spec.severity, r))
    rule_order = [0] * len(rules)
    for position, rid in enumerate(by_position):
        rule_order[rid] = position
    for rid, rule in enumerate(rules):
        if not rule.spec.enabled:
            continue
        positive = set(rule.positive)
        for tid in positive:
            term_rules[tid].append(rid)
        has_regex = any(b.terms[t].kind == "regex" for t in positive)
        if has_regex:
            regex_rules.append(rid)
        if not (has_regex or rule.all_ or rule.none_ or rule.near or rule.gates):
            for rank, tid in enumerate(rule.positive):
                atom_any[key_atom[tid]].append((rule_order[rid], tid, rank))
        else:
            for tid in positive:
                for aid in b.term_atoms[tid]:
                    if aid not in lazy:
                        atom_general[aid].add(rid)

    automaton = _automaton(b.atoms, lazy, padded)
    return Tables(
        rules=tuple(rules),
        terms=tuple(b.terms),
        atoms=tuple(b.atoms),
        term_atoms=tuple(b.term_atoms),
        atom_terms=tuple(tuple(t) for t in atom_terms),
        term_rules=tuple(tuple(r) for r in term_rules),
        regex_rules=tuple(regex_rules),
        atom_any=tuple(tuple(entries) for entries in atom_any),
        atom_general=tuple(tuple(sorted(rids)) for rids in atom_general),
        general_atoms=any(atom_general),
        term_single=tuple(aids[0] if len(aids) == 1 else -1 for aids in b.term_atoms),
        rule_order=tuple(rule_order),
        by_position=tuple(rules[rid] for rid in by_position),
        regex_terms=frozenset(i for i, t in enumerate(b.terms) if t.kind == "regex"),
        unkeyed_terms=frozenset(i for i, t in enumerate(b.terms) if t.kind == "regex" or key_atom[i] < 0),
        automaton=automaton,
        key_count=len(automaton),
        padded=padded,
        lazy_atoms=lazy,
        lazy_forms={aid: tuple(sorted(f for f in b.atoms[aid].forms if is_word(f))) for aid in lazy},
    )


SHORT_FORM = 3  # forms this short hit inside most words: the automaton leaves them out where it can


def _lazy_atoms(b: _Builder, rules: Sequence[CompiledRule]) -> frozenset[int]:
    """Atoms with a short form ("в", "не", "no", "is") that the automaton need not look for, found only
    when asked for: a short key hits inside nearly every word, and each such hit costs a boundary check.

    A term that can make a rule match (enabled or not: explanations evaluate every rule) keeps its
    longest atom in the automaton; terms that are only contexts or exclusions may lose every atom.
    """
    short = {aid for aid, atom in enumerate(b.atoms) if min(map(len, atom.forms)) <= SHORT_FORM}
    needed: set[int] = set()
    for tid in {t for rule in rules for t in rule.positive}:
        aids = b.term_atoms[tid]
        if aids and all(a in short for a in aids):
            needed.add(max(aids, key=lambda a: min(map(len, b.atoms[a].forms))))
    return frozenset(short - needed)


def _is_phrase_form(form: str) -> bool:
    return all(is_word(part) for part in form.split(" "))


def _automaton(atoms: Sequence[Atom], lazy: frozenset[int] = frozenset(), pad: bool = False) -> WordAutomaton:
    """The automaton of every form of every atom but the lazy ones (see bot.rules.automaton).

    Keys are the forms themselves, found in the folded text; the engine checks that a hit starts (and,
    but for prefixes, ends) at a word boundary. Each key's value is (prefix atoms of every key it starts
    with, itself included; its other atoms). Forms that cannot occur in a normalised text (a hyphen
    inside: the text's hyphens split words) are left out. A form with a space inside (two words) needs
    the text with its gaps made spaces: then (`pad`) every key is padded with spaces and matched, every
    hit, against " " + spaced + " ", which needs no boundary checks; a key's value then has its atoms
    on one side: prefix (" form") or not (" form ").
    """
    keyed: dict[str, tuple[list[int], list[int]]] = {}
    for aid, atom in enumerate(atoms):
        if aid in lazy:
            continue
        for form in atom.forms:
            if not is_word(form) and not (pad and _is_phrase_form(form)):
                continue  # dead: never in a normalised text
            prefix, other = keyed.setdefault(form, ([], []))
            (prefix if atom.mode == "prefix" else other).append(aid)
    keys: list[str] = []
    if pad:
        padded_values: list[KeyValue] = []
        for form, (prefix, other) in keyed.items():
            if prefix:
                keys.append(f" {form}")
                padded_values.append((tuple(prefix), ()))
            if other:
                keys.append(f" {form} ")
                padded_values.append(((), tuple(other)))
        return WordAutomaton(keys, padded_values, overlapping=True)
    # leftmost-longest reports only the longest key at a word start: it carries the prefix atoms of the
    # keys it starts with
    prefixes = {form: prefix for form, (prefix, _) in keyed.items() if prefix}
    longest = max(map(len, prefixes), default=0)
    values: list[KeyValue] = []
    for form, (_, other) in keyed.items():
        inherited = [aid for i in range(1, min(len(form), longest) + 1) for aid in prefixes.get(form[:i], ())]
        keys.append(form)
        values.append((tuple(dict.fromkeys(inherited)), tuple(other)))
    return WordAutomaton(keys, values)
