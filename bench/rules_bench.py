"""Rules benchmarks: matcher throughput vs the naive per-keyword regex loop, compile cost, and the
precision/recall of the shipped packs on the hand-labelled evaluation set (bench/eval/labels.tsv).

Throughputs are posts per CPU second, best of three rounds (see `rate`)."""

from __future__ import annotations

import gc
import random
import re
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Sequence

import psutil  # type: ignore[import-untyped]  # no stubs installed; bench is not type-checked by `make check`

from bench import corpus
from bench.report import Report
from bot.domain.models import RuleSpec
from bot.rules import CompiledRules, compile_rules
from bot.rules.morph import analyzer, word_forms
from bot.rules.normalize import normalize

SECTION = "rules"
DOMAIN_TERMS = [
    "эвакуация", "эвакуировать", "Суджа", "обстрел", "БПЛА", "беспилотник", "мобилизация",
    "погибнуть", "вторжение", "\"Курская область\"",
]  # fmt: skip
SKIP_COMMONEST = 300
RUN_SECONDS = 2.0  # each throughput figure runs at least this long (or over the whole corpus)


def corpus_texts() -> list[str]:
    texts = [str(p["text"]) for p in corpus.base_posts() if p["text"]]
    random.Random(7).shuffle(texts)  # files are per channel; mix them so a time-bounded run is representative
    return texts


def term_list(texts: Sequence[str], size: int) -> list[str]:
    """A watch list as analysts write one: the domain terms, then the corpus's proper nouns (places,
    people, organisations), then its other nouns, by frequency; dictionary forms of 5+ letters.

    The 300 commonest lemmas (заявить, россия, человек...) are skipped: nobody alerts on those.
    """
    ru = analyzer("ru")
    counts: Counter[str] = Counter()
    for text in texts[:8000]:
        counts.update(w for w in normalize(text).spaced.split() if len(w) >= 5 and w.isalpha())
    lemma_counts: Counter[str] = Counter()
    kinds: dict[str, str] = {}
    for word, n in counts.most_common(20000):
        p = ru.parse(word)[0]
        lemma_counts[p.normal_form] += n
        if {"Geox", "Name", "Surn", "Orgn"} & p.tag.grammemes:
            kinds.setdefault(p.normal_form, "proper")
        elif p.tag.POS == "NOUN":
            kinds.setdefault(p.normal_form, "noun")
    ranked = [
        w for w, _ in lemma_counts.most_common()[SKIP_COMMONEST:] if len(w) >= 5 and w not in DOMAIN_TERMS
    ]
    proper = [w for w in ranked if kinds.get(w) == "proper"]
    nouns = [w for w in ranked if kinds.get(w) == "noun"]
    return (DOMAIN_TERMS + proper + nouns)[:size]


def specs_for(terms: Sequence[str]) -> list[RuleSpec]:
    """Rules of ten terms each, as a real configuration would group them."""
    return [RuleSpec(f"r{i}", any_=tuple(terms[i : i + 10])) for i in range(0, len(terms), 10)]


def rate(texts: Sequence[str], fn: Callable[[str], object], rounds: int = 3) -> tuple[float, int]:
    """Posts per CPU second of `fn`: the first round runs for RUN_SECONDS / rounds (or the whole list), the
    others over the same posts; the best round counts. CPU time, not wall time, and the best of several
    rounds, because the machines these figures come from are shared: waiting for a core is not our cost."""
    started = time.process_time()
    n = 0
    for text in texts:
        fn(text)
        n += 1
        if n % 100 == 0 and time.process_time() - started >= RUN_SECONDS / rounds:
            break
    best = time.process_time() - started
    for _ in range(rounds - 1):
        started = time.process_time()
        for text in texts[:n]:
            fn(text)
        best = min(best, time.process_time() - started)
    return n / best, n


def naive(terms: Sequence[str]) -> Callable[[str], object]:
    """What other tools do: one case-insensitive regex search per keyword per post."""
    patterns = [re.compile(re.escape(t.strip('"=*')), re.IGNORECASE) for t in terms]

    def run(text: str) -> list[str]:
        return [p.pattern for p in patterns if p.search(text)]

    return run


def compile_cost(terms: Sequence[str]) -> tuple[float, float, float, int]:
    """Seconds, traced MiB and RSS MiB to compile `terms` from cold caches (dictionaries already loaded)."""
    word_forms.cache_clear()
    gc.collect()
    rss0 = psutil.Process().memory_info().rss
    tracemalloc.start()
    started = time.perf_counter()
    matcher = compile_rules(specs_for(terms))
    seconds = time.perf_counter() - started
    traced = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    rss = psutil.Process().memory_info().rss - rss0
    return seconds, traced / 2**20, rss / 2**20, matcher.tables.key_count


def run(report: Report) -> None:
    """Add the rules rows to the report."""
    if not corpus.available():
        report.add(SECTION, "throughput", "skipped", "needs ../shared/data/replay")
        return
    texts = corpus_texts()
    started = time.perf_counter()
    analyzer("ru"), analyzer("uk")
    report.add(SECTION, "load ru+uk dictionaries", f"{time.perf_counter() - started:.2f} s")
    sizes = (10, 100, 1000)
    terms = term_list(texts, max(sizes))
    seconds, traced, rss, keys = compile_cost(terms)
    report.add(SECTION, "compile 1,000 terms", f"{seconds:.2f} s", f"{keys:,} word forms in the automaton")
    report.add(SECTION, "memory of 1,000 compiled terms", f"{traced:.1f} MiB traced, {rss:.1f} MiB RSS")
    ours: dict[int, float] = {}
    # every size runs over the same posts: those the largest gets through in its time
    largest: CompiledRules = compile_rules(specs_for(terms[: max(sizes)]))
    ours[max(sizes)], n = rate(texts, largest.match)
    for size in sizes:
        if size != max(sizes):
            ours[size], _ = rate(texts[:n], compile_rules(specs_for(terms[:size])).match)
        theirs, m = rate(texts, naive(terms[:size]))
        speedup = ours[size] / theirs
        target, ok = {1000: ("≥ 20× naive", speedup >= 20), 10: ("≥ 1× naive", speedup >= 1)}.get(
            size, ("", None)
        )
        rate_target, rate_ok = ("≥ 40,000 posts/s", ours[size] >= 40_000) if size == 1000 else ("", None)
        report.add(
            SECTION,
            f"match, {size:,} terms",
            f"{ours[size]:,.0f} posts/s ({n:,} posts)",
            rate_target,
            rate_ok,
        )
        report.add(SECTION, f"naive regex loop, {size:,} terms", f"{theirs:,.0f} posts/s ({m:,} posts)")
        report.add(SECTION, f"speed-up at {size:,} terms", f"{speedup:.1f}×", target, ok)
    ratio = ours[10] / ours[1000]
    report.add(SECTION, "cost 1,000 terms / 10 terms", f"{ratio:.2f}×", "≤ 1.3×", ratio <= 1.3)
    from bench.eval.evaluate import evaluate_packs
    from bench.eval.real import shipped_packs

    packs = shipped_packs()
    gated = sum(bool(r.gates or r.near or r.all_ or r.none_) for r in packs.tables.rules)
    speed, n = rate(texts, packs.match)
    report.add(
        SECTION,
        f"match, shipped packs ({len(packs.names)} rules, {gated} with exclusions or context)",
        f"{speed:,.0f} posts/s ({n:,} posts)",
        f"vs {ours[10]:,.0f} posts/s for 10 plain terms",
    )
    evaluate_packs(report, SECTION)


if __name__ == "__main__":
    rep = Report()
    run(rep)
    rep.print()
