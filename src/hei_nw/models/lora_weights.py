"""Load consolidated weights for modes B2 (adapter attached) and B3 (adapter merged).

``path`` is what :class:`hei_nw.training.lora.ConsolidationWorker` wrote: a folder with
``adapter/`` (peft layout) and optionally ``merged/`` (full weights); a bare adapter
folder (one holding ``adapter_config.json``) works too.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from peft import PeftModel

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


__all__ = ["adapter_dirs", "attach", "merged"]
