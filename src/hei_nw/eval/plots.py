"""Figures of the evaluation reports (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def modes_figure(summary: dict[str, Any], out: str | Path) -> Path:
    """Bar chart of B0/B1/B2/B3 EM on the held-out phrasings of one replay run."""
    em = summary["em"]
    modes = [m for m in ("B0", "B1", "B2", "B3") if m in em]
    fig, ax = plt.subplots(figsize=(5, 3.4))
    bars = ax.bar(
        modes,
        [em[m] for m in modes],
        color=["#999999", "#1f77b4", "#6baed6", "#d62728"][: len(modes)],
    )
    for bar, m in zip(bars, modes, strict=True):
        ax.annotate(
            f"{em[m]:.2f}",
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
        )
    drift = summary.get("drift_changed_fraction")
    note = "" if drift is None else f"; drift {100 * drift:.1f}% of {summary['drift_suite_size']}"
    ax.set_title(
        f"scenario {summary['scenario']}, n={summary['n']}, seed {summary['seed']}{note}",
        fontsize=9,
    )
    ax.set_ylabel("EM, held-out phrasings")
    ax.set_ylim(0, 1.05)
    fig.tight_layout()
    path = Path(out)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


__all__ = ["modes_figure"]
