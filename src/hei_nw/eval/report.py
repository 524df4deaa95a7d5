"""Aggregate per-item rows, bin them by lag, and write the JSON + Markdown reports."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hei_nw.datasets import LAG_BINS
from hei_nw.eval.schema import Aggregate, ItemRow, LagBin, MetricsReport, Section
from hei_nw.metrics.compute import ComputeRecord, sum_records
from hei_nw.metrics.timing import LatencyTimer
from hei_nw.utils.io import atomic_write_text, write_json


def _mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def aggregate(rows: Sequence[ItemRow]) -> Aggregate:
    timer = LatencyTimer([r["latency_s"] for r in rows])
    lat = timer.summary()
    recalls = [r["recall_at_k"] for r in rows if r["recall_at_k"] is not None]
    return Aggregate(
        n=len(rows),
        em=_mean([r["em"] for r in rows]) or 0.0,
        f1=_mean([r["f1"] for r in rows]) or 0.0,
        recall_at_k=_mean(recalls),
        latency_mean_s=lat["mean_s"],
        latency_p50_s=lat["p50_s"],
        latency_p95_s=lat["p95_s"],
        truncated_rate=_mean([float(r["truncated"]) for r in rows]) or 0.0,
    )


def bin_by_lag(rows: Sequence[ItemRow], bins: Sequence[int] = LAG_BINS) -> list[LagBin]:
    """One row per lag bin (a record falls in the largest bin edge <= its lag)."""
    edges = sorted(bins)
    grouped: dict[int, list[ItemRow]] = {e: [] for e in edges}
    for row in rows:
        below = [e for e in edges if e <= row["lag"]]
        grouped[below[-1] if below else edges[0]].append(row)
    out: list[LagBin] = []
    for edge in edges:
        members = grouped[edge]
        recalls = [r["recall_at_k"] for r in members if r["recall_at_k"] is not None]
        out.append(
            LagBin(
                lag=edge,
                count=len(members),
                em=_mean([r["em"] for r in members]),
                f1=_mean([r["f1"] for r in members]),
                recall_at_k=_mean(recalls),
            )
        )
    return out


def make_section(
    name: str, description: str, rows: list[ItemRow], extra: dict[str, Any] | None = None
) -> Section:
    records = [ComputeRecord(**r["compute"]) for r in rows]
    return Section(
        name=name,
        description=description,
        aggregate=aggregate(rows),
        lag_bins=bin_by_lag(rows),
        compute=sum_records(records),
        rows=rows,
        extra=extra or {},
    )


def _fmt(value: float | int | None, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and value > 1e3):
        return f"{int(value):,}"
    return f"{value:.{digits}f}"


def render_markdown(report: MetricsReport) -> str:
    run = report["run"]
    sections = [report["main"], *report["baselines"], *report["probes"]]
    lines = [
        f"# Scenario {run['scenario']} — mode {run['mode']}"
        + (" (smoke run)" if run["smoke"] else ""),
        "",
        f"*{run['scenario_title']}*. Model `{run['model_id']}`, seed {run['seed']}, "
        f"n={run['n']} targets ({run['n_records']} records in the stream), "
        f"batch size {run['batch_size']}, dtype {run['dtype']}, device {run['device']}, "
        f"prompt format `{run['prompt_format']}`.",
        "",
    ]
    if run["smoke"]:
        lines += ["> Smoke run: n < 500, no statistical claim is made from these numbers.", ""]
    lines += [
        "## Metrics",
        "",
        "| condition | n | EM | F1 | recall@k | latency p50 (s) | latency p95 (s) | truncated |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in sections:
        a = s["aggregate"]
        lines.append(
            f"| {s['name']} | {a['n']} | {_fmt(a['em'])} | {_fmt(a['f1'])} | {_fmt(a['recall_at_k'])} "
            f"| {_fmt(a['latency_p50_s'])} | {_fmt(a['latency_p95_s'])} | {_fmt(a['truncated_rate'])} |"
        )
    lines += [
        "",
        "## Lag bin",
        "",
        "| condition | Lag bin | count | EM | F1 | recall@k |",
        "|---|---|---|---|---|---|",
    ]
    for s in sections:
        for b in s["lag_bins"]:
            lines.append(
                f"| {s['name']} | {b['lag']} | {b['count']} | {_fmt(b['em'])} | {_fmt(b['f1'])} | {_fmt(b['recall_at_k'])} |"
            )
    lines += [
        "",
        "## Compute footprints",
        "",
        "Means per query. Attention FLOPs count the QK^T and AV matmuls only (see "
        "`hei_nw.metrics.compute`); KV bytes use the model's layers, KV heads and dtype.",
        "",
        "| condition | prompt tokens | generated tokens | attention FLOPs | KV-cache bytes |",
        "|---|---|---|---|---|",
    ]
    for s in sections:
        c = s["compute"]
        lines.append(
            f"| {s['name']} | {_fmt(c['mean_prompt_tokens'], 1)} | {_fmt(c['mean_generated_tokens'], 1)} "
            f"| {_fmt(c['mean_attention_flops'], 0)} | {_fmt(c['mean_kv_cache_bytes'], 0)} |"
        )
    lines += _retrieval_lines(sections) + _gate_lines(sections)
    lines += ["", "## Hard negatives", "", _hard_negative_note(report["hard_negatives"]), ""]
    lines += ["## Conditions", ""] + [f"- **{s['name']}**: {s['description']}" for s in sections]
    lines += [
        "",
        "## Run",
        "",
        f"- command: `{run['command']}`",
        f"- started (UTC): {run['started_utc']}; wall time {run['wall_time_s']:.1f} s",
        f"- dataset sha256: `{run['dataset_sha256'][:16]}…`",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in sorted(run["versions"].items())),
        "",
    ]
    return "\n".join(lines)


def _retrieval_lines(sections: Sequence[Section]) -> list[str]:
    rows = [(s["name"], s["extra"]["retrieval"]) for s in sections if "retrieval" in s["extra"]]
    if not rows:
        return []
    out = [
        "",
        "## Retrieval health",
        "",
        "| condition | P@1 | P@5 | MRR | collision | near-miss | completion lift (P@1) | RAG P@1 (MiniLM) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in rows:
        lift = r.get("completion_lift", {}).get("lift")
        out.append(
            f"| {name} | {_fmt(r.get('p_at_1'))} | {_fmt(r.get('p_at_5'))} | {_fmt(r.get('mrr'))} "
            f"| {_fmt(r.get('collision_rate'))} | {_fmt(r.get('near_miss_rate'))} | {_fmt(lift)} "
            f"| {_fmt(r.get('rag_p_at_1'))} |"
        )
    for name, r in rows:
        lat = r.get("latency")
        if lat:
            stages = ", ".join(f"{k} {v:.2f}" for k, v in lat.items())
            out.append(f"\nRecall latency per query for {name} (ms): {stages}.")
    return out


def _gate_lines(sections: Sequence[Section]) -> list[str]:
    gates = [(s["name"], s["extra"]["gate"]) for s in sections if "gate" in s["extra"]]
    if not gates:
        return []
    out = [
        "",
        "## Write gate",
        "",
        "Labels (`should_remember`) only score the gate; they do not take part in its decisions.",
        "",
        "| condition | τ | gate on | offered | written | write rate | writes / 1k tokens | precision | recall | PR-AUC |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, g in gates:
        if "tau" not in g:  # a reused store: this run offered nothing to the gate
            out.append(
                f"| {name} | – | – | 0 | reused store, {g['stored']} traces | – | – | – | – | – |"
            )
            continue
        out.append(
            f"| {name} | {g['tau']} | {g['use_gate']} | {g['n']} | {g['writes']} | {_fmt(g['write_rate'])} "
            f"| {_fmt(g['writes_per_1k_tokens'])} | {_fmt(g['precision'])} | {_fmt(g['recall'])} "
            f"| {_fmt(g['pr_auc'])} |"
        )
    return out


def _hard_negative_note(info: dict[str, Any]) -> str:
    if not info.get("count"):
        return "This stream has no hard negatives."
    return (
        f"The stream holds {info['count']} hard negatives for {info['targets']} targets "
        f"({info['per_target']:.2f} per target); each shares at least two of who/what/where "
        "(scenarios A, D) or the subject/relation (B, C) with its target and differs in the "
        "cue detail, so only the full cue identifies the right episode."
    )


def report_paths(outdir: str | Path, scenario: str, mode: str) -> tuple[Path, Path]:
    base = Path(outdir)
    return base / f"{scenario}_{mode}_metrics.json", base / f"{scenario}_{mode}_report.md"


def write_reports(outdir: str | Path, report: MetricsReport) -> tuple[Path, Path]:
    """Write JSON then Markdown, each atomically (rendered before anything is written)."""
    json_path, md_path = report_paths(outdir, report["run"]["scenario"], report["run"]["mode"])
    markdown = render_markdown(report)
    write_json(json_path, report)
    atomic_write_text(md_path, markdown)
    return json_path, md_path
