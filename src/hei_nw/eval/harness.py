"""Evaluation harness library: ``evaluate()`` runs one mode on one scenario.

``python -m hei_nw.eval.harness --mode B0 --scenario A`` (the command line is
:mod:`hei_nw.cli.harness`): setup (parse + validate, check the outdir, load the model)
-> :func:`evaluate` (generate the scenario stream, run the mode, its baselines and
probes) -> write JSON + Markdown (one versioned schema: :mod:`hei_nw.eval.schema`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import time
from collections.abc import Sequence
from importlib import metadata

import torch

from hei_nw.datasets import SCENARIOS, Record, get_scenario
from hei_nw.eval.config import HarnessConfig
from hei_nw.eval.modes import BASELINES, MODES, PROBES, Condition, RunContext
from hei_nw.eval.qa import GenConfig
from hei_nw.eval.report import make_section
from hei_nw.eval.schema import MetricsReport, RunInfo, Section
from hei_nw.models.base import GenerationPipeline

logger = logging.getLogger("hei_nw.eval.harness")

PACKAGES = (
    "torch",
    "transformers",
    "peft",
    "accelerate",
    "faiss-cpu",
    "bm25s",
    "numpy",
    "pydantic",
    "hei_nw",
)


def evaluate(
    config: HarnessConfig, pipe: GenerationPipeline, command: str, started: str
) -> MetricsReport:
    """Run ``config.mode`` (plus its baseline and probes) on a synthetic scenario stream."""
    t0 = time.perf_counter()
    records = get_scenario(config.scenario).generate(config.n, config.seed)
    gen = GenConfig(config.max_new_tokens, config.batch_size, config.prompt_format)
    ctx = RunContext(pipe, records, gen, config)
    main_section = run_condition(MODES[config.mode], ctx)
    baselines = (
        [run_condition(BASELINES[config.baseline], ctx)] if config.baseline != "none" else []
    )
    probes = [run_condition(PROBES["oracle"], ctx)] if config.qa_oracle else []
    return MetricsReport(
        run=run_info(config, pipe, records, command, started, time.perf_counter() - t0),
        main=main_section,
        baselines=baselines,
        probes=probes,
        hard_negatives=hard_negative_info(records),
    )


# CPU flags that pick torch's bf16/fp32 kernels: hosts that differ in them can give runs
# that differ in the last bits, which a threshold (the per-fact early stop) or a greedy
# argmax turns into different choices. Recorded so that two reports can be told apart.
ISA_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")


def cpu_description() -> str:
    """``machine, torch capability, kernel-relevant flags, threads``: e.g.
    ``x86_64 AVX512 +avx2+avx512f+avx512_bf16+amx_bf16 2 threads``."""
    flags: set[str] = set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:  # not Linux: the torch capability alone
        pass
    have = "".join(f"+{f}" for f in ISA_FLAGS if f in flags) or "-"
    capability = torch.backends.cpu.get_cpu_capability()
    return f"{platform.machine()} {capability} {have} {torch.get_num_threads()} threads"


def package_versions() -> dict[str, str]:
    """Python and package versions, and the CPU (:func:`cpu_description`) under ``cpu``."""
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    out["cpu"] = cpu_description()
    return out


def dataset_digest(records: Sequence[Record]) -> str:
    return hashlib.sha256(json.dumps(list(records), sort_keys=True).encode()).hexdigest()


def run_condition(cond: Condition, ctx: RunContext) -> Section:
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
    command: str,
    started: str,
    wall: float,
) -> RunInfo:
    return RunInfo(
        command=command,
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
        config=config.model_dump(mode="json"),
    )


if __name__ == "__main__":  # ``python -m hei_nw.eval.harness``: the CLI lives in hei_nw.cli
    from hei_nw.cli.harness import main

    raise SystemExit(main())
