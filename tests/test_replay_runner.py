import json
from pathlib import Path

from hei_nw.eval.replay_runner import main


def _argv(model: Path, out: Path, art: Path, *extra: str) -> list[str]:
    return [
        "--scenario", "A", "--n", "3", "--seed", "5", "--model", str(model), "--outdir", str(out),
        "--artifacts", str(art), "--cycles", "2", "--steps-per-cycle", "2", "--train-batch", "6",
        "--max-new-tokens", "3", "--drift-tolerance", "100", "--lr", "1e-3", *extra,
    ]  # fmt: skip


def test_replay_runner_end_to_end_tiny(tiny_model_dir, tmp_path):
    out, art = tmp_path / "reports", tmp_path / "lora"
    assert main(_argv(tiny_model_dir, out, art)) == 0
    for mode in ("B0", "B1", "B2", "B3"):
        assert (out / f"A_{mode}_metrics.json").is_file() and (
            out / f"A_{mode}_report.md"
        ).is_file()
    summary = json.loads((out / "A_replay.json").read_text())
    assert set(summary["em"]) == {"B0", "B1", "B2", "B3"}
    assert [c["cycle"] for c in summary["retention_curve"]] == [0, 1, 2]
    assert summary["training"]["steps"] == 4 and summary["training"]["tokens_per_s"] > 0
    assert summary["training"]["peak_memory_mb"] > 0
    assert summary["queue"]["traces"] > 0  # filled by the gate's writes
    drift = summary["drift_guard"]
    assert {"em_before", "em_after", "delta_em_points", "perplexity_ratio", "passed"} <= set(drift)
    assert (art / "adapter" / "adapter_config.json").is_file()
    assert (art / "merged" / "config.json").is_file() and (art / "training_args.json").is_file()
    assert "B3" in (out / "A_replay.md").read_text()


def test_replay_runner_drift_guard_stops(tiny_model_dir, tmp_path):
    # A huge learning rate moves the tiny model's answers; with zero tolerance the guard
    # must fail the run (exit 3) after writing its reports.
    out, art = tmp_path / "reports", tmp_path / "lora"
    argv = _argv(tiny_model_dir, out, art, "--skip-b2")
    argv[argv.index("--drift-tolerance") + 1] = "0"
    argv[argv.index("--lr") + 1] = "0.5"
    code = main(argv)
    summary = json.loads((out / "A_replay.json").read_text())
    assert "B2" not in summary["em"]
    assert code == (0 if summary["drift_guard"]["passed"] else 3)


def test_retention_only_run(tiny_model_dir, tmp_path):
    out, art = tmp_path / "reports", tmp_path / "lora"
    assert main(_argv(tiny_model_dir, out, art, "--retention-only", "--policy", "shuffled")) == 0
    summary = json.loads((out / "A_replay.json").read_text())
    assert summary["policy"] == "shuffled" and len(summary["retention_curve"]) == 3
    assert not (out / "A_B3_metrics.json").exists()
