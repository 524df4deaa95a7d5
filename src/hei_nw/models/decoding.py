"""Batched decoding with a shared-prefix KV cache: one prefill serves scoring and generation.

Every evaluation prompt of this project starts with the same few-shot prefix
(instruction + demonstrations), and that prefix is most of its tokens. So:

1. prompts are tokenized and grouped by their longest common token prefix
   (:func:`prefix_groups`; a group splits where its members fall into sub-groups with
   much longer prefixes, e.g. prompts with and without notes); each group's prefix is
   run once, batch 1, and its KV cache is shared by every batch of the group
   (:class:`PrefixKV`);
2. inside a group, prompts are batched sorted by length and left-padded *between* the
   prefix and the suffix (pads are masked; position ids continue from the prefix), so
   every row's last prompt token sits at the same slot;
3. one prefill of the suffixes then gives the next-token logits for generation and,
   when a target is given, the teacher-forced scores of the target (fed on top of the
   cache, then cropped away) -- no second pass over the prompt.

Token ids are exactly those of tokenizing each full prompt, so results match a plain
per-prompt forward pass up to floating-point rounding (checked by the batch-invariance
tests). ``prefix=False`` turns step 1 off (the reference path of the benchmarks).
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers import DynamicCache

MIN_PREFIX = 16  # shorter shared prefixes are not worth a separate cache
# Tokens-equivalent cost of one more prefix group when deciding to split a group: its
# batch-1 prefix pass and one more partial batch.
GROUP_OVERHEAD = 64


_CACHE_NAMES: dict[type, str] = {}  # model class -> the KV-cache keyword its forward takes


def cache_kwargs(model: Any, cache: Any) -> dict[str, Any]:
    """``{name: cache}`` under the keyword the model's ``forward`` takes.

    transformers 5.25 renamed ``past_key_values`` to ``cache`` (the old name warns and goes
    in 5.40); 4.x knows only the old one. A peft wrapper passes keywords through, so the
    name is read off the model it wraps.
    """
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    cls = type(inner)
    name = _CACHE_NAMES.get(cls)
    if name is None:
        params = inspect.signature(cls.forward).parameters
        name = _CACHE_NAMES[cls] = "cache" if "cache" in params else "past_key_values"
    return {name: cache}


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


@dataclass
class Decoded:
    """What one prompt produced: generated ids (up to and including the stop), the top-k
    next-token log-probabilities at each generated position, and the forced target."""

    prompt_tokens: int
    generated: list[int] = field(default_factory=list)
    topk_ids: list[list[int]] = field(default_factory=list)
    topk_logprobs: list[list[float]] = field(default_factory=list)
    forced: Forced | None = None


def common_prefix_len(seqs: Sequence[Sequence[int]]) -> int:
    """Length of the token prefix every sequence in ``seqs`` shares."""
    first = seqs[0]
    n = len(first)
    for s in seqs[1:]:
        n = min(n, len(s))
        for i in range(n):
            if s[i] != first[i]:
                n = i
                break
    return n


def prefix_groups(
    seqs: Sequence[Sequence[int]],
    min_prefix: int = MIN_PREFIX,
    *,
    refine: bool = True,
    overhead: int = GROUP_OVERHEAD,
) -> list[list[int]]:
    """Indices of ``seqs`` grouped so each group shares a long token prefix.

    Sorting puts sequences with a common prefix next to each other; a new group starts
    where the common prefix with the running group drops below ``min_prefix``.

    ``refine`` then splits a group where its members fall into sub-groups with much
    longer prefixes of their own -- prompts in two formats (plain and with notes) share
    only the instruction, while each format shares its whole few-shot block. A split is
    taken when it lowers the prompt tokens run (each group's prefix once, plus every
    suffix) by more than ``overhead`` tokens per extra group (its batch-1 prefix pass and
    a partial batch). ``refine=False`` keeps the first, coarse grouping.
    """
    order = sorted(range(len(seqs)), key=lambda i: list(seqs[i]))
    groups: list[list[int]] = []
    common: list[int] = []
    for i in order:
        s = list(seqs[i])
        if groups:
            n = _lcp(common, s)
            if n >= min_prefix:
                groups[-1].append(i)
                common = common[:n]
                continue
        groups.append([i])
        common = s
    if not refine:
        return groups
    return [g for group in groups for g in _refine(group, seqs, min_prefix, overhead)]


def _refine(
    run: list[int], seqs: Sequence[Sequence[int]], min_prefix: int, overhead: int
) -> list[list[int]]:
    """The cheapest split of ``run`` (indices in lexicographic order of their sequences)
    along its token trie. Post-order over the trie's branch points with an explicit
    stack: a chain of prompts that are prefixes of each other can be thousands deep."""
    best: dict[tuple[int, int], tuple[int, list[tuple[int, int]]]] = {}
    # node -> (cost of keeping it one group, its children); filled on the first visit
    seen: dict[tuple[int, int], tuple[int, list[tuple[int, int]]]] = {}
    stack: list[tuple[int, int]] = [(0, len(run))]
    while stack:
        lo, hi = stack.pop()
        if (lo, hi) not in seen:
            lens = [len(seqs[i]) for i in run[lo:hi]]
            # sorted, so the prefix every member shares is the one the first and last share
            lcp = _lcp(seqs[run[lo]], seqs[run[hi - 1]])
            shared = min(lcp, min(lens) - 1)  # as in GenerationPipeline.run
            keep = sum(lens) + overhead - ((hi - lo - 1) * shared if shared >= min_prefix else 0)
            kids = _children(run, seqs, lo, hi, lcp) if hi - lo > 1 else []
            seen[(lo, hi)] = (keep, kids)
            if len(kids) >= 2:  # children first, then this node again
                stack.append((lo, hi))
                stack.extend(kids)
                continue
        keep, kids = seen[(lo, hi)]
        if len(kids) < 2:  # one member, or identical sequences: nothing to split
            best[(lo, hi)] = (keep, [(lo, hi)])
            continue
        split = sum(best[k][0] for k in kids)
        best[(lo, hi)] = (
            (split, [g for k in kids for g in best[k][1]]) if split < keep else (keep, [(lo, hi)])
        )
    return [run[a:b] for a, b in best[(0, len(run))][1]]


def _children(
    run: list[int], seqs: Sequence[Sequence[int]], lo: int, hi: int, depth: int
) -> list[tuple[int, int]]:
    """``[lo, hi)`` cut into runs that agree on the token at ``depth`` (a sequence that
    ends there forms its own run; in lexicographic order those come first)."""
    out: list[tuple[int, int]] = []
    start, key = lo, _token_at(seqs[run[lo]], depth)
    for j in range(lo + 1, hi):
        k = _token_at(seqs[run[j]], depth)
        if k != key:
            out.append((start, j))
            start, key = j, k
    out.append((start, hi))
    return out


def _token_at(seq: Sequence[int], depth: int) -> int:
    return seq[depth] if depth < len(seq) else -1


def _lcp(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


class PrefixKV:
    """The KV cache of one token prefix (batch 1), copied out for each batch."""

    def __init__(self, model: Any, ids: Sequence[int], device: torch.device) -> None:
        self.ids = list(ids)
        cache = DynamicCache()
        if self.ids:
            x = torch.tensor([self.ids], device=device)
            with torch.no_grad():  # also usable in training: a constant, never back-propagated
                model(input_ids=x, use_cache=True, logits_to_keep=1, **cache_kwargs(model, cache))
        self.cache = cache

    def __len__(self) -> int:
        return len(self.ids)

    def expand(self, batch: int) -> DynamicCache:
        out = copy.deepcopy(self.cache)
        if self.ids and batch > 1:
            out.batch_repeat_interleave(batch)
        return out


StopCheck = Callable[[list[int]], bool]


@torch.inference_mode()
def decode_batch(
    model: Any,
    prefix: PrefixKV | None,
    suffixes: Sequence[Sequence[int]],
    *,
    pad_id: int,
    max_new_tokens: int = 0,
    targets: Sequence[Sequence[int]] | None = None,
    stop: StopCheck | None = None,
    eos_ids: frozenset[int] = frozenset(),
    topk: int = 0,
    sample: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> list[Decoded]:
    """Prefill ``suffixes`` after the cached ``prefix``, score ``targets`` and generate.

    Shapes: B rows, P prefix tokens, T = longest suffix. Left padding sits between the
    prefix and each suffix, masked out; position ids continue from P for every row.
    """
    device = next(model.parameters()).device
    b = len(suffixes)
    p = len(prefix) if prefix is not None else 0
    t = max(len(s) for s in suffixes)
    ids = torch.full((b, t), pad_id, dtype=torch.long)
    mask = torch.zeros((b, p + t), dtype=torch.long)
    mask[:, :p] = 1
    pos = torch.full((b, t), p, dtype=torch.long)
    for i, s in enumerate(suffixes):
        n = len(s)
        ids[i, t - n :] = torch.tensor(list(s))
        mask[i, p + t - n :] = 1
        pos[i, t - n :] = torch.arange(p, p + n)
    cache = prefix.expand(b) if prefix is not None and p else DynamicCache()
    ids, mask, pos = ids.to(device), mask.to(device), pos.to(device)
    out = model(
        input_ids=ids,
        attention_mask=mask,
        position_ids=pos,
        **cache_kwargs(model, cache),
        use_cache=True,
        logits_to_keep=1,  # only the last position is read: skip the vocabulary projection
    )
    last = out.logits[:, -1, :].float()  # [B, V]: predicts each row's first new token
    next_pos = pos[:, -1] + 1  # [B]
    results = [Decoded(prompt_tokens=p + len(s)) for s in suffixes]
    if targets is not None:
        _force(model, cache, mask, next_pos, last, targets, results, pad_id)
    if max_new_tokens > 0:
        _generate(
            model, cache, mask, next_pos, last, results, max_new_tokens, stop, eos_ids, topk, sample
        )
    return results


def _force(
    model: Any,
    cache: DynamicCache,
    mask: torch.Tensor,
    next_pos: torch.Tensor,
    last: torch.Tensor,
    targets: Sequence[Sequence[int]],
    results: list[Decoded],
    pad_id: int,
) -> None:
    """Teacher-force each row's target on top of the prompt cache, then crop it away."""
    b = len(targets)
    n = max(len(x) for x in targets)
    logits = [last.unsqueeze(1)]  # position k predicts target token k
    if n > 1:
        feed = torch.full((b, n - 1), pad_id, dtype=torch.long)
        fmask = torch.zeros((b, n - 1), dtype=torch.long)
        for i, tgt in enumerate(targets):
            m = len(tgt) - 1
            if m > 0:
                feed[i, :m] = torch.tensor(list(tgt[:-1]))
                fmask[i, :m] = 1
        dev = mask.device
        fpos = next_pos.unsqueeze(1) + torch.arange(n - 1, device=dev).unsqueeze(0)
        out = model(
            input_ids=feed.to(dev),
            attention_mask=torch.cat([mask, fmask.to(dev)], dim=1),
            position_ids=fpos,
            **cache_kwargs(model, cache),
            use_cache=True,
        )
        logits.append(out.logits.float())
        cache.crop(-(n - 1))
    logp = torch.log_softmax(torch.cat(logits, dim=1), dim=-1).cpu()  # [B, n, V]
    for i, tgt in enumerate(targets):
        k = len(tgt)
        rows = logp[i, :k]
        lp = rows.gather(-1, torch.tensor(list(tgt))[:, None]).sum().item() if k else 0.0
        results[i].forced = Forced(list(tgt), rows.argmax(-1).tolist(), lp)


def _generate(
    model: Any,
    cache: DynamicCache,
    mask: torch.Tensor,
    next_pos: torch.Tensor,
    last: torch.Tensor,
    results: list[Decoded],
    max_new_tokens: int,
    stop: StopCheck | None,
    eos_ids: frozenset[int],
    topk: int,
    sample: Callable[[torch.Tensor], torch.Tensor] | None,
) -> None:
    """Greedy (or sampled) decoding; rows that finished leave the batch (and the cache)."""
    active = list(range(len(results)))  # result index of each row still in the batch
    logits, pos = last, next_pos
    for step in range(max_new_tokens):
        token = sample(logits) if sample is not None else logits.argmax(-1)  # [b]
        if topk:
            top = torch.log_softmax(logits, -1).topk(topk, dim=-1)
        keep = []
        for row, i in enumerate(active):
            tok = int(token[row])
            r = results[i]
            r.generated.append(tok)
            if topk:
                r.topk_ids.append(top.indices[row].tolist())
                r.topk_logprobs.append([round(v, 5) for v in top.values[row].tolist()])
            if not (tok in eos_ids or (stop is not None and stop(r.generated))):
                keep.append(row)
        if not keep or step == max_new_tokens - 1:
            break
        if len(keep) < len(active):
            sel = torch.tensor(keep, device=mask.device)
            cache.batch_select_indices(sel)
            mask, pos, token = mask[sel], pos[sel], token[sel]
            active = [active[row] for row in keep]
        mask = torch.cat(
            [mask, torch.ones((len(active), 1), dtype=mask.dtype, device=mask.device)], dim=1
        )
        out = model(
            input_ids=token.unsqueeze(1),
            attention_mask=mask,
            position_ids=pos.unsqueeze(1),
            **cache_kwargs(model, cache),
            use_cache=True,
        )
        logits = out.logits[:, -1, :].float()
        pos = pos + 1


__all__ = [
    "GROUP_OVERHEAD",
    "MIN_PREFIX",
    "Decoded",
    "Forced",
    "PrefixKV",
    "cache_kwargs",
    "common_prefix_len",
    "decode_batch",
    "prefix_groups",
]
