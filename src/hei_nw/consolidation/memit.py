"""Narrow-site consolidation: a MEMIT-style closed-form write into a few MLP ``down_proj``.

Each served query becomes one *request*: the query in the evaluation's own prompt layout,
the memory's own (B1 teacher) answer as the target, and a *key token* -- the last token of
the last name the query mentions (read off the text by
:func:`hei_nw.memory.slots.name_anchors`; the query's last token when it names nothing).
No gold slot, answer or template is read.

The method follows MEMIT (Meng et al. 2023) in outline, written for this package:

1. **Target values.** For every request, a vector ``delta`` added to the residual stream
   after the critical layer ``L`` (the last of ``layers``) at the key token is optimised
   so that the frozen model emits the teacher's answer, in each context the request is
   asked in (the few-shot layout and the bare query), with an L2 decay and a norm clamp.
   ``z = h_L + delta`` is what the residual at the key token should become.
2. **Spread over layers.** For each layer ``l`` of ``layers`` in order, with the keys
   ``K`` (inputs to ``down_proj`` at the key tokens, averaged over contexts) and the
   residual still missing at ``L`` divided by the layers left, the update is
   ``dW = R K^T (lam * C + K K^T)^-1``: least squares on the new keys, held by the
   covariance ``C = E[k k^T]`` of ``down_proj`` inputs on general text, so directions that
   ordinary text uses change little.

The updates are exact weight deltas; :meth:`MemitEditor.save_adapter` writes them as a
peft LoRA adapter on ``down_proj`` (an SVD of each delta, rank up to the layer's width),
so B2/B3 load them as they load any consolidation.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from peft import LoraConfig, get_peft_model
from torch import nn

from hei_nw.consolidation.covariance import decoder_layers, layer_covariance
from hei_nw.consolidation.requests import Request
from hei_nw.memory.config import ConsolidationConfig
from hei_nw.models.base import GenerationPipeline
from hei_nw.models.decoding import PrefixKV, cache_kwargs, common_prefix_len

logger = logging.getLogger(__name__)


@dataclass
class _Batch:
    """Rows of one context kind, right-padded after a shared cached prefix.

    Shapes: B rows, P prefix tokens, T longest suffix (prompt suffix + answer)."""

    prefix: PrefixKV | None
    ids: torch.Tensor  # [B, T]
    mask: torch.Tensor  # [B, P + T]
    pos: torch.Tensor  # [B, T]
    key: torch.Tensor  # [B] index of the key token in the suffix
    labels: torch.Tensor  # [B, T] next-token targets (-100 where not scored)
    rows: list[int]  # request index of each row

    def select(self, keep: torch.Tensor) -> _Batch:
        """The rows at positions ``keep`` (a bool mask over this batch's rows)."""
        idx = keep.nonzero()[:, 0]
        return _Batch(
            self.prefix,
            self.ids[idx],
            self.mask[idx],
            self.pos[idx],
            self.key[idx],
            self.labels[idx],
            [self.rows[i] for i in idx.tolist()],
        )


MIN_TOKENS_PER_DIM = 4  # anchor tokens per covariance dimension the write needs


@dataclass
class MemitStats:
    requests: int = 0
    unnamed: int = 0
    target_loss_before: float = 0.0
    target_loss_after: float = 0.0
    covariance_tokens: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    tokens: int = 0


class MemitEditor:
    """Writes requests into ``down_proj`` of ``config.memit_layers`` of ``pipe.model``."""

    def __init__(self, pipe: GenerationPipeline, config: ConsolidationConfig) -> None:
        self.pipe = pipe
        self.config = config
        n = len(decoder_layers(pipe.model))
        self.layers = sorted({i % n for i in config.memit_layers})
        if not self.layers or self.layers[-1] >= n - 1:
            # the key token's residual reaches the answer positions only through the
            # attention of later layers
            raise ValueError(
                f"consolidation.memit_layers {list(config.memit_layers)}: the last layer "
                f"written must leave at least one layer above it (model has {n})"
            )
        self.deltas: dict[int, torch.Tensor] = {}  # layer -> [out, in] float32
        self._base: dict[int, torch.Tensor] = {}  # layer -> its weight before any update
        self.stats = MemitStats()
        self.z_target: torch.Tensor | None = None  # [N, d] the last call's target values

    # ------------------------------------------------------------- helpers
    @property
    def _device(self) -> torch.device:
        return self.pipe.device

    def _down(self, layer: int) -> nn.Linear:
        down: nn.Linear = decoder_layers(self.pipe.model)[layer].mlp.down_proj
        return down

    def _batches(self, requests: Sequence[Request], kind: int, with_target: bool) -> list[_Batch]:
        """Context ``kind`` of every request, in chunks of ``memit_batch`` rows."""
        size = self.config.memit_batch
        pad = self.pipe.tokenizer.pad_token_id or 0
        seqs = [r.contexts[kind].ids for r in requests]
        shared = common_prefix_len(seqs) if len(seqs) > 1 else 0
        shared = min(shared, min(r.contexts[kind].key for r in requests))
        prefix = PrefixKV(self.pipe.model, seqs[0][:shared], self._device) if shared else None
        out = []
        for s in range(0, len(requests), size):
            chunk = list(range(s, min(len(requests), s + size)))
            rows = []
            for i in chunk:
                ctx = requests[i].contexts[kind]
                suffix = list(ctx.ids[shared:])
                tgt = list(requests[i].target_ids) if with_target else []
                rows.append((suffix + tgt, len(suffix), ctx.key - shared))
            t = max(len(r[0]) for r in rows)
            ids = torch.full((len(rows), t), pad, dtype=torch.long)
            mask = torch.zeros((len(rows), shared + t), dtype=torch.long)
            mask[:, :shared] = 1
            labels = torch.full((len(rows), t), -100, dtype=torch.long)
            for b, (seq, n_prompt, _key) in enumerate(rows):
                ids[b, : len(seq)] = torch.tensor(seq)
                mask[b, shared : shared + len(seq)] = 1
                # position j predicts token j + 1: the answer tokens are scored
                labels[b, n_prompt - 1 : len(seq) - 1] = torch.tensor(seq[n_prompt:])
            pos = torch.arange(shared, shared + t).expand(len(rows), t)
            key = torch.tensor([r[2] for r in rows])
            dev = self._device
            out.append(
                _Batch(
                    prefix,
                    ids.to(dev),
                    mask.to(dev),
                    pos.to(dev),
                    key.to(dev),
                    labels.to(dev),
                    chunk,
                )
            )
        return out

    def _forward(self, batch: _Batch, hidden: bool = False) -> Any:
        cache = batch.prefix.expand(len(batch.rows)) if batch.prefix is not None else None
        return self.pipe.model(
            input_ids=batch.ids,
            attention_mask=batch.mask,
            position_ids=batch.pos,
            **cache_kwargs(self.pipe.model, cache),
            use_cache=cache is not None,
            output_hidden_states=hidden,
        )

    def _autocast(self) -> Any:
        """bfloat16 autocast for the target-value search when ``precision`` asks for it
        (the weights stay as they are; about twice as fast on a CPU with bf16 units)."""
        on = self.config.precision == "bfloat16"
        return torch.autocast(self._device.type, dtype=torch.bfloat16, enabled=on)

    def _answer_nll(self, batch: _Batch) -> torch.Tensor:
        """Mean NLL of each row's answer tokens ``[B]``; the vocabulary projection runs on
        the answer positions only (it is a fifth of this model's compute)."""
        model = self.pipe.model
        cache = batch.prefix.expand(len(batch.rows)) if batch.prefix is not None else None
        hidden = model.model(
            input_ids=batch.ids,
            attention_mask=batch.mask,
            position_ids=batch.pos,
            **cache_kwargs(model.model, cache),
            use_cache=cache is not None,
        ).last_hidden_state  # [B, T, d]
        mask = batch.labels >= 0  # [B, T]
        logits = model.lm_head(hidden[mask]).float()  # [M, V], M answer positions
        tok = -torch.nn.functional.cross_entropy(logits, batch.labels[mask], reduction="none")
        rows = mask.nonzero()[:, 0]  # [M] row of each answer position
        total = torch.zeros(len(batch.rows), device=tok.device).index_add(0, rows, tok)
        return -total / mask.sum(-1).clamp(min=1)

    # ------------------------------------------------------- target values
    def target_values(self, requests: Sequence[Request]) -> tuple[torch.Tensor, torch.Tensor]:
        """(h, z): the residual after layer L at each request's key token in its first
        context, and the value it should take, both ``[N, d_model]``."""
        critical = self.layers[-1]
        n_ctx = len(requests[0].contexts)
        batches = [self._batches(requests, k, with_target=True) for k in range(n_ctx)]
        d = self.pipe.model.config.hidden_size
        h_all = torch.zeros(len(requests), d)
        z_all = torch.zeros(len(requests), d)
        before = after = 0.0
        params = list(self.pipe.model.parameters())
        flags = [p.requires_grad for p in params]
        for p in params:  # only delta is optimised
            p.requires_grad_(False)
        try:
            for c in range(len(batches[0])):
                chunk = [batches[k][c] for k in range(n_ctx)]
                rows = chunk[0].rows
                with torch.no_grad():  # h: residual after layer L at the key, first context
                    hs = self._forward(chunk[0], hidden=True).hidden_states[critical + 1]
                    h = hs[torch.arange(len(rows)), chunk[0].key].float()  # [B, d]
                delta, nll0, nll1 = self._fit_delta(chunk, h)
                before += nll0
                after += nll1
                h_all[rows] = h.cpu()
                z_all[rows] = (h + delta).cpu()
                logger.info(
                    "target values %d/%d: answer NLL %.3f -> %.3f, ||delta||/||h|| %.2f",
                    rows[-1] + 1,
                    len(requests),
                    before / (rows[-1] + 1),
                    after / (rows[-1] + 1),
                    float((delta.norm(dim=-1) / h.norm(dim=-1)).mean()),
                )
        finally:
            for p, flag in zip(params, flags, strict=True):
                p.requires_grad_(flag)
        self.stats.target_loss_before = before / max(1, len(requests))
        self.stats.target_loss_after = after / max(1, len(requests))
        return h_all, z_all

    def _fit_delta(
        self, chunk: Sequence[_Batch], h: torch.Tensor
    ) -> tuple[torch.Tensor, float, float]:
        """Optimise one chunk's ``delta [B, d]`` (added after layer L at the key token) for
        the answer NLL averaged over the contexts in ``chunk``; returns (delta, summed NLL
        before, summed NLL after)."""
        cfg = self.config
        mlp = decoder_layers(self.pipe.model)[self.layers[-1]].mlp
        n = len(chunk[0].rows)
        delta = torch.zeros(n, h.shape[-1], device=self._device, requires_grad=True)
        opt = torch.optim.Adam([delta], lr=cfg.memit_lr)
        # rows whose answer NLL fell below memit_stop_loss leave the batch (their delta is
        # final): most converge in a few steps, so this halves the work
        live = torch.ones(n, dtype=torch.bool, device=self._device)
        final = torch.zeros(n, device=self._device)
        before = 0.0
        current: dict[str, _Batch] = {}

        def add_delta(_m: Any, _inp: Any, out: torch.Tensor) -> torch.Tensor:
            rows = torch.arange(out.shape[0], device=out.device)
            add = torch.zeros_like(out)  # [b, T, d]
            add[rows, current["b"].key] = delta[live].to(out.dtype)
            return out + add

        handle = mlp.register_forward_hook(add_delta)
        try:
            for step in range(cfg.memit_steps):
                opt.zero_grad()
                nll = torch.zeros(int(live.sum()), device=self._device)
                with self._autocast():
                    for batch in chunk:
                        current["b"] = batch.select(live)
                        nll = nll + self._answer_nll(current["b"])
                        self.stats.tokens += int(current["b"].mask.sum())
                nll = nll / len(chunk)
                final[live] = nll.detach()
                if step == 0:
                    before = float(nll.detach().sum())
                done = nll.detach() < cfg.memit_stop_loss
                decay = cfg.memit_decay * (delta[live].norm(dim=-1) / h[live].norm(dim=-1)) ** 2
                loss = ((nll + decay) * ~done).sum()
                live_next = live.clone()
                live_next[live.nonzero()[:, 0][done]] = False
                if not bool(live_next.any()):
                    break
                loss.backward()
                opt.step()
                with torch.no_grad():  # clamp ||delta|| <= memit_clamp * ||h||
                    limit = cfg.memit_clamp * h.norm(dim=-1, keepdim=True)
                    norm = delta.norm(dim=-1, keepdim=True).clamp(min=1e-8)
                    delta.mul_((limit / norm).clamp(max=1.0))
                live = live_next
        finally:
            handle.remove()
        return delta.detach(), before, float(final.sum())

    # -------------------------------------------------------- keys, values
    @torch.no_grad()
    def keys_and_values(
        self, requests: Sequence[Request], layer: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(K, z): ``down_proj`` inputs of ``layer`` at the key token averaged over the
        contexts ``[N, d_in]``, and the residual after layer L in the first context ``[N, d]``."""
        critical = self.layers[-1]
        n_ctx = len(requests[0].contexts)
        keys: torch.Tensor | None = None
        z = torch.zeros(len(requests), self.pipe.model.config.hidden_size)
        seen: dict[str, torch.Tensor] = {}

        def grab(_m: Any, inputs: tuple[torch.Tensor, ...]) -> None:
            seen["x"] = inputs[0]

        handle = self._down(layer).register_forward_pre_hook(grab)
        try:
            for k in range(n_ctx):
                for b in self._batches(requests, k, with_target=False):
                    out = self._forward(b, hidden=k == 0)
                    idx = torch.arange(len(b.rows))
                    x = seen["x"][idx, b.key].float().cpu()  # [B, d_in]
                    if keys is None:
                        keys = torch.zeros(len(requests), x.shape[-1])
                    keys[b.rows] += x / n_ctx
                    if k == 0:
                        z[b.rows] = out.hidden_states[critical + 1][idx, b.key].float().cpu()
        finally:
            handle.remove()
        assert keys is not None
        return keys, z

    # ---------------------------------------------------------------- edit
    def edit(
        self,
        requests: Sequence[Request],
        cov_texts: Sequence[str],
        preserve: Sequence[Request] = (),
        z_target: torch.Tensor | None = None,
    ) -> MemitStats:
        """Compute and apply the updates in place (``self.deltas`` keeps them).

        ``preserve``: unrelated prompts (their key tokens, no targets) whose ``down_proj``
        outputs the update should leave as they are, weighted ``memit_preserve`` each:
        the term ``mu * ||dW K0||^2`` beside the general-text covariance. ``z_target``:
        target values already computed for these requests with the same target settings
        (``self.z_target`` of an earlier call); computed when ``None``."""
        if not requests:
            raise ValueError("no requests to write")
        t0 = time.perf_counter()
        cov, self.stats.covariance_tokens = layer_covariance(self.pipe, self.layers, cov_texts)
        width = next(iter(cov.values())).shape[0]
        if self.stats.covariance_tokens < MIN_TOKENS_PER_DIM * width:
            # measured: 2.7k tokens for a 1536-wide layer gave updates as large as the
            # weights themselves and unlearned the answers; 8k tokens wrote them
            raise ValueError(
                f"covariance from {self.stats.covariance_tokens} tokens of anchor text for a "
                f"{width}-wide down_proj input: give at least {MIN_TOKENS_PER_DIM * width} "
                "tokens (more anchor prompts, or consolidation.memit_samples)"
            )
        self.stats.seconds["covariance"] = time.perf_counter() - t0
        self.stats.requests = len(requests)
        self.stats.unnamed = sum(not r.named for r in requests)
        t1 = time.perf_counter()
        if z_target is None:
            z_target = self.target_values(requests)[1]
        self.z_target = z_target
        self.stats.seconds["targets"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        lam = self.config.memit_lambda
        for i, layer in enumerate(self.layers):
            keys, z_now = self.keys_and_values(requests, layer)
            resid = (z_target - z_now) / (len(self.layers) - i)  # [N, d]
            k_t = keys.T.double()  # [d_in, N]
            a = lam * cov[layer].double() + k_t @ k_t.T  # [d_in, d_in]
            # a ridge of 1e-6 of the mean diagonal: keeps the solve defined when the
            # covariance saw too little text to have full rank
            a += 1e-6 * a.diagonal().mean() * torch.eye(a.shape[0], dtype=a.dtype)
            if preserve and self.config.memit_preserve > 0:
                k0 = self.keys_and_values(preserve, layer)[0].T.double()  # [d_in, M]
                a = a + self.config.memit_preserve * (k0 @ k0.T)
            adj = torch.linalg.solve(a, k_t)  # [d_in, N]
            upd = (resid.T.double() @ adj.T).float()  # [d, d_in]
            w = self._down(layer).weight
            if layer not in self._base:
                self._base[layer] = w.detach().clone()
            with torch.no_grad():
                w.add_(upd.to(w.device, w.dtype))
            self.deltas[layer] = self.deltas.get(layer, torch.zeros_like(upd)) + upd
            logger.info(
                "layer %d: residual %.3f, update norm %.3f (weight %.3f)",
                layer,
                float(resid.norm(dim=-1).mean()),
                float(upd.norm()),
                float(w.detach().norm()),
            )
        self.stats.seconds["updates"] = time.perf_counter() - t2
        return self.stats

    @torch.no_grad()
    def restore(self) -> None:
        """Put back the weights as they were before the first update (bit for bit);
        ``self.deltas`` keeps the change."""
        for layer, w0 in self._base.items():
            self._down(layer).weight.copy_(w0)
        self._base = {}

    @torch.no_grad()
    def reapply(self) -> None:
        """Apply the kept deltas to the weights again (before writing more on top)."""
        for layer, upd in self.deltas.items():
            w = self._down(layer).weight
            if layer not in self._base:
                self._base[layer] = w.detach().clone()
            w.add_(upd.to(w.device, w.dtype))

    def as_adapter(self) -> Any:
        """Restore the base weights and return the model with the deltas as a peft LoRA
        adapter on ``down_proj``: ``dW = U S V^T`` becomes ``B = U S``, ``A = V^T``,
        scaling 1 (rank: the delta's full rank, at most the layer's width)."""
        if not self.deltas:
            raise ValueError("nothing written yet")
        self.restore()
        rank = max(min(d.shape) for d in self.deltas.values())
        lora = LoraConfig(
            r=rank,
            lora_alpha=rank,
            target_modules=["down_proj"],
            layers_to_transform=sorted(self.deltas),
            lora_dropout=0.0,
            task_type="CAUSAL_LM",
        )
        model: Any = get_peft_model(self.pipe.model, lora)
        model.eval()
        with torch.no_grad():
            for layer, upd in self.deltas.items():
                u, s, vh = torch.linalg.svd(upd.double(), full_matrices=False)  # [d,r] [r] [r,in]
                r = s.shape[0]
                mod = decoder_layers(model)[layer].mlp.down_proj
                a, b = mod.lora_A["default"].weight, mod.lora_B["default"].weight
                a.zero_()
                b.zero_()
                a[:r] = vh.to(a.dtype)
                b[:, :r] = (u * s).to(b.dtype)
        return model


__all__ = ["MemitEditor", "MemitStats"]
