"""Precision and recall of the shipped rule packs on the hand-labelled posts in labels.tsv."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from bench import corpus
from bench.report import Report
from bot.rules import compile_rules
from bot.rules.packs import available_packs, pack_path
from config.loader import load_rule_pack

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


def evaluate_packs(report: Report, section: str) -> None:
    """Add one precision/recall row per labelled rule, and the overall figures."""
    labels = load_labels()
    texts = texts_by_key({f for f, _, _, _ in labels})
    matcher = compile_rules([s for name in available_packs() for s in load_rule_pack(pack_path(name))])
    total = {"tp": 0, "fp": 0, "fn": 0}
    for rule in sorted({r for _, _, r, _ in labels}):
        c = {"tp": 0, "fp": 0, "fn": 0, "pos": 0, "n": 0}
        for file, mid, r, relevant in labels:
            if r != rule:
                continue
            hit = rule in {m.rule for m in matcher.match(texts[(file, mid)])}
            c["n"] += 1
            c["pos"] += relevant
            c["tp"] += hit and relevant
            c["fp"] += hit and not relevant
            c["fn"] += relevant and not hit
        for k in total:
            total[k] += c[k]
        p = c["tp"] / max(1, c["tp"] + c["fp"])
        rec = c["tp"] / max(1, c["tp"] + c["fn"])
        report.add(
            section,
            f"eval '{rule}' ({c['n']} posts, {c['pos']} relevant)",
            f"precision {p:.2f}, recall {rec:.2f}",
        )
    p = total["tp"] / max(1, total["tp"] + total["fp"])
    rec = total["tp"] / max(1, total["tp"] + total["fn"])
    report.add(
        section, "eval, all labelled rules", f"precision {p:.2f}, recall {rec:.2f}",
        "recall ≥ 0.95, precision ≥ 0.9", rec >= 0.95 and p >= 0.9,
    )  # fmt: skip
