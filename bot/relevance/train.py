"""Training a relevance model: L2-regularised logistic regression, fitted with L-BFGS in numpy.

Classes are weighted to balance (a desk marks far more alerts relevant than not), so a score of 0.5
means the text looks as much like the relevant marks as like the false positives. Features seen in
only one training text are dropped when there are enough texts, and the weights are pruned to the
strongest `MAX_WEIGHTS`, which keeps a model small (a few hundred KB of JSON).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.relevance.features import features
from bot.relevance.model import RelevanceModel

C = 16.0  # inverse regularisation strength (per balanced example)
MAX_WEIGHTS = 20_000
MIN_DF_FROM = 200  # with at least this many texts, a feature must occur in two of them
ITERATIONS = 150

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
    docs = [features(e.text) for e in examples]
    rows, cols, names = _matrix(docs)
    if len(examples) >= MIN_DF_FROM:
        rows, cols, names = _drop_rare(rows, cols, names, min_df=2)
    # each text's vector has unit length over all its features, seen in training or not (as in scoring)
    sizes = np.array([max(len(d), 1) for d in docs], dtype=np.float64)
    vals = 1.0 / np.sqrt(sizes)[rows]
    y = np.array([1.0 if e.relevant else 0.0 for e in examples])
    base = np.array([e.weight for e in examples], dtype=np.float64)
    # balanced: each class carries half of the total weight
    sw = np.where(y > 0, 0.5 / base[y > 0].sum(), 0.5 / base[y == 0].sum()) * base * len(examples)
    w = _fit(rows, cols, vals, y, sw, len(names), 1.0 / c)
    coef = w[:-1]
    keep = np.argsort(-np.abs(coef))[:MAX_WEIGHTS]
    weights = {names[j]: float(coef[j]) for j in keep if abs(coef[j]) >= 1e-4}
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


def _matrix(docs: Sequence[set[str]]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], list[str]]:
    """Row and column indices of every (text, feature) pair, and the feature of each column."""
    index: defaultdict[str, int] = defaultdict(itertools.count().__next__)
    rows: list[int] = []
    cols: list[int] = []
    for i, doc in enumerate(docs):
        cols.extend(map(index.__getitem__, doc))  # C-level loop: a new feature gets the next column
        rows.extend(itertools.repeat(i, len(doc)))
    return np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64), list(index)


def _drop_rare(
    rows: npt.NDArray[np.int64], cols: npt.NDArray[np.int64], names: list[str], *, min_df: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], list[str]]:
    """Only the columns of features found in at least `min_df` texts, renumbered."""
    df = np.bincount(cols, minlength=len(names))
    kept = np.flatnonzero(df >= min_df)
    renumber = np.full(len(names), -1, dtype=np.int64)
    renumber[kept] = np.arange(len(kept))
    mask = renumber[cols] >= 0
    return rows[mask], renumber[cols[mask]], [names[j] for j in kept]


def _fit(
    rows: npt.NDArray[np.int64],
    cols: npt.NDArray[np.int64],
    vals: Vector,
    y: Vector,
    sw: Vector,
    dim: int,
    lam: float,
) -> Vector:
    """Weights (and the bias last) minimising the weighted logistic loss plus lam/2 |w|²."""
    n = len(y)

    def loss_grad(x: Vector) -> tuple[float, Vector]:
        w, b = x[:-1], x[-1]
        z = np.bincount(rows, weights=vals * w[cols], minlength=n) + b
        # log(1 + e^z) - y z, computed stably
        loss = float(np.sum(sw * (np.logaddexp(0.0, z) - y * z)) + 0.5 * lam * _dot(w, w))
        dz = sw * (_sigmoid(z) - y)
        grad = np.empty_like(x)
        grad[:-1] = np.bincount(cols, weights=vals * dz[rows], minlength=dim) + lam * w
        grad[-1] = dz.sum()
        return loss, grad

    return lbfgs(loss_grad, np.zeros(dim + 1), iterations=ITERATIONS)


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
