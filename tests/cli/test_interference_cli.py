"""``python -m hei_nw.cli.interference --from-runs``: merging runs made by separate calls."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hei_nw.cli import interference as cli
from hei_nw.utils.io import read_json

PROG = "python -m hei_nw.cli.interference"


def _run(variant: str, seed: int, final: list[float]) -> dict:
    waves = len(final)
    matrix = [[final[j] if j <= i else None for j in range(waves)] for i in range(waves)]
    return {
        "variant": variant,
        "seed": seed,
        "matrix": matrix,
        "final_mean": sum(final) / waves,
        "oldest_final": final[0],
    }


def _runs_file(path: Path, flags: str, runs: list[dict], cpu: str | None = None) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    versions = {} if cpu is None else {"cpu": cpu}
    body = {"command": f"{PROG} {flags}", "wall_s": 10.0, "versions": versions, "runs": runs}
    path.write_text(json.dumps(body))
    return str(path)


def test_merge_pairs_the_seeds_of_separate_calls(tmp_path: Path) -> None:
    a = _runs_file(
        tmp_path / "s1" / "runs.json",
        "--scenario A --seeds 1 --policies ca2 shuffled --out s1",
        [_run("ca2", 1, [0.5, 0.5]), _run("shuffled", 1, [0.4, 0.4])],
        cpu="x86_64 AVX512 +avx2 2 threads",
    )
    b = _runs_file(
        tmp_path / "s2" / "runs.json",
        "--scenario A --seeds 2 --out s2 --no-drift",
        [_run("ca2", 2, [0.3, 0.5]), _run("shuffled", 2, [0.5, 0.5]), _run("none", 2, [0, 1])],
    )
    # A file holding a run that is also in another is fine when the run is the same.
    c = _runs_file(
        tmp_path / "again" / "runs.json",
        "--scenario A --seeds 1 --policies ca2 --out again",
        [_run("ca2", 1, [0.5, 0.5])],
    )
    out = tmp_path / "merged"
    assert cli.main(["--from-runs", a, b, c, "--out", str(out)]) == 0
    runs = read_json(out / "runs.json")
    assert len(runs["runs"]) == 5 and runs["seeds"] == [1, 2]
    assert [s["file"] for s in runs["sources"]] == [a, b, c] and runs["wall_s"] == 30.0
    # Where each part ran, not only the merging machine's versions.
    assert runs["source_cpus"] == {"x86_64 AVX512 +avx2 2 threads": [a], "not recorded": [b, c]}
    summary = read_json(out / "retention.json")
    diff = summary["ca2_minus_shuffled"]
    assert diff["seeds"] == [1, 2]
    assert diff["per_seed"] == pytest.approx([0.1, -0.1])
    assert summary["ca2_minus_none_oldest"]["per_seed"] == pytest.approx([0.3])
    assert summary["config"]["scenario"] == "A" and summary["variants"]["ca2"]["seeds"] == 2


@pytest.mark.parametrize("drift_first", [True, False])
def test_merge_keeps_the_copy_of_a_run_that_measured_drift(
    tmp_path: Path, drift_first: bool
) -> None:
    measured = {**_run("ca2", 1, [0.5, 0.5]), "drift_changed_fraction": 0.2}
    measured["drift_passed"] = False
    skipped = {**_run("ca2", 1, [0.5, 0.5]), "drift_changed_fraction": None}
    with_drift = _runs_file(tmp_path / "d" / "runs.json", "--scenario A --seeds 1", [measured])
    without = _runs_file(
        tmp_path / "n" / "runs.json", "--scenario A --seeds 1 --no-drift", [skipped]
    )
    files = [with_drift, without] if drift_first else [without, with_drift]
    out = tmp_path / "merged"
    assert cli.main(["--from-runs", *files, "--out", str(out)]) == 0
    summary = read_json(out / "retention.json")
    assert summary["drift"]["runs"] == 1
    assert summary["drift"]["changed_fraction_max"] == pytest.approx(0.2)
    assert len(read_json(out / "runs.json")["runs"]) == 1


@pytest.mark.parametrize(
    ("flags", "runs", "message"),
    [
        ("--scenario A --seeds 1 --budget 20", [], "another experiment"),
        ("--scenario A --seeds 1 --budget-unit steps", [], "another experiment"),
        ("--scenario D --seeds 1", [], "another experiment"),
        ("--scenario A --seeds 1 --consolidation.lr 0.01", [], "another experiment"),
        ("--scenario A --seeds 1", [_run("ca2", 1, [0.9, 0.9])], "ca2 seed 1 differs"),
        ("--scenario A --renamed-flag 3", [], "does not parse"),
        ("--scenario A --budget 0", [], "budget"),
    ],
)
def test_merge_refuses_runs_of_another_experiment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: str, runs: list, message: str
) -> None:
    a = _runs_file(tmp_path / "a.json", "--scenario A --seeds 1", [_run("ca2", 1, [0.5, 0.5])])
    b = _runs_file(tmp_path / "b.json", flags, runs)
    out = tmp_path / "merged"
    with pytest.raises(SystemExit) as exc:
        cli.main(["--from-runs", a, b, "--out", str(out)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and b in err and len(err.strip().splitlines()) == 1
    assert not out.exists()  # nothing written


@pytest.mark.parametrize("content", ["{not json", '{"runs": []}', "[1, 2]", None])
def test_merge_names_a_file_that_is_not_a_runs_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None
) -> None:
    bad = tmp_path / "bad.json"
    if content is not None:  # None: the file does not exist
        bad.write_text(content)
    with pytest.raises(SystemExit) as exc:
        cli.main(["--from-runs", str(bad), str(tmp_path / "missing.json")])
    assert exc.value.code == 2
    assert str(bad) in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--policies", "--seeds", "1"], "nothing to run"),
        (["--memory-only", "--from-runs", "runs.json"], "pass one of the two"),
        (["--consolidation.need", "gap", "--consolidation.target", "kl"], "target 'greedy'"),
        (["--consolidation.score_w", "1", "1", "0.1", "0.5"], "drop the flag"),
        (["--budget-unit", "rows"], "--budget-unit: invalid choice"),
    ],
)
def test_contradictory_flags_end_with_one_line_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exc:
        cli.main([*flags, "--out", str(out)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_ablations_alone_need_no_policy() -> None:
    args, _ = cli._parse(["--policies", "--ablations", "minus_need", "--seeds", "1"])
    assert args["policies"] == [] and args["ablations"] == ["minus_need"]


@pytest.mark.integration
def test_memory_only_reports_what_each_wave_wrote_and_served(tmp_path: Path) -> None:
    """On the bundled model, no consolidation: with the gate off every episode of a wave
    is written, and every training cue of its targets is served."""
    out = tmp_path / "m"
    flags = ["--scenario", "D", "--seeds", "1", "--waves", "2", "--per-wave", "2"]
    assert cli.main([*flags, "--no-gate.use_for_writes", "--memory-only", "--out", str(out)]) == 0
    waves = read_json(out / "memory.json")["memory_by_seed"]["1"]
    assert len(waves) == 2
    assert [w["traces_written"] for w in waves] == [w["episodes"] for w in waves]
    assert all(w["served_logged"] == w["cues"] == 3 * w["targets"] > 0 for w in waves)
    assert all(0 < w["served_traces"] <= w["cues"] for w in waves)
    report = read_json(out / "memory.json")
    assert report["confidence"]["cues"] == sum(w["served_logged"] for w in waves)
    assert report["confidence_by_seed"]["1"] == report["confidence"]  # one seed
    assert not (out / "runs.json").exists()  # nothing consolidated
