"""Training a relevance model: L2-regularised logistic regression, fitted with L-BFGS in numpy.

Classes are weighted to balance (a desk marks far more alerts relevant than not), so a score of 0.5
means the text looks as much like the relevant marks as like the false positives. Features seen in
only one training text are dropped when there are enough texts, and the weights are pruned to the
strongest `MAX_WEIGHTS`, which keeps a model small (a few hundred KB of JSON).
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.relevance.features import sized_tokens, word_features
from bot.relevance.model import RelevanceModel

C = 16.0  # inverse regularisation strength (per balanced example)
MAX_WEIGHTS = 12_000
MIN_DF_FROM = 200  # with at least this many texts, a feature must occur in two of them
ITERATIONS = 40  # L-BFGS steps at most; the ranking of texts settles well before

Vector = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Example:
    """One training text and whether it is relevant to the rule."""

    text: str
    relevant: bool
    weight: float = 1.0  # e.g. a desk's own marks may count more than the shipped examples


def train(
    rule: str,
    examples: Sequence[Example],
    *,
    c: float = C,
    source: str = "marks",
    trained_at: str = "",
    info: Mapping[str, Any] | None = None,
) -> RelevanceModel:
    """A model of `rule` from labelled texts (both kinds needed; ValueError otherwise)."""
    pos = sum(e.relevant for e in examples)
    neg = len(examples) - pos
    if not pos or not neg:
        raise ValueError(f"training {rule!r} needs relevant and false-positive examples ({pos}/{neg})")
    sized = [sized_tokens(e.text) for e in examples]
    docs = [doc for doc, _ in sized]
    # each text is scaled by all its features, seen in training or not (as in scoring)
    scale = 1.0 / np.sqrt(np.maximum([size for _, size in sized], 1.0))
    df: Counter[str] = Counter()
    for doc in docs:
        df.update(doc)  # C-level counting
    # a token seen in one text only teaches little (and costs much) once there are enough texts
    least = 2 if len(examples) >= MIN_DF_FROM else 1
    names = [t for t, n in df.items() if n >= least]
    index = {t: i for i, t in enumerate(names)}
    kept = [[i for i in map(index.get, doc) if i is not None] for doc in docs]
    d_rows = np.repeat(np.arange(len(docs)), [len(k) for k in kept])
    d_cols = np.fromiter(itertools.chain.from_iterable(kept), dtype=np.int64, count=len(d_rows))
    features: defaultdict[str, int] = defaultdict(itertools.count().__next__)
    w_cols_list: list[int] = []
    sizes: list[int] = []
    for t in names:
        if " " in t:  # a pair: its one feature is its own
            w_cols_list.append(features[f"b:{t}"])
            sizes.append(1)
        else:
            found = word_features(t)
            w_cols_list.extend(map(features.__getitem__, found))
            sizes.append(len(found))
    w_rows = np.repeat(np.arange(len(names)), sizes)
    w_cols = np.array(w_cols_list, dtype=np.int64)
    y = np.array([1.0 if e.relevant else 0.0 for e in examples])
    base = np.array([e.weight for e in examples], dtype=np.float64)
    # balanced: each class carries half of the total weight
    sw = np.where(y > 0, 0.5 / base[y > 0].sum(), 0.5 / base[y == 0].sum()) * base * len(examples)
    w = _fit(_Design(d_rows, d_cols, w_rows, w_cols, scale, len(names), len(features)), y, sw, 1.0 / c)
    feature_names = list(features)
    coef = w[:-1]
    strongest = np.argsort(-np.abs(coef))[:MAX_WEIGHTS]
    weights = {feature_names[j]: float(coef[j]) for j in strongest if abs(coef[j]) >= 1e-4}
    return RelevanceModel(
        rule=rule,
        bias=float(w[-1]),
        weights=weights,
        relevant=pos,
        false_positive=neg,
        source=source,
        trained_at=trained_at,
        info=dict(info or {}),
    )


@dataclass(frozen=True, slots=True)
class _Design:
    """The texts x features matrix, factored: texts x tokens (D) times tokens x features (W), scaled.

    A text's features are the union of its tokens' features, so X = diag(scale) D W; multiplying
    through the factors touches ~15 times fewer entries than X itself would."""

    d_rows: npt.NDArray[np.int64]
    d_cols: npt.NDArray[np.int64]
    w_rows: npt.NDArray[np.int64]
    w_cols: npt.NDArray[np.int64]
    scale: Vector
    tokens: int
    dim: int

    def times(self, w: Vector) -> Vector:
        per_token = np.bincount(self.w_rows, weights=w[self.w_cols], minlength=self.tokens)
        out = np.bincount(self.d_rows, weights=per_token[self.d_cols], minlength=len(self.scale))
        return np.asarray(out, dtype=np.float64) * self.scale

    def transposed_times(self, g: Vector) -> Vector:
        per_token = np.bincount(self.d_cols, weights=(g * self.scale)[self.d_rows], minlength=self.tokens)
        out = np.bincount(self.w_cols, weights=per_token[self.w_rows], minlength=self.dim)
        return np.asarray(out, dtype=np.float64)


def _fit(x: _Design, y: Vector, sw: Vector, lam: float) -> Vector:
    """Weights (and the bias last) minimising the weighted logistic loss plus lam/2 |w|²."""

    def loss_grad(v: Vector) -> tuple[float, Vector]:
        w, b = v[:-1], v[-1]
        z = x.times(w) + b
        # log(1 + e^z) - y z, computed stably
        loss = float(np.sum(sw * (np.logaddexp(0.0, z) - y * z))) + 0.5 * lam * _dot(w, w)
        dz = sw * (_sigmoid(z) - y)
        grad = np.empty_like(v)
        grad[:-1] = x.transposed_times(dz) + lam * w
        grad[-1] = dz.sum()
        return loss, grad

    return lbfgs(loss_grad, np.zeros(x.dim + 1), iterations=ITERATIONS)


def _sigmoid(z: Vector) -> Vector:
    out: Vector = np.exp(-np.logaddexp(0.0, -z))
    return out


def _dot(a: Vector, b: Vector) -> float:
    # einsum, not BLAS: a threaded BLAS on a busy machine makes these small products 10x slower
    return float(np.einsum("i,i->", a, b))


def lbfgs(
    fun: Callable[[Vector], tuple[float, Vector]],
    x0: Vector,
    *,
    iterations: int = ITERATIONS,
    memory: int = 10,
    tol: float = 1e-6,
) -> Vector:
    """Minimise a smooth convex function given its value and gradient (limited-memory BFGS)."""
    x = x0
    f, g = fun(x)
    history: list[tuple[Vector, Vector, float]] = []
    for _ in range(iterations):
        q = g.copy()
        alphas: list[float] = []
        for s, yv, rho in reversed(history):
            a = rho * _dot(s, q)
            alphas.append(a)
            q -= a * yv
        if history:
            s, yv, _ = history[-1]
            q *= _dot(s, yv) / _dot(yv, yv)
        for (s, yv, rho), a in zip(history, reversed(alphas), strict=True):
            q += s * (a - rho * _dot(yv, q))
        d = -q
        slope = _dot(g, d)
        if slope >= 0:  # not a descent direction: restart from the gradient
            history.clear()
            d, slope = -g, -_dot(g, g)
        step = 1.0
        while True:
            xn = x + step * d
            fn, gn = fun(xn)
            if fn <= f + 1e-4 * step * slope or step < 1e-10:
                break
            step *= 0.5
        s, yv = xn - x, gn - g
        sy = _dot(s, yv)
        if sy > 1e-12:
            history.append((s, yv, 1.0 / sy))
            if len(history) > memory:
                history.pop(0)
        decrease = f - fn
        x, f, g = xn, fn, gn
        if np.sqrt(_dot(g, g)) <= tol * max(1.0, np.sqrt(_dot(x, x))) or decrease <= 1e-10 * max(1.0, abs(f)):
            break
    return x
