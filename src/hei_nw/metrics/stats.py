"""Paired bootstrap confidence intervals for per-item metric differences."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

import numpy as np


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
    uncertainty: ``excludes_zero`` is then always ``False``."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.size == 0:
        raise ValueError(f"need two equal-length, non-empty samples (got {x.size} and {y.size})")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(n_boot, x.size))  # [n_boot, n]
    diffs = (y[idx] - x[idx]).mean(axis=1)
    alpha = (1 - level) / 2
    low, high = np.quantile(diffs, [alpha, 1 - alpha])
    return BootstrapCI(
        n=int(x.size),
        mean_a=float(x.mean()),
        mean_b=float(y.mean()),
        diff=float(y.mean() - x.mean()),
        ci_low=float(low),
        ci_high=float(high),
        level=level,
        n_boot=n_boot,
        excludes_zero=bool(x.size >= 2 and (low > 0 or high < 0)),
    )
