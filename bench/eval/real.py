"""Precision and recall of the shipped packs on the blind-labelled real texts in bench/eval/real/.

Per concept and per language, on each split (dev: tuned on; test: reported), plus micro totals. The
files may be absent or still being written: what is there is measured, and a note says what is not.
"""

from __future__ import annotations

from pathlib import Path

from bench.report import Report
from bot.rules import CompiledRules, compile_rules
from bot.rules.evaluation import Counts, EvalInputError, Evaluation, Example, evaluate, read_jsonl, select
from bot.rules.packs import available_packs, pack_path
from config.loader import load_rule_pack

REAL = Path(__file__).resolve().parent / "real"
FILES = ("ru.jsonl", "uk.jsonl", "en-1.jsonl", "en-2.jsonl")
SPLITS = ("dev", "test")
TARGET = 0.93  # micro precision and recall on the test split
FLOOR = 0.90  # every concept and every language


def shipped_packs() -> CompiledRules:
    """Every shipped pack in one matcher, as a config listing them all would have it."""
    return compile_rules([s for name in available_packs() for s in load_rule_pack(pack_path(name))])


def load_real(report: Report, section: str) -> list[Example]:
    """The records of every present file; a missing or broken file is a printed note, not a failure."""
    examples: list[Example] = []
    for name in FILES:
        path = REAL / name
        if not path.is_file():
            report.add(section, f"real set {name}", "absent (skipped)")
            continue
        with path.open(encoding="utf-8") as f:
            lines = f.read().splitlines()
        good, bad = read_partial(lines, f"bench/eval/real/{name}")
        examples += good
        if bad:
            report.add(section, f"real set {name}", f"{len(bad)} unreadable lines skipped (first: {bad[0]})")
    return examples


def read_partial(lines: list[str], source: str) -> tuple[list[Example], list[str]]:
    """The readable records of a file that may be half written, and a message per unreadable line."""
    try:
        return read_jsonl(lines, source), []
    except EvalInputError:
        pass
    good: list[Example] = []
    bad: list[str] = []
    for number, line in enumerate(lines, 1):
        padded = [""] * (number - 1) + [line]  # keeps file:line in messages and example locations
        try:
            good += read_jsonl(padded, source)
        except EvalInputError as e:
            bad.append(str(e))
    return good, bad


def _pr(c: Counts) -> str:
    return f"P {c.precision:.2f}  R {c.recall:.2f}  ({c.n} labels, {c.positives} yes; FP {c.fp}, FN {c.fn})"


def report_split(report: Report, section: str, split: str, ev: Evaluation) -> None:
    """Rows for one split: every concept, every language, the micro total (targets on test only)."""
    judged = split == "test"
    for rule, c in sorted(ev.rules.items()):
        ok = c.precision >= FLOOR and c.recall >= FLOOR if judged else None
        report.add(section, f"real {split}: {rule}", _pr(c), "P, R ≥ 0.90" if judged else "", ok)
    for lang, c in sorted(ev.by_lang.items()):
        ok = c.precision >= FLOOR and c.recall >= FLOOR if judged else None
        report.add(section, f"real {split}: language {lang}", _pr(c), "P, R ≥ 0.90" if judged else "", ok)
    total = ev.total
    ok = total.precision >= TARGET and total.recall >= TARGET if judged else None
    report.add(
        section,
        f"real {split}: micro ({ev.examples} texts)",
        _pr(total),
        "P, R ≥ 0.93" if judged else "",
        ok,
    )


def run(report: Report, section: str = "eval") -> None:
    """Measure the shipped packs on each split of the real set."""
    examples = load_real(report, section)
    if not examples:
        report.add(section, "real set", "no records yet (bench/eval/real/*.jsonl absent): skipped")
        return
    matcher = shipped_packs()
    for split in SPLITS:
        chosen = select(examples, split=split)
        if not chosen:
            report.add(section, f"real {split}", "no records in this split yet")
            continue
        report_split(report, section, split, evaluate(matcher, matcher.names, chosen, explain_misses=False))
