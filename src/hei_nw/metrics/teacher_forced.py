"""Teacher-forced scoring of a target continuation (the knowledge-editing field's metric).

For a prompt and a target answer, the target (after a space) is fed on top of the
prompt's cache and, at each target position, the model's argmax token and the
log-probability of the target token are read. Token accuracy is the fraction of argmax
tokens that match (EasyEdit's ``rewrite_acc`` style). Prompts share their few-shot
prefix's KV cache and batches run in one forward pass each
(:meth:`hei_nw.models.base.GenerationPipeline.run`).
"""

from __future__ import annotations

from collections.abc import Sequence

from hei_nw.models.base import GenerationPipeline, Prompt
from hei_nw.models.decoding import Forced


def teacher_force(
    pipe: GenerationPipeline,
    prompts: Sequence[Prompt],
    targets: Sequence[str],
    batch_size: int = 8,
    prefix: bool = True,
) -> list[Forced]:
    """One :class:`Forced` per (prompt, target); targets are scored after a space."""
    if len(prompts) != len(targets):
        raise ValueError(f"{len(prompts)} prompts but {len(targets)} targets")
    out = pipe.run(prompts, targets=targets, max_new_tokens=0, batch_size=batch_size, prefix=prefix)
    return [d.forced for d in out if d.forced is not None]


__all__ = ["Forced", "teacher_force"]
