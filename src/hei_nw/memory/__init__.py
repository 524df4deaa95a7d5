"""The episodic memory: gate -> DG keys -> ANN + Hopfield -> pointer-only traces -> packed text.

``EpisodicMemory`` is the front door; the parts are importable for research use:
``gate``, ``keyer``, ``store``, ``hopfield``, ``traces``, ``documents``, ``pack``,
``writer``, ``recall``, ``eviction``, ``features``, ``embedders``, ``slots``,
``queries``, ``consolidators``; ``config`` holds every default once (``MemoryConfig``).
"""

from hei_nw.memory.config import MemoryConfig
from hei_nw.memory.consolidators import ConsolidationReport, register_consolidator
from hei_nw.memory.memory import Answer, EpisodicMemory, Recalled, WriteDecision

__all__ = [
    "Answer",
    "ConsolidationReport",
    "EpisodicMemory",
    "MemoryConfig",
    "Recalled",
    "WriteDecision",
    "register_consolidator",
]
