"""End to end on the real bundled SmolLM2-135M-Instruct (n=4), in a subprocess."""

import json
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.integration
def test_b0_scenario_a_tiny(tmp_path: Path, bundled_dir: Path) -> None:
    out = tmp_path / "baseline"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "hei_nw.eval.harness",
            "--mode",
            "B0",
            "--scenario",
            "A",
            "--n",
            "4",
            "--seed",
            "7",
            "--outdir",
            str(out),
            "--qa.oracle",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads((out / "A_B0_metrics.json").read_text())
    assert data["run"]["model_id"] == "smollm2-135m"
    assert data["main"]["aggregate"]["n"] == 4
    oracle = data["probes"][0]
    # The gold episode is in the prompt, so the real model answers most of these.
    assert oracle["aggregate"]["em"] >= 0.5
    assert oracle["aggregate"]["em"] > data["main"]["aggregate"]["em"]
    md = (out / "A_B0_report.md").read_text()
    assert "## Lag bin" in md and "oracle" in md
