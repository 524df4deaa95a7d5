"""Markdown of a replay run summary (``{scenario}_replay.md``)."""

from __future__ import annotations

from typing import Any

# How each consolidation method is named in the report's heading.
METHOD_HEADINGS = {
    "distill": "label-free distillation of B1",
    "memit": "label-free closed-form write of B1's answers, `memit`",
}


def _f(x: Any, digits: int = 3) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def replay_markdown(s: dict[str, Any]) -> str:
    em, ci, d, c = s["em"], s["b3_minus_b0"], s["drift_guard"], s["consolidation"]
    smoke = " (smoke run: n < 500, no statistical claim)" if s["smoke"] else ""
    lines = [
        f"# Replay and consolidation — scenario {s['scenario']}{smoke}",
        "",
        f"Command: `{s['command']}`  ",
        f"Model `{s['model_id']}` ({s['dtype']}), n={s['n']}, seed={s['seed']}, batch "
        f"{s['batch_size']}, policy {s['config']['policy']}. Served {s['served_queries']} "
        "training-phrasing queries; every score below uses the held-out phrasings.",
        "",
        "## Modes (EM on held-out phrasings)",
        "",
        "| B0 | B1 | B2 | B3 | B3/B1 | B3−B0 [95% CI] |",
        "|---|---|---|---|---|---|",
        f"| {em['B0']:.3f} | {em['B1']:.3f} | {_f(em.get('B2'))} | {em['B3']:.3f} | "
        f"{_f(s['b3_over_b1'], 2)} | {ci['diff']:+.3f} [{ci['ci_low']:+.3f}, {ci['ci_high']:+.3f}] |",
        "",
        f"## Consolidation ({METHOD_HEADINGS.get(c.get('method', 'distill'), c.get('method'))})",
        "",
        f"{c['items']} traces with served queries; rows {c['rows']}; {c['steps']} steps, "
        f"{c['tokens']} tokens in {c['seconds']:.0f} s ({c['tokens_per_s']:.0f} tokens/s, "
        f"{c['seconds_per_fact']:.2f} s per fact, peak memory {c['peak_memory_mb']:.0f} MB).",
        "",
        "| cycle | traces chosen | rows | mean need | held | loss (last step) |",
        "|---|---|---|---|---|---|",
    ]
    for p in c["curve"]:
        lines.append(
            f"| {p['cycle']} | {p['chosen']} | {p['rows']} | {_f(p.get('need_mean'))} | "
            f"{_f(p.get('held'), 2)} | {_f(p.get('loss_last'))} |"
        )
    lines += ["", "## Drift guard (B3 against the base model's own answers)", ""]
    if d.get("skipped"):
        lines.append("Not run (`--no-drift`).")
    else:
        verdict = "passed" if d["passed"] else "FAILED"
        lines += [
            f"{verdict}: {d['drift_changed']} of {d['drift_suite_size']} answers changed "
            f"({100 * d['drift_changed_fraction']:.2f}%, tolerance {100 * d['tolerance']:.1f}%, "
            f"resolution {100 * d['resolution']:.2f} points); teacher-forced "
            f"{100 * d['tf_changed_fraction']:.2f}%; held-out perplexity "
            f"{_f(d.get('perplexity_before'), 2)} → {_f(d.get('perplexity_after'), 2)}.",
        ]
        if d.get("by_base_margin"):
            lines += [
                "",
                "Changed answers by the base answer's margin (smallest top-1 − top-2 "
                "log-prob gap, nats, along its greedy answer):",
                "",
                "| margin | prompts | changed | share |",
                "|---|---|---|---|",
            ]
            for bucket, v in d["by_base_margin"].items():
                share = v["changed"] / v["n"] if v["n"] else 0.0
                lines.append(f"| {bucket} | {v['n']} | {v['changed']} | {100 * share:.1f}% |")
    lines += ["", f"Wall time {s['wall_time_s']:.0f} s.", ""]
    return "\n".join(lines)


__all__ = ["replay_markdown"]
