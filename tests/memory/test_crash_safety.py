"""Crash safety at scale: 100 SIGKILLs during writes, no committed trace lost (slow)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_hundred_kills_lose_no_committed_trace(tmp_path: Path) -> None:
    out = tmp_path / "crash.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "crash_safety.py"), "--kills", "100",
         "--store", str(tmp_path / "store"), "--out", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    summary = json.loads(out.read_text())
    assert summary["kills"] == 100 and len(summary["rounds"]) == 100
    assert summary["reopen_failures"] == 0 and summary["committed_traces_lost"] == 0
    assert summary["max_lost_in_a_round"] == 0
    assert summary["committed_total"] > 0  # the kills landed after real writes
    assert summary["final_traces"] >= summary["committed_total"]
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_crash_script_refuses_an_existing_store(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "crash_safety.py"), "--kills", "1",
         "--store", str(tmp_path / "store"), "--out", str(tmp_path / "x.json")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 2 and "--store" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "x.json").exists()
