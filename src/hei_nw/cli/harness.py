"""``python -m hei_nw.eval.harness`` / ``hei-nw-harness``: evaluate one mode on one scenario.

setup (parse + validate every flag, check the outdir and store, load the model) ->
:func:`hei_nw.eval.harness.evaluate` or the edit benchmark -> JSON + Markdown reports.
Bad input ends with one line naming the flag and the fix, exit code 2, before any work.
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

from pydantic import ValidationError

from hei_nw.cli.flags import add_config_flags, load_model_or_fail, pop_memory_args
from hei_nw.datasets import SCENARIOS
from hei_nw.datasets.edits import EDIT_SCENARIOS, EditDataError, load_edit_split
from hei_nw.eval.config import HarnessConfig, describe_validation_error
from hei_nw.eval.edits import run_edit_benchmark, write_edit_reports
from hei_nw.eval.harness import evaluate, package_versions
from hei_nw.eval.modes import BASELINES, MODES
from hei_nw.eval.report import write_reports
from hei_nw.memory.config import MemoryConfig
from hei_nw.memory.store import AssociativeStore, StoreError
from hei_nw.models.base import GenerationPipeline, ModelLoadError
from hei_nw.models.lora_weights import TRAIN_HINT, adapter_dirs
from hei_nw.models.sources import DEFAULT_MODEL
from hei_nw.utils.cli import OneLineErrorParser, fail, writable_dir_or_fail
from hei_nw.utils.seed import set_global_seed

logger = logging.getLogger("hei_nw.eval.harness")

PROG = "python -m hei_nw.eval.harness"

EPILOG = """examples:
  python -m hei_nw.eval.harness --mode B1 --scenario A --n 64 --seed 7 --outdir reports/example
  python -m hei_nw.eval.harness --mode B0 --scenario A --n 200 --qa.oracle
  python -m hei_nw.eval.harness --mode B0 --scenario E --n 64 --baseline long-context
  python -m hei_nw.eval.harness --mode B1 --scenario C --baseline hybrid --gate.tau 0.6
  python -m hei_nw.eval.harness --mode B1 --scenario counterfact --data FILE --edits 100
"""


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog=PROG,
        description="Evaluate a mode (B0-B3) on a scenario (A-E) or an edit benchmark; "
        "writes {scenario}_{mode}_metrics.json and {scenario}_{mode}_report.md.",
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
    run.add_argument("--n", type=int, default=64, help="target episodes queried (default 64)")
    run.add_argument("--seed", type=int, default=7, help="generator and RNG seed (default 7)")
    run.add_argument("--outdir", default="reports/baseline", help="report folder")
    run.add_argument(
        "--baseline",
        default="none",
        choices=["none", *BASELINES],
        help="extra baseline, same items",
    )
    edits = parser.add_argument_group("knowledge edits (counterfact, zsre)")
    edits.add_argument("--data", default=None, help="EasyEdit JSON/JSONL file of edit records")
    edits.add_argument("--edits", type=int, default=100, help="facts live at once (default 100)")
    edits.add_argument(
        "--split",
        default="test",
        choices=["test", "dev"],
        help="test: the first --edits records (reported); dev: records after them (tuning)",
    )
    model = parser.add_argument_group("model")
    model.add_argument(
        "--model", default=DEFAULT_MODEL, help=f"alias, hub id or folder (default {DEFAULT_MODEL})"
    )
    model.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:0 (default auto)")
    model.add_argument("--dtype", default="auto", help="auto, float32, bfloat16, float16")
    model.add_argument(
        "--quant_4bit", action="store_true", help="4-bit NF4 weights (CUDA + bitsandbytes)"
    )
    probes = parser.add_argument_group("probes and baselines")
    probes.add_argument("--qa.oracle", dest="qa_oracle", action="store_true", help="oracle probe")
    probes.add_argument("--rag.k", dest="rag_k", type=int, default=5, help="retrieval candidates")
    probes.add_argument(
        "--rag.passages", dest="rag_passages", type=int, default=1, help="passages pasted"
    )
    probes.add_argument(
        "--rag.embedder",
        dest="rag_embedder",
        default="auto",
        help="auto, minilm, e5-small-v2, or an HF id",
    )
    store = parser.add_argument_group("memory store and consolidated weights")
    store.add_argument(
        "--store.path", dest="store_path", default=None, help="persist / reuse the memory"
    )
    store.add_argument(
        "--adapter.path", dest="adapter_path", default=None, help="LoRA folder (B2/B3)"
    )
    store.add_argument(
        "--adapter.merge_for_b3",
        dest="adapter_merge_for_b3",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="B3 uses merged weights (default)",
    )
    add_config_flags(parser)
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    return parser


def parse_config(argv: Sequence[str] | None) -> HarnessConfig:
    args = vars(build_parser().parse_args(argv))
    logging.basicConfig(
        level=args.pop("log_level").upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    overrides = pop_memory_args(args)
    scope = overrides.get("recall.scope", "auto")
    if scope == "auto":  # unset: an edit request names its subject, so scope by it
        overrides["recall.scope"] = "scope" if args["scenario"] in EDIT_SCENARIOS else None
    try:
        memory = MemoryConfig().with_overrides(overrides)
        return HarnessConfig(**args, memory=memory)
    except ValidationError as exc:
        fail(PROG, describe_validation_error(exc))
    except ValueError as exc:
        fail(PROG, str(exc))


def setup(argv: Sequence[str] | None) -> tuple[HarnessConfig, GenerationPipeline]:
    """Validate everything that can fail before any work is done, then load the model."""
    config = parse_config(argv)
    writable_dir_or_fail(PROG, "--outdir", config.outdir)
    if config.store_path:
        try:
            if (Path(config.store_path) / "CURRENT").exists() or Path(config.store_path).is_file():
                AssociativeStore.open(config.store_path)
        except StoreError as exc:
            fail(PROG, f"--store.path: {exc}")
    set_global_seed(config.seed)
    if config.is_edit_benchmark:
        try:
            load_edit_split(config.data or "", config.scenario, config.edits, config.split)
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
    pipe = load_model_or_fail(
        PROG, config.model, dtype=config.dtype, quant_4bit=config.quant_4bit, device=config.device
    )
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
    command = f"{PROG} {shlex.join(argv)}"
    if config.is_edit_benchmark:
        return _edit_main(config, pipe, command, started, t0)
    try:
        report = evaluate(config, pipe, command, started)
    except StoreError as exc:
        fail(PROG, f"--store.path: {exc}")
    json_path, md_path = write_reports(config.outdir, report)
    logger.info(
        "EM %.3f on %d items; wrote %s and %s",
        report["main"]["aggregate"]["em"],
        report["main"]["aggregate"]["n"],
        json_path,
        md_path,
    )
    return 0


def _edit_main(
    config: HarnessConfig, pipe: GenerationPipeline, command: str, started: str, t0: float
) -> int:
    """CounterFact / zsRE: ``{dataset}_N{N}_{mode}_metrics.json`` and ``_report.md``."""
    info: dict[str, Any] = {
        "command": command,
        "mode": config.mode,
        "dataset": config.scenario,
        "data": config.data,
        "n": config.edits,
        "split": config.split,
        "model_id": pipe.model_id,
        "seed": config.seed,
        "batch_size": config.batch_size,
        "dtype": str(pipe.model.dtype).replace("torch.", ""),
        "device": str(pipe.device),
        "smoke": config.smoke,
        "started_utc": started,
        "versions": package_versions(),
        # --n sizes synthetic scenarios only; the edit count is --edits (recorded as "n").
        "config": config.model_dump(mode="json", exclude={"n"}),
    }
    try:
        report = run_edit_benchmark(config, pipe, info)
    except EditDataError as exc:
        fail(PROG, f"--data: {exc}")
    info["wall_time_s"] = time.perf_counter() - t0
    suffix = "" if config.split == "test" else "_dev"
    stem = f"{config.scenario}_N{config.edits}{suffix}_{config.mode}"
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


if __name__ == "__main__":
    raise SystemExit(main())
