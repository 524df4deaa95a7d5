"""LoRA consolidation: train an adapter on replay batches, save it, merge it for B3.

The worker runs through ``accelerate``: one device by default, several with
``accelerate launch`` (each process trains on its shard of every batch; gradients are
averaged by accelerate) with no code change. Artifacts follow peft's layout::

    <outdir>/adapter/   adapter_config.json, adapter_model.safetensors (PeftModel.from_pretrained)
    <outdir>/merged/    config.json, model.safetensors, tokenizer files (from_pretrained)
    <outdir>/training_args.json
"""

from __future__ import annotations

import logging
import math
import resource
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from peft import LoraConfig as PeftLoraConfig
from peft import PeftModel, get_peft_model
from tqdm.auto import tqdm

from hei_nw.models.base import GenerationPipeline, load_base
from hei_nw.training.rows import IGNORE_INDEX, EncodedRow, TrainRow, encode_row
from hei_nw.utils.io import write_json

logger = logging.getLogger(__name__)

DEFAULT_TARGETS: tuple[str, ...] = (
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "gate_proj",
    "up_proj",
    "down_proj",
)


@dataclass(frozen=True)
class LoRAConfig:
    """Consolidation hyper-parameters (the design's defaults; the CPU demo overrides some).

    ``mix`` is the share of each batch that is (episodic, semantic, fresh) rows.
    """

    r: int = 32
    alpha: int = 16
    lr: float = 1e-4
    wd: float = 0.01
    steps: int = 500
    batch_size: int = 4
    mix: tuple[float, float, float] = (0.5, 0.3, 0.2)
    warmup: int = 5
    dropout: float = 0.0
    max_len: int = 96
    target_modules: tuple[str, ...] = DEFAULT_TARGETS
    # Share of the decoder layers (the top ones) that get LoRA; below them backward stops,
    # so 0.5 roughly halves the backward pass on CPU.
    top_layers: float = 1.0
    early_stop_rise: float = 0.10  # stop when held-out base loss rises by more than 10%
    # Semantic rows are matched to the frozen base model's next-token distribution
    # (KL, adapter disabled) instead of to their text: the drift guard inside the loss.
    # 0 trains them with plain next-token loss like every other row.
    distill_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.r <= 0 or self.alpha <= 0:
            raise ValueError(
                f"LoRA r and alpha must be positive, got r={self.r}, alpha={self.alpha}"
            )
        if len(self.mix) != 3 or any(m < 0 for m in self.mix) or abs(sum(self.mix) - 1) > 1e-6:
            raise ValueError(f"mix must be three non-negative shares summing to 1, got {self.mix}")
        if not 0 < self.top_layers <= 1:
            raise ValueError(f"top_layers must be in (0, 1], got {self.top_layers}")
        if self.lr <= 0 or self.steps <= 0 or self.batch_size <= 0:
            raise ValueError("lr, steps and batch_size must be positive")

    def split(self, batch_size: int | None = None) -> tuple[int, int, int]:
        """Rows per batch for (episodic, semantic, fresh); they add up to the batch size."""
        b = batch_size or self.batch_size
        episodic = round(self.mix[0] * b)
        semantic = round(self.mix[1] * b)
        return episodic, semantic, max(0, b - episodic - semantic)


@dataclass
class TrainStats:
    """What one ``train_on`` call did (also written into the run's JSON)."""

    steps: int = 0
    tokens: int = 0
    seconds: float = 0.0
    losses: list[float] = field(default_factory=list)
    peak_memory_mb: float = 0.0

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0

    @property
    def steps_per_s(self) -> float:
        return self.steps / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "tokens": self.tokens,
            "seconds": self.seconds,
            "tokens_per_s": self.tokens_per_s,
            "steps_per_s": self.steps_per_s,
            "peak_memory_mb": self.peak_memory_mb,
            "loss_first": self.losses[0] if self.losses else None,
            "loss_last": self.losses[-1] if self.losses else None,
        }


def collate(rows: Sequence[EncodedRow], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad to the longest row: ``input_ids``/``labels``/``attention_mask`` ``[B, T]``."""
    width = max(len(r["input_ids"]) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        n = len(r["input_ids"])
        ids[i, :n] = torch.tensor(r["input_ids"])
        labels[i, :n] = torch.tensor(r["labels"])
        mask[i, :n] = 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


def peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


class ConsolidationWorker:
    """Owns the model being consolidated: attach LoRA, train on row batches, save, merge."""

    def __init__(
        self,
        model_id: str,
        outdir: str | Path,
        device: str = "auto",
        config: LoRAConfig | None = None,
        dtype: str = "float32",
        pipe: GenerationPipeline | None = None,
    ) -> None:
        self.model_id = model_id
        self.outdir = Path(outdir)
        self.config = config or LoRAConfig()
        self.dtype = dtype
        self.device = device
        self.accelerator = Accelerator(cpu=device == "cpu")
        if pipe is None:
            _, _, pipe = load_base(model_id, dtype, device=device)
        self.pipe = pipe
        self.tokenizer = pipe.tokenizer
        self.model: Any = pipe.model
        self.optimizer: torch.optim.Optimizer | None = None
        self.history: list[dict[str, Any]] = []

    def attach_lora(self) -> PeftModel:
        """Wrap the base model with fresh LoRA weights (the base stays frozen)."""
        cfg = self.config
        names = {n.rsplit(".", 1)[-1] for n, _ in self.model.named_modules()}
        targets = [t for t in cfg.target_modules if t in names]
        if not targets:
            raise ValueError(
                f"none of the LoRA target modules {cfg.target_modules} exist in {self.model_id}"
            )
        n_layers = int(getattr(self.model.config, "num_hidden_layers", 0))
        layers = None
        if cfg.top_layers < 1 and n_layers:
            first = n_layers - max(1, round(cfg.top_layers * n_layers))
            layers = list(range(first, n_layers))
        peft_cfg = PeftLoraConfig(
            r=cfg.r,
            lora_alpha=cfg.alpha,
            lora_dropout=cfg.dropout,
            target_modules=targets,
            layers_to_transform=layers,
            task_type="CAUSAL_LM",
        )
        self.model = get_peft_model(self.model, peft_cfg)
        self.pipe.model = self.model
        return self.model

    def prepare_adamw(self) -> torch.optim.Optimizer:
        """AdamW over the trainable (LoRA) parameters, prepared by accelerate."""
        if not isinstance(self.model, PeftModel):
            self.attach_lora()
        params = [p for p in self.model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=self.config.lr, weight_decay=self.config.wd)
        self.model, self.optimizer = self.accelerator.prepare(self.model, optimizer)
        return self.optimizer

    def encode(self, rows: Sequence[TrainRow]) -> list[EncodedRow]:
        return [encode_row(self.tokenizer, r, self.config.max_len) for r in rows]

    def train_on(self, batches: Iterable[Sequence[TrainRow]], steps: int) -> TrainStats:
        """One cycle: ``steps`` optimizer steps over ``batches``, cosine decay within the cycle."""
        if self.optimizer is None:
            self.prepare_adamw()
        assert self.optimizer is not None
        acc = self.accelerator
        pad = self.tokenizer.pad_token_id or self.tokenizer.eos_token_id or 0
        stats = TrainStats()
        self.model.train()
        t0 = time.perf_counter()
        bar = tqdm(total=steps, desc="consolidate", disable=not acc.is_local_main_process)
        for step, rows in enumerate(batches):
            if step >= steps:
                break
            self._set_lr(step, steps)
            shard = list(rows)[acc.process_index :: acc.num_processes] or list(rows)[:1]
            encoded = self.encode(shard)
            batch = {k: v.to(acc.device) for k, v in collate(encoded, pad).items()}
            distill = torch.tensor([r["kind"] == "semantic" for r in encoded], device=acc.device)
            loss = self._loss(batch, distill)
            acc.backward(loss)
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
            stats.steps += 1
            stats.tokens += int(batch["attention_mask"].sum())
            stats.losses.append(float(loss.detach()))
            bar.update(1)
            bar.set_postfix(loss=f"{stats.losses[-1]:.3f}")
        bar.close()
        self.model.eval()
        stats.seconds = time.perf_counter() - t0
        stats.peak_memory_mb = peak_memory_mb(acc.device)
        self.history.append(stats.as_dict())
        return stats

    def _loss(self, batch: dict[str, torch.Tensor], distill: torch.Tensor) -> torch.Tensor:
        """Next-token loss on episodic rows + ``distill_weight`` x KL(base || LoRA) on semantic rows."""
        w = self.config.distill_weight
        if w <= 0 or not bool(distill.any()):
            return self.model(**batch).loss
        logits = self.model(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
        ).logits
        logits = logits[:, :-1].float()  # [B, T-1, V]: position t predicts token t+1
        labels = batch["labels"][:, 1:].clone()
        labels[distill] = IGNORE_INDEX
        ce = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=IGNORE_INDEX
        )
        ce = ce if bool((labels != IGNORE_INDEX).any()) else logits.sum() * 0.0
        with torch.no_grad(), self.unwrapped().disable_adapter():
            ref = (
                self.model(
                    input_ids=batch["input_ids"][distill],
                    attention_mask=batch["attention_mask"][distill],
                )
                .logits[:, :-1]
                .float()
            )
        mask = batch["attention_mask"][distill][:, 1:].bool()  # [b, T-1]
        kl = torch.nn.functional.kl_div(
            torch.log_softmax(logits[distill], -1),
            torch.log_softmax(ref, -1),
            log_target=True,
            reduction="none",
        ).sum(
            -1
        )  # [b, T-1]
        return ce + w * kl[mask].mean()

    def _set_lr(self, step: int, total: int) -> None:
        assert self.optimizer is not None
        warm = min(self.config.warmup, max(1, total // 10))
        if step < warm:
            scale = (step + 1) / warm
        else:
            scale = 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))
        for group in self.optimizer.param_groups:
            group["lr"] = self.config.lr * max(scale, 0.02)

    @torch.no_grad()
    def text_loss(self, texts: Sequence[str]) -> float:
        """Mean next-token loss over ``texts`` (held-out base text: the early-stop signal)."""
        pad = self.tokenizer.pad_token_id or self.tokenizer.eos_token_id or 0
        rows = [encode_row(self.tokenizer, TrainRow("semantic", "", t), 256) for t in texts]
        batch = {k: v.to(self.accelerator.device) for k, v in collate(rows, pad).items()}
        return float(self.model(**batch).loss)

    def unwrapped(self) -> Any:
        return self.accelerator.unwrap_model(self.model)

    def save_adapter(self, extra: dict[str, Any] | None = None) -> Path:
        """``<outdir>/adapter`` in peft's layout, plus ``<outdir>/training_args.json``."""
        target = self.outdir / "adapter"
        if self.accelerator.is_main_process:
            self.unwrapped().save_pretrained(str(target))
            args = {
                "model_id": self.model_id,
                "dtype": self.dtype,
                "lora": asdict(self.config),
                "cycles": self.history,
                **(extra or {}),
            }
            write_json(self.outdir / "training_args.json", args)
        self.accelerator.wait_for_everyone()
        return target

    def merge_and_save_base(self) -> Path:
        """Load a fresh base, apply the saved adapter, merge it and save ``<outdir>/merged``."""
        target = self.outdir / "merged"
        if self.accelerator.is_main_process:
            merged = merged_model(self.model_id, self.outdir / "adapter", self.dtype, "cpu")
            merged.save_pretrained(str(target))
            self.tokenizer.save_pretrained(str(target))
        self.accelerator.wait_for_everyone()
        return target


def merged_model(model_id: str, adapter_dir: str | Path, dtype: str, device: str) -> Any:
    """Base weights with the adapter's low-rank update added in (``merge_and_unload``)."""
    _, base, _ = load_base(model_id, dtype, device=device)
    return PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()


__all__ = [
    "DEFAULT_TARGETS",
    "ConsolidationWorker",
    "LoRAConfig",
    "TrainStats",
    "collate",
    "merged_model",
]
