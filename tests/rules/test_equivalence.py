"""The matcher's fast paths (one automaton pass, the any-only shortcut, output ordering) give exactly what
the plain definition gives: every word form searched for on its own, every enabled rule evaluated in full,
rules listed most severe first, then in configuration order."""

from __future__ import annotations

import dataclasses
import itertools
import json
import random
import re
from collections.abc import Sequence
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.models import Match, RuleSpec, Severity
from bot.rules import CompiledRules, compile_rules
from bot.rules.compiler import Tables
from bot.rules.engine import TextState, evaluate, in_scope, rule_hits
from bot.rules.normalize import normalize
from bot.rules.packs import available_packs, pack_path
from config.loader import load_rule_pack
from tests.rules.test_fast_paths import ODD, SPECS, WORDS


class _LookedUpState(TextState):
    """A text state that finds atoms by looking each word of the spaced text up (no automaton): a form
    hits where it is a whole word, a prefix where a word starts with it."""

    def __init__(self, tables: Tables, text: str, index: _FormIndex) -> None:
        super().__init__(dataclasses.replace(tables, key_count=0, lazy_atoms=frozenset()), text)
        for m in re.finditer(r"\S+", self.norm.spaced):
            word, span = m.group(), m.span()
            found = list(index.whole.get(word, ()))
            for size in range(1, len(word) + 1):
                found += index.prefix.get(word[:size], ())
            for aid in found:
                self.atom_hits.setdefault(aid, []).append(span)
        self._touched = set(range(len(tables.terms)))  # every term is looked at, none skipped


@dataclasses.dataclass
class _FormIndex:
    whole: dict[str, list[int]]
    prefix: dict[str, list[int]]

    @classmethod
    def of(cls, tables: Tables) -> _FormIndex:
        assert not tables.padded  # no form of several words: the word-by-word lookup covers every form
        whole: dict[str, list[int]] = {}
        prefix: dict[str, list[int]] = {}
        for aid, atom in enumerate(tables.atoms):
            for form in atom.forms:
                (prefix if atom.mode == "prefix" else whole).setdefault(form, []).append(aid)
        return cls(whole, prefix)


def reference_match(
    tables: Tables,
    text: str,
    channel: str | None = None,
    tags: Sequence[str] = (),
    index: _FormIndex | None = None,
) -> list[Match]:
    state = _LookedUpState(tables, text, index or _FormIndex.of(tables))
    return [
        Match(rule.spec.name, rule.spec.severity, rule_hits(rule, state))
        for rule in tables.by_position
        if rule.spec.enabled and in_scope(rule, channel, tags) and evaluate(rule, state)
    ]


def _texts(shared_data: Path, count: int) -> list[str]:
    folder = shared_data / "replay" / "nktkln_telegram_news_ru_2024"
    texts = [r["text"] or "" for p in sorted(folder.glob("*.json")) for r in json.loads(p.read_text("utf-8"))]
    random.Random(11).shuffle(texts)
    return [t for t in texts if t][:count]


def _watch_list(texts: Sequence[str], rng: random.Random) -> list[RuleSpec]:
    """Rules as a large configuration has them: the corpus's own words in every term syntax, most rules
    any-only (the fast path), some with all / none / near terms, scopes and severities."""
    counts: dict[str, int] = {}
    pairs: list[str] = []
    for text in texts[:400]:
        ws = [w for w in normalize(text).spaced.split() if w.isalpha()]
        for w in ws:
            if len(w) >= 4:
                counts[w] = counts.get(w, 0) + 1
        pairs += [f'"{a} {b}"' for a, b in itertools.pairwise(ws) if len(a) > 3 and len(b) > 3][:2]
    common = sorted(counts, key=lambda w: -counts[w])[:600]
    rng.shuffle(common)
    terms = common[:300]
    terms += [w[:5] + "*" for w in common[300:380]]
    terms += ["=" + w for w in common[380:440]]
    terms += [w.upper() for w in common[440:450] if len(w) <= 6]
    terms += pairs[:40]
    rng.shuffle(terms)
    severities = list(Severity)
    specs = [
        RuleSpec(f"r{i}", any_=tuple(terms[i : i + 8]), severity=rng.choice(severities))
        for i in range(0, len(terms), 8)
    ]
    extra = common[450:600]
    for i in range(0, 120, 6):
        a, b, c, d = extra[i : i + 4]
        specs.append(RuleSpec(f"all{i}", any_=(a,), all_=(b,), severity=rng.choice(severities)))
        specs.append(RuleSpec(f"none{i}", any_=(a, c), none_=(d,)))
        specs.append(RuleSpec(f"near{i}", near=((a, c, 5),), severity=rng.choice(severities)))
    specs.append(RuleSpec("scoped", any_=tuple(common[:20]), channels=("@rybar",)))
    specs.append(RuleSpec("off", any_=tuple(common[:20]), enabled=False))
    return specs


def test_a_large_watch_list_matches_real_posts_as_its_definition_says(shared_data: Path) -> None:
    texts = _texts(shared_data, 1200)
    matcher = compile_rules(_watch_list(texts, random.Random(5)))
    index = _FormIndex.of(matcher.tables)
    matched = 0
    for text in texts:
        expected = reference_match(matcher.tables, text, index=index)
        assert matcher.match(text) == expected, text
        matched += len(expected)
    assert matched > 1000  # the watch list finds plenty: the comparison is not vacuous
    assert matcher.match(texts[0], channel="@rybar") == reference_match(matcher.tables, texts[0], "@rybar")


def test_the_shipped_packs_match_real_posts_as_their_definition_says(shared_data: Path) -> None:
    texts = _texts(shared_data, 1500)
    matcher = compile_rules([s for n in available_packs() for s in load_rule_pack(pack_path(n))])
    index = _FormIndex.of(matcher.tables)
    matched = 0
    for text in texts:
        expected = reference_match(matcher.tables, text, index=index)
        assert matcher.match(text) == expected, text
        matched += len(expected)
    assert matched > 50


ODD_SPECS = [
    *SPECS,
    RuleSpec(
        "nested", any_=("обстр*", "обстрел", "обстрелы", "=обстрелом", "обстрелять"), severity=Severity.INFO
    ),
    RuleSpec("short", any_=("суд*", "суджа", "sud*", "sudzha", "об'єкт"), severity=Severity.CRITICAL),
]


MORE_WORDS = [
    "обстрелы",
    "обстрелом",
    "обстрелять",
    "обстреляли",
    "суджанский",
    "sudzhas",
    "об'єктів",
    "судья",
]
ODD_TEXT = st.lists(st.sampled_from([*WORDS, *MORE_WORDS, *ODD]), max_size=25).map("".join)


@given(ODD_TEXT)
def test_odd_texts_match_as_the_definition_says(text: str) -> None:
    """Homoglyphs, apostrophes, invisible characters, hyphens, prefixes nested in whole-word forms."""
    matcher: CompiledRules = compile_rules(ODD_SPECS)
    assert matcher.match(text) == reference_match(matcher.tables, text)


WIDE_SPECS = [
    RuleSpec("wide", any_=("Zürich", "Łódź*", "суджа", "sudzha"), severity=Severity.INFO),
    RuleSpec("plain", any_=("обстр*", "обстрел", "zurich")),
]
WIDE_TEXT = st.lists(
    st.sampled_from(["zürich", "Zürichs", "łódź", "Łódzki", "zurich", *WORDS, *ODD]), max_size=20
)


@given(WIDE_TEXT.map("".join))
def test_terms_with_letters_beyond_windows_1251_match_as_the_definition_says(text: str) -> None:
    """Their automaton searches the text itself, not its one-byte copy."""
    matcher = compile_rules(WIDE_SPECS)
    assert not matcher.tables.automaton.narrow
    assert matcher.match(text) == reference_match(matcher.tables, text)
    assert compile_rules(ODD_SPECS).tables.automaton.narrow
