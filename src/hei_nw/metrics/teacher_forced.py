"""Teacher-forced scoring of a target continuation (the knowledge-editing field's metric).

For a prompt and a target answer, feed ``prompt + target`` once and compare the model's
argmax prediction at each target position with the target token: token accuracy is the
fraction that match (EasyEdit's ``rewrite_acc`` style), and ``logprob`` is the summed
log-probability of the target tokens. No generation, so it is cheap enough to track
retention after every consolidation cycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from hei_nw.models.base import GenerationPipeline, Prompt


@dataclass(frozen=True)
class TargetScore:
    token_accuracy: float
    logprob: float
    n_tokens: int


@torch.no_grad()
def score_targets(
    pipe: GenerationPipeline,
    prompts: Sequence[Prompt],
    targets: Sequence[str],
    batch_size: int = 8,
) -> list[TargetScore]:
    """One :class:`TargetScore` per (prompt, target); targets are scored after a space."""
    tok = pipe.tokenizer
    out: list[TargetScore] = []
    for start in range(0, len(prompts), batch_size):
        rows = [
            _ids(tok, pipe.render(p), t)
            for p, t in zip(
                prompts[start : start + batch_size],
                targets[start : start + batch_size],
                strict=True,
            )
        ]
        out.extend(_score_batch(pipe, rows))
    return out


def _ids(tok: object, prompt: str, target: str) -> tuple[list[int], int]:
    p = tok(prompt, add_special_tokens=False)["input_ids"]  # type: ignore[operator]
    t = tok(" " + target.strip(), add_special_tokens=False)["input_ids"]  # type: ignore[operator]
    return list(p) + list(t), len(t)


def _score_batch(
    pipe: GenerationPipeline, rows: Sequence[tuple[list[int], int]]
) -> list[TargetScore]:
    width = max(len(ids) for ids, _ in rows)
    pad = pipe.tokenizer.pad_token_id or 0
    # Left padding keeps every target at the right edge: positions [-n_t:] of each row.
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, (r, _) in enumerate(rows):
        ids[i, width - len(r) :] = torch.tensor(r)
        mask[i, width - len(r) :] = 1
    logits = pipe.model(input_ids=ids.to(pipe.device), attention_mask=mask.to(pipe.device)).logits
    logp = torch.log_softmax(logits.float(), dim=-1)  # [B, T, V]
    out = []
    for i, (_, n_t) in enumerate(rows):
        target = ids[i, width - n_t :].to(logp.device)  # [n_t]
        pred_lp = logp[i, width - n_t - 1 : width - 1]  # position j predicts token j+1
        acc = (pred_lp.argmax(-1) == target).float().mean().item()
        lp = pred_lp.gather(-1, target[:, None]).sum().item()
        out.append(TargetScore(acc, lp, n_t))
    return out


__all__ = ["TargetScore", "score_targets"]
