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
