"""A relevance model of one rule: a logistic regression over text features, stored as plain JSON.

Only numbers and feature strings are stored (never pickled objects), so a model file can be read
from anywhere without running code. Scoring needs no numpy: a dictionary look-up per feature.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.relevance.features import sized_tokens, token_features

FORMAT = "telewatch-relevance/1"
TOP = 3  # features shown for and against
CACHE = 100_000  # token weights remembered per model


class ModelFormatError(ValueError):
    """A stored model is not a relevance model this version can read."""


@dataclass(frozen=True, slots=True)
class Score:
    """How relevant a matched text looks to a rule's model, and the words that weighed most."""

    value: float  # in [0, 1]
    for_: tuple[tuple[str, float], ...] = ()  # (word, weight) pushing the score up, strongest first
    against: tuple[tuple[str, float], ...] = ()

    def describe(self) -> str:
        """One line: the score and its strongest words for and against."""
        parts = [f"relevance {self.value:.2f}"]
        if self.for_:
            parts.append("for: " + ", ".join(f"{w} (+{v:.2f})" for w, v in self.for_))
        if self.against:
            parts.append("against: " + ", ".join(f"{w} ({v:.2f})" for w, v in self.against))
        return " · ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": round(self.value, 4),
            "for": [[w, round(v, 4)] for w, v in self.for_],
            "against": [[w, round(v, 4)] for w, v in self.against],
        }


@dataclass(frozen=True, slots=True)
class RelevanceModel:
    """Weights of one rule's model and what it was trained on."""

    rule: str
    bias: float
    weights: Mapping[str, float]
    relevant: int  # training examples of each kind
    false_positive: int
    source: str = "marks"  # "marks", or "pack <name>" for a shipped model (maybe with marks added)
    trained_at: str = ""
    info: Mapping[str, Any] = field(default_factory=dict)
    _cache: dict[str, float] = field(default_factory=dict, compare=False, repr=False)

    def token_weight(self, token: str) -> float:
        """The summed weight of a token's features (cached: a word costs one look-up after the first)."""
        cached = self._cache.get(token)
        if cached is None:
            if len(self._cache) >= CACHE:
                self._cache.clear()
            found = token_features(token)
            cached = self._cache[token] = sum(map(self.weights.get, found, itertools.repeat(0.0, len(found))))
        return cached

    def raw(self, toks: list[str], size: int) -> tuple[float, dict[str, float]]:
        """The logit of a tokenised text (with its feature count) and each token's share of it."""
        if not size:
            return self.bias, {}
        scale = 1.0 / math.sqrt(size)
        shares = {t: self.token_weight(t) * scale for t in toks}
        return self.bias + sum(shares.values()), shares

    def value(self, text: str) -> float:
        """The score of `text` alone (the fast path of the pipeline)."""
        return _sigmoid(self.raw(*sized_tokens(text))[0])

    def score(self, text: str, *, top: int = TOP) -> Score:
        """The probability-like score of `text`, with the words that weighed most for and against."""
        logit, shares = self.raw(*sized_tokens(text))
        if not top:
            return Score(_sigmoid(logit))
        ranked = sorted(((w, v) for w, v in shares.items() if v), key=lambda kv: kv[1])
        against = tuple((w, v) for w, v in ranked[:top] if v < 0)
        for_ = tuple((w, v) for w, v in reversed(ranked[-top:]) if v > 0)
        return Score(_sigmoid(logit), for_, against)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "rule": self.rule,
            "bias": round(self.bias, 6),
            "relevant": self.relevant,
            "false_positive": self.false_positive,
            "source": self.source,
            "trained_at": self.trained_at,
            "info": dict(self.info),
            "weights": {k: round(v, 5) for k, v in sorted(self.weights.items())},
        }

    def dumps(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: Any) -> RelevanceModel:
        """A model from its stored form; ModelFormatError names what is wrong."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ModelFormatError(f"not a relevance model (expected format {FORMAT!r})")
        weights = data.get("weights")
        # JSON object keys are strings; values must be finite numbers (checked in C-level loops: fast)
        if (
            not isinstance(weights, dict)
            or not {type(v) for v in weights.values()} <= {float, int}
            or not all(map(math.isfinite, weights.values()))
        ):
            raise ModelFormatError('"weights" must map feature strings to finite numbers')
        bias, rule = data.get("bias"), data.get("rule")
        if not isinstance(bias, int | float) or not math.isfinite(bias):
            raise ModelFormatError('"bias" must be a finite number')
        if not isinstance(rule, str) or not rule:
            raise ModelFormatError('"rule" must be a rule name')
        counts = [data.get("relevant", 0), data.get("false_positive", 0)]
        if not all(isinstance(c, int) and c >= 0 for c in counts):
            raise ModelFormatError('"relevant" and "false_positive" must be counts')
        info = data.get("info", {})
        return cls(
            rule=rule,
            bias=float(bias),
            weights=weights,
            relevant=counts[0],
            false_positive=counts[1],
            source=str(data.get("source", "marks")),
            trained_at=str(data.get("trained_at", "")),
            info=info if isinstance(info, dict) else {},
        )

    @classmethod
    def loads(cls, text: str) -> RelevanceModel:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ModelFormatError(f"not valid JSON ({e.msg} at line {e.lineno})") from None
        return cls.from_dict(data)


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)
