import subprocess
from pathlib import Path

import pytest

from hei_nw.cli.flags import pop_memory_args
from hei_nw.cli.replay import build_parser, setup
from hei_nw.eval.replay import ReplayConfig
from hei_nw.memory import MemoryConfig

ROOT = Path(__file__).resolve().parents[2]


def test_run_m4_replay_cli_parses(tmp_path):
    argv = "--scenario B --n 64 --seed 13 --policy shuffled --consolidation.lr 5e-4"
    argv += " --consolidation.layers 2 10 --gate.tau 0.6 --outdir x"
    args = vars(build_parser().parse_args(argv.split()))
    args.pop("log_level")
    overrides = pop_memory_args(args)
    cfg = ReplayConfig(**args, memory=MemoryConfig().with_overrides(overrides))
    assert (cfg.scenario, cfg.n, cfg.seed, cfg.policy) == ("B", 64, 13, "shuffled")
    assert cfg.memory.consolidation.lr == 5e-4 and cfg.memory.consolidation.layers == (2, 10)
    assert cfg.memory.gate.tau == 0.6
    assert cfg.harness("B3").adapter_path == cfg.artifacts
    assert cfg.harness("B1").adapter_path is None
    help_text = build_parser().format_help()
    for flag in ("--policy", "--consolidation.epochs", "--drift.tolerance", "examples:"):
        assert flag in help_text


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--policy", "lifo"], "--policy"),
        (["--scenario", "E"], "--scenario"),
        (["--cycles", "0"], "--cycles"),
        (["--consolidation.lr", "nan"], "--consolidation.lr"),
        (["--consolidation.epochs", "0"], "--consolidation.epochs"),
        (["--dtype", "float13"], "--dtype"),
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
    [
        "run_m4_replay.sh",
        "run_parity_guard.sh",
        "run_interference.sh",
        "run_tests.sh",
        "run_main.sh",
    ],
)
def test_shell_scripts_are_valid_bash(script):
    subprocess.run(["bash", "-n", str(ROOT / "scripts" / script)], check=True)


def _metrics(rewrite: float, rephrase: float, locality: float) -> dict:
    agg = {"rewrite_acc_tf": rewrite, "rephrase_acc_tf": rephrase, "locality_tf": locality}
    agg |= {"rewrite_acc_prefix": 0.0, "rephrase_acc_prefix": 0.0, "locality_gen": 1.0}
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
    md = (tmp_path / "summary.md").read_text()
    assert "WISE" in md and "Table 1" in md and "rewrite prefix" in md
    assert all(ref["source"] for ref in summary["references"])


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--dtype", "float13"], "--dtype"),
        (["--sizes", "0"], "--sizes"),
        (["--out", "."], "--out"),
    ],
)
def test_bench_recall_bad_flags_one_line_before_loading(args, needle):
    proc = subprocess.run(
        ["python3", str(ROOT / "scripts" / "bench_recall.py"), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and needle in err[0]
