"""The replay runner end to end on the tiny model: reports, adapter, and the drift guard's exit."""

import json
from pathlib import Path

from hei_nw.cli.replay import main
from hei_nw.eval.drift import EXIT_DRIFT

FAST = [
    "--consolidation.epochs", "1", "--consolidation.layers", "0", "2",
    "--consolidation.anchor_ratio", "0.25", "--max-new-tokens", "3",
    # A random tiny model barely reacts to the memory in its prompt, so the KL target
    # reads every trace as already held; the teacher's greedy tokens give it work to do.
    "--consolidation.target", "greedy",
]  # fmt: skip


def _argv(model: Path, out: Path, art: Path, *extra: str) -> list[str]:
    return [
        "--scenario", "A", "--n", "3", "--seed", "5", "--model", str(model), "--outdir", str(out),
        "--artifacts", str(art), *FAST, *extra,
    ]  # fmt: skip


def test_replay_runner_end_to_end_tiny(tiny_model_dir, tmp_path):
    out, art = tmp_path / "reports", tmp_path / "lora"
    assert main(_argv(tiny_model_dir, out, art, "--drift.tolerance", "1.0")) == 0
    for mode in ("B0", "B1", "B2", "B3"):
        assert (out / f"A_{mode}_metrics.json").is_file() and (
            out / f"A_{mode}_report.md"
        ).is_file()
    summary = json.loads((out / "A_replay.json").read_text())
    assert set(summary["em"]) == {"B0", "B1", "B2", "B3"}
    assert summary["served_queries"] == 9  # three training phrasings per target, no eval cue
    c = summary["consolidation"]
    assert c["items"] > 0 and c["steps"] > 0 and c["tokens_per_s"] > 0 and c["peak_memory_mb"] > 0
    assert summary["drift_suite_size"] >= 1000 and summary["drift_changed_fraction"] is not None
    assert {"b3_over_b1", "consolidation_s_per_fact", "training_tokens_per_s"} <= set(summary)
    assert (art / "adapter" / "adapter_config.json").is_file()
    assert "B3" in (out / "A_replay.md").read_text()


def test_replay_runner_exits_3_after_writing_when_drift_exceeds_tolerance(tiny_model_dir, tmp_path):
    # A huge learning rate certainly moves the tiny model's answers on the drift suite.
    out, art = tmp_path / "reports", tmp_path / "lora"
    argv = _argv(
        tiny_model_dir,
        out,
        art,
        "--skip-b2",
        "--consolidation.lr",
        "0.3",
        "--drift.tolerance",
        "0.01",
    )
    code = main(argv)
    summary = json.loads((out / "A_replay.json").read_text())
    assert summary["drift_changed_fraction"] > 0.01 and summary["drift_guard"]["passed"] is False
    assert code == EXIT_DRIFT
    assert "B2" not in summary["em"] and (out / "A_B3_metrics.json").is_file()
