"""HEI-NW: hippocampal episodic index with neuromodulated writes, for decoder-only LLMs.

The package is split by concern:

* :mod:`hei_nw.datasets` -- deterministic scenario generators A-E,
* :mod:`hei_nw.models` -- base-model loading and batched generation,
* :mod:`hei_nw.metrics` -- text, compute and timing metrics,
* :mod:`hei_nw.baselines` -- long-context and RAG baselines,
* :mod:`hei_nw.eval` -- the evaluation harness, the replay runner and their reports,
* :mod:`hei_nw.replay` -- replay queue and CA2-style scheduler,
* :mod:`hei_nw.training` -- replay rows and LoRA consolidation,
* memory modules at the top level: ``gate``, ``keyer``, ``store``, ``recall``, ``pack``,
  ``writer``, ``eviction``, ``adapter``,
* :mod:`hei_nw.utils` -- seeding, atomic I/O and shared CLI flags.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
