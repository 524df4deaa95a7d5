"""LoRA distillation trainer: the student (model without memory) learns the teacher's answers.

setup (attach LoRA to ``config.modules`` in decoder layers ``config.layers``; AdamW; a
warm-up + cosine ``LambdaLR``) -> :meth:`DistillTrainer.fit` over row batches.

Why it is fast on a CPU: rows are asked in the evaluation's few-shot layout, so almost
every prompt token is a prefix shared by all rows of a layout. Each step computes that
prefix's KV cache once (batch 1, no grad, with the current weights) and runs only the
suffixes (question + answer) with gradients; logits are computed only at the answer
positions (the vocabulary projection is a fifth of the model).

Losses, averaged per row then over rows of a kind:

* rows with teacher top-k: ``KL(teacher || student)`` over the teacher's top-k tokens
  plus one tail bucket (the probability mass outside them);
* rows without: cross-entropy on ``target_ids`` (greedy answer, or the text of an LM row).

``loss = distill + memory_weight·recall + anchor_weight·anchor + unlearn_weight·unlearn
+ lm_weight·lm``.
"""

from __future__ import annotations

import copy
import logging
import math
import resource
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from peft import LoraConfig as PeftLoraConfig
from peft import PeftModel, get_peft_model

from hei_nw.consolidation.rows import TrainRow
from hei_nw.memory.config import ConsolidationConfig
from hei_nw.models.base import GenerationPipeline
from hei_nw.models.decoding import PrefixKV, cache_kwargs, common_prefix_len, prefix_groups

logger = logging.getLogger(__name__)

TAIL_FLOOR = 1e-6


@dataclass
class TrainStats:
    """What one ``fit`` call did (also written into the run's JSON)."""

    steps: int = 0
    tokens: int = 0  # suffix + target tokens run with gradients (the prefix is cached)
    seconds: float = 0.0
    losses: list[float] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    peak_memory_mb: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "tokens": self.tokens,
            "seconds": self.seconds,
            "tokens_per_s": self.tokens / self.seconds if self.seconds else 0.0,
            "peak_memory_mb": self.peak_memory_mb,
            "loss_first": self.losses[0] if self.losses else None,
            "loss_last": self.losses[-1] if self.losses else None,
            "loss_by_kind_last": {k: v[-1] for k, v in self.by_kind.items() if v},
        }


def peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def layer_range(config: ConsolidationConfig, n_layers: int) -> list[int]:
    """``config.layers`` = ``[first, last)``; negative values count from the top."""
    first, last = (x + n_layers if x < 0 else x for x in config.layers)
    first, last = max(0, first), min(n_layers, last)
    if first >= last:
        raise ValueError(f"consolidation.layers {config.layers} selects no layer of {n_layers}")
    return list(range(first, last))


@dataclass
class _Encoded:
    row: TrainRow
    prompt_ids: list[int]
    group: int  # prefix group (rows of one prompt layout share a cached prefix)
    index: int = 0


class DistillTrainer:
    """Owns the student: attaches LoRA to the pipeline's model, trains it on rows."""

    def __init__(self, pipe: GenerationPipeline, config: ConsolidationConfig) -> None:
        self.pipe = pipe
        self.config = config
        self.tokenizer = pipe.tokenizer
        self.model: Any = pipe.model
        self.optimizer: torch.optim.Optimizer | None = None
        self.history: list[dict[str, Any]] = []
        self._prefix: dict[int, list[int]] = {}  # prefix group -> its token ids
        self._ids: dict[str, list[int]] = {}  # prompt text -> token ids
        self._group_of: dict[str, int] = {}  # prompt text -> prefix group
        self._cov: dict[str, tuple[torch.Tensor, float]] = {}  # layer -> (C, tr(W C W^T))

    # ------------------------------------------------------------------ setup
    def attach(self) -> PeftModel:
        """LoRA on ``config.modules`` of ``config.layers`` (kept when already attached)."""
        if isinstance(self.model, PeftModel):
            return self.model
        cfg = self.config
        names = {n.rsplit(".", 1)[-1] for n, _ in self.model.named_modules()}
        targets = [t for t in cfg.modules if t in names]
        if not targets:
            raise ValueError(f"none of consolidation.modules {cfg.modules} exist in the model")
        n_layers = int(self.model.config.num_hidden_layers)
        peft_cfg = PeftLoraConfig(
            r=cfg.r,
            lora_alpha=cfg.alpha,
            lora_dropout=cfg.dropout,
            target_modules=targets,
            layers_to_transform=layer_range(cfg, n_layers),
            task_type="CAUSAL_LM",
        )
        torch.manual_seed(cfg.seed)  # LoRA A is initialised randomly: make it reproducible
        self.model = get_peft_model(self.model, peft_cfg)
        self.model.eval()  # no dropout in the base; LoRA dropout follows its own setting
        self.pipe.model = self.model
        return self.model

    def _optimizer(self) -> torch.optim.Optimizer:
        if self.optimizer is None:
            params = [p for p in self.model.parameters() if p.requires_grad]
            self.optimizer = torch.optim.AdamW(
                params, lr=self.config.lr, weight_decay=self.config.weight_decay
            )
        return self.optimizer

    # --------------------------------------------------------------- encoding
    def encode(self, rows: Sequence[TrainRow]) -> list[_Encoded]:
        """Token ids of each row's prompt and its prefix group. Prompts are tokenized once;
        a new prompt joins a known prefix when it starts with it, else new prefixes are
        found among the new prompts (:func:`prefix_groups`)."""
        fresh = sorted({r.prompt for r in rows if r.prompt and r.prompt not in self._ids})
        if fresh:
            ids = {p: self.pipe.encode(p) for p in fresh}
            self._ids.update(ids)
            unplaced = []
            for prompt, seq in ids.items():
                key = next(
                    (
                        k
                        for k, pre in self._prefix.items()
                        if len(seq) > len(pre) and seq[: len(pre)] == pre
                    ),
                    None,
                )
                if key is None:
                    unplaced.append(prompt)
                else:
                    self._group_of[prompt] = key
            seqs = [ids[p] for p in unplaced]
            # The coarse grouping, as when the consolidation defaults were chosen (a
            # group's prefix is a gradient-free constant here). consolidate() encodes the
            # distill rows first (need measurement) and the recall rows later, so each
            # prompt layout gets its own few-shot prefix either way.
            for group in prefix_groups(seqs, refine=False):
                members = [unplaced[g] for g in group]
                shared = min(
                    common_prefix_len([ids[m] for m in members]),
                    min(len(ids[m]) for m in members) - 1,
                )
                key = len(self._prefix) + 1
                self._prefix[key] = ids[members[0]][:shared]
                for m in members:
                    self._group_of[m] = key
        return [
            (
                _Encoded(r, self._ids[r.prompt], self._group_of[r.prompt])
                if r.prompt
                else _Encoded(r, [], 0)
            )
            for r in rows
        ]

    # ---------------------------------------------------------------- forward
    def _forward(self, batch: Sequence[_Encoded], grad: bool) -> tuple[torch.Tensor, int]:
        """Per-row loss ``[b]`` of rows sharing one prefix group, and the tokens run."""
        device = self.pipe.device
        prefix_ids = self._prefix.get(batch[0].group, []) if batch[0].prompt_ids else []
        p = len(prefix_ids)
        suffixes = [e.prompt_ids[p:] + list(e.row.target_ids[:-1]) for e in batch]
        starts = [len(e.prompt_ids) - p - 1 for e in batch]  # position predicting target 0
        if not batch[0].prompt_ids:  # an LM row: every token after the first is a target
            suffixes = [list(e.row.target_ids) for e in batch]
            starts = [0 for _ in batch]
        t = max(len(s) for s in suffixes)
        b = len(batch)
        pad = int(self.tokenizer.pad_token_id or 0)
        ids = torch.full((b, t), pad, dtype=torch.long)
        mask = torch.zeros((b, p + t), dtype=torch.long)
        mask[:, :p] = 1
        for i, s in enumerate(suffixes):
            ids[i, : len(s)] = torch.tensor(s)
            mask[i, p : p + len(s)] = 1
        pos = (torch.arange(t) + p).unsqueeze(0).expand(b, t)
        inner: Any = (
            self.model.get_base_model() if isinstance(self.model, PeftModel) else self.model
        )
        low = self.config.precision == "bfloat16"
        with torch.set_grad_enabled(grad), torch.autocast(device.type, torch.bfloat16, enabled=low):
            cache = PrefixKV(self.model, prefix_ids, device).expand(b) if p else None
            hidden = inner.model(
                input_ids=ids.to(device),
                attention_mask=mask.to(device),
                position_ids=pos.to(device),
                **cache_kwargs(inner.model, cache),
                use_cache=cache is not None,
            ).last_hidden_state  # [b, t, H]
            rows_sel, cols_sel, owner = [], [], []
            for i, (e, s0) in enumerate(zip(batch, starts, strict=True)):
                n = len(e.row.target_ids) - (1 if not e.prompt_ids else 0)
                rows_sel += [i] * n
                cols_sel += list(range(s0, s0 + n))
                owner += [i] * n
            h = hidden[torch.tensor(rows_sel), torch.tensor(cols_sel)]  # [N, H]
            logq = torch.log_softmax(inner.lm_head(h).float(), dim=-1)  # [N, V]
            per_pos = self._position_loss(batch, logq)  # [N]
            if batch[0].row.kind == "anchor" and self.config.anchor_margin > 0:
                per_pos = per_pos + self.config.anchor_margin_weight * self._margin_hinge(
                    batch, logq
                )
            own = torch.tensor(owner, device=per_pos.device)
            per_row = torch.zeros(b, device=per_pos.device).index_add(0, own, per_pos)
            counts = torch.zeros(b, device=per_pos.device).index_add(
                0, own, torch.ones_like(per_pos)
            )
        return per_row / counts.clamp(min=1.0), int(mask[:, p:].sum())

    def _position_loss(self, batch: Sequence[_Encoded], logq: torch.Tensor) -> torch.Tensor:
        """Loss at each answer position ``[N]``: KL to the teacher's top-k, else CE."""
        targets = _scored_targets(batch)
        has_topk = all(e.row.topk_ids is not None for e in batch)
        t_ids: list[Sequence[int]] = []
        t_lp: list[Sequence[float]] = []
        for e in batch:
            if has_topk:
                assert e.row.topk_ids is not None and e.row.topk_logprobs is not None
                t_ids += list(e.row.topk_ids)
                t_lp += list(e.row.topk_logprobs)
        dev = logq.device
        if not has_topk:
            return -logq.gather(-1, torch.tensor(targets, device=dev)[:, None]).squeeze(-1)
        k = min(len(x) for x in t_ids)
        ids = torch.tensor([list(x[:k]) for x in t_ids], device=dev)  # [N, k]
        tlp = torch.tensor([list(x[:k]) for x in t_lp], device=dev)  # [N, k]
        p = tlp.exp()
        tail_p = (1.0 - p.sum(-1)).clamp(min=TAIL_FLOOR)  # [N]
        q = logq.gather(-1, ids)  # [N, k]
        q_tail = torch.log((1.0 - q.exp().sum(-1)).clamp(min=TAIL_FLOOR))
        return (p * (tlp - q)).sum(-1) + tail_p * (torch.log(tail_p) - q_tail)

    def _margin_hinge(self, batch: Sequence[_Encoded], logq: torch.Tensor) -> torch.Tensor:
        """``relu(anchor_margin - (log q[a] - max_{j != a} log q[j]))`` per position ``[N]``,
        ``a`` the base model's greedy token (the row's target).

        Why: the drift guard counts changed greedy answers, and half the base model's
        answers hold a step whose top two tokens lie within 0.5 nats. KL to the base
        leaves such near-ties free to swap under a perturbation of a few tenths of a nat;
        the hinge asks the student to keep the base's choice ahead by a margin, and is 0
        wherever it already is.
        """
        tgt = torch.tensor(_scored_targets(batch), device=logq.device)[:, None]  # [N, 1]
        chosen = logq.gather(-1, tgt).squeeze(-1)  # [N]
        rival = logq.scatter(-1, tgt, float("-inf")).max(-1).values  # [N]
        return torch.relu(self.config.anchor_margin - (chosen - rival))

    # -------------------------------------------------------- preservation
    @torch.no_grad()
    def estimate_covariance(self, prompts: Sequence[str], batch_size: int = 32) -> int:
        """``C = E[x x^T]`` of every LoRA layer's input over general ``prompts`` (the
        shared few-shot prefix counted once), for the preservation penalty. Returns the
        number of tokens seen."""
        self.attach()
        modules = self._lora_modules()
        sums: dict[str, torch.Tensor | None] = {name: None for name in modules}
        counts = {"tokens": 0}

        def hook(name: str) -> Any:
            def fn(_m: Any, inputs: tuple[torch.Tensor, ...]) -> None:
                x = inputs[0].reshape(-1, inputs[0].shape[-1]).float()  # [tokens, in]
                acc = x.T @ x
                prev = sums[name]
                sums[name] = acc if prev is None else prev + acc
                if name == next(iter(modules)):
                    counts["tokens"] += x.shape[0]

            return fn

        handles = [m.register_forward_pre_hook(hook(n)) for n, m in modules.items()]
        try:
            with self.model.disable_adapter():
                self.pipe.run(list(prompts), max_new_tokens=1, batch_size=batch_size)
        finally:
            for h in handles:
                h.remove()
        n = max(1, counts["tokens"])
        self._cov = {}
        for name, m in modules.items():
            total = sums[name]
            if total is None:  # pragma: no cover - every hooked module sees the prompts
                raise RuntimeError(f"no activations reached {name}")
            c = total / n  # [in, in]
            w = m.base_layer.weight.float()  # [out, in]
            self._cov[name] = (c, float(torch.trace(w @ c @ w.T)))
        return n

    @property
    def has_covariance(self) -> bool:
        return bool(self._cov)

    def _lora_modules(self) -> dict[str, Any]:
        return {
            n: m
            for n, m in self.model.named_modules()
            if hasattr(m, "lora_A") and hasattr(m, "base_layer")
        }

    def preservation_penalty(self) -> torch.Tensor:
        """Mean over LoRA layers of ``tr(dW C dW^T) / tr(W C W^T)``: the relative change
        of each layer's output on general text (0 before any update)."""
        modules = self._lora_modules()
        total = torch.zeros(())
        for name, m in modules.items():
            c, base = self._cov[name]
            for adapter in m.lora_A:
                a = m.lora_A[adapter].weight  # [r, in]
                b = m.lora_B[adapter].weight  # [out, r]
                s = float(m.scaling[adapter])
                aca = a @ c @ a.T  # [r, r]
                total = total + s * s * torch.trace(b.T @ b @ aca) / max(base, 1e-12)
        return total / max(1, len(modules))

    def detach(self) -> Any:
        """Remove the adapter (unmerged) and give the pipeline its base model back."""
        if isinstance(self.model, PeftModel):
            self.model = self.model.unload()
            self.pipe.model = self.model
        self.optimizer = None
        return self.model

    # ------------------------------------------------------------------ train
    def fit(
        self, batches: Iterable[list[TrainRow]], steps: int, desc: str = "consolidate"
    ) -> TrainStats:
        """``steps`` optimizer steps over ``batches`` (each a list of mixed-kind rows)."""
        self.attach()
        opt = self._optimizer()
        warm = min(self.config.warmup, max(1, steps // 10))
        for group in opt.param_groups:
            group["lr"] = self.config.lr
        sched = torch.optim.lr_scheduler.LambdaLR(opt, _warmup_cosine(warm, steps))
        weights = {
            "distill": 1.0,
            "recall": self.config.memory_weight,
            "anchor": self.config.anchor_weight,
            "unlearn": self.config.unlearn_weight,
            "lm": self.config.lm_weight,
        }
        stats = TrainStats()
        params = [p for p in self.model.parameters() if p.requires_grad]
        t0 = time.perf_counter()
        for step, rows in enumerate(batches):
            if step >= steps:
                break
            total = 0.0
            for kind, chunk in _by_kind_and_group(self.encode(rows)):
                per_row, tokens = self._forward(chunk, grad=True)
                loss = weights[kind] * per_row.mean() * len(chunk) / _kind_count(rows, kind)
                loss.backward()
                total += float(loss.detach())
                stats.tokens += tokens
                stats.by_kind.setdefault(kind, []).append(float(per_row.mean().detach()))
            if self.config.cov_weight > 0 and self._cov:
                pen = self.config.cov_weight * self.preservation_penalty()
                pen.backward()
                total += float(pen.detach())
                stats.by_kind.setdefault("preserve", []).append(float(pen.detach()))
            torch.nn.utils.clip_grad_norm_(params, self.config.max_grad_norm)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            stats.steps += 1
            stats.losses.append(total)
            if step % 10 == 0:
                logger.debug("%s step %d/%d loss %.4f", desc, step + 1, steps, total)
        stats.seconds = time.perf_counter() - t0
        stats.peak_memory_mb = peak_memory_mb(self.pipe.device)
        self.history.append(stats.as_dict())
        return stats

    @torch.no_grad()
    def row_losses(self, rows: Sequence[TrainRow], batch_size: int = 64) -> list[float]:
        """The student's current loss on each row (its answer CE / KL), no gradients."""
        self.attach()
        enc = self.encode(rows)
        for i, e in enumerate(enc):
            e.index = i
        out = [0.0] * len(rows)
        for _, chunk in _by_kind_and_group(enc, batch_size):
            per_row, _ = self._forward(chunk, grad=False)
            for e, v in zip(chunk, per_row.tolist(), strict=True):
                out[e.index] = float(v)
        return out

    # ------------------------------------------------------------- weights
    def save_adapter(self, target: str | Path) -> Path:
        """The adapter in peft's ``save_pretrained`` layout (loadable by ``PeftModel``)."""
        path = Path(target)
        self.model.save_pretrained(str(path))
        return path

    def merged_pipe(self) -> GenerationPipeline:
        """B3 weights: a copy of the model with the adapter merged in (float32 merge)."""
        model = copy.deepcopy(self.model)
        dtype = next(model.parameters()).dtype
        merged = (
            model.float().merge_and_unload().to(dtype) if isinstance(model, PeftModel) else model
        )
        merged.eval()
        return GenerationPipeline(self.tokenizer, merged, f"{self.pipe.model_id}+merged")


def _scored_targets(batch: Sequence[_Encoded]) -> list[int]:
    """The target token of every scored position ``[N]``, rows in order (an LM row's first
    token is context, not scored)."""
    out: list[int] = []
    for e in batch:
        out += list(e.row.target_ids) if e.prompt_ids else list(e.row.target_ids[1:])
    return out


def _by_kind_and_group(
    enc: Sequence[_Encoded], max_batch: int = 10_000
) -> list[tuple[str, list[_Encoded]]]:
    """Rows grouped by (kind, prefix group, has top-k), chunked to ``max_batch``."""
    groups: dict[tuple[str, int, bool], list[_Encoded]] = {}
    for e in enc:
        key = (e.row.kind, e.group, e.row.topk_ids is not None)
        groups.setdefault(key, []).append(e)
    out = []
    for (kind, _, _), members in groups.items():
        for i in range(0, len(members), max_batch):
            out.append((kind, members[i : i + max_batch]))
    return out


def _kind_count(rows: Sequence[TrainRow], kind: str) -> int:
    return max(1, sum(r.kind == kind for r in rows))


def _warmup_cosine(warm: int, total: int) -> Any:
    def scale(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        progress = (step - warm) / max(1, total - warm)
        return max(0.05, 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))

    return scale


__all__ = ["DistillTrainer", "TrainStats", "layer_range", "peak_memory_mb"]
