"""Paired bootstrap confidence intervals for per-item metric differences, and the AUC
of a score against a binary outcome."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

import numpy as np
from numpy.typing import ArrayLike


class BootstrapCI(TypedDict):
    n: int
    mean_a: float
    mean_b: float
    diff: float
    ci_low: float
    ci_high: float
    level: float
    n_boot: int
    excludes_zero: bool


def paired_bootstrap(
    a: Sequence[float], b: Sequence[float], n_boot: int = 2000, seed: int = 0, level: float = 0.95
) -> BootstrapCI:
    """CI of ``mean(b) - mean(a)`` by resampling item pairs with replacement.

    With a single pair the interval collapses to a point, which says nothing about
    uncertainty: ``excludes_zero`` is then always ``False``. A bound that is zero but for
    float rounding (a mean of differences such as 0.17 - 0.10 summing to 1e-17) counts
    as zero, not as excluding it."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.size == 0:
        raise ValueError(f"need two equal-length, non-empty samples (got {x.size} and {y.size})")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(n_boot, x.size))  # [n_boot, n]
    diffs = (y[idx] - x[idx]).mean(axis=1)
    alpha = (1 - level) / 2
    low, high = np.quantile(diffs, [alpha, 1 - alpha])
    tol = 1e-9 * max(1.0, float(np.abs(np.concatenate([x, y])).max()))  # rounding, not signal
    return BootstrapCI(
        n=int(x.size),
        mean_a=float(x.mean()),
        mean_b=float(y.mean()),
        diff=float(y.mean() - x.mean()),
        ci_low=float(low),
        ci_high=float(high),
        level=level,
        n_boot=n_boot,
        excludes_zero=bool(x.size >= 2 and (low > tol or high < -tol)),
    )


def auc(scores: ArrayLike, positive: ArrayLike) -> float:
    """Area under the ROC curve of ``scores`` for telling ``positive`` items from the
    rest: the chance that a random positive scores above a random negative (ties count
    one half), by the Mann-Whitney rank sum. 0.5 is no separation."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(positive, dtype=bool)
    if s.shape != y.shape:
        raise ValueError(f"need one outcome per score (got {s.size} scores, {y.size} outcomes)")
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError(f"need both outcomes (got {n_pos} positive, {n_neg} negative)")
    _, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    below = np.cumsum(counts) - counts  # items strictly below each distinct value
    ranks = (below + (counts + 1) / 2)[inverse]  # 1-based ranks, ties averaged
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
