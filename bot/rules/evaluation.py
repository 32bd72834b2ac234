"""Precision and recall of rules on labelled texts: the one core behind `telewatch rules eval` and the bench.

Two input formats, read from lines (the caller opens the file):
- TSV: `text<TAB>rule<TAB>yes|no` per line; the text may contain `\\n`, `\\t` and `\\\\` escapes; several
  lines with the same text label one text for several rules.
- JSONL: one object per line, `{"text": "...", "labels": {"rule": true, ...}}` with optional "id",
  "lang", "split", "url" (the record format of bench/eval/real).
In both, blank lines and lines starting with `#` are skipped. Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.domain.models import Match
from bot.rules.explain import RuleReport

YES = frozenset({"yes", "y", "true", "1"})
NO = frozenset({"no", "n", "false", "0"})
TRIM = 160


class EvalInputError(ValueError):
    """A labelled file has a bad line; `where` is "file:line"."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled text: the rules it should and should not match."""

    text: str
    labels: dict[str, bool]
    where: str  # file:line of its (first) record
    id: str = ""
    lang: str | None = None
    split: str | None = None


class Matcher(Protocol):
    def match(self, text: str) -> list[Match]: ...

    def explain(self, text: str, *, rules: Sequence[str] | None = None) -> list[RuleReport]: ...


def _unescape(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in "nt\\":
            out.append({"n": "\n", "t": "\t", "\\": "\\"}[text[i + 1]])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def read_tsv(lines: Iterable[str], source: str) -> list[Example]:
    """Examples from `text<TAB>rule<TAB>yes|no` lines (a text may repeat, one line per rule)."""
    by_text: dict[str, Example] = {}
    for number, line in enumerate(lines, 1):
        line = line.rstrip("\r\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{source}:{number}"
        parts = line.split("\t")
        if len(parts) < 3:
            raise EvalInputError(where, "expected three tab-separated columns: text, rule, yes|no")
        text, rule, value = "\t".join(parts[:-2]), parts[-2].strip(), parts[-1].strip().lower()
        if not text.strip():
            raise EvalInputError(where, "the text column is empty")
        if not rule:
            raise EvalInputError(where, "the rule column is empty")
        if value not in YES | NO:
            raise EvalInputError(where, f"the last column must be yes or no, got {parts[-1].strip()!r}")
        text = _unescape(text)
        example = by_text.setdefault(text, Example(text, {}, where))
        if rule in example.labels and example.labels[rule] != (value in YES):
            raise EvalInputError(where, f"contradicts an earlier label of this text for rule {rule!r}")
        example.labels[rule] = value in YES
    return list(by_text.values())


def _optional_str(record: dict[str, Any], key: str, where: str) -> str | None:
    value = record.get(key)
    if value is not None and not isinstance(value, str):
        raise EvalInputError(where, f'"{key}" must be a string')
    return value


def read_jsonl(lines: Iterable[str], source: str) -> list[Example]:
    """Examples from JSON lines: {"text": ..., "labels": {rule: bool}, "id", "lang", "split"}."""
    out: list[Example] = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{source}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise EvalInputError(where, f"not valid JSON ({e.msg} at column {e.colno})") from None
        if not isinstance(record, dict):
            raise EvalInputError(where, "a record must be a JSON object")
        text = record.get("text")
        if not isinstance(text, str) or not text.strip():
            raise EvalInputError(where, 'the record needs a non-empty "text" string')
        labels = record.get("labels")
        if not isinstance(labels, dict) or not labels:
            raise EvalInputError(where, 'the record needs "labels": {"rule": true or false, ...}')
        for rule, value in labels.items():
            if not isinstance(value, bool):
                raise EvalInputError(where, f"label {rule!r} must be true or false, got {value!r}")
        ident = record.get("id", "")
        out.append(
            Example(
                text=text,
                labels=dict(labels),
                where=where,
                id=str(ident) if ident is not None else "",
                lang=_optional_str(record, "lang", where),
                split=_optional_str(record, "split", where),
            )
        )
    return out


def read_examples(lines: Iterable[str], source: str) -> list[Example]:
    """TSV or JSONL, judged by the file name's extension, else by the first record's first character."""
    lowered = source.lower()
    if lowered.endswith((".jsonl", ".json", ".ndjson")):
        return read_jsonl(lines, source)
    if lowered.endswith((".tsv", ".txt")):
        return read_tsv(lines, source)
    buffered = list(lines)
    first = next((x for x in buffered if x.strip() and not x.lstrip().startswith("#")), "")
    reader = read_jsonl if first.lstrip().startswith("{") else read_tsv
    return reader(buffered, source)


@dataclass
class Counts:
    """Confusion counts of one rule, language or split; precision and recall are 1.0 when undefined."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, other: Counts) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.tn += other.tn

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def positives(self) -> int:
        return self.tp + self.fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "n": self.n,
            "positives": self.positives,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            # null when nothing was evaluated (every label named an unknown rule): not a perfect score
            "precision": round(self.precision, 4) if self.n else None,
            "recall": round(self.recall, 4) if self.n else None,
            "f1": round(self.f1, 4) if self.n else None,
        }


@dataclass(frozen=True, slots=True)
class Error:
    """A miss (labelled yes, not matched) or a false hit (labelled no, matched)."""

    kind: str  # "miss" | "false hit"
    rule: str
    example: Example
    words: tuple[str, ...]  # matched words (false hit), or words found but cancelled (miss)
    note: str = ""  # for a miss: why the rule did not match

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "rule": self.rule,
            "where": self.example.where,
            "id": self.example.id,
            "lang": self.example.lang,
            "text": trim(self.example.text),
            "words": list(self.words),
            "note": self.note,
        }


@dataclass
class Evaluation:
    """Per-rule counts, micro totals, breakdowns, and the errors, of one matcher on a set of examples."""

    rules: dict[str, Counts] = field(default_factory=dict)
    errors: list[Error] = field(default_factory=list)
    examples: int = 0
    unknown_rules: dict[str, int] = field(default_factory=dict)  # labelled rules the matcher lacks
    by_lang: dict[str, Counts] = field(default_factory=dict)
    by_rule_lang: dict[tuple[str, str], Counts] = field(default_factory=dict)

    @property
    def total(self) -> Counts:
        out = Counts()
        for c in self.rules.values():
            out.add(c)
        return out

    def to_dict(self) -> dict[str, object]:
        return {
            "examples": self.examples,
            "rules": {r: c.to_dict() for r, c in sorted(self.rules.items())},
            "micro": self.total.to_dict(),
            "languages": {lang: c.to_dict() for lang, c in sorted(self.by_lang.items())},
            "unknown_rules": dict(sorted(self.unknown_rules.items())),
            "errors": [e.to_dict() for e in self.errors],
        }


def trim(text: str, limit: int = TRIM) -> str:
    """One line of at most `limit` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def select(examples: Sequence[Example], split: str | None = None, lang: str | None = None) -> list[Example]:
    """Examples of one split and/or language (examples without the field never pass a filter on it)."""
    return [e for e in examples if (split is None or e.split == split) and (lang is None or e.lang == lang)]


def evaluate(
    matcher: Matcher,
    names: Sequence[str],
    examples: Sequence[Example],
    *,
    only: Sequence[str] | None = None,
    explain_misses: bool = True,
    progress: Callable[[], None] | None = None,
) -> Evaluation:
    """Match every example once and count, per labelled rule the matcher has, hits against labels."""
    known = set(names)
    wanted = set(only) if only else None
    ev = Evaluation(examples=len(examples))
    for example in examples:
        matches = {m.rule: m for m in matcher.match(example.text)}
        lang = example.lang or "?"
        for rule, expected in example.labels.items():
            if wanted is not None and rule not in wanted:
                continue
            if rule not in known:
                ev.unknown_rules[rule] = ev.unknown_rules.get(rule, 0) + 1
                continue
            got = rule in matches
            one = Counts(tp=int(got and expected), fp=int(got and not expected))
            one.fn, one.tn = int(expected and not got), int(not expected and not got)
            ev.rules.setdefault(rule, Counts()).add(one)
            ev.by_lang.setdefault(lang, Counts()).add(one)
            ev.by_rule_lang.setdefault((rule, lang), Counts()).add(one)
            if got and not expected:
                words = tuple(dict.fromkeys(h.text for h in matches[rule].hits))
                ev.errors.append(Error("false hit", rule, example, words))
            elif expected and not got:
                ev.errors.append(_miss(matcher, rule, example, explain_misses))
        if progress is not None:
            progress()
    return ev


def _miss(matcher: Matcher, rule: str, example: Example, explain: bool) -> Error:
    if not explain:
        return Error("miss", rule, example, ())
    (report,) = matcher.explain(example.text, rules=[rule])
    found = tuple(
        dict.fromkeys(h.text for t in report.terms if t.role in ("any", "all", "near") for h in t.hits)
    )
    if report.cancelled:
        note = report.cancelled[0]
    elif not found:
        note = "no term of the rule occurs"
    else:
        note = report.reasons[0] if report.reasons else ""
    return Error("miss", rule, example, found, trim(note, 200))
