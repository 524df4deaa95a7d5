"""Replay runner: B0 -> B1 (gated writes) -> replay + LoRA consolidation -> B2, B3, drift guard.

``python -m hei_nw.eval.replay_runner --scenario A`` (``scripts/run_m4_replay.sh`` wraps it).

setup (validate flags, check the outdir, load the model) -> main (B0, core suite, B1,
queue) -> fit (cycles of scheduled replay batches, retention after each) -> evaluate
B2/B3 and the drift guard -> reports. Per-mode reports have the harness's layout
(``{scenario}_{mode}_metrics.json`` / ``_report.md``); the run itself is summarised in
``{scenario}_replay.json`` / ``.md``. The queue is filled only with what the write
gate stored; every score uses the held-out cue phrasings.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hei_nw.datasets import Record, get_scenario, query_items
from hei_nw.eval import parity
from hei_nw.eval.config import HarnessConfig, describe_validation_error
from hei_nw.eval.harness import hard_negative_info, package_versions, run_info
from hei_nw.eval.memory_mode import build_stack, run_memory, write_phase
from hei_nw.eval.modes import MODES, Outcome, RunContext
from hei_nw.eval.prompting import build_prompt
from hei_nw.eval.qa import GenConfig
from hei_nw.eval.report import make_section, write_reports
from hei_nw.eval.schema import MetricsReport, Section
from hei_nw.metrics.stats import paired_bootstrap
from hei_nw.metrics.teacher_forced import teacher_force
from hei_nw.models.base import GenerationPipeline, ModelLoadError, load_base
from hei_nw.models.lora_weights import merged
from hei_nw.models.sources import DEFAULT_MODEL
from hei_nw.replay import POLICIES, ReplayQueue
from hei_nw.training.consolidate import ReplayPlan, run_cycles
from hei_nw.training.lora import ConsolidationWorker, LoRAConfig
from hei_nw.training.rows import (
    CueAnswerRowBuilder,
    LMReplayRowBuilder,
    self_answer_rows,
    semantic_rows,
)
from hei_nw.utils.cli import OneLineErrorParser, fail
from hei_nw.utils.io import OutdirError, ensure_writable_dir, write_json, write_markdown
from hei_nw.utils.seed import set_global_seed

logger = logging.getLogger("hei_nw.eval.replay_runner")

PROG = "python -m hei_nw.eval.replay_runner"
REPLAY_SCENARIOS = ("A", "B", "C", "D")

EPILOG = """examples:
  python -m hei_nw.eval.replay_runner --scenario A
  python -m hei_nw.eval.replay_runner --scenario B --n 64 --cycles 3 --outdir reports/m4-run1
  python -m hei_nw.eval.replay_runner --scenario A --policy shuffled --outdir reports/m4-run1-shuffled
  accelerate launch -m hei_nw.eval.replay_runner --scenario A --n 128 --device cuda
"""


class ReplayConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    scenario: str = "A"
    n: int = Field(16, gt=0)
    seed: int = 7
    cycles: int = Field(3, gt=0)
    policy: str = "ca2"
    steps_per_cycle: int = Field(80, gt=0)
    train_batch: int = Field(24, gt=1)
    cue_rows_per_item: int = Field(4, gt=0)
    mix: tuple[float, float, float] = (0.5, 0.3, 0.2)
    lora_r: int = Field(32, gt=0)
    lora_alpha: int = Field(16, gt=0)
    lr: float = Field(2e-3, gt=0)
    top_layers: float = Field(0.5, gt=0, le=1)
    outdir: str = "reports/m4-run1"
    artifacts: str = "artifacts/m4/lora"
    model: str = DEFAULT_MODEL
    device: str = "auto"
    dtype: str = "float32"
    eval_batch: int = Field(8, gt=0)
    max_new_tokens: int = Field(16, gt=0)
    drift_tolerance: float = Field(1.0, ge=0)
    gate_tau: float = 0.7
    skip_b2: bool = False
    retention_only: bool = False

    @field_validator("scenario")
    @classmethod
    def _scenario(cls, v: str) -> str:
        if v not in REPLAY_SCENARIOS:
            raise ValueError(f"unknown scenario {v!r}; choose one of {', '.join(REPLAY_SCENARIOS)}")
        return v

    @field_validator("policy")
    @classmethod
    def _policy(cls, v: str) -> str:
        if v not in POLICIES:
            raise ValueError(f"unknown policy {v!r}; choose one of {', '.join(POLICIES)}")
        return v

    @field_validator("mix", mode="before")
    @classmethod
    def _mix(cls, v: Any) -> Any:
        if isinstance(v, str):
            try:
                v = tuple(float(x) for x in v.split(","))
            except ValueError:
                raise ValueError(f"mix must be three comma-separated numbers, got {v!r}") from None
        if len(v) != 3 or abs(sum(v) - 1) > 1e-6 or min(v) < 0:
            raise ValueError(f"mix must be three non-negative shares summing to 1, got {v!r}")
        return v

    def lora(self) -> LoRAConfig:
        return LoRAConfig(
            r=self.lora_r,
            alpha=self.lora_alpha,
            lr=self.lr,
            steps=self.steps_per_cycle,
            batch_size=self.train_batch,
            mix=self.mix,
            top_layers=self.top_layers,
        )

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
            batch_size=self.eval_batch,
            max_new_tokens=self.max_new_tokens,
            gate_tau=self.gate_tau,
            adapter_path=self.artifacts if mode in ("B2", "B3") else None,
        )


FLAGS = {"steps_per_cycle": "--steps-per-cycle", "lora_r": "--lora.r", "lora_alpha": "--lora.alpha"}


def build_parser() -> argparse.ArgumentParser:
    p = OneLineErrorParser(
        prog=PROG,
        description="Write with the gate (B1), replay into LoRA, evaluate B2/B3 and drift.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run = p.add_argument_group("run")
    run.add_argument(
        "--scenario", default="A", choices=REPLAY_SCENARIOS, help="scenario (default A)"
    )
    run.add_argument("--n", type=int, default=16, help="target episodes (default 16)")
    run.add_argument("--seed", type=int, default=7, help="generator and training seed (default 7)")
    run.add_argument("--outdir", default="reports/m4-run1", help="report folder")
    run.add_argument(
        "--artifacts", default="artifacts/m4/lora", help="adapter/merged output folder"
    )
    replay = p.add_argument_group("replay")
    replay.add_argument("--cycles", type=int, default=3, help="consolidation cycles (default 3)")
    replay.add_argument("--policy", default="ca2", choices=list(POLICIES), help="replay order")
    replay.add_argument("--steps-per-cycle", type=int, default=80, help="optimizer steps per cycle")
    replay.add_argument("--train-batch", type=int, default=24, help="rows per step (default 24)")
    replay.add_argument(
        "--cue-rows-per-item", type=int, default=4, help="cue->answer rows per replayed trace"
    )
    replay.add_argument("--mix", default="0.5,0.3,0.2", help="episodic,semantic,fresh shares")
    lora = p.add_argument_group("LoRA")
    lora.add_argument("--lora.r", dest="lora_r", type=int, default=32, help="rank (default 32)")
    lora.add_argument("--lora.alpha", dest="lora_alpha", type=int, default=16, help="alpha")
    lora.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (default 2e-3)")
    lora.add_argument(
        "--top-layers", type=float, default=0.5, help="share of top layers with LoRA (default 0.5)"
    )
    model = p.add_argument_group("model and evaluation")
    model.add_argument(
        "--model", default=DEFAULT_MODEL, help=f"base model (default {DEFAULT_MODEL})"
    )
    model.add_argument("--device", default="auto", help="auto, cpu, cuda")
    model.add_argument("--dtype", default="float32", help="float32 (default), bfloat16")
    model.add_argument("--eval-batch", type=int, default=8, help="generation batch size")
    model.add_argument("--max-new-tokens", type=int, default=16)
    model.add_argument(
        "--gate.tau", dest="gate_tau", type=float, default=0.7, help="write threshold"
    )
    model.add_argument(
        "--drift-tolerance", type=float, default=1.0, help="allowed core-suite |ΔEM| in points"
    )
    model.add_argument("--skip-b2", action="store_true", help="skip the B2 evaluation")
    model.add_argument(
        "--retention-only",
        action="store_true",
        help="interference runs: gate writes + replay + retention curve; no B0-B3 reports",
    )
    p.add_argument("--log-level", default="INFO")
    return p


def setup(argv: Sequence[str]) -> tuple[ReplayConfig, GenerationPipeline]:
    args = vars(build_parser().parse_args(argv))
    logging.basicConfig(
        level=args.pop("log_level").upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        config = ReplayConfig(**args)
        config.lora()
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "?"
        flag = FLAGS.get(field, "--" + field.replace("_", "-"))
        fail(
            PROG,
            (
                describe_validation_error(exc)
                if field in HarnessConfig.model_fields
                else f"{flag}: {err['msg']}"
            ),
        )
    except ValueError as exc:
        fail(PROG, str(exc))
    for folder, flag in ((config.outdir, "--outdir"), (config.artifacts, "--artifacts")):
        try:
            ensure_writable_dir(folder)
        except OutdirError as exc:
            fail(PROG, f"{flag} is not writable ({exc}); pass a folder you can write to")
    set_global_seed(config.seed)
    try:
        _, _, pipe = load_base(config.model, config.dtype, device=config.device)
    except ModelLoadError as exc:
        fail(PROG, f"--model: {exc}")
    return config, pipe


def retention(pipe: GenerationPipeline, items: Sequence[Record], batch: int) -> dict[str, float]:
    """Memory-off teacher-forced accuracy of the answers to the held-out cues."""
    scores = teacher_force(
        pipe, [build_prompt(r["query"]) for r in items], [r["expected"] for r in items], batch
    )
    n = max(1, len(scores))
    return {
        "token_accuracy": sum(s.token_accuracy for s in scores) / n,
        "exact_tokens": sum(s.token_accuracy == 1.0 for s in scores) / n,
        "mean_logprob": sum(s.logprob for s in scores) / n,
    }


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    config, pipe = setup(argv)
    records = get_scenario(config.scenario).generate(config.n, config.seed)
    items = query_items(records)
    gen = GenConfig(config.max_new_tokens, config.eval_batch)
    cmd = f"{PROG} {shlex.join(argv)}"
    if config.retention_only:
        return retention_run(config, pipe, records, cmd, t0)
    sections: dict[str, Section] = {}
    sections["B0"] = _evaluate("B0", config, pipe, records, gen, argv, started, t0)
    kept = parity.core_suite(pipe, config.eval_batch)
    rows, extra, stack = run_memory(
        pipe, records, items, gen, config.harness("B1").memory_settings()
    )
    sections["B1"] = _write("B1", config, pipe, records, argv, started, t0, Outcome(rows, extra))
    queue = ReplayQueue(seed=config.seed)
    queue.push(stack.writer.records)
    logger.info("replay queue: %d traces written by the gate", len(queue))
    worker, curve = fit(config, pipe, queue, items)
    worker.save_adapter(
        {"command": cmd, "scenario": config.scenario, "n": config.n, "seed": config.seed}
    )
    worker.merge_and_save_base()
    if not config.skip_b2:
        rows, extra, _ = run_memory(
            worker.pipe, records, items, gen, config.harness("B2").memory_settings()
        )
        sections["B2"] = _write(
            "B2", config, worker.pipe, records, argv, started, t0, Outcome(rows, extra)
        )
    _, _, fresh = load_base(config.model, config.dtype, device=config.device)
    b3_pipe = merged(fresh, config.artifacts, config.dtype, config.device)
    sections["B3"] = _evaluate("B3", config, b3_pipe, records, gen, argv, started, t0)
    _, _, base = load_base(config.model, config.dtype, device=config.device)
    drift = parity.compare(base, b3_pipe, kept, config.drift_tolerance, config.eval_batch)
    summary = _summary(config, cmd, sections, curve, worker, queue, drift, time.perf_counter() - t0)
    json_path = write_json(Path(config.outdir) / f"{config.scenario}_replay.json", summary)
    write_markdown(Path(config.outdir) / f"{config.scenario}_replay.md", replay_markdown(summary))
    logger.info(
        "reports in %s (%s); adapter in %s", config.outdir, json_path.name, config.artifacts
    )
    if not drift["passed"]:
        logger.error(
            "drift guard FAILED: core-suite EM changed by %+.1f points (tolerance ±%.1f); see %s",
            drift["delta_em_points"],
            config.drift_tolerance,
            json_path,
        )
        return parity.EXIT_DRIFT
    return 0


def retention_run(
    config: ReplayConfig,
    pipe: GenerationPipeline,
    records: Sequence[Record],
    cmd: str,
    t0: float,
) -> int:
    """Gate writes, scheduled replay, and the retention curve only (interference runs)."""
    stack = build_stack(pipe, config.harness("B1").memory_settings())
    write_phase(stack, records, config.harness("B1").memory_settings())
    queue = ReplayQueue(seed=config.seed)
    queue.push(stack.writer.records)
    worker, curve = fit(config, pipe, queue, query_items(records))
    summary = {
        "command": cmd,
        "scenario": config.scenario,
        "n": config.n,
        "seed": config.seed,
        "policy": config.policy,
        "smoke": config.n < 500,
        "model_id": config.model,
        "device": str(worker.accelerator.device),
        "config": config.model_dump(),
        "versions": package_versions(),
        "queue": {"traces": len(queue), "policy": config.policy, "passes": queue.passes},
        "retention_curve": curve,
        "wall_time_s": time.perf_counter() - t0,
    }
    path = write_json(Path(config.outdir) / f"{config.scenario}_replay.json", summary)
    logger.info("retention curve written to %s", path)
    return 0


def fit(
    config: ReplayConfig, pipe: GenerationPipeline, queue: ReplayQueue, items: Sequence[Record]
) -> tuple[ConsolidationWorker, list[dict[str, Any]]]:
    """Cycles of scheduled replay; retention and held-out base loss after each (early stop)."""
    lora = config.lora()
    worker = ConsolidationWorker(
        config.model, config.artifacts, config.device, lora, config.dtype, pipe
    )
    lm = LMReplayRowBuilder(config.scenario, config.n, config.seed)
    cues = CueAnswerRowBuilder(config.scenario, per_item=config.cue_rows_per_item)
    # The base model's own answers to general questions, taken before any LoRA update.
    semantic = semantic_rows() + self_answer_rows(pipe, batch_size=config.eval_batch)
    plan = ReplayPlan(
        queue,
        lambda its: lm.rows(its) + cues.rows(its),
        lora.split(),
        1 + config.cue_rows_per_item,
        semantic,
        config.policy,
        config.seed,
    )
    worker.attach_lora()
    curve = run_cycles(
        worker,
        plan,
        config.cycles,
        config.steps_per_cycle,
        lambda p: retention(p, items, config.eval_batch),
    )
    return worker, curve


def _evaluate(
    mode: str,
    config: ReplayConfig,
    pipe: GenerationPipeline,
    records: Sequence[Record],
    gen: GenConfig,
    argv: Sequence[str],
    started: str,
    t0: float,
) -> Section:
    run = MODES[mode].run
    assert run is not None
    outcome = run(RunContext(pipe, records, gen, config.harness(mode)))
    return _write(mode, config, pipe, records, argv, started, t0, outcome)


def _write(
    mode: str,
    config: ReplayConfig,
    pipe: GenerationPipeline,
    records: Sequence[Record],
    argv: Sequence[str],
    started: str,
    t0: float,
    outcome: Outcome,
) -> Section:
    cond = MODES[mode]
    section = make_section(cond.name, cond.description, outcome.rows, outcome.extra)
    info = run_info(config.harness(mode), pipe, records, argv, started, time.perf_counter() - t0)
    info["command"] = f"{PROG} {shlex.join(argv)}"
    report = MetricsReport(
        run=info, main=section, baselines=[], probes=[], hard_negatives=hard_negative_info(records)
    )
    write_reports(config.outdir, report)
    return section


def _summary(
    config: ReplayConfig,
    cmd: str,
    sections: dict[str, Section],
    curve: list[dict[str, Any]],
    worker: ConsolidationWorker,
    queue: ReplayQueue,
    drift: dict[str, Any],
    wall: float,
) -> dict[str, Any]:
    em = {m: s["aggregate"]["em"] for m, s in sections.items()}
    per_item = {m: [float(r["em"]) for r in s["rows"]] for m, s in sections.items()}
    ci = paired_bootstrap(per_item["B0"], per_item["B3"], n_boot=2000, seed=config.seed)
    trained = [c for c in curve if c["cycle"] > 0]
    return {
        "command": cmd,
        "scenario": config.scenario,
        "n": config.n,
        "seed": config.seed,
        "smoke": config.n < 500,
        "model_id": config.model,
        "dtype": config.dtype,
        "device": str(worker.accelerator.device),
        "config": config.model_dump(),
        "versions": package_versions(),
        "queue": {"traces": len(queue), "policy": config.policy, "passes": queue.passes},
        "em": em,
        "b3_over_b1": em["B3"] / em["B1"] if em["B1"] else None,
        "b2_minus_b1": em["B2"] - em["B1"] if "B2" in em else None,
        "b3_minus_b0": ci,
        "retention_curve": curve,
        "training": {
            "steps": sum(c.get("steps_run", 0) for c in trained),
            "tokens": sum(c.get("tokens", 0) for c in trained),
            "seconds": sum(c.get("seconds", 0.0) for c in trained),
            "tokens_per_s": _mean([c.get("tokens_per_s", 0.0) for c in trained]),
            "steps_per_s": _mean([c.get("steps_per_s", 0.0) for c in trained]),
            "peak_memory_mb": max((c.get("peak_memory_mb", 0.0) for c in trained), default=0.0),
        },
        "drift_guard": drift,
        "wall_time_s": wall,
        "artifacts": config.artifacts,
    }


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def replay_markdown(s: dict[str, Any]) -> str:
    em, ci, d, tr = s["em"], s["b3_minus_b0"], s["drift_guard"], s["training"]
    smoke = " (smoke run: n < 500, no statistical claim)" if s["smoke"] else ""
    lines = [
        f"# Replay and consolidation — scenario {s['scenario']}{smoke}",
        "",
        f"Command: `{s['command']}`  ",
        f"Model `{s['model_id']}` ({s['dtype']}, {s['device']}), n={s['n']}, seed={s['seed']}, "
        f"policy {s['queue']['policy']}, {s['queue']['traces']} traces in the queue.",
        "",
        "## Modes (EM on held-out phrasings)",
        "",
        "| B0 | B1 | B2 | B3 | B3/B1 | B3−B0 [95% CI] |",
        "|---|---|---|---|---|---|",
        f"| {em['B0']:.3f} | {em['B1']:.3f} | {em.get('B2', float('nan')):.3f} | {em['B3']:.3f} | "
        f"{(s['b3_over_b1'] or 0):.2f} | {ci['diff']:+.3f} [{ci['ci_low']:+.3f}, {ci['ci_high']:+.3f}] |",
        "",
        "## Retention during consolidation (memory off, teacher-forced, held-out cues)",
        "",
        "| cycle | steps | token accuracy | exact | base loss | traces replayed |",
        "|---|---|---|---|---|---|",
    ]
    for c in s["retention_curve"]:
        lines.append(
            f"| {c['cycle']} | {c['steps']} | {c['token_accuracy']:.3f} | {c['exact_tokens']:.3f} | "
            f"{c['base_loss']:.3f} | {c.get('traces_replayed', 0)} |"
        )
    lines += [
        "",
        "## Drift guard (core suite answered correctly at B0)",
        "",
        f"{'passed' if d['passed'] else 'FAILED'}: EM {d['em_before']:.3f} → {d['em_after']:.3f} "
        f"({d['delta_em_points']:+.1f} points, tolerance ±{d['tolerance_points']:.1f}) on "
        f"{d['n_core']} of {d['n_packaged']} packaged questions; held-out perplexity "
        f"{d['perplexity_before']:.2f} → {d['perplexity_after']:.2f}.",
        "",
        "## Consolidation throughput",
        "",
        f"{tr['steps']} steps, {tr['tokens']} tokens in {tr['seconds']:.0f} s: "
        f"{tr['tokens_per_s']:.0f} tokens/s, {tr['steps_per_s']:.2f} steps/s, "
        f"peak memory {tr['peak_memory_mb']:.0f} MB. Wall time {s['wall_time_s']:.0f} s.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
