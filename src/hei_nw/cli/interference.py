"""``python -m hei_nw.cli.interference``: replay policies over waves (``scripts/run_interference.sh``).

Writes ``<out>/runs.json`` (every run's retention matrix) and ``<out>/retention.json``
(means, spreads, paired CIs, ablations); ``scripts/plot_replay_retention.py`` draws
``retention.png`` from it.

``--from-runs A/runs.json B/runs.json`` runs nothing: it merges ``runs.json`` files made
by separate invocations (other seeds, policies or ablations, on other machines) into one
``runs.json`` + ``retention.json``. Their commands must describe the same experiment
(scenario, waves, budget, model, memory settings); a (variant, seed) run found in two
files must have the same retention matrix.

``--memory-only`` consolidates nothing: it writes ``<out>/memory.json``, what the memory
wrote and served per wave (traces written, distinct traces served, recall top-1, B1's EM
on the served cues), about a minute per seed -- a check of a scenario and memory settings
before spending the replay budget on them.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from pydantic import ValidationError

from hei_nw.cli.flags import add_config_flags, load_model_or_fail, pop_memory_args
from hei_nw.consolidation import BUDGET_UNITS
from hei_nw.eval.config import describe_validation_error
from hei_nw.eval.harness import package_versions
from hei_nw.eval.interference import (
    ABLATIONS,
    SCORE_W_DEV_SEEDS,
    WAVE_POLICIES,
    WavesConfig,
    default_variant,
    memory_only,
    run_experiment,
)
from hei_nw.eval.interference_report import summarise
from hei_nw.memory.config import MemoryConfig
from hei_nw.models.sources import DEFAULT_MODEL
from hei_nw.utils.cli import OneLineErrorParser, fail, writable_dir_or_fail
from hei_nw.utils.io import read_json, write_json

PROG = "python -m hei_nw.cli.interference"
logger = logging.getLogger(PROG)


def build_parser() -> argparse.ArgumentParser:
    p = OneLineErrorParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--scenario", default="A", choices=["A", "B", "C", "D"])
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    p.add_argument(
        "--policies",
        nargs="*",
        default=list(WAVE_POLICIES),
        choices=list(WAVE_POLICIES),
        help="policies to run; may be empty when --ablations names the runs to make",
    )
    p.add_argument("--ablations", nargs="*", default=[], choices=list(ABLATIONS))
    p.add_argument("--waves", type=int, default=5)
    p.add_argument("--per-wave", type=int, default=20)
    p.add_argument("--budget", type=int, default=40, help="trace replays per sub-cycle")
    p.add_argument("--sub-cycles", type=int, default=8, help="sub-cycles per wave")
    p.add_argument(
        "--budget-unit",
        default="traces",
        choices=list(BUDGET_UNITS),
        help="traces: one pass over the chosen traces' rows per sub-cycle; steps: the "
        "optimizer steps of --budget average traces, whichever are chosen (equal compute)",
    )
    p.add_argument(
        "--no-drift", action="store_true", help="skip the drift guard after the last wave"
    )
    p.add_argument(
        "--memory-only",
        action="store_true",
        help="no consolidation: write <out>/memory.json, what the memory wrote and served "
        "per wave (traces written, recall top-1, teacher EM), about a minute per seed",
    )
    p.add_argument("--model", default=DEFAULT_MODEL)
    p.add_argument("--out", default=None, help="default reports/interference/{scenario}")
    p.add_argument(
        "--from-runs",
        nargs="+",
        default=None,
        metavar="RUNS_JSON",
        help="merge these runs.json files (same experiment) instead of running",
    )
    add_config_flags(p, sections=("consolidation", "gate", "recall"))
    return p


def waves_config(args: dict[str, Any]) -> WavesConfig:
    """The experiment's config from parsed flags (memory flags already popped into
    ``args["overrides"]``); raises ``ValueError`` / ``ValidationError``."""
    if "consolidation.score_w" in args["overrides"]:
        raise ValueError(
            "--consolidation.score_w: this experiment runs the seed's CA2 weights and takes "
            "them apart with --ablations; drop the flag"
        )
    return WavesConfig(
        scenario=args["scenario"],
        waves=args["waves"],
        per_wave=args["per_wave"],
        budget=args["budget"],
        sub_cycles=args["sub_cycles"],
        budget_unit=args["budget_unit"],
        memory=MemoryConfig().with_overrides(args["overrides"]),
    )


def _parse(argv: Sequence[str], source: str | None = None) -> tuple[dict[str, Any], WavesConfig]:
    """Parsed flags and the config, or one line naming the problem and exit 2.
    ``source``: the runs.json whose command ``argv`` is (named in the error)."""
    where = f"--from-runs {source}: its command " if source else ""
    parser = build_parser()
    if source is not None:

        def error(message: str) -> NoReturn:
            fail(PROG, f"{where}does not parse with this version's flags ({message})")

        parser.error = error  # type: ignore[method-assign]
    args = vars(parser.parse_args(list(argv)))
    if args["from_runs"] and args["memory_only"]:
        fail(PROG, "--memory-only runs the memory; --from-runs merges runs: pass one of the two")
    runs_nothing = not args["policies"] and not args["ablations"]
    if runs_nothing and not args["from_runs"] and not args["memory_only"]:
        fail(PROG, "--policies is empty and no --ablations are named: nothing to run")
    args["overrides"] = pop_memory_args(args)
    try:
        return args, waves_config(args)
    except ValidationError as exc:
        fail(PROG, where + describe_validation_error(exc))
    except ValueError as exc:
        fail(PROG, where + str(exc))


def merge_runs(files: Sequence[str]) -> tuple[WavesConfig, dict[str, Any], dict[str, Any]]:
    """Config, metadata and ``{"runs": [...]}`` merged from ``runs.json`` files, or one
    line naming the file and the fix, and exit 2 (before anything is written)."""
    config: WavesConfig | None = None
    model = None
    merged: dict[tuple[str, int], tuple[str, dict[str, Any]]] = {}
    sources = []
    for name in files:
        try:
            data = read_json(name)
        except (OSError, ValueError) as exc:
            fail(PROG, f"--from-runs {name}: cannot read it ({exc}); pass a runs.json")
        command = data.get("command", "") if isinstance(data, dict) else ""
        if not command.startswith(PROG + " ") or not isinstance(data.get("runs"), list):
            fail(PROG, f"--from-runs {name}: not a runs.json of {PROG} (no command or runs)")
        args, cfg = _parse(shlex.split(command)[len(shlex.split(PROG)) :], name)
        if args["from_runs"]:
            fail(PROG, f"--from-runs {name}: is itself a merge; pass the files it merged")
        if config is None:
            config, model = cfg, args["model"]
        elif cfg != config or args["model"] != model:
            fail(
                PROG,
                f"--from-runs {name}: its command describes another experiment than "
                f"{files[0]} (scenario, waves, budget, model or memory settings differ)",
            )
        for run in data["runs"]:
            key = (run["variant"], int(run["seed"]))
            if key in merged and merged[key][1]["matrix"] != run["matrix"]:
                fail(
                    PROG,
                    f"--from-runs {name}: {key[0]} seed {key[1]} differs from the same run "
                    f"in {merged[key][0]}; keep one of the two files",
                )
            # The same run twice: keep the copy that measured drift (one call may skip it).
            if key not in merged or (
                merged[key][1].get("drift_changed_fraction") is None
                and run.get("drift_changed_fraction") is not None
            ):
                merged[key] = (name, run)
        sources.append(
            {
                "file": name,
                "command": command,
                "wall_s": data.get("wall_s"),
                "versions": data.get("versions"),
            }
        )
    assert config is not None  # argparse requires at least one file
    runs = [run for _, run in merged.values()]
    # ``versions`` below is the merging machine's; where each part ran is its own
    # ``versions.cpu`` (reports before the field existed say nothing), grouped here.
    cpus: dict[str, list[str]] = {}
    for source in sources:
        cpu = (source["versions"] or {}).get("cpu") or "not recorded"
        cpus.setdefault(cpu, []).append(source["file"])
    meta = {
        "model_id": model,
        "dtype": "float32",
        "seeds": sorted({int(r["seed"]) for r in runs}),
        "versions": package_versions(),
        "source_cpus": cpus,
        "wall_s": sum(float(s["wall_s"] or 0.0) for s in sources),
        "sources": sources,
    }
    return config, meta, {"runs": runs}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args, config = _parse(argv)
    if args["from_runs"]:
        config, meta, result = merge_runs(args["from_runs"])
        out = Path(args["out"] or f"reports/interference/{config.scenario}")
        writable_dir_or_fail(PROG, "--out", out)
        meta = {"command": f"{PROG} {shlex.join(argv)}", **meta}
    else:
        out = Path(args["out"] or f"reports/interference/{args['scenario']}")
        writable_dir_or_fail(PROG, "--out", out)
        pipe = load_model_or_fail(PROG, args["model"], dtype="float32")
        t0 = time.perf_counter()
        if args["memory_only"]:
            stats = memory_only(config, pipe, args["seeds"])
            write_json(
                out / "memory.json",
                {
                    "command": f"{PROG} {shlex.join(argv)}",
                    "model_id": args["model"],
                    "dtype": "float32",
                    "config": config.model_dump(mode="json"),
                    "versions": package_versions(),
                    "wall_s": time.perf_counter() - t0,
                    **stats,
                },
            )
            logger.info("wrote %s/memory.json", out)
            return 0
        result = run_experiment(
            config,
            pipe,
            args["seeds"],
            args["policies"],
            args["ablations"],
            None if args["no_drift"] else "ca2",
        )
        meta = {
            "command": f"{PROG} {shlex.join(argv)}",
            "model_id": args["model"],
            "dtype": "float32",
            "seeds": args["seeds"],
            "versions": package_versions(),
            "wall_s": time.perf_counter() - t0,
        }
    write_json(out / "runs.json", {**meta, **result})
    summary = summarise(
        result["runs"],
        config.model_dump(mode="json"),
        default_variant(config),
        SCORE_W_DEV_SEEDS.get(config.scenario, ()),
    )
    write_json(out / "retention.json", {**meta, **summary})
    logger.info("wrote %s/retention.json; CA2 - shuffled: %s", out, summary["ca2_minus_shuffled"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
