"""`make models`: train the shipped packs' relevance models on the DEV split of the real-text set.

Writes config/rules/models/<pack>.json (one model per rule that the set labels), with the SHA-256 of
the pack file it was built beside. The test split is never read here.
"""

from __future__ import annotations

import sys
import time

from bench.eval.real import load_real
from bench.report import Report
from bot.relevance import Example, RelevanceModel, train
from bot.relevance.shipped import dump_pack, model_path, models_dir, pack_sha256
from bot.rules.evaluation import Example as Labelled
from bot.rules.evaluation import select
from bot.rules.packs import available_packs, pack_path
from config.loader import load_rule_pack


def dev_examples(examples: list[Labelled], rule: str) -> list[Example]:
    """The dev texts labelled for `rule`, as training examples."""
    return [Example(e.text, e.labels[rule]) for e in select(examples, split="dev") if rule in e.labels]


def build_pack(pack: str, examples: list[Labelled]) -> list[RelevanceModel]:
    """A model for each rule of `pack` that the real set labels."""
    models = []
    for spec in load_rule_pack(pack_path(pack)):
        train_set = dev_examples(examples, spec.name)
        if train_set:
            models.append(
                train(
                    spec.name,
                    train_set,
                    source=f"pack {pack}",
                    info={"trained_on": "real-text set, dev split"},
                )
            )
    return models


def main() -> int:
    examples = load_real(Report(), "models")
    if not select(examples, split="dev"):
        print("bench/eval/real/*.jsonl has no dev records: no models built", file=sys.stderr)
        return 1
    models_dir().mkdir(parents=True, exist_ok=True)
    total = 0
    for pack in available_packs():
        started = time.perf_counter()
        models = build_pack(pack, examples)
        path = model_path(pack)
        if not models:
            path.unlink(missing_ok=True)
            continue
        text = dump_pack(pack, models, pack_sha256(pack_path(pack)))
        path.write_text(text, encoding="utf-8")
        total += len(text.encode())
        took = time.perf_counter() - started
        print(
            f"{path.name}: {', '.join(m.rule for m in models)} ({len(text.encode()) / 1e6:.2f} MB, {took:.1f} s)"
        )
    print(f"total {total / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
