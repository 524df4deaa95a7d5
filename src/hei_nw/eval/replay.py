"""Replay experiment: B0 -> B1 (gated writes) -> served queries -> consolidation -> B2, B3, drift.

The library behind ``python -m hei_nw.eval.replay_runner`` (``scripts/run_m4_replay.sh``):

1. B0 on the held-out cue phrasings;
2. the stream goes through the memory's gate; B1 answers the held-out cues (not logged);
3. the memory *serves* the training cue phrasings (they stand for the questions users
   asked) and logs its own answers -- the teacher signal;
4. :meth:`EpisodicMemory.consolidate` distils B1 into LoRA weights;
5. B2 (adapter + memory) and B3 (merged, memory off) answer the held-out cues;
6. the drift guard compares B3 with the base model on >= 1000 prompts no row contains.

Per-mode reports keep the harness layout (``{scenario}_{mode}_metrics.json`` /
``_report.md``); the run is summarised in ``{scenario}_replay.json`` / ``.md``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hei_nw.consolidation.cycles import state_of
from hei_nw.datasets import Record, get_scenario, query_items
from hei_nw.eval import drift as drift_guard
from hei_nw.eval.config import HarnessConfig, check_dtype
from hei_nw.eval.harness import hard_negative_info, package_versions, run_info
from hei_nw.eval.memory_mode import run_memory, write_phase
from hei_nw.eval.modes import MODES, Outcome
from hei_nw.eval.plots import modes_figure
from hei_nw.eval.qa import GenConfig, run_qa
from hei_nw.eval.replay_report import replay_markdown
from hei_nw.eval.report import make_section, write_reports
from hei_nw.eval.schema import MetricsReport, Section
from hei_nw.memory import EpisodicMemory, MemoryConfig
from hei_nw.memory.features import base_weights
from hei_nw.metrics.stats import paired_bootstrap
from hei_nw.models.base import GenerationPipeline
from hei_nw.models.sources import DEFAULT_MODEL
from hei_nw.utils.io import write_json, write_markdown

logger = logging.getLogger(__name__)

REPLAY_SCENARIOS = ("A", "B", "C", "D")


class ReplayConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    scenario: str = "A"
    n: int = Field(64, gt=0)
    seed: int = 7
    policy: str = "ca2"
    cycles: int | None = Field(None, gt=0)
    outdir: str = "reports/m4-run2"
    artifacts: str = "artifacts/m4/lora"
    model: str = DEFAULT_MODEL
    device: str = "auto"
    dtype: str = "float32"
    drift_tolerance: float = Field(drift_guard.TOLERANCE, ge=0, allow_inf_nan=False)
    drift_counterfact: str | None = None
    drift: bool = True
    skip_b2: bool = False
    memory: MemoryConfig = MemoryConfig()

    @field_validator("scenario")
    @classmethod
    def _scenario(cls, v: str) -> str:
        if v not in REPLAY_SCENARIOS:
            raise ValueError(f"unknown scenario {v!r}; choose one of {', '.join(REPLAY_SCENARIOS)}")
        return v

    @field_validator("dtype")
    @classmethod
    def _dtype(cls, v: str) -> str:
        return check_dtype(v)

    @field_validator("policy")
    @classmethod
    def _policy(cls, v: str) -> str:
        if v not in ("ca2", "shuffled", "shuffled-pass"):
            raise ValueError(f"unknown policy {v!r}; choose ca2, shuffled or shuffled-pass")
        return v

    def harness(self, mode: str) -> HarnessConfig:
        return HarnessConfig(
            mode=mode,
            scenario=self.scenario,
            n=self.n,
            seed=self.seed,
            outdir=self.outdir,
            model=self.model,
            device=self.device,
            dtype=self.dtype,
            adapter_path=self.artifacts if mode in ("B2", "B3") else None,
            memory=self.memory,
        )


def served_cues(items: list[Record]) -> list[str]:
    """The questions users asked while the memory was in use: the generators' *training*
    phrasings of each target (the held-out phrasings are kept for scoring)."""
    return [c for r in items for c in r["train_cues"]]


def run_replay(
    config: ReplayConfig, pipe: GenerationPipeline, command: str, started: str
) -> dict[str, Any]:
    """The whole experiment; writes the per-mode reports and returns the run summary."""
    t0 = time.perf_counter()
    records = get_scenario(config.scenario).generate(config.n, config.seed)
    items = query_items(records)
    g = config.memory.generation
    gen = GenConfig(g.max_new_tokens, g.batch_size, g.prompt_format)
    sections: dict[str, Section] = {}

    def write(mode: str, model: GenerationPipeline, outcome: Outcome) -> Section:
        cond = MODES[mode]
        section = make_section(cond.name, cond.description, outcome.rows, outcome.extra)
        info = run_info(
            config.harness(mode), model, records, command, started, time.perf_counter() - t0
        )
        write_reports(
            config.outdir,
            MetricsReport(
                run=info,
                main=section,
                baselines=[],
                probes=[],
                hard_negatives=hard_negative_info(records),
            ),
        )
        sections[mode] = section
        return section

    write("B0", pipe, Outcome(run_qa(pipe, items, [None] * len(items), gen, desc="B0")))
    mem = EpisodicMemory(pipe, None, config.memory)
    gate = write_phase(mem, records)
    rows, extra, _ = run_memory(pipe, records, items, gen, config.memory, mem=mem)
    extra["gate"] = gate
    write("B1", pipe, Outcome(rows, extra))
    cues = served_cues(items)
    t_serve = time.perf_counter()
    mem.answer(cues, log=True)
    serve_s = time.perf_counter() - t_serve
    logger.info(
        "served %d training-phrasing queries; %d logged with a recalled trace",
        len(cues),
        len(mem.queries),
    )
    suite = None
    if config.drift:  # built before training: the base model's own answers
        questions = drift_guard.suite_questions(config.drift_counterfact, exclude=cues)
        suite = drift_guard.build_suite(pipe, questions, g.batch_size * 4)
    report = mem.consolidate(
        policy=config.policy, cycles=config.cycles, adapter_dir=Path(config.artifacts) / "adapter"
    )
    trainer = state_of(mem).trainer
    if not config.skip_b2:
        rows, extra, _ = run_memory(mem.pipe, records, items, gen, config.memory, mem=mem)
        write("B2", mem.pipe, Outcome(rows, extra))
    b3_pipe = trainer.merged_pipe()
    write("B3", b3_pipe, Outcome(run_qa(b3_pipe, items, [None] * len(items), gen, desc="B3")))
    drift: dict[str, Any] = {"skipped": True}
    if suite is not None:
        with base_weights(mem.pipe.model):  # the memory's model with its adapter off = base
            drift = drift_guard.measure(
                b3_pipe, suite, mem.pipe, config.drift_tolerance, g.batch_size * 4
            )
    summary = _summary(
        config,
        command,
        sections,
        report.as_dict(),
        drift,
        serve_s,
        len(cues),
        time.perf_counter() - t0,
    )
    out = Path(config.outdir)
    summary["figure"] = str(modes_figure(summary, out / f"{config.scenario}_modes.png"))
    write_json(out / f"{config.scenario}_replay.json", summary)
    write_markdown(out / f"{config.scenario}_replay.md", replay_markdown(summary))
    return summary


def _summary(
    config: ReplayConfig,
    command: str,
    sections: dict[str, Section],
    consolidation: dict[str, Any],
    drift: dict[str, Any],
    serve_s: float,
    served: int,
    wall: float,
) -> dict[str, Any]:
    em = {m: s["aggregate"]["em"] for m, s in sections.items()}
    per_item = {m: [float(r["em"]) for r in s["rows"]] for m, s in sections.items()}
    ci = paired_bootstrap(per_item["B0"], per_item["B3"], n_boot=2000, seed=config.seed)
    b3_b1 = paired_bootstrap(per_item["B1"], per_item["B3"], n_boot=2000, seed=config.seed)
    return {
        "schema": "hei_nw.replay/2",
        "command": command,
        "scenario": config.scenario,
        "n": config.n,
        "seed": config.seed,
        "smoke": config.n < 500,
        "model_id": config.model,
        "dtype": config.dtype,
        "batch_size": config.memory.generation.batch_size,
        "versions": package_versions(),
        "config": config.model_dump(mode="json"),
        "em": em,
        "b3_over_b1": em["B3"] / em["B1"] if em["B1"] else None,
        "b2_minus_b1": em["B2"] - em["B1"] if "B2" in em else None,
        "b3_minus_b0": ci,
        "b3_minus_b1": b3_b1,
        "drift_changed_fraction": drift.get("drift_changed_fraction"),
        "drift_suite_size": drift.get("drift_suite_size"),
        "drift_guard": drift,
        "served_queries": served,
        "serve_s": serve_s,
        "consolidation": consolidation,
        "consolidation_s_per_fact": consolidation["seconds_per_fact"],
        "training_tokens_per_s": consolidation["tokens_per_s"],
        "peak_memory_mb": consolidation["peak_memory_mb"],
        "wall_time_s": wall,
        "artifacts": config.artifacts,
    }


__all__ = ["REPLAY_SCENARIOS", "ReplayConfig", "run_replay", "served_cues"]
