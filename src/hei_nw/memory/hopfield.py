"""Modern-Hopfield completion over retrieved candidates (Ramsauer et al., 2020).

Given candidate keys ``M`` ``[c, d]`` (rows L2-normalised) and a cue ``q`` ``[d]``,
each step is ``z <- normalize(softmax(beta * M z) M)``: the cue moves toward the
stored pattern(s) it is most similar to, filling in the dimensions a partial cue
lacks. Candidates are then re-ranked by ``M z``. ``beta`` and ``steps`` are frozen at
inference; only consolidation may produce a new :class:`HopfieldCompletion`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class HopfieldCompletion:
    beta: float = 32.0
    steps: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.steps <= 3:
            raise ValueError(f"hopfield steps must be in 0..3, got {self.steps}")
        if self.beta <= 0:
            raise ValueError(f"hopfield beta must be positive, got {self.beta}")

    def complete(self, patterns: np.ndarray, cue: np.ndarray) -> np.ndarray:
        """The completed state ``z`` ``[d]`` after ``steps`` updates (unit norm)."""
        z = _unit(cue.astype(np.float32))
        for _ in range(self.steps):
            logits = self.beta * (patterns @ z)  # [c]
            weights = np.exp(logits - logits.max())
            weights /= weights.sum()
            z = _unit(weights @ patterns)  # [d]
        return z

    def rerank(self, patterns: np.ndarray, cue: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(order of candidates best first, their scores against the completed state)."""
        if len(patterns) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        scores = patterns @ self.complete(patterns, cue)
        order = np.argsort(-scores, kind="stable")
        return order, scores[order]

    def updated(self, beta: float | None = None, steps: int | None = None) -> HopfieldCompletion:
        """A new instance (consolidation's only way to change the parameters)."""
        return replace(
            self,
            beta=self.beta if beta is None else beta,
            steps=self.steps if steps is None else steps,
        )


def _unit(x: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(x))
    return x / norm if norm > 0 else x
