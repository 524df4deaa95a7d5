import subprocess
from pathlib import Path

import pytest

from hei_nw.eval.replay_runner import ReplayConfig, build_parser, setup

ROOT = Path(__file__).resolve().parents[2]


def test_run_m4_replay_cli_parses():
    argv = "--scenario B --n 64 --seed 13 --cycles 3 --policy shuffled --steps-per-cycle 10"
    argv += " --mix 0.6,0.3,0.1 --lora.r 8 --outdir x"
    args = build_parser().parse_args(argv.split())
    cfg = ReplayConfig(**{k: v for k, v in vars(args).items() if k != "log_level"})
    assert (cfg.scenario, cfg.n, cfg.seed, cfg.cycles, cfg.policy) == ("B", 64, 13, 3, "shuffled")
    assert cfg.mix == (0.6, 0.3, 0.1) and cfg.lora().r == 8 and cfg.lora().steps == 10
    assert cfg.harness("B3").adapter_path == cfg.artifacts
    assert cfg.harness("B1").adapter_path is None
    help_text = build_parser().format_help()
    for flag in ("--cycles", "--policy", "--steps-per-cycle", "--mix", "--lora.r", "examples:"):
        assert flag in help_text


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--mix", "0.5,0.5,0.5"], "--mix"),
        (["--mix", "a,b,c"], "--mix"),
        (["--policy", "lifo"], "--policy"),
        (["--scenario", "E"], "--scenario"),
        (["--cycles", "0"], "--cycles"),
        (["--steps-per-cycle", "0"], "--steps-per-cycle"),
    ],
)
def test_bad_runner_flags_one_line(args, needle, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        setup([*args, "--outdir", str(tmp_path / "o")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "script",
    ["run_m4_replay.sh", "run_parity_guard.sh", "run_interference.sh", "run_tests.sh"],
)
def test_shell_scripts_are_valid_bash(script):
    subprocess.run(["bash", "-n", str(ROOT / "scripts" / script)], check=True)


def _metrics(rewrite: float, rephrase: float, locality: float) -> dict:
    agg = {"rewrite_acc_tf": rewrite, "rephrase_acc_tf": rephrase, "locality_tf": locality}
    agg |= {"rewrite_acc_gen": 0.0, "rephrase_acc_gen": 0.0, "locality_gen": 1.0}
    return {"aggregate": agg, "memory": {}, "baselines": []}


def test_edit_summary_checks_targets_and_lists_missing_cells(tmp_path):
    import json

    cells = {"B1": (0.95, 0.70, 0.995), "B3": (0.80, 0.40, 0.90)}
    for mode, scores in cells.items():
        path = tmp_path / f"counterfact_N1000_{mode}_metrics.json"
        path.write_text(json.dumps(_metrics(*scores)))
    proc = subprocess.run(
        ["python3", str(ROOT / "scripts" / "edit_summary.py"), "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    met = {(t["mode"], t["measure"]): t["met"] for t in summary["targets"]}
    assert met[("B1", "rewrite_acc_tf")] and not met[("B1", "rephrase_acc_tf")]
    assert met[("B1", "locality_tf")]
    # B3's rewrite bar is 0.8 x B1 = 0.76 (met); rephrase 0.6 x 0.70 = 0.42 (0.40 misses).
    assert met[("B3", "rewrite_acc_tf")] and not met[("B3", "rephrase_acc_tf")]
    assert not met[("B3", "locality_tf")]
    assert summary["missing_cells"] == [
        "counterfact N=10",
        "counterfact N=100",
        "counterfact N=1000: B0, B2, plain-retrieval",
    ]
    assert "WISE" in (tmp_path / "summary.md").read_text()


def test_edit_summary_recomputes_the_locality_split_from_the_data_file(tmp_path):
    import json

    from tests.test_edits import CF

    data = [dict(c) for c in CF]
    data[2]["locality_prompt"] = "Zorblat Mobile's parent company is"  # names case 1's subject
    (tmp_path / "cf.json").write_text(json.dumps(data))
    report = _metrics(1.0, 1.0, 2 / 3)
    report["run"] = {"data": str(tmp_path / "cf.json"), "dataset": "counterfact"}
    scores = [(1.0, 1.0), (1.0, 1.0), (0.0, 0.0)]  # only the overlapping prompt changed
    report["rows"] = [
        {"case_id": str(i + 1), "scores": {"locality_tf": tf, "locality_gen": gen}}
        for i, (tf, gen) in enumerate(scores)
    ]
    (tmp_path / "counterfact_N3_B1_metrics.json").write_text(json.dumps(report))
    script = ROOT / "scripts" / "edit_summary.py"
    proc = subprocess.run(
        ["python3", str(script), "--dir", str(tmp_path)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    (row,) = json.loads((tmp_path / "summary.json").read_text())["rows"]
    assert row["locality_names_edited_subject_rate"] == 1 / 3
    assert row["locality_tf_disjoint"] == 1.0 and row["locality_gen_disjoint"] == 1.0
    assert "name no edited subject" in (tmp_path / "summary.md").read_text()
