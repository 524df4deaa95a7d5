"""Plot the waves experiment: retention per policy after each wave, with the spread over seeds.

    python scripts/plot_replay_retention.py --summary reports/interference/A/retention.json \
        --out reports/interference/A/retention.png

Left: mean B3 retention over all waves seen so far, after each wave's consolidation
(mean +- s.d. over seeds) for ca2, shuffled, none and the library's default scheduler
(``default_minus_shuffled.variant``, today ``ca2:minus_overlap``), and dashed, without the
band, for each other CA2 ablation present (``ca2:minus_*``). Right: the final
retention-by-wave row (oldest wave first). The title carries the paired CA2 - shuffled
difference and CI, and the default - shuffled one on dev and on test seeds.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from hei_nw.utils.cli import OneLineErrorParser, fail, writable_dir_or_fail

PROG = "scripts/plot_replay_retention.py"
POLICIES = ("ca2", "shuffled", "none")


def signed(x: float) -> str:
    """``x`` to 3 decimals with its sign; a bound that is 0 up to float rounding prints
    as +0.000, not -0.000."""
    return f"{round(x, 3) + 0.0:+.3f}"


def seeds_label(n: int) -> str:
    """``1 seed``, ``5 seeds``."""
    return f"{n} seed" + ("" if n == 1 else "s")


def describe(diff: dict[str, Any]) -> str:
    """One paired difference: mean, 95% CI and seed count (or why there is no CI)."""
    if diff["n"] < 2:
        return f"{signed(diff['diff'])} (1 seed: smoke, no CI)"
    return (
        f"{signed(diff['diff'])} [{signed(diff['ci_low'])}, {signed(diff['ci_high'])}]"
        f" over {seeds_label(diff['n'])}"
        + ("" if diff.get("enough_seeds") else " (too few seeds for a claim: smoke)")
    )


def load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
        data["variants"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError):
        fail(PROG, f"--summary: {path} is not a retention.json of hei_nw.cli.interference")
    return dict(data)


def curve(variant: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Mean over the waves seen so far, after each wave: mean and s.d. over seeds."""
    mean = np.array([[np.nan if x is None else x for x in row] for row in variant["mean"]])
    sd = np.array([[np.nan if x is None else x for x in row] for row in variant["sd"]])
    return np.nanmean(mean, axis=1), np.nanmean(sd, axis=1)


def drawn(summary: dict[str, Any]) -> list[str]:
    """The variants the figure draws: the policies, then the CA2 ablations (``ca2:all``
    is CA2 itself and is not drawn twice)."""
    variants = summary["variants"]
    ablations = sorted(v for v in variants if v.startswith("ca2:") and v != "ca2:all")
    return [p for p in POLICIES if p in variants] + ablations


def default_variant(summary: dict[str, Any]) -> str | None:
    """The run variant that is the library's scheduler, as the merge recorded it."""
    return (summary.get("default_minus_shuffled") or {}).get("variant")


def banded(summary: dict[str, Any]) -> set[str]:
    """The drawn variants that get their spread over seeds: the policies and the
    library's default (the rows the report's claims are about), not the other ablations."""
    default = default_variant(summary)
    return {n for n in drawn(summary) if n in POLICIES or n == default}


def title(summary: dict[str, Any]) -> str:
    """Scenario, then one line per paired difference the summary carries."""
    lines = [f"scenario {summary['config']['scenario']}"]
    for key, label in (
        ("ca2_minus_shuffled", "CA2 - shuffled"),
        ("ca2_minus_none_oldest", "oldest wave, CA2 - none"),
    ):
        diff = summary.get(key) or {}
        if diff:
            lines.append(label + ": " + describe(diff))
    default = summary.get("default_minus_shuffled") or {}
    for split in ("dev", "test"):
        diff = default.get(split) or {}
        if diff:
            lines.append(
                f"default ({default['variant']}) - shuffled, {split} seeds: " + describe(diff)
            )
    return "\n".join(lines)


def plot(summary: dict[str, Any], out: Path) -> None:
    heading = title(summary)
    # taller with each title line, so the suptitle never overlaps the axes
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6 + 0.25 * heading.count("\n")))
    with_band = banded(summary)
    for name in drawn(summary):
        v = summary["variants"][name]
        style = "--" if name not in POLICIES else "-"
        m, s = curve(v)
        x = np.arange(1, len(m) + 1)
        left.plot(x, m, style, marker="o", label=f"{name} ({seeds_label(v['seeds'])})")
        if name in with_band:
            left.fill_between(x, m - s, m + s, alpha=0.2)
        final_m = np.array(v["mean"][-1], dtype=float)
        final_s = np.array(v["sd"][-1], dtype=float)
        right.errorbar(
            np.arange(1, len(final_m) + 1),
            final_m,
            yerr=final_s if name in with_band else None,
            fmt=style,
            marker="o",
            capsize=3,
            label=name,
        )
    left.set_xlabel("after wave")
    left.set_ylabel("B3 EM, mean over waves so far")
    left.set_ylim(0, 1)
    left.legend(fontsize=7)
    right.set_xlabel("wave (1 = oldest)")
    right.set_ylabel("B3 EM after the last wave")
    right.set_ylim(0, 1)
    right.legend(fontsize=7)
    fig.suptitle(heading, fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=120)


def main(argv: list[str] | None = None) -> int:
    p = OneLineErrorParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--summary", required=True, type=Path, help="retention.json")
    p.add_argument("--out", required=True, type=Path, help="PNG path")
    args = p.parse_args(argv)
    summary = load(args.summary)
    writable_dir_or_fail(PROG, "--out", args.out.parent)
    plot(summary, args.out)
    sys.stdout.write(f"wrote {args.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
