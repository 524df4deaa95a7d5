"""``MemoryConfig``: every default of the memory and its consolidation, held once.

One nested, validated, frozen config (pydantic). Each section configures one part:

* ``gate`` -- the write gate (``S = a*surprise + b*novelty + g*reward + d*pin > tau``),
* ``keyer`` -- the DG key geometry (k-WTA sparse keys, lexical + semantic blocks),
* ``store`` -- the HNSW index, ``hopfield`` -- completion over its candidates,
* ``packer`` -- how recalled traces become prompt text, ``recall`` -- what is recalled,
* ``eviction`` -- TTL / capacity forgetting, ``features`` -- the LM read-outs,
* ``generation`` -- prompt layout and answer length,
* ``consolidation`` -- distilling the memory into LoRA weights.

Every command-line flag of the form ``--section.field`` maps onto a field here
(:func:`hei_nw.cli.flags.add_config_flags`), so a default lives in this file only.

>>> MemoryConfig().gate.tau
0.7
>>> MemoryConfig().with_overrides({"gate.tau": 0.5}).gate.tau
0.5
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Section(BaseModel):
    """Base of every config section: frozen, unknown keys refused, NaN/inf refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class GateConfig(Section):
    """Write gate. ``pin_markers``: phrases that pin an episode when its text contains them
    (an explicit "remember this"), detected by the system, never given by labels.

    * ``surprise``: ``mean`` is the mean token NLL / ln(vocab); ``total`` is the text's
      whole information content, summed token NLL in nats / ``total_scale`` (a long,
      detail-dense text carries more than a short predictable one).
    * ``novelty``: ``stored`` is 1 - max cosine to the stored keys; ``seen`` also counts
      the last ``seen_window`` texts observed but not stored (familiarity: chatter heard
      before is not new even though it was never written).

    The defaults were chosen on the scenario streams; the sparse chat stream's dev split
    chose ``total`` / ``seen`` (reports/gate/)."""

    alpha: float = 1.0
    beta: float = 1.0
    gamma: float = 0.5
    delta: float = 0.8
    tau: float = 0.7
    use_for_writes: bool = True
    surprise: Literal["mean", "total"] = "mean"
    total_scale: float = Field(100.0, gt=0)
    novelty: Literal["stored", "seen"] = "stored"
    seen_window: int = Field(4096, gt=0)
    pin_markers: tuple[str, ...] = (
        "remember this",
        "remember that",
        "don't forget",
        "do not forget",
        "note to self",
    )


class KeyerConfig(Section):
    """DG key geometry. Chosen on scenario streams with seed 11 (not the reported seed-7
    streams), retrieval only: 3 units per word keep ~11 words in the 32 lexical winners,
    32 semantic winners separate near-identical names on B (seed-11 P@1 A 0.99, B 0.96,
    C 0.93, D 0.61). ``dg=False`` is the dense ablation (almost every unit kept);
    ``semantic=False`` drops the sentence-vector block."""

    d: int = Field(2048, gt=1)
    k: int = Field(64, gt=0)
    d_sem: int = Field(512, ge=0)
    k_sem: int = Field(32, ge=0)
    assembly: int = Field(3, gt=0)
    sem_weight: float = Field(0.4, ge=0, le=1)
    seed: int = 0
    dg: bool = True
    semantic: bool = True
    embedder: str = "minilm"

    @model_validator(mode="after")
    def _geometry(self) -> KeyerConfig:
        if not self.k < self.d:
            raise ValueError(f"keyer: need k < d, got k={self.k}, d={self.d}")
        if not (self.k_sem < self.k and self.d_sem < self.d):
            raise ValueError("keyer: the semantic block must be smaller than the key")
        if self.assembly > self.d - self.d_sem:
            raise ValueError("keyer: assembly larger than the lexical block")
        return self

    def geometry(self) -> KeyerConfig:
        """The geometry actually used: ``dg=False`` keeps all but one unit per block."""
        if self.dg:
            return self
        return self.model_copy(update={"k": self.d - 1, "k_sem": self.d_sem - 1})


class StoreConfig(Section):
    """faiss HNSW parameters and the ANN candidate count ``Kc``."""

    hnsw_m: int = Field(32, gt=1)
    ef_construction: int = Field(200, gt=0)
    ef_search: int = Field(64, gt=0)
    candidates: int = Field(64, gt=0)


class HopfieldConfig(Section):
    """Modern-Hopfield completion over the ANN candidates (read-only at inference).

    Off by default: on the dev split (seed 11, n=500, A-D) its P@1 lift on full, partial
    (30% / 60% of content words dropped) and near-miss cues was between -0.016 and +0.002,
    never above 0 (``python -m hei_nw.cli.retrieval``; reports/retrieval/ has the seed-7
    figures with paired CIs). ``--hopfield.enabled`` turns it back on."""

    enabled: bool = False
    beta: float = Field(32.0, gt=0)
    steps: int = Field(1, ge=0, le=3)


class PackerConfig(Section):
    max_mem_tokens: int = Field(128, gt=0)
    max_traces: int = Field(4, ge=1, le=4)
    redact_pii: bool = True
    render_slots: bool = False


class RecallConfig(Section):
    """``top_m`` traces are packed per query. ``scope``: recall only traces whose scope
    (given by the user when writing, e.g. an edit request's subject) the cue names;
    ``"names"``: only traces whose text names something the cue names (read off both texts,
    no user input). ``min_score``: relevance floor on the best hit's key cosine (``None``:
    always recall); with ``"names"`` it applies only to cues that name nothing.
    ``name_bonus``: re-rank the shortlist by score + this x the names cue and candidate
    share (0: off; 0.05 was best on the dev seed, ``reports/retrieval/names/``)."""

    top_m: int = Field(1, ge=1, le=4)
    scope: str | None = None
    min_score: float | None = None
    shortlist: int = Field(16, ge=1)
    name_bonus: float = Field(0.0, ge=0.0)


class EvictionConfig(Section):
    """Forgetting by age and capacity; pinned traces are never evicted. ``capacity=None``
    keeps every trace until its TTL; ``auto=True`` evicts after every write batch."""

    ttl_days: float = Field(30.0, gt=0)
    capacity: int | None = Field(None, gt=0)
    auto: bool = False
    age_weight: float = 1.0
    use_weight: float = 0.5
    salience_weight: float = 1.0
    diversity_bits: int = Field(16, ge=1, le=64)


class FeaturesConfig(Section):
    layer: int | None = None
    batch_size: int = Field(32, gt=0)


class GenerationConfig(Section):
    """How the memory's model answers: prompt layout, answer cap, batch size."""

    prompt_format: str = "completion"
    max_new_tokens: int = Field(16, gt=0)
    batch_size: int = Field(8, gt=0)


class ConsolidationConfig(Section):
    """Distillation of B1 (base + recalled memory) into LoRA weights used without memory.

    Placement, rank, learning rate and budget were chosen on a dev split (seed 11) by
    ``scripts/consolidation_sweep.py``; see ``documentation/consolidation.md`` and ``reports/consolidation/README.md``.

    * ``target``: ``kl`` matches the teacher's top-k next-token distribution on the answer
      tokens; ``greedy`` trains on the teacher's greedy answer (cross-entropy).
    * ``layers``: ``[first, last)`` decoder layers that get LoRA (negative counts from the
      top); ``modules``: which linear layers.
    * ``epochs``: passes over the served queries; an item whose answer loss is below
      ``learned_loss`` is skipped (per-fact early stop).
    * ``anchor_ratio``: anchor rows (KL to the frozen base model on unrelated prompts) per
      distillation row; ``anchor_per_family``: how many questions of each family of the
      packaged anchor pool are held; ``memory_ratio``: ``recall`` rows (a served query
      with the notes it was served with, the teacher's answer) per distillation row, so
      the adapter keeps answering with memory as B1 did (B2); ``lm_ratio``: LM rows on the stored episode text per item.
    * ``cov_weight``: weight of the preservation penalty on general-text activations.
    """

    method: str = "distill"
    target: Literal["kl", "greedy"] = "greedy"  # dev split: reports/consolidation (part 5)
    topk: int = Field(20, gt=0)
    r: int = Field(16, gt=0)
    alpha: int = Field(32, gt=0)
    dropout: float = Field(0.0, ge=0, lt=1)
    modules: tuple[str, ...] = ("gate_proj", "up_proj", "down_proj")
    layers: tuple[int, int] = (8, 16)  # dev split: reports/consolidation (part 3)
    lr: float = Field(2e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    warmup: int = Field(10, ge=0)
    epochs: float = Field(16.0, gt=0)  # dev split: reports/consolidation (part 4)
    batch_size: int = Field(32, gt=0)
    anchor_ratio: float = Field(3.0, ge=0)  # chosen on the dev split: reports/consolidation
    anchor_weight: float = Field(3.0, ge=0)
    anchor_per_family: int = Field(90, gt=0)  # packaged anchor pool: 90 -> 898 questions
    # Hinge on anchor rows: keep the base's greedy token ahead of the runner-up by this
    # many nats (0 = off); weight relative to the anchor loss.
    anchor_margin: float = Field(0.0, ge=0)
    anchor_margin_weight: float = Field(1.0, ge=0)
    memory_ratio: float = Field(0.5, ge=0)  # dev split: reports/consolidation (part 7)
    memory_weight: float = Field(1.0, ge=0)
    lm_ratio: float = Field(0.0, ge=0)
    lm_weight: float = Field(0.1, ge=0)
    learned_loss: float = Field(0.05, ge=0)
    # The CA2 scheduler's weights on salience, recency, diversity and the key-overlap
    # penalty (hei_nw.consolidation.queue.CA2Scheduler; its need term has weight 1). The
    # seed's were (1.0, 1.0, 0.1, 0.5); without the overlap penalty CA2 kept as much on
    # scenario A (-0.004 over five seeds) and more on D (+0.038), so its weight is 0
    # (reports/interference, "Which policy is the default").
    score_w: tuple[float, float, float, float] = (1.0, 1.0, 0.1, 0.0)
    # A trace's need (the scheduler's term and the learned_loss skip): "loss" = the
    # student's loss on its rows; "gap" = that loss minus the teacher's own NLL of its
    # greedy answer (0 floor; greedy target only), so answers the teacher itself was
    # unsure of do not keep the budget (reducible loss, in the spirit of RHO-LOSS).
    need: Literal["loss", "gap"] = "loss"
    # MEMIT-style preservation: penalise each LoRA layer's output change on general-text
    # activations, tr(dW C dW^T) / tr(W C W^T), C from the anchor prompts (0 = off).
    cov_weight: float = Field(0.0, ge=0)
    # Student forward/backward under bf16 autocast (LoRA weights stay float32); on a CPU
    # with AVX-512 BF16 or a GPU it is about twice as fast. Evaluation is not affected.
    precision: Literal["float32", "bfloat16"] = "bfloat16"
    max_grad_norm: float = Field(1.0, gt=0)
    unlearn_weight: float = Field(1.0, ge=0)
    seed: int = 0
    # method "memit": a closed-form write into down_proj of memit_layers (the last one is
    # the critical layer whose residual the target values set); see consolidation/memit.py.
    memit_layers: tuple[int, ...] = (3, 4, 5, 6, 7)
    memit_lambda: float = Field(15000.0, gt=0)  # weight of the general-text covariance
    memit_steps: int = Field(25, gt=0)  # optimisation steps per target value
    memit_lr: float = Field(0.5, gt=0)
    memit_decay: float = Field(
        4.0, ge=0
    )  # L2 on ||delta|| / ||h|| (dev split: reports/edits/memit)
    memit_clamp: float = Field(4.0, gt=0)  # ||delta|| <= clamp * ||h||
    memit_stop_loss: float = Field(0.05, ge=0)  # stop once every answer NLL is below it
    memit_batch: int = Field(32, gt=0)
    memit_preserve: float = Field(0.0, ge=0)  # weight of each anchor key held unchanged
    memit_samples: int = Field(0, ge=0)  # texts the model writes itself, added to the covariance

    @field_validator("score_w")
    @classmethod
    def _score_w(cls, v: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        if not all(w >= 0 for w in v):  # also false for NaN
            raise ValueError(f"score_w must be four weights >= 0, got {v}")
        return v

    @field_validator("layers")
    @classmethod
    def _layers(cls, v: tuple[int, int]) -> tuple[int, int]:
        if len(v) != 2:
            raise ValueError(f"layers must be [first, last), got {v}")
        return v

    @model_validator(mode="after")
    def _need_target(self) -> ConsolidationConfig:
        # The KL target is already a distance to the teacher: subtracting the teacher's
        # own NLL from it has no meaning, and silently falling back to "loss" would hide it.
        if self.need == "gap" and self.target == "kl":
            raise ValueError(
                "consolidation: need 'gap' is defined for target 'greedy' only; "
                "set consolidation.target greedy or consolidation.need loss"
            )
        return self


SECTIONS: dict[str, type[Section]] = {
    "gate": GateConfig,
    "keyer": KeyerConfig,
    "store": StoreConfig,
    "hopfield": HopfieldConfig,
    "packer": PackerConfig,
    "recall": RecallConfig,
    "eviction": EvictionConfig,
    "features": FeaturesConfig,
    "generation": GenerationConfig,
    "consolidation": ConsolidationConfig,
}


class MemoryConfig(BaseModel):
    """The whole memory's configuration: one section per part (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    gate: GateConfig = GateConfig()
    keyer: KeyerConfig = KeyerConfig()
    store: StoreConfig = StoreConfig()
    hopfield: HopfieldConfig = HopfieldConfig()
    packer: PackerConfig = PackerConfig()
    recall: RecallConfig = RecallConfig()
    eviction: EvictionConfig = EvictionConfig()
    features: FeaturesConfig = FeaturesConfig()
    generation: GenerationConfig = GenerationConfig()
    consolidation: ConsolidationConfig = ConsolidationConfig()

    def with_overrides(self, dotted: Mapping[str, Any]) -> MemoryConfig:
        """A copy with ``{"section.field": value}`` applied (validated; errors name the key)."""
        data = self.model_dump()
        for key, value in dotted.items():
            section, _, field = key.partition(".")
            if section not in SECTIONS or field not in SECTIONS[section].model_fields:
                raise ValueError(f"unknown memory setting {key!r}")
            data[section][field] = value
        return MemoryConfig.model_validate(data)


__all__ = [
    "SECTIONS",
    "ConsolidationConfig",
    "EvictionConfig",
    "FeaturesConfig",
    "GateConfig",
    "GenerationConfig",
    "HopfieldConfig",
    "KeyerConfig",
    "MemoryConfig",
    "PackerConfig",
    "RecallConfig",
    "Section",
    "StoreConfig",
]
