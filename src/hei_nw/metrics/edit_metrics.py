"""Knowledge-editing metrics, named as the field names them.

* ``rewrite_acc`` -- the edit prompt yields the new target (efficacy).
* ``rephrase_acc`` -- a paraphrase of the prompt yields the new target (generalisation).
* ``locality`` -- an unrelated prompt's output is unchanged *relative to the same model
  before the edit* (not relative to ground truth).

Each comes in two scoring modes, named in the key: ``*_tf`` is EasyEdit-style
teacher-forced token accuracy (the target is fed after the prompt and the argmax at each
target position is compared with the target token; for locality, the post-edit argmax
tokens are compared with the pre-edit argmax tokens at the same positions), ``*_gen`` is
greedy generation scored by exact match (for locality: the same normalised output as
before the edit).
"""

from __future__ import annotations

from collections.abc import Sequence

from hei_nw.metrics.text import normalize_answer


def agreement(before: Sequence[list[int]], after: Sequence[list[int]]) -> list[float]:
    """Per prompt: share of positions where the post-edit argmax equals the pre-edit one."""
    return [
        sum(a == b for a, b in zip(x, y, strict=True)) / max(1, len(x))
        for x, y in zip(before, after, strict=True)
    ]


def target_hit(prediction: str, target: str) -> bool:
    """Generation scoring: the normalised output starts with the normalised target."""
    pred, gold = normalize_answer(prediction), normalize_answer(target)
    return bool(gold) and (pred == gold or pred.startswith(gold + " "))


def same_output(before: str, after: str) -> bool:
    return normalize_answer(before) == normalize_answer(after)


__all__ = ["agreement", "same_output", "target_hit"]
