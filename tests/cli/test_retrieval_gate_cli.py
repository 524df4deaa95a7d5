"""Bad input to the retrieval and gate-stream CLIs: one line naming the flag, exit 2,
before the model is loaded, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from hei_nw.cli import gate_stream, retrieval


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--scenario", "Z"], "--scenario"),
        (["--cue_sets", "drop99"], "--cue_sets"),
        (["--n", "0"], "--n"),
        (["--hopfield.beta", "nan"], "--hopfield.beta"),
        (["--baseline_name_rerank", "1", "nan"], "--baseline_name_rerank"),
        (["--baseline_name_rerank", "0"], "--baseline_name_rerank"),
    ],
)
def test_retrieval_bad_flags(args, needle, tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        retrieval.main([*args, "--outdir", str(tmp_path / "o")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err
    assert not (tmp_path / "o").exists()


def test_retrieval_outdir_that_is_a_file(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(SystemExit) as exc:
        retrieval.main(["--outdir", str(blocker)])
    assert exc.value.code == 2
    assert "--outdir" in capsys.readouterr().err
    assert blocker.read_text() == "x"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--seed", "7", "--dev_seed", "11", "7"], "--dev_seed"),
        (["--dev_seed", "11", "11"], "--dev_seed"),
        (["--min_dev_recall", "1.5"], "--min_dev_recall"),
        (["--tau_grid", "2", "1", "0.1"], "--tau_grid"),
        (["--n_facts", "0"], "--n_facts"),
        (["--gate.tau", "inf"], "--gate.tau"),
    ],
)
def test_gate_stream_bad_flags(args, needle, tmp_path: Path, capsys) -> None:
    out = tmp_path / "o" / "g.json"
    with pytest.raises(SystemExit) as exc:
        gate_stream.main([*args, "--out", str(out)])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err
    assert not out.exists()
