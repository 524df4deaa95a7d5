"""Summarise a report folder: one table over every ``*_metrics.json`` in it.

``python -m hei_nw.cli.summary reports/baseline`` writes ``reports/baseline/README.md``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def load_reports(folder: Path) -> list[dict[str, Any]]:
    reports = []
    for path in sorted(folder.glob("*_metrics.json")):
        try:
            data = json.loads(path.read_text())
            data["run"]["scenario"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{path} is not a hei_nw metrics file ({type(exc).__name__})") from exc
        data["_file"] = path.name
        reports.append(data)
    return reports


def _f(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def summary_markdown(folder: Path, reports: Sequence[dict[str, Any]]) -> str:
    lines = [
        f"# Summary of `{folder}`",
        "",
        "| scenario | mode | condition | n | EM | F1 | recall@k | mean prompt tokens | "
        "mean attention FLOPs | smoke | file |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for rep in reports:
        run = rep["run"]
        for sec in [rep["main"], *rep.get("baselines", []), *rep.get("probes", [])]:
            agg, comp = sec["aggregate"], sec["compute"]
            flops = comp.get("mean_attention_flops")
            lines.append(
                f"| {run['scenario']} | {run['mode']} | {sec['name']} | {agg['n']} "
                f"| {_f(agg['em'])} | {_f(agg['f1'])} | {_f(agg['recall_at_k'])} "
                f"| {comp.get('mean_prompt_tokens') or 0:.1f} "
                f"| {'—' if flops is None else f'{flops:.3g}'} "
                f"| {'yes' if run['smoke'] else 'no'} | `{rep['_file']}` |"
            )
    models = sorted({r["run"]["model_id"] for r in reports})
    seeds = sorted({str(r["run"]["seed"]) for r in reports})
    lines += ["", f"Models: {', '.join(models)}; seeds: {', '.join(seeds)}.", ""]
    # One line per distinct command, in file order: a runner that writes four modes' files
    # from one call should read as one command.
    commands = list(dict.fromkeys(r["run"]["command"] for r in reports))
    lines += ["Commands:", ""] + [f"- `{c}`" for c in commands] + [""]
    return "\n".join(lines)
