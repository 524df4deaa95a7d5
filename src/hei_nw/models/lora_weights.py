"""Load consolidated weights for modes B2 (adapter attached) and B3 (adapter merged).

``path`` is what :class:`hei_nw.training.lora.ConsolidationWorker` wrote: a folder with
``adapter/`` (peft layout) and optionally ``merged/`` (full weights); a bare adapter
folder (one holding ``adapter_config.json``) works too.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import torch
from peft import PeftModel
from safetensors.torch import load_file

from hei_nw.models.base import GenerationPipeline, load_base
from hei_nw.models.sources import ModelLoadError

logger = logging.getLogger(__name__)

TRAIN_HINT = "train one with: bash scripts/run_m4_replay.sh --scenario A"


def adapter_dirs(path: str | Path) -> tuple[Path, Path | None]:
    """(adapter folder, merged folder or ``None``) under ``path``; raises ``ModelLoadError``."""
    root = Path(path)
    if (root / "adapter_config.json").is_file():
        return root, None
    adapter = root / "adapter"
    if not (adapter / "adapter_config.json").is_file():
        raise ModelLoadError(
            f"no LoRA adapter at {root} (expected adapter/adapter_config.json); {TRAIN_HINT}"
        )
    merged = root / "merged"
    return adapter, merged if (merged / "config.json").is_file() else None


def attach(pipe: GenerationPipeline, path: str | Path) -> GenerationPipeline:
    """B2: the base model with the adapter attached (not merged), in a new pipeline."""
    adapter, _ = adapter_dirs(path)
    model: Any = PeftModel.from_pretrained(pipe.model, str(adapter))
    model.eval()
    return GenerationPipeline(pipe.tokenizer, model, f"{pipe.model_id}+lora({adapter})")


def merged(
    pipe: GenerationPipeline, path: str | Path, dtype: str = "auto", device: str = "auto"
) -> GenerationPipeline:
    """B3: merged weights -- read from ``merged/`` when saved, else merged in memory."""
    adapter, merged_dir = adapter_dirs(path)
    if merged_dir is not None:
        _, _, out = load_base(str(merged_dir), dtype, device=device)
        out.model_id = f"{pipe.model_id}+merged({merged_dir})"
        return out
    logger.info("no merged/ folder under %s: merging the adapter in memory", path)
    model: Any = PeftModel.from_pretrained(pipe.model, str(adapter)).merge_and_unload()
    model.eval()
    return GenerationPipeline(pipe.tokenizer, model, f"{pipe.model_id}+merged({adapter})")


def adapter_deltas(path: str | Path) -> dict[str, torch.Tensor]:
    """The weight update of each module a saved adapter touches, ``scale * B @ A``.

    Keys are the base model's parameter names (``model.layers.8.mlp.up_proj.weight``);
    each value has that weight's shape ``[out, in]``."""
    adapter, _ = adapter_dirs(path)
    cfg = json.loads((adapter / "adapter_config.json").read_text())
    scale = float(cfg["lora_alpha"]) / float(cfg["r"])
    state = load_file(str(adapter / "adapter_model.safetensors"))
    out = {}
    for key, a in state.items():
        if ".lora_A." not in key:
            continue
        b = state[key.replace(".lora_A.", ".lora_B.")]  # [out, r] @ [r, in]
        name = key.removeprefix("base_model.model.").replace(".lora_A.weight", ".weight")
        out[name] = scale * (b.float() @ a.float())
    if not out:
        raise ModelLoadError(f"adapter at {adapter} holds no LoRA A/B weights; {TRAIN_HINT}")
    return out


@torch.no_grad()
def add_random_like(
    model: torch.nn.Module, deltas: dict[str, torch.Tensor], rank: int, seed: int = 0
) -> dict[str, float]:
    """Add to each weight in ``deltas`` a random rank-``rank`` update of the same Frobenius
    norm as that delta (in place): a control that changes the weights as much as training
    did, in directions that teach nothing. Returns each update's norm relative to its weight.
    """
    params = dict(model.named_parameters())
    missing = sorted(set(deltas) - set(params))
    if missing:
        raise ValueError(f"the model has no parameter {missing[0]!r} that the adapter updates")
    gen = torch.Generator().manual_seed(seed)
    rel = {}
    for name, delta in sorted(deltas.items()):
        w = params[name]
        b = torch.randn(w.shape[0], rank, generator=gen)  # [out, r]
        a = torch.randn(rank, w.shape[1], generator=gen)  # [r, in]
        update = b @ a
        update *= delta.norm() / update.norm()
        rel[name] = float(delta.norm() / w.float().norm())
        w.add_(update.to(w.dtype).to(w.device))
    return rel


__all__ = ["adapter_deltas", "adapter_dirs", "add_random_like", "attach", "merged"]
