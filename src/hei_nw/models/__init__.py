"""Base-model loading (bundled offline default, hub ids, local folders) and generation."""

from hei_nw.models.base import (
    DEFAULT_MODEL,
    MODEL_ALIASES,
    GenerationOutput,
    GenerationPipeline,
    ModelLoadError,
    generate,
    generate_batch,
    load_base,
)

__all__ = [
    "DEFAULT_MODEL",
    "MODEL_ALIASES",
    "GenerationOutput",
    "GenerationPipeline",
    "ModelLoadError",
    "generate",
    "generate_batch",
    "load_base",
]
