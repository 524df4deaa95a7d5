from typing import Any

from hei_nw.eval.report import make_section, render_markdown


def _row(i: int, em: float) -> Any:
    return {
        "id": f"A-{i}",
        "index": i,
        "group_id": i,
        "lag": [0, 1, 3, 7, 30][i % 5],
        "query": "q",
        "expected": "x",
        "answers": ["x"],
        "prediction": "x" if em else "y",
        "em": em,
        "f1": em,
        "recall_at_k": None,
        "retrieved_ids": None,
        "prompt_tokens": 10,
        "generated_tokens": 2,
        "latency_s": 0.1,
        "truncated": False,
        "prompt_sha256": "0" * 64,
        "compute": {
            "prompt_tokens": 10,
            "generated_tokens": 2,
            "attention_flops": 100,
            "kv_cache_bytes": 50,
            "n_layers": 1,
            "d_model": 8,
            "n_heads": 2,
            "n_kv_heads": 1,
            "dtype": "fp32",
        },
    }


def _report(smoke: bool) -> Any:
    main = make_section("B0", "base", [_row(i, float(i % 2)) for i in range(6)])
    lc = make_section("long-context", "history", [_row(i, 1.0) for i in range(6)])
    return {
        "run": {
            "command": "python -m hei_nw.eval.harness --mode B0",
            "mode": "B0",
            "scenario": "A",
            "scenario_title": "episodic",
            "model_id": "m",
            "seed": 1,
            "n": 6,
            "n_records": 12,
            "n_queries": 6,
            "batch_size": 2,
            "max_new_tokens": 4,
            "dtype": "float32",
            "device": "cpu",
            "prompt_format": "completion",
            "smoke": smoke,
            "started_utc": "t",
            "wall_time_s": 1.0,
            "versions": {"torch": "x"},
            "dataset_sha256": "a" * 64,
            "config": {},
        },
        "main": main,
        "baselines": [lc],
        "probes": [],
        "hard_negatives": {"count": 6, "targets": 6, "per_target": 1.0},
    }


def test_md_contains_required_sections() -> None:
    md = render_markdown(_report(smoke=True))
    for heading in (
        "## Metrics",
        "## Lag bin",
        "## Compute footprints",
        "## Hard negatives",
        "## Run",
    ):
        assert heading in md
    assert "| B0 | 6 | 0.500 |" in md
    assert "| long-context | 6 | 1.000 |" in md
    assert "smoke" in md.lower()
    assert "python -m hei_nw.eval.harness --mode B0" in md


def test_md_without_smoke_banner() -> None:
    assert "Smoke run" not in render_markdown(_report(smoke=False))


def _replay_summary() -> dict:
    return {
        "scenario": "A",
        "smoke": True,
        "command": "python -m hei_nw.eval.replay_runner --scenario A",
        "model_id": "m",
        "dtype": "float32",
        "batch_size": 8,
        "n": 16,
        "seed": 7,
        "config": {"policy": "ca2"},
        "served_queries": 48,
        "em": {"B0": 0.0, "B1": 0.8, "B2": 0.7, "B3": 0.4},
        "b3_over_b1": 0.5,
        "b3_minus_b0": {"diff": 0.4, "ci_low": 0.1, "ci_high": 0.6},
        "consolidation": {
            "items": 16,
            "rows": {"distill": 48, "anchor": 900, "unlearn": 0},
            "steps": 10,
            "tokens": 1000,
            "seconds": 5.0,
            "tokens_per_s": 200.0,
            "seconds_per_fact": 0.31,
            "peak_memory_mb": 100.0,
            "curve": [
                {
                    "cycle": 1,
                    "chosen": 16,
                    "rows": 48,
                    "need_mean": 2.0,
                    "held": 0.0,
                    "loss_last": 1.5,
                }
            ],
        },
        "drift_guard": {
            "passed": False,
            "drift_changed": 12,
            "drift_suite_size": 1004,
            "drift_changed_fraction": 12 / 1004,
            "tolerance": 0.01,
            "resolution": 1 / 1004,
            "tf_changed_fraction": 0.02,
            "perplexity_before": 40.0,
            "perplexity_after": 45.0,
        },
        "wall_time_s": 10.0,
    }


def test_replay_markdown_sections() -> None:
    from hei_nw.eval.replay_report import replay_markdown

    summary = _replay_summary()
    text = replay_markdown(summary)
    for heading in (
        "# Replay and consolidation — scenario A (smoke run",
        "## Modes (EM on held-out phrasings)",
        "## Consolidation (label-free distillation of B1)",
        "## Drift guard",
    ):
        assert heading in text
    assert "| 0.000 | 0.800 | 0.700 | 0.400 | 0.50 | +0.400 [+0.100, +0.600] |" in text
    assert "FAILED: 12 of 1004 answers changed (1.20%, tolerance 1.0%" in text


def test_replay_markdown_names_the_consolidation_method() -> None:
    from hei_nw.eval.replay_report import replay_markdown

    summary = _replay_summary()
    summary["consolidation"] = {**summary["consolidation"], "method": "memit"}
    text = replay_markdown(summary)
    assert "`memit`" in text and "distillation" not in text
    del summary["consolidation"]["method"]  # reports written before the field existed
    assert "(label-free distillation of B1)" in replay_markdown(summary)


def test_replay_markdown_splits_drift_by_margin() -> None:
    from hei_nw.eval.replay_report import replay_markdown

    summary = _replay_summary()
    summary["drift_guard"]["by_base_margin"] = {
        "[0, 0.1)": {"n": 100, "changed": 40},
        ">= 1": {"n": 200, "changed": 2},
    }
    text = replay_markdown(summary)
    assert "| [0, 0.1) | 100 | 40 | 40.0% |" in text
    assert "| >= 1 | 200 | 2 | 1.0% |" in text
    del summary["drift_guard"]["by_base_margin"]
    assert "by the base answer's margin" not in replay_markdown(summary)
