"""Teacher-forced scoring of a target continuation (the knowledge-editing field's metric).

For a prompt and a target answer, feed ``prompt + " " + target`` once and read, at each
target position, the model's argmax token and the log-probability of the target token.
Token accuracy is the fraction of argmax tokens that match (EasyEdit's ``rewrite_acc``
style). No generation, so it is cheap enough to track retention after every
consolidation cycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from hei_nw.models.base import GenerationPipeline, Prompt


@dataclass(frozen=True)
class Forced:
    """One teacher-forced pair: target ids, argmax ids at those positions, summed logprob."""

    target_ids: list[int]
    argmax_ids: list[int]
    logprob: float

    @property
    def token_accuracy(self) -> float:
        hits = sum(a == b for a, b in zip(self.target_ids, self.argmax_ids, strict=True))
        return hits / max(1, len(self.target_ids))

    @property
    def n_tokens(self) -> int:
        return len(self.target_ids)


@torch.no_grad()
def teacher_force(
    pipe: GenerationPipeline,
    prompts: Sequence[Prompt],
    targets: Sequence[str],
    batch_size: int = 8,
) -> list[Forced]:
    """One :class:`Forced` per (prompt, target); targets are scored after a space."""
    if len(prompts) != len(targets):
        raise ValueError(f"{len(prompts)} prompts but {len(targets)} targets")
    out: list[Forced] = []
    for start in range(0, len(prompts), batch_size):
        rows = [
            _ids(pipe, p, t)
            for p, t in zip(
                prompts[start : start + batch_size],
                targets[start : start + batch_size],
                strict=True,
            )
        ]
        out.extend(_force_batch(pipe, rows))
    return out


def _ids(pipe: GenerationPipeline, prompt: Prompt, target: str) -> tuple[list[int], list[int]]:
    tok = pipe.tokenizer
    p = tok(pipe.render(prompt), add_special_tokens=False)["input_ids"]
    t = tok(" " + target.strip(), add_special_tokens=False)["input_ids"]
    return list(p), list(t)


def _force_batch(
    pipe: GenerationPipeline, rows: Sequence[tuple[list[int], list[int]]]
) -> list[Forced]:
    width = max(len(p) + len(t) for p, t in rows)
    ids = torch.full((len(rows), width), pipe.tokenizer.pad_token_id or 0, dtype=torch.long)
    mask = torch.zeros_like(ids)
    # Left padding keeps every target at the right edge: positions [-n_t:] of each row.
    for i, (p, t) in enumerate(rows):
        ids[i, width - len(p) - len(t) :] = torch.tensor(p + t)
        mask[i, width - len(p) - len(t) :] = 1
    logits = pipe.model(input_ids=ids.to(pipe.device), attention_mask=mask.to(pipe.device)).logits
    logp = torch.log_softmax(logits.float(), dim=-1).cpu()  # [B, T, V]
    out = []
    for i, (_, t) in enumerate(rows):
        n = len(t)
        pos = logp[i, width - n - 1 : width - 1]  # position j predicts token j+1: [n, V]
        lp = pos.gather(-1, torch.tensor(t)[:, None]).sum().item()
        out.append(Forced(list(t), pos.argmax(-1).tolist(), lp))
    return out


__all__ = ["Forced", "teacher_force"]
