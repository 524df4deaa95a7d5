"""Write gate: store an episode after one exposure when it is worth it.

``S = alpha * surprise + beta * novelty + gamma * reward + delta * pin``; write when
``S > tau``. surprise is the base model's mean NLL of the episode divided by
``ln(vocab)`` (so it shares novelty's 0-1 scale and a verbatim repeat, novelty 0,
falls below tau),
novelty is ``1 - max cosine`` to the keys already stored, reward and pin come from the
caller (a task reward; ``pin`` is also set when the text carries one of
``GateConfig.pin_markers``, see :func:`detect_pin`). The gate never sees labels:
``should_remember`` only scores it (:func:`gate_telemetry`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hei_nw.memory.config import GateConfig


def gate_surprise(config: GateConfig, mean: np.ndarray, total: np.ndarray) -> np.ndarray:
    """The surprise term the gate adds, per text: ``mean`` NLL / ln(vocab) or the
    ``total`` NLL in nats / ``config.total_scale`` (see :class:`GateConfig`)."""
    if config.surprise == "total":
        return np.asarray(total, dtype=np.float64) / config.total_scale
    return np.asarray(mean, dtype=np.float64)


def detect_pin(text: str, markers: Sequence[str]) -> bool:
    """Whether ``text`` carries an explicit "remember this" marker (case-insensitive)."""
    low = text.lower()
    return any(m.lower() in low for m in markers)


@dataclass(frozen=True)
class GateDecision:
    surprise: float
    novelty: float
    reward: float
    pin: bool
    S: float
    write: bool


class WriteGate:
    def __init__(self, config: GateConfig | None = None) -> None:
        self.config = config or GateConfig()

    def score(
        self, surprise: float, novelty: float, reward: float = 0.0, pin: bool = False
    ) -> float:
        c = self.config
        return c.alpha * surprise + c.beta * novelty + c.gamma * reward + c.delta * float(pin)

    def decide(
        self, surprise: float, novelty: float, reward: float = 0.0, pin: bool = False
    ) -> GateDecision:
        s = self.score(surprise, novelty, reward, pin)
        return GateDecision(surprise, novelty, reward, pin, s, s > self.config.tau)


def pr_auc(
    scores: Sequence[float] | np.ndarray, labels: Sequence[bool] | np.ndarray
) -> float | None:
    """Average precision of ``scores`` against binary ``labels`` (None if one class only)."""
    y = np.asarray(labels, dtype=bool)
    if y.all() or not y.any():
        return None
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    hits = y[order]
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float((precision * hits).sum() / hits.sum())


def gate_telemetry(
    scores: Sequence[float] | np.ndarray,
    writes: Sequence[bool] | np.ndarray,
    labels: Sequence[bool] | np.ndarray,
    tokens: float,
    bins: int = 10,
) -> dict[str, object]:
    """Score a gate against labels: PR-AUC, precision/recall, writes per 1k tokens, calibration."""
    w = np.asarray(writes, dtype=bool)
    y = np.asarray(labels, dtype=bool)
    tp = int((w & y).sum())
    s = np.asarray(scores, dtype=np.float64)
    edges = np.quantile(s, np.linspace(0, 1, bins + 1)) if len(s) else np.zeros(bins + 1)
    calibration = []
    for lo, hi in itertools.pairwise(edges):
        sel = (s >= lo) & (s <= hi)
        if sel.any():
            calibration.append(
                {
                    "S_lo": float(lo),
                    "S_hi": float(hi),
                    "n": int(sel.sum()),
                    "frac_should_remember": float(y[sel].mean()),
                }
            )
    return {
        "n": len(w),
        "writes": int(w.sum()),
        "write_rate": float(w.mean()) if len(w) else 0.0,
        "writes_per_1k_tokens": float(1000 * w.sum() / max(tokens, 1.0)),
        "precision": tp / int(w.sum()) if w.any() else None,
        "recall": tp / int(y.sum()) if y.any() else None,
        "pr_auc": pr_auc(s, y),
        "calibration": calibration,
    }
