"""HEI-NW: hippocampal episodic index with neuromodulated writes, for decoder-only LLMs.

>>> from hei_nw import EpisodicMemory, MemoryConfig
>>> mem = EpisodicMemory(config=MemoryConfig())

One folder per concern, imports running one way
(utils <- models <- prompts <- memory <- consolidation <- eval <- cli):

* :mod:`hei_nw.memory` -- the memory (gate, keyer, store, Hopfield, traces, packer,
  recall, eviction) behind :class:`EpisodicMemory`, configured by :class:`MemoryConfig`,
* :mod:`hei_nw.consolidation` -- replay queue, CA2 scheduler, label-free rows, the LoRA
  distillation trainer (``from hei_nw.replay import ReplayQueue, CA2Scheduler`` works too),
* :mod:`hei_nw.models`, :mod:`hei_nw.prompts` -- model loading, cached batched decoding,
  prompt layouts,
* :mod:`hei_nw.datasets`, :mod:`hei_nw.metrics`, :mod:`hei_nw.baselines` -- scenario
  generators and edit data, metrics, retrieval baselines,
* :mod:`hei_nw.eval` -- the evaluation library; :mod:`hei_nw.cli` -- its commands.

The heavy parts (torch, transformers) load only when :class:`EpisodicMemory` or
:class:`MemoryConfig` is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

if TYPE_CHECKING:
    from hei_nw.memory import (
        ConsolidationReport,
        EpisodicMemory,
        MemoryConfig,
        Recalled,
        WriteDecision,
    )

_LAZY = {
    "EpisodicMemory": "hei_nw.memory",
    "MemoryConfig": "hei_nw.memory.config",
    "Recalled": "hei_nw.memory",
    "WriteDecision": "hei_nw.memory",
    "ConsolidationReport": "hei_nw.memory",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hei_nw' has no attribute {name!r}")


__all__ = [
    "ConsolidationReport",
    "EpisodicMemory",
    "MemoryConfig",
    "Recalled",
    "WriteDecision",
    "__version__",
]
