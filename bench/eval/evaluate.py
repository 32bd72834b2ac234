"""Precision and recall of the shipped rule packs on the hand-labelled posts in labels.tsv."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from bench import corpus
from bench.report import Report
from bot.rules.evaluation import Example, evaluate

LABELS = Path(__file__).resolve().parent / "labels.tsv"


def load_labels() -> list[tuple[str, int, str, bool]]:
    """(corpus file, message id, rule, relevant) rows; '#' lines are comments."""
    rows = []
    with LABELS.open(encoding="utf-8") as f:
        for rec in csv.reader(
            (line for line in f if line.strip() and not line.startswith("#")), delimiter="\t"
        ):
            rows.append((rec[0], int(rec[1]), rec[2], rec[3].strip() == "yes"))
    return rows


def texts_by_key(files: set[str]) -> dict[tuple[str, int], str]:
    out: dict[tuple[str, int], str] = {}
    for name in files:
        for record in json.loads((corpus.NKTKLN / name).read_text(encoding="utf-8")):
            out[(name, int(record["message_id"]))] = record.get("text") or ""
    return out


def labelled_examples() -> list[Example]:
    """labels.tsv as examples of the shared evaluation core: one per post, labelled for its rules."""
    labels = load_labels()
    texts = texts_by_key({f for f, _, _, _ in labels})
    by_post: dict[tuple[str, int], Example] = {}
    for file, mid, rule, relevant in labels:
        example = by_post.setdefault(
            (file, mid), Example(texts[(file, mid)], {}, f"labels.tsv {file}#{mid}", id=f"{file}#{mid}")
        )
        example.labels[rule] = relevant
    return list(by_post.values())


def evaluate_packs(report: Report, section: str) -> None:
    """Add one precision/recall row per labelled rule, and the overall figures."""
    from bench.eval.real import shipped_packs

    examples = labelled_examples()
    matcher = shipped_packs()
    ev = evaluate(matcher, matcher.names, examples, explain_misses=False)
    for rule, c in sorted(ev.rules.items()):
        report.add(
            section,
            f"eval '{rule}' ({c.n} posts, {c.positives} relevant)",
            f"precision {c.precision:.2f}, recall {c.recall:.2f}",
        )
    total = ev.total
    p, rec = total.precision, total.recall
    report.add(
        section, "eval, all labelled rules", f"precision {p:.2f}, recall {rec:.2f}",
        "recall ≥ 0.95, precision ≥ 0.9", rec >= 0.95 and p >= 0.9,
    )  # fmt: skip
