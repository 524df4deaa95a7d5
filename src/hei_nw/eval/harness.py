"""Evaluation harness: ``python -m hei_nw.eval.harness --mode B0 --scenario A``.

setup (parse + validate, check the outdir, load the model) -> main (generate the
scenario stream, run the mode, its baselines and probes) -> write JSON + Markdown.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import platform
import shlex
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from hei_nw.datasets import SCENARIOS, Record, get_scenario
from hei_nw.datasets.edits import EDIT_SCENARIOS, EditDataError, load_edits
from hei_nw.eval.config import HarnessConfig, describe_validation_error
from hei_nw.eval.edits import run_edit_benchmark, write_edit_reports
from hei_nw.eval.modes import BASELINES, MODES, PROBES, Condition, RunContext
from hei_nw.eval.prompting import PROMPT_FORMATS
from hei_nw.eval.qa import GenConfig
from hei_nw.eval.report import make_section, write_reports
from hei_nw.eval.schema import MetricsReport, RunInfo, Section
from hei_nw.models.base import GenerationPipeline, ModelLoadError, load_base
from hei_nw.models.lora_weights import TRAIN_HINT, adapter_dirs
from hei_nw.models.sources import DEFAULT_MODEL
from hei_nw.store import AssociativeStore, StoreError
from hei_nw.utils.cli import OneLineErrorParser, fail
from hei_nw.utils.io import OutdirError, ensure_writable_dir
from hei_nw.utils.seed import set_global_seed

logger = logging.getLogger("hei_nw.eval.harness")

PROG = "python -m hei_nw.eval.harness"
EXIT_MODE_UNAVAILABLE = 64

EPILOG = """examples:
  python -m hei_nw.eval.harness --mode B0 --scenario A --n 64 --seed 7 --outdir reports/baseline
  python -m hei_nw.eval.harness --mode B0 --scenario A --n 200 --qa.oracle
  python -m hei_nw.eval.harness --mode B0 --scenario E --n 64 --baseline long-context
  python -m hei_nw.eval.harness --mode B0 --scenario C --baseline rag --rag.k 5
  python -m hei_nw.eval.harness --mode B0 --scenario A --model qwen2.5-1.5b --device cuda --quant_4bit
"""

PACKAGES = (
    "torch",
    "transformers",
    "peft",
    "accelerate",
    "faiss-cpu",
    "numpy",
    "pydantic",
    "hei_nw",
)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog=PROG,
        description="Evaluate a mode (B0-B3) on a scenario (A-E); writes "
        "{scenario}_{mode}_metrics.json and {scenario}_{mode}_report.md.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run = parser.add_argument_group("run")
    run.add_argument(
        "--mode", required=True, choices=list(MODES), help="B0 base; B1 memory; B2/B3 after replay"
    )
    run.add_argument(
        "--scenario",
        required=True,
        choices=[*SCENARIOS, *EDIT_SCENARIOS],
        help="scenario generator A-E, or an edit benchmark (counterfact, zsre; needs --data)",
    )
    run.add_argument(
        "--n", type=int, default=64, help="number of target episodes queried (default 64)"
    )
    run.add_argument(
        "--seed", type=int, default=7, help="seed of the generator and RNGs (default 7)"
    )
    run.add_argument(
        "--outdir", default="reports/baseline", help="report folder (default reports/baseline)"
    )
    run.add_argument(
        "--baseline",
        default="none",
        choices=["none", *BASELINES],
        help="extra baseline on the same items",
    )
    edits = parser.add_argument_group("knowledge edits (counterfact, zsre)")
    edits.add_argument("--data", default=None, help="EasyEdit JSON/JSONL file of edit records")
    edits.add_argument(
        "--edits", type=int, default=100, help="facts written and live at once (default 100)"
    )
    model = parser.add_argument_group("model")
    model.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help=f"alias ({DEFAULT_MODEL}, qwen2.5-1.5b), HF hub id or local folder (default {DEFAULT_MODEL})",
    )
    model.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:0 (default auto)")
    model.add_argument(
        "--dtype", default="auto", help="auto, float32, bfloat16, float16 (default auto)"
    )
    model.add_argument(
        "--quant_4bit", action="store_true", help="4-bit NF4 weights (CUDA + bitsandbytes)"
    )
    gen = parser.add_argument_group("generation")
    gen.add_argument(
        "--batch-size", type=int, default=8, help="prompts per generate call (default 8)"
    )
    gen.add_argument(
        "--max-new-tokens", type=int, default=16, help="answer length cap (default 16)"
    )
    gen.add_argument(
        "--prompt.format",
        dest="prompt_format",
        default="completion",
        choices=list(PROMPT_FORMATS),
        help="prompt layout (default completion; see hei_nw.eval.prompting)",
    )
    probes = parser.add_argument_group("probes and baselines")
    probes.add_argument(
        "--qa.oracle",
        dest="qa_oracle",
        action="store_true",
        help="also run the oracle probe: the gold episode in the prompt",
    )
    probes.add_argument(
        "--rag.k", dest="rag_k", type=int, default=5, help="RAG candidates for recall@k"
    )
    probes.add_argument(
        "--rag.passages",
        dest="rag_passages",
        type=int,
        default=1,
        help="RAG passages pasted in the prompt",
    )
    memory = parser.add_argument_group("memory (B1/B2)")
    memory.add_argument(
        "--gate.use_for_writes",
        dest="gate_use_for_writes",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="let the write gate decide (default); --no-gate.use_for_writes writes all",
    )
    memory.add_argument(
        "--gate.tau", dest="gate_tau", type=float, default=0.7, help="write threshold on S"
    )
    memory.add_argument(
        "--mem.max_tokens", dest="mem_max_tokens", type=int, default=128, help="memory token budget"
    )
    memory.add_argument(
        "--mem.traces", dest="mem_traces", type=int, default=1, help="traces packed per query (<=4)"
    )
    memory.add_argument(
        "--hopfield.steps", dest="hopfield_steps", type=int, default=1, help="completion steps 0-3"
    )
    memory.add_argument(
        "--hopfield.beta",
        dest="hopfield_beta",
        type=float,
        default=32.0,
        help="inverse temperature",
    )
    memory.add_argument(
        "--no-hopfield", dest="no_hopfield", action="store_true", help="ablation: ANN order only"
    )
    memory.add_argument(
        "--no-dg", dest="no_dg", action="store_true", help="ablation: dense keys, no k-WTA"
    )
    memory.add_argument(
        "--no-semantic",
        dest="no_semantic",
        action="store_true",
        help="ablation: lexical key block only",
    )
    memory.add_argument(
        "--store.path", dest="store_path", default=None, help="persist / reuse the store here"
    )
    memory.add_argument(
        "--recall.scope",
        dest="recall_scope",
        default="auto",
        help="recall only traces whose SLOT the cue names: auto (subject for counterfact/zsre, "
        "off for A-E), none, or a slot name",
    )
    adapter = parser.add_argument_group("consolidated weights (B2/B3)")
    adapter.add_argument(
        "--adapter.path",
        dest="adapter_path",
        default=None,
        help="LoRA folder written by the replay runner (holds adapter/ and merged/)",
    )
    adapter.add_argument(
        "--adapter.merge_for_b3",
        dest="adapter_merge_for_b3",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="B3 uses merged weights (default; read from merged/ or merged in memory)",
    )
    probes.add_argument(
        "--rag.embedder",
        dest="rag_embedder",
        default="auto",
        help="auto (e5-small-v2 if reachable, else bundled MiniLM), minilm, e5-small-v2, or an HF id",
    )
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    return parser


def parse_config(argv: Sequence[str] | None) -> tuple[HarnessConfig, argparse.ArgumentParser]:
    parser = build_parser()
    args = vars(parser.parse_args(argv))
    logging.basicConfig(
        level=args.pop("log_level").upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return HarnessConfig(**args), parser
    except ValidationError as exc:
        fail(PROG, describe_validation_error(exc))


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def dataset_digest(records: Sequence[Record]) -> str:
    return hashlib.sha256(json.dumps(list(records), sort_keys=True).encode()).hexdigest()


def setup(argv: Sequence[str] | None) -> tuple[HarnessConfig, GenerationPipeline]:
    """Validate everything that can fail before any work is done."""
    config, parser = parse_config(argv)
    if MODES[config.mode].run is None:
        parser.print_help(sys.stderr)
        sys.stderr.write(
            f"\n{PROG}: mode {config.mode} ({MODES[config.mode].description}) is not available "
            f"in this release; available: {', '.join(k for k, m in MODES.items() if m.run)}\n"
        )
        raise SystemExit(EXIT_MODE_UNAVAILABLE)
    try:
        ensure_writable_dir(config.outdir)
    except OutdirError as exc:
        fail(PROG, f"--outdir is not writable ({exc}); pass a folder you can write to")
    if config.store_path and (Path(config.store_path) / "CURRENT").exists():
        try:
            AssociativeStore.open(config.store_path)
        except StoreError as exc:
            fail(PROG, f"--store.path: {exc}")
    set_global_seed(config.seed)
    if config.is_edit_benchmark:
        try:
            load_edits(config.data or "", config.scenario, config.edits)
        except EditDataError as exc:
            fail(PROG, f"--data: {exc}")
    mode = MODES[config.mode]
    if mode.needs_adapter:
        if not config.adapter_path:
            fail(PROG, f"--adapter.path is required for {config.mode}; {TRAIN_HINT}")
        try:
            adapter_dirs(config.adapter_path)
        except ModelLoadError as exc:
            fail(PROG, f"--adapter.path: {exc}")
    try:
        _, _, pipe = load_base(config.model, config.dtype, config.quant_4bit, config.device)
    except ModelLoadError as exc:
        fail(PROG, f"--model: {exc}")
    if mode.weights is not None:
        try:
            pipe = mode.weights(pipe, config)
        except (ModelLoadError, OSError, ValueError) as exc:
            fail(PROG, f"--adapter.path: {exc}")
    return config, pipe


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    config, pipe = setup(argv)
    if config.is_edit_benchmark:
        return _edit_main(config, pipe, argv, started, t0)
    records = get_scenario(config.scenario).generate(config.n, config.seed)
    gen = GenConfig(config.max_new_tokens, config.batch_size, config.prompt_format)
    ctx = RunContext(pipe, records, gen, config)
    try:
        main_section = run_condition(MODES[config.mode], ctx)
    except StoreError as exc:
        fail(PROG, f"--store.path: {exc}")
    baselines = (
        [run_condition(BASELINES[config.baseline], ctx)] if config.baseline != "none" else []
    )
    probes = [run_condition(PROBES["oracle"], ctx)] if config.qa_oracle else []
    report = MetricsReport(
        run=run_info(config, pipe, records, argv, started, time.perf_counter() - t0),
        main=main_section,
        baselines=baselines,
        probes=probes,
        hard_negatives=hard_negative_info(records),
    )
    json_path, md_path = write_reports(config.outdir, report)
    logger.info(
        "EM %.3f on %d items; wrote %s and %s",
        main_section["aggregate"]["em"],
        main_section["aggregate"]["n"],
        json_path,
        md_path,
    )
    return 0


def _edit_main(
    config: HarnessConfig,
    pipe: GenerationPipeline,
    argv: Sequence[str],
    started: str,
    t0: float,
) -> int:
    """CounterFact / zsRE: ``{dataset}_N{N}_{mode}_metrics.json`` and ``_report.md``."""
    info: dict[str, Any] = {
        "command": f"{PROG} {shlex.join(argv)}",
        "mode": config.mode,
        "dataset": config.scenario,
        "data": config.data,
        "n": config.edits,
        "model_id": pipe.model_id,
        "seed": config.seed,
        "batch_size": config.batch_size,
        "dtype": str(pipe.model.dtype).replace("torch.", ""),
        "device": str(pipe.device),
        "smoke": config.smoke,
        "started_utc": started,
        "versions": package_versions(),
        # --n sizes synthetic scenarios only; the edit count is --edits (recorded as "n").
        "config": config.model_dump(exclude={"n"}),
    }
    try:
        report = run_edit_benchmark(config, pipe, info)
    except EditDataError as exc:
        fail(PROG, f"--data: {exc}")
    info["wall_time_s"] = time.perf_counter() - t0
    stem = f"{config.scenario}_N{config.edits}_{config.mode}"
    json_path, md_path = write_edit_reports(config.outdir, stem, report)
    agg = report["aggregate"]
    logger.info(
        "rewrite %.3f / rephrase %.3f / locality %.3f (teacher-forced) on %d edits; wrote %s and %s",
        agg["rewrite_acc_tf"],
        agg["rephrase_acc_tf"],
        agg["locality_tf"],
        agg["n"],
        json_path,
        md_path,
    )
    return 0


def run_condition(cond: Condition, ctx: RunContext) -> Section:
    if cond.run is None:
        raise ValueError(f"condition {cond.name} has no runner")
    outcome = cond.run(ctx)
    return make_section(cond.name, cond.description, outcome.rows, outcome.extra)


def hard_negative_info(records: Sequence[Record]) -> dict[str, int | float]:
    targets = sum(r["kind"] == "target" for r in records)
    negatives = sum(r["kind"] == "hard_negative" for r in records)
    return {"count": negatives, "targets": targets, "per_target": negatives / max(1, targets)}


def run_info(
    config: HarnessConfig,
    pipe: GenerationPipeline,
    records: Sequence[Record],
    argv: Sequence[str],
    started: str,
    wall: float,
) -> RunInfo:
    return RunInfo(
        command=f"{PROG} {shlex.join(argv)}",
        mode=config.mode,
        scenario=config.scenario,
        scenario_title=SCENARIOS[config.scenario].title,
        model_id=pipe.model_id,
        seed=config.seed,
        n=config.n,
        n_records=len(records),
        n_queries=sum(r["kind"] == "target" for r in records),
        batch_size=config.batch_size,
        max_new_tokens=config.max_new_tokens,
        dtype=str(pipe.model.dtype).replace("torch.", ""),
        device=str(pipe.device),
        prompt_format=config.prompt_format,
        smoke=config.smoke,
        started_utc=started,
        wall_time_s=wall,
        versions=package_versions(),
        dataset_sha256=dataset_digest(records),
        config=config.model_dump(),
    )


if __name__ == "__main__":
    raise SystemExit(main())
