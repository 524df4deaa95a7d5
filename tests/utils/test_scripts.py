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
